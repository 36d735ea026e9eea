//! Memory per GPU: the weights each pipeline stage and TP rank holds, KV bytes per token, the
//! activation peak, and how vLLM and SGLang divide the GPU between them.
//!
//! **Memory** follows vLLM v0.11's start-up accounting (V1 `Worker.determine_available_memory`):
//! `KV = util · M − weights − activation peak − non-torch`, where M is the memory CUDA reports and
//! the activation peak is the larger of the profile forward pass (`max_num_batched_tokens` tokens)
//! and the dummy sampler run (`max_num_seqs` × vocabulary logits). The CUDA context and the CUDA
//! graphs come out of the `1 − util` left over. SGLang (`profile_max_num_token`) gives the KV pool
//! `frac · M_free − weights` and keeps `1 − frac` for activations and graphs. KV bytes per token
//! per GPU are `2 · layers/PP · max(1, kv_heads/TP) · head_dim · dtype` (heads are replicated when TP
//! exceeds them); MLA caches its latent, `(kv_lora_rank + rope_dim) · dtype` per layer, on every TP
//! rank, except under SGLang's data-parallel attention (`--enable-dp-attention`, its DeepSeek
//! recipe), where each rank holds the whole attention block and the latent of its own sequences
//! only. vLLM rounds to blocks of `--block-size` tokens.

use super::engine::{Engine, KvDtype};
use super::plan::{Ctx, GpuMemory};
use crate::estimate::ModelWeights;
use crate::model::{ModelSpec, Role};
use crate::quant::{OtherFormat, Quant};
use crate::units::GIB;

/// Share of the nominal memory CUDA reports as total: an 80 GiB H100 shows 79.18 GiB in vLLM's
/// start-up log (v0.11.0 profiling runs published with their logs).
pub(super) const CUDA_VISIBLE_SHARE: f64 = 79.18 / 80.0;
/// CUDA context and library handles before vLLM measures anything, bytes (~0.5 GiB on recent
/// drivers; outside vLLM's budget, so it must fit in the `1 − util` share).
const CUDA_CONTEXT_BYTES: f64 = 0.5 * GIB;
/// Memory outside PyTorch's allocator after the profile run (NCCL and custom all-reduce buffers):
/// vLLM v0.11 logs 0.13 GiB on one GPU and 0.54–0.55 GiB at TP2 on H100.
const NON_TORCH_ONE_GPU: f64 = 0.13 * GIB;
const NON_TORCH_PARALLEL: f64 = 0.55 * GIB;
/// vLLM V1's dummy sampler run holds about this many bytes per logit (fp32 logits, probabilities,
/// sort values and int64 indices for top-k/top-p): fitted to the activation peaks vLLM v0.11 logs
/// with its H100 default of 1024 sequences: Llama-3.1-8B 4.76 GiB (vocabulary 128256), Qwen3
/// 0.6B/32B 5.56–5.64 GiB (151936), gpt-oss-20b/120b 7.38 GiB (201088), all within 3%.
const SAMPLER_BYTES_PER_LOGIT: f64 = 38.5;
/// CUDA graph capture: vLLM v0.11 logs −0.88 to +0.33 GiB for dense models and up to 1.03 GiB for
/// gpt-oss-120b; budgeted at the top of each range.
const CUDA_GRAPHS_DENSE: f64 = 0.5 * GIB;
const CUDA_GRAPHS_MOE: f64 = 1.0 * GIB;

/// Per-GPU totals of one pipeline stage.
#[derive(Debug, Default, Clone)]
pub(super) struct Stage {
    pub(super) layers: u32,
    /// Resident weight bytes.
    pub(super) weights: f64,
    /// Non-expert bytes read per step.
    pub(super) dense_read: f64,
    /// All routed-expert bytes (read in part).
    pub(super) experts: f64,
    /// Matmul elements one token uses.
    pub(super) active: f64,
    /// KV bytes per token.
    pub(super) kv_per_token: f64,
    /// Last stage (holds the sampler).
    pub(super) last: bool,
}

/// vLLM's `get_pp_indices`: equal shares, the remainder to the stages before the last one.
pub(super) fn pp_layer_counts(n_layer: u32, pp: u32) -> Vec<u32> {
    let mut v = vec![n_layer / pp; pp as usize];
    for i in 2..(n_layer % pp) + 2 {
        v[(pp - i) as usize] += 1;
    }
    v
}

pub(super) fn kv_dtype_bytes(k: KvDtype, q: Quant) -> f64 {
    match (k, q) {
        (KvDtype::Fp8, _) => 1.0,
        (KvDtype::Auto, Quant::Other(OtherFormat::Fp32)) => 4.0,
        (KvDtype::Auto, _) => 2.0,
    }
}

/// KV bytes of layer `il` per token on one TP rank.
fn kv_layer_bytes(spec: &ModelSpec, il: u32, tp: u32, dtype: f64) -> f64 {
    if !spec.has_kv(il) {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    if let (Some(r), Some(rope)) = (spec.kv_lora_rank, spec.qk_rope_head_dim) {
        return (r + rope) as f64 * dtype;
    }
    let kv = spec.n_head_kv.max(1);
    let heads = f64::from((kv / tp).max(1)) / f64::from(kv);
    #[allow(clippy::cast_precision_loss)]
    let elems = (spec.n_embd_k_gqa(il) + spec.n_embd_v_gqa(il)) as f64;
    elems * heads * dtype
}

/// Share of a tensor one TP rank holds: norms, biases, the router and MLA's down-projections are
/// replicated (vLLM `ReplicatedLinear`); K/V projections keep at least one head per rank. Under
/// data-parallel attention every rank holds the whole attention block.
fn tp_share(name: &str, role: Role, spec: &ModelSpec, tp: u32, dp_attention: bool) -> f64 {
    let tp = f64::from(tp);
    match role {
        Role::Small | Role::OutputNorm => 1.0,
        _ if dp_attention && name.contains(".attn_") => 1.0,
        _ if name.ends_with("attn_q_a.weight") || name.ends_with("attn_kv_a_mqa.weight") => 1.0,
        _ if name.ends_with("attn_k.weight") || name.ends_with("attn_v.weight") => {
            (1.0 / tp).max(1.0 / f64::from(spec.n_head_kv.max(1)))
        }
        _ => 1.0 / tp,
    }
}

/// The per-GPU totals of each of `pp` stages at TP size `tp` (with data-parallel attention when
/// `dp_attention`).
pub(super) fn stages(
    w: &ModelWeights,
    tp: u32,
    pp: u32,
    kv_dtype: f64,
    dp_attention: bool,
) -> Vec<Stage> {
    let spec = &w.spec;
    let counts = pp_layer_counts(spec.n_layer, pp);
    let mut stage_of = Vec::with_capacity(spec.n_layer as usize);
    for (s, n) in counts.iter().enumerate() {
        stage_of.extend(std::iter::repeat_n(s, *n as usize));
    }
    let last = pp as usize - 1;
    let mut st: Vec<Stage> = counts
        .iter()
        .enumerate()
        .map(|(i, n)| Stage {
            layers: *n,
            last: i == last,
            ..Stage::default()
        })
        .collect();
    let expert_use = if spec.n_expert > 1 {
        f64::from(spec.n_expert_used) / f64::from(spec.n_expert)
    } else {
        1.0
    };
    for t in &w.tensors {
        let share = tp_share(&t.info.name, t.info.role, spec, tp, dp_attention);
        #[allow(clippy::cast_precision_loss)]
        let (b, p) = (t.bytes as f64 * share, t.info.n_elements() as f64 * share);
        match (t.info.role, t.info.layer) {
            (Role::TokenEmbd, _) => {
                st[0].weights += b;
                if spec.tied_embeddings {
                    // The lm_head reads the embedding on the last stage (a copy when PP > 1).
                    if last > 0 {
                        st[last].weights += b;
                    }
                    st[last].dense_read += b;
                    st[last].active += p;
                }
            }
            // Looked up by token id on the first stage, never read whole.
            (Role::LayerInput, _) => st[0].weights += b,
            (Role::Experts, Some(il)) => {
                let s = &mut st[stage_of[il as usize]];
                s.weights += b;
                s.experts += b;
                s.active += p * expert_use;
            }
            (role, layer) => {
                let s = &mut st[layer.map_or(last, |il| stage_of[il as usize])];
                s.weights += b;
                s.dense_read += b;
                if matches!(role, Role::Matrix | Role::Output | Role::Experts) {
                    s.active += p;
                }
            }
        }
    }
    for il in 0..spec.n_layer {
        st[stage_of[il as usize]].kv_per_token += kv_layer_bytes(spec, il, tp, kv_dtype);
    }
    st
}

/// The KV cache of one replica and the memory of the GPU that limits it.
pub(super) struct KvCache {
    /// Tokens the replica's KV cache holds.
    pub(super) tokens: f64,
    /// Memory of the limiting GPU.
    pub(super) memory: GpuMemory,
    /// KV bytes per token on that GPU.
    pub(super) bytes_per_token: f64,
    /// `--gpu-memory-utilization` (SGLang `--mem-fraction-static`).
    pub(super) utilization: f64,
    /// Tokens per KV block (1 for SGLang).
    pub(super) block: f64,
}

impl Ctx<'_> {
    /// The engine's default `--max-num-batched-tokens`: vLLM 8192 on GPUs of ≥70 GiB other than
    /// A100, else 2048 (`EngineArgs.get_batch_defaults`, API server); SGLang's chunked prefill
    /// 8192, 2048 under 25 GB (`server_args.py`).
    pub(super) fn default_batched_tokens(&self) -> u64 {
        let big = match self.s.engine {
            Engine::Vllm => {
                self.mem >= 70.0 * GIB && !self.gpu.name.to_ascii_lowercase().contains("a100")
            }
            Engine::Sglang => self.mem >= 25_000.0 * 1_048_576.0,
        };
        if big {
            8192
        } else {
            2048
        }
    }

    /// The KV cache each stage's GPUs get at TP `tp` × PP `pp` with `users` sequences and `tokens`
    /// batched tokens per step, as the engine's start-up profile computes it; the stage with the
    /// fewest KV tokens limits the replica.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    pub(super) fn kv_cache(
        &self,
        st: &[Stage],
        tp: u32,
        pp: u32,
        users: u32,
        tokens: u64,
    ) -> KvCache {
        let (s, spec) = (self.s, &self.w.spec);
        let vocab = spec.n_vocab as f64;
        let d = spec.n_embd as f64;
        let ffn = if spec.n_expert > 1 {
            let fe = spec.expert_ff.unwrap_or(spec.n_ff) as f64;
            f64::from(spec.n_expert_used) * (3.0 * fe / f64::from(tp) + d)
                + 3.0 * fe * f64::from(spec.n_expert_shared) / f64::from(tp)
        } else {
            3.0 * spec.n_ff as f64 / f64::from(tp)
        };
        let forward = tokens as f64 * (3.0 * d + ffn) * 2.0;
        let parallel = tp * pp > 1;
        let non_torch = if parallel {
            NON_TORCH_PARALLEL
        } else {
            NON_TORCH_ONE_GPU
        };
        let graphs = if spec.n_expert > 1 {
            CUDA_GRAPHS_MOE
        } else {
            CUDA_GRAPHS_DENSE
        };
        let util = s.memory_utilization.unwrap_or(match s.engine {
            Engine::Vllm => 0.9,
            // SGLang's default `mem_fraction_static` by world size (server_args.py).
            Engine::Sglang => match tp * pp {
                16.. => 0.79,
                8.. => 0.81,
                4.. => 0.85,
                2.. => 0.87,
                _ => 0.88,
            },
        });
        let block = match s.engine {
            Engine::Vllm => f64::from(s.block_size),
            Engine::Sglang => 1.0,
        };
        // The stage with the fewest KV tokens limits the replica (vLLM takes the minimum block
        // count over workers).
        let mut best: Option<(f64, GpuMemory, f64)> = None;
        for stage in st {
            let sampler = if stage.last {
                match s.engine {
                    Engine::Vllm => SAMPLER_BYTES_PER_LOGIT * f64::from(users) * vocab,
                    Engine::Sglang => 8.0 * f64::from(users) * vocab,
                }
            } else {
                0.0
            };
            let act = forward.max(sampler);
            let (budget, kv) = match s.engine {
                Engine::Vllm => {
                    let b = util * self.mem;
                    (b, b - stage.weights - act - non_torch)
                }
                Engine::Sglang => {
                    let b = util * (self.mem - CUDA_CONTEXT_BYTES - non_torch);
                    (b, b - stage.weights)
                }
            };
            let kv = kv.max(0.0);
            let per_block = block * stage.kv_per_token.max(1.0);
            let kv_tokens = (kv / per_block).floor() * block;
            let m = GpuMemory {
                capacity_bytes: self.mem as u64,
                budget_bytes: budget as u64,
                weights_bytes: stage.weights as u64,
                kv_capacity_bytes: ((kv / per_block).floor() * per_block) as u64,
                activations_bytes: act as u64,
                cuda_graphs_bytes: graphs as u64,
                overhead_bytes: (CUDA_CONTEXT_BYTES + non_torch) as u64,
            };
            if best.as_ref().is_none_or(|b| kv_tokens < b.0) {
                best = Some((kv_tokens, m, stage.kv_per_token));
            }
        }
        let (kv_tokens, memory, bytes_per_token) = best.unwrap_or_default();
        KvCache {
            tokens: kv_tokens,
            memory,
            bytes_per_token,
            utilization: util,
            block,
        }
    }
}
