//! Backends other than llama.cpp: how ExLlamaV2, ExLlamaV3, MLX (mlx-lm) and Hugging Face
//! transformers size the KV cache, their scratch memory and their runtime, read from their source
//! (commits noted per rule). Weights are sized by the quant format (`quant::other`) as for
//! llama.cpp; the layer placement is llama.cpp's layer split, which is what these engines'
//! sequential GPU splits (`gpu_split`, `device_map="auto"`) amount to.
//!
//! None of this is checked against measurements yet (no GPU in the test setup, no such rows in
//! the calibration data): the estimate says so with a warning.

use crate::model::{Arch, ModelSpec};
use crate::quant::GgmlType;
use crate::units::pad;

use super::memory::ContextShape;
use super::settings::{Backend, Settings};

const MIB: u64 = 1 << 20;

/// Bits of a quantized cache type, from the `-ctk`/`-ctv` names (q8_0 → 8, q4_0 → 4, ...); None
/// for 16/32-bit types.
fn cache_bits(t: GgmlType) -> Option<u64> {
    match t {
        GgmlType::Q8_0 => Some(8),
        GgmlType::Q5_0 | GgmlType::Q5_1 => Some(5),
        GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::IQ4_NL => Some(4),
        _ => None,
    }
}

/// Cells an engine allocates per layer for a context of `ctx` tokens (one sequence).
fn cells(backend: Backend, spec: &ModelSpec, il: u32, ctx: u64) -> u64 {
    let swa = spec
        .sliding_window
        .filter(|_| spec.is_swa_layer(il))
        .unwrap_or(u64::MAX);
    match backend {
        // The paged/dynamic generator needs max_seq_len % 256 == 0 (exllamav2 b9c025b
        // generator/dynamic.py PAGED_PAGE_SIZE; exllamav3 4f8ad01 constants.py PAGE_SIZE).
        Backend::ExLlamaV2 | Backend::ExLlamaV3 => pad(ctx, 256),
        // KVCache grows in steps of 256 (mlx-lm d78bf58 models/cache.py); a sliding layer's
        // RotatingKVCache holds the window, and up to window + prefill chunk − 1 (2048) while a
        // chunk is processed.
        Backend::Mlx => pad(ctx, 256).min(swa.saturating_add(2047)),
        // DynamicCache concatenates exactly; a sliding layer keeps the window (cache_utils.py).
        _ => ctx.min(swa),
    }
}

/// KV cache bytes per device for `layer_dev` (layer → device index) and the extra buffers the
/// engine keeps next to a quantized cache.
pub(super) fn kv_bytes(
    backend: Backend,
    spec: &ModelSpec,
    shape: &ContextShape,
    s: &Settings,
    layer_dev: &dyn Fn(u32) -> usize,
    n_dev: usize,
) -> Vec<u64> {
    let mut out = vec![0u64; n_dev];
    if backend.is_embedding() {
        // TEI runs one forward per batch without a cache. sentence-transformers calls the
        // model's forward as is (Transformer.forward, sentence-transformers 85ec6455), and a
        // decoder such as Qwen3 then fills a DynamicCache with every layer's K and V of the batch
        // (config.use_cache), alive until the forward returns.
        if backend == Backend::SentenceTransformers {
            let dt = dtype_bytes(s);
            for il in (0..spec.n_layer).filter(|&il| spec.has_kv(il)) {
                out[layer_dev(il)] +=
                    s.batch * (spec.n_embd_k_gqa(il) + spec.n_embd_v_gqa(il)) * dt;
            }
        }
        return out;
    }
    let seqs = shape.n_seq.max(1);
    let ctx = shape.n_ctx_seq;
    let (kb, vb) = (cache_bits(s.cache_type_k), cache_bits(s.cache_type_v));
    let mut staging_kvd = vec![0u64; n_dev];
    for il in 0..spec.n_layer {
        if spec.is_recurrent_layer(il) {
            let (r, st) = spec.recurrent_state_bytes();
            out[layer_dev(il)] += (r + st) * seqs;
            continue;
        }
        if !spec.has_kv(il) {
            continue;
        }
        let kvd = spec.n_embd_k_gqa(il);
        let vd = spec.n_embd_v_gqa(il);
        let n = cells(backend, spec, il, ctx) * seqs;
        // Bytes per token for K and V together, times 8 (to keep the fractions exact).
        let per_token_x8 = match backend {
            // exllamav2 cache.py: 4-bit/8-bit values with one fp16 scale per 32 (Q4: 4.5 bits,
            // Q8: 8.5 bits); Q6 is 8-bit K with 4-bit V (cache.cu fp16_to_q_kv_paged_kernel<8, 4>).
            Backend::ExLlamaV2 => {
                let bits = |b: Option<u64>, d: u64| b.map_or(16 * d * 8, |b| (b * 8 + 4) * d);
                bits(kb, kvd) + bits(vb, vd)
            }
            // exllamav3 cache/quant.py: k_bits/v_bits per value plus two fp16 scales per 32.
            Backend::ExLlamaV3 => match (kb, vb) {
                (None, None) => 16 * (kvd + vd) * 8,
                (k, v) => (k.unwrap_or(16) * kvd + v.unwrap_or(16) * vd + kvd) * 8,
            },
            // mlx-lm QuantizedKVCache: bits per value plus an fp16 scale and bias per 64.
            Backend::Mlx => {
                let bits = |b: Option<u64>, d: u64| b.map_or(16 * d * 8, |b| (b * d + d / 2) * 8);
                bits(kb, kvd) + bits(vb, vd)
            }
            _ => 16 * (kvd + vd) * 8,
        };
        out[layer_dev(il)] += n * per_token_x8 / 64;
        if kb.is_some() || vb.is_some() {
            staging_kvd[layer_dev(il)] = staging_kvd[layer_dev(il)].max(kvd.max(vd));
        }
    }
    // A quantized exllama cache keeps one fp16 K/V pair of the whole length per device to
    // (de)quantize through (exllamav2 cache.py touch_device; exllamav3 EXL3_QC_STAGING).
    if matches!(backend, Backend::ExLlamaV2 | Backend::ExLlamaV3) {
        for (d, kvd) in staging_kvd.iter().enumerate() {
            out[d] += 4 * pad(ctx, 256) * seqs * kvd;
        }
    }
    out
}

/// The matrix rate of an embedding engine on GPU `g`: PyTorch and candle multiply float16 with
/// float32 accumulation (the listed FP16 rate, not the FP16-accumulate one llama.cpp's cuBLAS
/// calls reach), and float32 without TF32 (PyTorch's default since 1.12): the FP32 rate.
pub(super) fn float_peak(s: &Settings, g: &crate::system::DeviceSpec) -> Option<f64> {
    s.backend.is_embedding().then(|| {
        if s.cache_type_k == GgmlType::F32 {
            g.fp32_flops.max(1e10)
        } else {
            g.fp16_flops.max(1e11)
        }
    })
}

/// Documents one forward of an embedding engine runs together (`s.batch` tokens of `s.ubatch`
/// each), sharing its weight reads and fixed costs; 1 for llama.cpp, which reads each document
/// in a ubatch of its own.
pub(super) fn docs_per_forward(s: &Settings) -> f64 {
    if s.backend.is_embedding() {
        #[allow(clippy::cast_precision_loss)]
        let b = (s.batch / s.ubatch.max(1)).max(1) as f64;
        b
    } else {
        1.0
    }
}

/// Bytes per value of an embedding engine's activations: the model's dtype, which the caller
/// passes as the cache type (fp32 for sentence-transformers' default, fp16 for TEI on a GPU).
fn dtype_bytes(s: &Settings) -> u64 {
    match s.cache_type_k {
        GgmlType::F32 => 4,
        _ => 2,
    }
}

/// Scratch memory per device beyond weights and cache: engine buffers and the activations of
/// processing a prompt. `has_head`: the device computes the logits.
pub(super) fn scratch_bytes(
    backend: Backend,
    spec: &ModelSpec,
    shape: &ContextShape,
    s: &Settings,
    has_layers: bool,
    has_head: bool,
) -> u64 {
    let h = spec.n_embd;
    let i = spec
        .expert_ff
        .filter(|_| spec.n_expert > 1)
        .unwrap_or(spec.n_ff)
        .max(spec.n_ff);
    let q = spec.q_width().max(h);
    let v = spec.n_vocab;
    match backend {
        Backend::ExLlamaV2 => {
            // One fp16 scratch per device, the largest module's need (exllamav2 b9c025b,
            // config.py defaults max_input_len 2048, max_batch_size 1, max_dq_size 512 Mi):
            // a linear dequantizes into 2·min(in·out, 512 Mi) bytes; the MLP also holds
            // T·H + 2·T·max(H, I) halves, attention T·max(q, H).
            const DQ: u64 = 512 * MIB;
            let t = 2048;
            let dq = |n: u64| 2 * n.min(DQ);
            let mlp = 2 * t * h + 4 * t * h.max(i) + dq(h * i);
            let attn = 2 * t * q + dq(q * h);
            let mut need = 0;
            if has_layers {
                need = mlp.max(attn);
            }
            if has_head {
                need = need.max(dq(v * h));
            }
            need
        }
        Backend::ExLlamaV3 => {
            // Linears dequantize a transient fp16 weight of in·min(out, 32768) (exllamav3 4f8ad01
            // modules/quant/exl3.py); prompts run in chunks of max_chunk_size 2048.
            let t = 2048;
            let mut need = 0;
            if has_layers {
                need = 2 * t * (h + 2 * i) + 2 * h * i.min(32768);
            }
            if has_head {
                need = need.max(2 * h * v.min(32768) + 2 * t.min(32) * v);
            }
            need
        }
        Backend::Mlx => {
            // Prompts run in chunks of prefill_step_size 2048 (mlx-lm generate.py); the fused
            // attention kernel covers head sizes 64–128, others materialize the scores of the
            // chunk against the whole cache (mlx fast.cpp). Logits for the last token only.
            let t = 2048.min(shape.n_ctx_seq.max(1));
            let mut need = 0;
            if has_layers {
                let hd = spec.head_dim();
                let scores = if matches!(hd, 64 | 72 | 80 | 96 | 128) {
                    0
                } else {
                    2 * u64::from(spec.n_head) * t * shape.n_ctx_seq
                };
                need = 2 * t * (4 * h + 3 * i) + scores;
            }
            if has_head {
                need += 4 * v;
            }
            need
        }
        Backend::Transformers => {
            // One forward over the whole prompt (a full context here); SDPA without a score
            // matrix; generate() keeps the logits of the last position only (logits_to_keep=1)
            // and upcasts them to fp32.
            let t = shape.n_ctx_seq.max(1);
            let mut need = 0;
            if has_layers {
                need = 2 * t * (3 * h + 2 * i);
            }
            if has_head {
                need += 6 * v;
            }
            need
        }
        Backend::SentenceTransformers if has_layers => {
            // A batch of b documents padded to the longest, t tokens each (`s.ubatch`), n = b·t
            // tokens in all (`s.batch`), freed layer by layer (encode runs under inference_mode).
            // With SDPA (BERT since transformers 4.41, XLM-RoBERTa since 4.45) no score matrix;
            // but a batch with any padding gets an encoder's mask expanded to b×t×t in the
            // model's dtype (modeling_attn_mask_utils._expand_mask: `.expand().to(dtype)`,
            // `1.0 - mask`, a bool copy and masked_fill: 3·dt + 1 bytes an entry while it is
            // built, dt kept); a decoder's causal mask is b×t×t booleans. Within a layer: the
            // input and the attention output (2·n·H) beside the MLP's pre- and post-activation
            // (2·n·I; gated: gate, up, activation and product, 4·n·I), or q, k, v, the attention
            // output, its contiguous copy and the input (6·n·H).
            let dt = dtype_bytes(s);
            let (t, n) = (s.ubatch.max(1), s.batch.max(s.ubatch).max(1));
            // One document alone is never padded, and an all-ones mask is dropped.
            let mask = if n / t > 1 { n / t * t * t } else { 0 };
            let gated = !matches!(spec.arch, Arch::Bert);
            let mlp = if gated { 4 * i } else { 2 * i };
            let layer = dt * n * (2 * h + mlp).max(6 * h.max(q));
            if spec.is_encoder() {
                ((3 * dt + 1) * mask).max(dt * mask + layer)
            } else {
                mask + layer
            }
        }
        Backend::Tei if has_layers => tei_scratch(spec, s, h, i, q),
        Backend::Tei | Backend::SentenceTransformers => 0,
        Backend::LlamaCpp | Backend::Vllm => 0,
        Backend::SdCpp | Backend::ComfyUi | Backend::Diffusers => 0,
    }
}

/// TEI's activations at its warmup, the largest batch it runs (text-embeddings-inference
/// 0d124dc, backends/candle/src/models; derived from the code, not measured): `s.batch` tokens.
/// Its layer norm returns a view of a (2T, H) buffer, and Rust keeps a function's locals until it
/// returns, so a flash BERT layer holds 9·T·H values in attention (input 2TH, qkv 3TH, output,
/// dense, norm 2TH) and 7·T·H + T·I in the MLP (GELU fused into the matmul); a gated MLP (Nomic,
/// Jina) 7·T·H + 3·T·I, a Qwen3 layer 9·T·H + 4·T·I (gate_up, silu, product); flash attention's
/// f32 log-sum-exp, heads × T. Without flash attention (`s.flash_attn` off: before Ampere, the
/// CPU, float32) one padded sequence of the longest input the budget allows, whose scores and
/// probabilities (heads × T² each) are both kept.
fn tei_scratch(spec: &ModelSpec, s: &Settings, h: u64, i: u64, q: u64) -> u64 {
    let dt = dtype_bytes(s);
    let heads = u64::from(spec.n_head);
    let mlp = match spec.arch {
        Arch::Bert => 7 * h + i,
        Arch::NomicBert | Arch::JinaBertV2 => 7 * h + 3 * i,
        _ => 9 * h + 4 * i,
    };
    let layer = |t: u64| dt * t * (9 * h.max(q)).max(mlp);
    let budget = s.batch.max(1);
    if s.flash_attn == super::settings::FlashAttn::Off {
        let t = budget.min(spec.context_length.max(1));
        layer(t) + 2 * dt * heads * t * t
    } else {
        layer(budget) + 4 * heads * budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gemma_like() -> ModelSpec {
        ModelSpec {
            id: "t".into(),
            n_layer: 6,
            n_embd: 1024,
            n_ff: 4096,
            n_head: 8,
            n_head_kv: 2,
            head_dim: Some(128),
            n_vocab: 1000,
            context_length: 32768,
            sliding_window: Some(512),
            swa_period: Some(6),
            ..ModelSpec::default()
        }
    }

    #[test]
    fn cache_lengths_follow_each_engine() {
        let sp = gemma_like();
        // Layer 0 slides (5 of every 6), layer 5 is global.
        assert_eq!(cells(Backend::Mlx, &sp, 5, 1000), 1024);
        assert_eq!(cells(Backend::Mlx, &sp, 0, 8192), 512 + 2047);
        assert_eq!(cells(Backend::ExLlamaV2, &sp, 0, 1000), 1024);
        assert_eq!(cells(Backend::Transformers, &sp, 5, 1000), 1000);
        assert_eq!(cells(Backend::Transformers, &sp, 0, 8192), 512);
    }

    #[test]
    fn quantized_cache_bits_include_scales() {
        let sp = ModelSpec {
            sliding_window: None,
            swa_period: None,
            ..gemma_like()
        };
        let s = |t: GgmlType| Settings {
            cache_type_k: t,
            cache_type_v: t,
            ..Settings::default()
        };
        let shape = ContextShape::new(4096, &Settings::default());
        let kv = |b: Backend, t: GgmlType| kv_bytes(b, &sp, &shape, &s(t), &|_| 0, 1)[0];
        let kvd = 2 * 128;
        // fp16: 2 bytes for K and for V.
        assert_eq!(kv(Backend::Mlx, GgmlType::F16), 6 * 4096 * 4 * kvd);
        // MLX 8-bit: 8 bits + an fp16 scale and bias per 64 values = 8.5 bits.
        assert_eq!(
            kv(Backend::Mlx, GgmlType::Q8_0),
            6 * 4096 * 2 * kvd * 85 / 80
        );
        // ExLlamaV2 Q4: 4.5 bits per value, plus the fp16 staging layer (4 bytes per token and kvd).
        assert_eq!(
            kv(Backend::ExLlamaV2, GgmlType::Q4_0),
            6 * 4096 * 2 * kvd * 45 / 80 + 4 * 4096 * kvd
        );
    }
}
