//! Context-dependent memory: llama.cpp's context sizing, KV cache, compute buffers and output buffer.
//!
//! Rules from `llama_context`'s constructor, `llama_kv_cache(_iswa)` and the graph reservation of
//! `ggml_backend_sched` (llama.cpp `src/llama-context.cpp`, `src/llama-kv-cache.cpp`,
//! `src/llama-kv-cache-iswa.cpp`, `ggml/src/ggml-backend.cpp` and `ggml/src/ggml-alloc.c` at
//! upstream ec98e2002, Dec 2025; later changes cite their PRs below). Compute buffers are the peak
//! of the live tensors under ggml-alloc's reuse; the closed forms below reproduce the logged peaks
//! (the catalog's `memory_logs` tests check them against the logs). A CPU-only run replays the
//! allocator over the whole graph instead (`estimate::graph`), which is exact.

use crate::model::ModelSpec;
use crate::quant::GgmlType;
use crate::units::pad;

use super::settings::{FlashAttn, Settings};

/// llama.cpp pads `n_ctx` (and each stream's share) to a multiple of 256 (PR #17046, Nov 2025).
pub const CTX_PAD: u64 = 256;

/// The sizes llama.cpp derives from `-c`, `-np`, `-kvu`, `-b` and `-ub`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextShape {
    /// Total cells (`n_ctx` after padding).
    pub n_ctx: u64,
    /// Cells per stream (`n_ctx_seq`).
    pub n_ctx_seq: u64,
    /// KV streams: 1 when unified, else one per sequence.
    pub n_stream: u64,
    /// Sequences (`n_seq_max`).
    pub n_seq: u64,
    /// Tokens per graph evaluation (`min(n_ctx, n_ubatch)`).
    pub n_tokens: u64,
}

impl ContextShape {
    /// Applies llama.cpp's padding and stream rules to a requested context.
    #[must_use]
    pub fn new(ctx: u64, s: &Settings) -> ContextShape {
        let n_seq = u64::from(s.parallel.max(1));
        // Before Nov 2025 the KV size was padded to 256 with flash attention and to 32 without.
        let ctx_pad = if s.llama_cpp.rules().ctx_pad_256 || flash_attn_on(s) {
            CTX_PAD
        } else {
            32
        };
        let mut n_ctx = pad(ctx.max(1), ctx_pad);
        let (n_ctx_seq, n_stream) = if s.kv_unified || n_seq == 1 {
            (n_ctx, 1)
        } else {
            let per = pad(n_ctx / n_seq, ctx_pad);
            n_ctx = per * n_seq;
            (per, n_seq)
        };
        let n_batch = s.batch.min(n_ctx);
        let n_tokens = s.ubatch.min(n_batch).max(1);
        ContextShape {
            n_ctx,
            n_ctx_seq,
            n_stream,
            n_seq,
            n_tokens,
        }
    }
}

/// Whether flash attention is on for this run: `auto` is on for the GPU backends and the CPU, which
/// all implement it in current builds.
#[must_use]
pub fn flash_attn_on(s: &Settings) -> bool {
    !matches!(s.flash_attn, FlashAttn::Off)
}

/// Cells of layer `il`'s cache per stream.
#[must_use]
pub fn layer_cells(spec: &ModelSpec, il: u32, shape: &ContextShape, s: &Settings) -> u64 {
    match spec.sliding_window {
        Some(n_swa) if spec.is_swa_layer(il) && !s.swa_full => {
            // `llama_kv_cache_iswa`: the window (times the sequences sharing a unified pool) plus one
            // ubatch, padded, never more than the full cache.
            let seqs = if s.kv_unified { shape.n_seq } else { 1 };
            pad(
                shape
                    .n_ctx_seq
                    .min(n_swa * seqs + s.ubatch.min(shape.n_ctx)),
                CTX_PAD,
            )
            .min(shape.n_ctx_seq)
        }
        _ => shape.n_ctx_seq,
    }
}

/// Bytes of K and of V for layer `il` (all streams included). A recurrent layer reports its conv
/// state as K and its SSM state as V: one cell per sequence, independent of the context.
#[must_use]
pub fn layer_kv_bytes(spec: &ModelSpec, il: u32, shape: &ContextShape, s: &Settings) -> (u64, u64) {
    if spec.is_recurrent_layer(il) {
        let (r, st) = spec.recurrent_state_bytes();
        return (r * shape.n_seq.max(1), st * shape.n_seq.max(1));
    }
    // Gemma 3n's blocks past the 20th read an earlier block's cache.
    if !spec.has_kv(il) {
        return (0, 0);
    }
    let cells = layer_cells(spec, il, shape, s) * shape.n_stream;
    let swa = spec.sliding_window.is_some() && spec.is_swa_layer(il) && !s.swa_full;
    // Since PR #21277 (Apr 2026) the sliding-window cache stays F16 when -ctk/-ctv are quantized.
    let rules = s.llama_cpp.rules();
    let (tk, tv) = if swa && rules.swa_f16_when_quantized {
        (swa_type(s.cache_type_k), swa_type(s.cache_type_v))
    } else {
        (s.cache_type_k, s.cache_type_v)
    };
    let k = tk.row_size(spec.n_embd_k_gqa(il)) * cells;
    // MLA: V is a view of the latent K since PR #19067 (Jan 2026), nothing is allocated for it.
    let v = if spec.is_mla() && !spec.mla_legacy_kv && rules.mla_v_less {
        0
    } else if spec.has_layer_shapes() && !flash_attn_on(s) {
        // Without flash attention V is stored transposed, every layer's padded to the widest
        // (llama-kv-cache.cpp `TAG_V_CACHE_VARIABLE`: Gemma 4 31B's global V 2048 → 4096).
        tv.row_size(spec.n_embd_v_gqa_max()) * cells
    } else {
        tv.row_size(spec.n_embd_v_gqa(il)) * cells
    };
    (k, v)
}

fn swa_type(t: GgmlType) -> GgmlType {
    if t.is_quantized() {
        GgmlType::F16
    } else {
        t
    }
}

/// Peaks of the graph pieces a device may hold, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphPeaks {
    /// Attention of one block at full context (largest over layers).
    pub attention: u64,
    /// The FFN of one block (dense or MoE, largest over layers).
    pub ffn: u64,
    /// Logits at the end of the graph: `(n_vocab + n_embd) · n_tokens · 4`.
    pub logits: u64,
    /// The same peak on a CPU-only graph, which holds one more `n_embd` row.
    pub logits_cpu_only: u64,
    /// Graph inputs kept in host memory: embeddings, mask, token ids, positions, output ids.
    pub host_inputs: u64,
    /// The small int32 inputs alone (token ids, positions, output ids).
    pub small_inputs: u64,
}

/// Computes the worst-case graph peaks for this context.
#[must_use]
pub fn graph_peaks(spec: &ModelSpec, shape: &ContextShape, s: &Settings) -> GraphPeaks {
    const F32: u64 = 4;
    if spec.is_encoder() {
        return encoder_peaks(spec, shape, s);
    }
    let t = shape.n_tokens;
    let e = spec.n_embd;
    let n_kv = shape.n_ctx_seq;
    let fa = flash_attn_on(s);
    let width = e.max(spec.q_width());
    // Without FA the f32 KQ matrix of every head is materialized, plus the f32 mask and about four
    // activations of the block's width (q, k/v views, kqv, out). With FA only an f16 mask, padded to
    // 64 rows (GGML_KQ_MASK_PAD), and the activations remain.
    let mask = if fa {
        n_kv * pad(t, 64) * 2
    } else {
        n_kv * t * F32
    };
    let kq = if fa {
        0
    } else {
        n_kv * t * u64::from(spec.n_head) * F32
    };
    // Sliding-window models build a second mask for their SWA layers (`llama_kv_cache_iswa`, also
    // with --swa-full). Graph inputs live until their last use, so while a full-attention layer
    // computes its KQ the SWA mask is still allocated if any SWA layer comes later. Measured by the
    // validation harness: gemma2 `-c 32768 -fa off` was 10.5 MiB short without it.
    let swa_mask_bytes = match (0..spec.n_layer).find(|&il| spec.is_swa_layer(il)) {
        Some(il_swa) => {
            let cells = layer_cells(spec, il_swa, shape, s);
            if fa {
                cells * pad(t, 64) * 2
            } else {
                cells * t * F32
            }
        }
        None => 0,
    };
    // Some full layer is followed by an SWA layer exactly when the first full layer is.
    let swa_live_at_full = (0..spec.n_layer)
        .find(|&il| !spec.is_swa_layer(il))
        .is_some_and(|f| (f + 1..spec.n_layer).any(|j| spec.is_swa_layer(j)));
    let swa_mask = if swa_live_at_full { swa_mask_bytes } else { 0 };
    let attention = kq + mask + swa_mask + 4 * width * t * F32;
    // Dense FFN: gate and up outputs live together with the block input.
    let dense = (2 * spec.n_ff + e) * t * F32;
    let moe = if spec.n_expert > 1 {
        let f = spec.expert_ff.unwrap_or(spec.n_ff);
        let used = u64::from(spec.n_expert_used);
        let shared = f * u64::from(spec.n_expert_shared);
        // Router logits, then gate/up/product per selected expert, plus the shared expert's pair.
        u64::from(spec.n_expert) * t * F32
            + 3 * used * f * t * F32
            + 2 * shared * t * F32
            + e * t * F32
    } else {
        0
    };
    let ffn = if spec.arch == crate::model::Arch::Gemma4 && spec.n_expert > 1 {
        // Gemma 4's MoE blocks run the dense MLP first (src/models/gemma4.cpp); its gate and up
        // outputs and the block input are live beside the experts'. On the harness's small
        // synthetic layout the logits set the peak instead, 1.5 MiB (2.3%) under llama.cpp's,
        // which this rule does not explain.
        moe + dense
    } else if spec.n_expert > 1 && spec.leading_dense_layers == 0 {
        moe
    } else {
        dense.max(moe)
    };
    // Gemma 4 with per-layer embeddings and flash attention: the per-layer input (`ple · n_layer ·
    // T` f32) lives until the last block, and the attention masks' freed blocks lie below it, so
    // the logits land above all three (validation harness, synthetic E2B layout: the compute
    // buffer was short by the mask plus that input, 4 MiB at -c 4096 and 32 MiB at -c 32768, by
    // the sliding mask's 16 MiB more with --swa-full; without flash attention the KQ matrices
    // set the peak and nothing was missing).
    let ple_live = match spec.per_layer_embd {
        Some(w) if spec.arch == crate::model::Arch::Gemma4 && w > 0 && fa => {
            mask + swa_mask_bytes + w * u64::from(spec.n_layer) * t * F32
        }
        _ => 0,
    };
    let logits = (spec.n_vocab + e) * t * F32 + ple_live;
    // CPU-only graphs peak at the output with one more n_embd row live than GPU graphs:
    // (n_vocab + 2·n_embd)·T·4: the embeddings input (`inp_embd`) is a graph leaf nobody consumes,
    // so ggml-alloc never frees it (see `graph`, which replays this exactly where it can); the CUDA
    // logs keep one row (Llama-3.1-8B: 258.50 MiB).
    let logits_cpu_only = logits + e * t * F32;
    // token ids, positions and output ids: three int32 vectors of n_tokens.
    let small_inputs = 3 * t * 4;
    // With a GPU the host holds the inputs and the looked-up embeddings (the token table stays on
    // the CPU), and since PR #18898 the unused embeddings input too: `CUDA_Host compute` 16.51 MiB
    // for Llama-3.1-8B at ubatch 512 (../shared/data/llamacpp-cuda/h200-memory.csv).
    let embd_rows = if s.llama_cpp.rules().embd_input_always {
        2
    } else {
        1
    };
    let host_inputs = embd_rows * e * t * F32 + mask + small_inputs;
    GraphPeaks {
        attention,
        ffn,
        logits,
        logits_cpu_only,
        host_inputs,
        small_inputs,
    }
}

/// An encoder's graph (llama.cpp `src/models/bert.cpp`, `nomic-bert.cpp`) over one ubatch of T
/// tokens, where every token attends to every other and no KV cache exists. One layer's live set
/// is the peak (it does not grow with depth), measured against llama.cpp's CPU allocator for
/// several shapes (bert (E, H, F) = (384, 12, 1536), (256, 4, 2048), (512, 16, 512); nomic (768,
/// 12, 3072), (512, 16, 512); T = 128…1024), all to the byte up to alignment:
///
/// * the FFN: the block input, the up projection (SwiGLU: up, gate and their product; Jina's
///   GEGLU: the fused 2F-wide up and the product) and the residual, `(F + 3E)·T·4` (nomic and
///   jina: `(3F + 3E)·T·4`);
/// * attention with flash attention: q, k, v, their F16 copies and the output, `5.5·E·T·4`
///   (nomic, whose fused QKV and RoPE copies add two more: `7.5·E·T·4`);
/// * attention without: the F32 `KQ` of every head next to the mask, `(H + 1)·T²·4`, and six
///   (nomic: eight) activations of width E — one more than the live set, because KQ is larger
///   than any hole the allocator has free and lands on top of the heap.
///
/// The mask is `T×T` (F16 with flash attention, F32 without) and lives through the graph.
fn encoder_peaks(spec: &ModelSpec, shape: &ContextShape, s: &Settings) -> GraphPeaks {
    const F32: u64 = 4;
    let t = shape.n_tokens;
    let e = spec.n_embd;
    let f = spec.n_ff;
    let nomic = spec.arch == crate::model::Arch::NomicBert;
    let jina = spec.arch == crate::model::Arch::JinaBertV2;
    let fa = flash_attn_on(s);
    let mask = if fa { t * t * 2 } else { t * t * F32 };
    // Jina's fused GEGLU: the 2F-wide up projection and its F-wide product, like SwiGLU's three.
    let ffn_width = if nomic || jina {
        3 * f + 3 * e
    } else {
        f + 3 * e
    };
    let ffn = ffn_width * t * F32 + mask;
    // Halves of E·T·4 as a count of E·T·2 rows: 11 (5.5 rows), 15 (7.5), 12 (6), 16 (8).
    let attention = if fa {
        let halves = if nomic { 15 } else { 11 };
        halves * e * t * 2 + mask
    } else {
        let rows = if nomic { 8 } else { 6 };
        rows * e * t * F32 + (u64::from(spec.n_head) + 1) * t * t * F32
    };
    // Token ids, positions and output ids; the mean-pooling matrix (T × sequences) or the CLS
    // row indices.
    let pooling = match spec.pooling {
        Some(crate::model::Pooling::Mean) => t * shape.n_seq.max(1) * F32,
        Some(
            crate::model::Pooling::Cls | crate::model::Pooling::Last | crate::model::Pooling::Rank,
        ) => 4 * shape.n_seq.max(1),
        _ => 0,
    };
    // Jina's ALiBi needs no positions.
    let small_inputs = if jina { 2 } else { 3 } * t * 4 + pooling;
    GraphPeaks {
        attention,
        ffn,
        logits: 0,
        logits_cpu_only: 0,
        // With a GPU the host keeps the looked-up embeddings, the mask and the small inputs.
        host_inputs: 2 * e * t * F32 + mask + small_inputs,
        small_inputs,
    }
}

/// The output buffer in host memory (`llama_context::output_reserve`). A text generator keeps
/// one row of `n_vocab` f32 per sequence (its size at load, which decoding never exceeds). An
/// embedder marks every token of a batch as an output and llama.cpp grows the buffer, which never
/// shrinks, to `(n_vocab + n_embd)` f32 per token of the largest ubatch: logits are always
/// reserved, even for an encoder that has no output head.
#[must_use]
pub fn output_buffer_bytes(spec: &ModelSpec, shape: &ContextShape) -> u64 {
    if spec.is_embedder() {
        (spec.n_vocab + spec.n_embd) * 4 * shape.n_tokens.max(shape.n_seq.max(1))
    } else {
        spec.n_vocab * 4 * shape.n_seq.max(1)
    }
}
