//! Serving plans for vLLM and SGLang on one or more identical multi-GPU nodes: tensor (TP), pipeline
//! (PP) and data (DP) parallel sizes, the memory each GPU gives the KV cache, how many sequences fit
//! at `--max-model-len`, decode speed per user and in aggregate, time to first token, and the engine
//! settings that realise the plan. Pure: the caller supplies the GPU's interconnect text from the
//! device catalog. Not modelled: queueing, prefix caching, speculative decoding, expert parallelism,
//! sliding-window and recurrent state in vLLM's hybrid allocator.
//!
//! **Memory** follows vLLM v0.11's start-up accounting (V1 `Worker.determine_available_memory`):
//! `KV = util · M − weights − activation peak − non-torch`, where M is the memory CUDA reports and
//! the activation peak is the larger of the profile forward pass (`max_num_batched_tokens` tokens)
//! and the dummy sampler run (`max_num_seqs` × vocabulary logits). The CUDA context and the CUDA
//! graphs come out of the `1 − util` left over. SGLang (`profile_max_num_token`) gives the KV pool
//! `frac · M_free − weights` and keeps `1 − frac` for activations and graphs. KV bytes per token
//! per GPU are `2 · layers/PP · max(1, kv_heads/TP) · head_dim · dtype` (heads are replicated when TP
//! exceeds them); MLA caches its latent, `(kv_lora_rank + rope_dim) · dtype` per layer, on every TP
//! rank. vLLM rounds to blocks of `--block-size` tokens.
//!
//! **Speed** is the roofline of shared/notes/perf-models.md §6 per GPU of the slowest stage:
//! `t = max(bytes / (η_bw·BW), FLOPs / (η_c·peak)) + 2·layers·(α + 2(TP−1)/TP · B·d·2 / link)` plus
//! PP hops and a fixed per-step time; weights read per step count `E·(1 − (1 − k/E)^B)` experts
//! per MoE layer (§2.6). Per-user tokens/s is `1/t`, aggregate `B/t` per replica.
//!
//! Other engines differ: ExLlamaV2/V3 (TabbyAPI) split layers across GPUs by default (a pipeline
//! with no overlap for one user) and offer a tensor-parallel mode; MLX serves on one Apple machine
//! (its distributed mode pipelines over Thunderbolt or Ethernet); transformers' `device_map="auto"`
//! places layers in sequence, so one GPU works at a time. Their formats get a warning here.

use serde::Serialize;

use super::weights::ModelWeights;
use crate::model::{ModelSpec, Role};
use crate::quant::{OtherFormat, Quant};
use crate::system::{DeviceKind, DeviceSpec, GpuApi};

const GIB: f64 = 1_073_741_824.0;

/// A note on a serving plan with a stable code for scripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanWarning {
    /// Stable identifier (`tp-exceeds-kv-heads`).
    pub code: &'static str,
    /// Text for people.
    pub message: String,
}

/// Share of the nominal memory CUDA reports as total: an 80 GiB H100 shows 79.18 GiB in vLLM's
/// start-up log (v0.11.0 profiling runs published with their logs).
const CUDA_VISIBLE_SHARE: f64 = 79.18 / 80.0;
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
/// Share of peak HBM bandwidth vLLM-class engines reach at decode (perf-models.md §2.5: 75–80% for
/// fp16 GEMV in vLLM/Sarathi profiles; §6 default 0.8).
const ETA_BW: f64 = 0.8;
/// Share of peak tensor FLOP/s (§2.5: MFU 68–77% for GEMMs of ≥1024 tokens, 30–47% at 64–128
/// tokens; 0.6 for the mix of a serving step).
const ETA_C: f64 = 0.6;
/// Fixed time per engine step (scheduling, sampling, launches), seconds. §6 puts the GPU side at
/// 0.1–0.3 ms; vLLM's TP4 Qwen2.5-7B TPOT at concurrency 1 (§2.5: 3.93 ms on 4×H100 NVL, 5.49 ms
/// on 4×A100) is matched best (+3%, −15%) by 1.5 ms once weights and all-reduces are counted.
const STEP_S: f64 = 1.5e-3;
/// Achieved share of an NVLink/Infinity Fabric direction in a ring all-reduce (§2.8: 8×H100 bus
/// bandwidth 365 of 450 GB/s, 8×A100 174 of 300).
const FABRIC_EFFICIENCY: f64 = 0.7;
/// Achieved share of a network link's line rate.
const NIC_EFFICIENCY: f64 = 0.8;

/// The serving engine whose memory rules and flags the plan uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// vLLM (V1 engine).
    Vllm,
    /// SGLang.
    Sglang,
}

impl Engine {
    /// The name users type.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Engine::Vllm => "vllm",
            Engine::Sglang => "sglang",
        }
    }
}

/// KV cache element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KvDtype {
    /// The model's activation dtype (BF16/FP16, 2 bytes).
    Auto,
    /// FP8 e4m3 (1 byte).
    Fp8,
}

/// The network between nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterNode {
    /// InfiniBand NDR, 400 Gb/s per GPU's NIC.
    IbNdr,
    /// InfiniBand HDR, 200 Gb/s.
    IbHdr,
    /// RoCE at 100 Gb/s.
    Roce100,
    /// 25 Gb/s Ethernet (NCCL over TCP sockets).
    Ethernet25,
}

impl InterNode {
    /// Every kind with its flag name.
    pub const ALL: [(&'static str, InterNode); 4] = [
        ("ib-ndr", InterNode::IbNdr),
        ("ib-hdr", InterNode::IbHdr),
        ("roce-100", InterNode::Roce100),
        ("ethernet-25", InterNode::Ethernet25),
    ];

    /// Line rate and latency: NDR 50 GB/s, HDR 25 GB/s per NIC with tens of µs (perf-models.md
    /// §2.8 "multi-node", α 20–40 µs in §6); RoCE and Ethernet from their line rates, with TCP
    /// sockets assumed slower than the RDMA range.
    #[must_use]
    pub fn link(self) -> Link {
        let (name, gbit, us) = match self {
            InterNode::IbNdr => ("InfiniBand NDR", 400.0, 20.0),
            InterNode::IbHdr => ("InfiniBand HDR", 200.0, 25.0),
            InterNode::Roce100 => ("RoCE 100 Gb/s", 100.0, 30.0),
            InterNode::Ethernet25 => ("Ethernet 25 Gb/s", 25.0, 50.0),
        };
        Link {
            name: name.into(),
            bandwidth_bytes_per_s: gbit / 8.0 * 1e9 * NIC_EFFICIENCY,
            latency_s: us * 1e-6,
        }
    }
}

/// A link as a collective sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// What it is.
    pub name: String,
    /// Achieved bandwidth per direction, bytes/s.
    pub bandwidth_bytes_per_s: f64,
    /// Latency of one small collective or send, seconds.
    pub latency_s: f64,
}

/// The link a TP group of `tp` GPUs uses inside a node, from the device catalog's interconnect
/// text (`NVLink4 900 GB/s total; PCIe 5.0 x16`). α follows perf-models.md §6: 10 µs for an NVLink
/// pair growing to 25 µs for 8 GPUs, 50 µs for PCIe without peer-to-peer (GeForce cards, §2.8),
/// 25 µs for PCIe with it. PCIe achieves 12/25/50 GB/s per x16 direction for gen 3/4/5 (§2.8),
/// halved when copies bounce through host memory. An NVLink bridge joins pairs only (or four GPUs
/// when the text says so); larger groups cross PCIe.
#[must_use]
pub fn intra_node_link(interconnect: &str, device_name: &str, tp: u32) -> Link {
    let text = interconnect.to_ascii_lowercase();
    #[allow(clippy::cast_precision_loss)]
    let fabric_alpha = (10.0 + 7.5 * (f64::from(tp.max(2)) / 2.0).log2()) * 1e-6;
    // The largest `N GB/s` (or `LxN GB/s`, links times rate) in the segment naming `key`.
    let gbs_after = |key: &str| -> Option<f64> {
        let seg = text
            .split(';')
            .find(|s| s.contains(key) && !s.contains("c2c"))?;
        let parts: Vec<&str> = seg.split("gb/s").collect();
        parts[..parts.len() - 1]
            .iter()
            .filter_map(|p| {
                let tok = p.split_whitespace().last()?.trim_matches(['(', ')']);
                match tok.split_once('x') {
                    Some((l, r)) => Some(l.parse::<f64>().ok()? * r.parse::<f64>().ok()?),
                    None => tok.parse().ok(),
                }
            })
            .reduce(f64::max)
    };
    let bridge_ok = tp <= 2 || (tp <= 4 && text.contains("4-way"));
    let full_mesh = text.split(';').any(|s| {
        (s.contains("nvlink") && !s.contains("bridge") && !s.contains("c2c") && s.contains("gb/s"))
            || s.contains("infinity fabric") && !s.contains("bridge")
    });
    if full_mesh || (text.contains("bridge") && bridge_ok) {
        let key = if text.contains("infinity fabric") {
            "infinity fabric"
        } else if text.contains("bridge") && !full_mesh {
            "bridge"
        } else {
            "nvlink"
        };
        // NVLink totals count both directions; a bridge's figure is per pair, both directions.
        let total = gbs_after(key).unwrap_or(400.0);
        return Link {
            name: interconnect.split(';').next().unwrap_or("").trim().into(),
            bandwidth_bytes_per_s: total / 2.0 * 1e9 * FABRIC_EFFICIENCY,
            latency_s: fabric_alpha,
        };
    }
    let gen = ["pcie 5", "pcie 4", "pcie 3"]
        .iter()
        .position(|g| text.contains(g))
        .map_or(25.0, |i| [50.0, 25.0, 12.0][i]);
    let lanes = if text.contains(" x8") { 0.5 } else { 1.0 };
    let p2p = !(text.contains("no p2p") || device_name.to_ascii_lowercase().contains("geforce"));
    Link {
        name: if p2p { "PCIe" } else { "PCIe without P2P" }.into(),
        bandwidth_bytes_per_s: gen * lanes * 1e9 * if p2p { 1.0 } else { 0.5 },
        latency_s: if p2p { 25e-6 } else { 50e-6 },
    }
}

/// The machines: `nodes` identical nodes, each with `gpus`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// The GPUs of one node (the smallest is used for every rank, as TP does).
    pub gpus: Vec<DeviceSpec>,
    /// Number of nodes.
    pub nodes: u32,
    /// The GPU's interconnect as the device catalog states it (empty: PCIe 4.0 x16 assumed).
    pub interconnect: String,
    /// Dense FP8 tensor rate, FLOP/s (0: no FP8 tensor cores; FP8 weights then run at FP16 rate).
    pub fp8_flops: f64,
    /// Network between nodes.
    pub internode: InterNode,
}

/// What the user asks of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeSettings {
    /// Engine.
    pub engine: Engine,
    /// Longest sequence (prompt + output), tokens.
    pub max_model_len: u64,
    /// Concurrent sequences over the whole cluster.
    pub users: u32,
    /// vLLM `--gpu-memory-utilization` / SGLang `--mem-fraction-static`; `None`: the engine default.
    pub memory_utilization: Option<f64>,
    /// vLLM KV block size, tokens.
    pub block_size: u32,
    /// KV cache dtype.
    pub kv_dtype: KvDtype,
    /// Fixed tensor-parallel size.
    pub tp: Option<u32>,
    /// Fixed pipeline-parallel size.
    pub pp: Option<u32>,
    /// `--max-num-batched-tokens` (SGLang `--chunked-prefill-size`); `None`: the engine default.
    pub max_num_batched_tokens: Option<u64>,
    /// Least acceptable per-user decode speed, tokens/s.
    pub min_tps: f64,
    /// Prompt length for the time to first token, tokens.
    pub prompt: u64,
    /// Tokens in context while decoding; `None`: half of `max_model_len`.
    pub depth: Option<u64>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            engine: Engine::Vllm,
            max_model_len: 8192,
            users: 16,
            memory_utilization: None,
            block_size: 16,
            kv_dtype: KvDtype::Auto,
            tp: None,
            pp: None,
            max_num_batched_tokens: None,
            min_tps: 10.0,
            prompt: 512,
            depth: None,
        }
    }
}

/// Parallel sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Parallelism {
    /// Tensor-parallel size.
    pub tp: u32,
    /// Pipeline-parallel size.
    pub pp: u32,
    /// Data-parallel replicas.
    pub dp: u32,
    /// Nodes in the cluster.
    pub nodes: u32,
}

/// Memory of the GPU that limits the KV cache, bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GpuMemory {
    /// Memory CUDA reports.
    pub capacity_bytes: u64,
    /// What the engine may use (`util` × capacity for vLLM).
    pub budget_bytes: u64,
    /// Weights on this GPU.
    pub weights_bytes: u64,
    /// KV cache allocated.
    pub kv_capacity_bytes: u64,
    /// Activation peak of the profile run.
    pub activations_bytes: u64,
    /// CUDA graphs (outside the budget).
    pub cuda_graphs_bytes: u64,
    /// CUDA context and communication buffers.
    pub overhead_bytes: u64,
}

/// Speed of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServePerformance {
    /// Sequences decoding together in one replica.
    pub batch: u32,
    /// Context of each sequence while decoding, tokens.
    pub context: u64,
    /// Decode tokens/s each user sees.
    pub per_user_decode_tokens_per_s: f64,
    /// Decode tokens/s over all users.
    pub aggregate_tokens_per_s: f64,
    /// Time to first token: the prompt's prefill plus one decode step at this batch (no queueing),
    /// seconds.
    pub ttft_s: f64,
    /// `memory` or `compute`.
    pub decode_bound: &'static str,
}

/// Whether a plan holds the requested load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fit {
    /// Weights, or one `max_model_len` sequence, do not fit; the engine refuses to start.
    DoesNotFit,
    /// Starts, but fewer than `users` sequences fit at `max_model_len` (the engine queues the rest).
    LimitedConcurrency,
    /// Every user fits at `max_model_len`.
    Fits,
}

/// One evaluated parallel layout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Parallel sizes.
    pub plan: Parallelism,
    /// Memory of the limiting GPU.
    pub memory_per_gpu: GpuMemory,
    /// KV bytes one token takes on that GPU.
    pub kv_bytes_per_token_per_gpu: u64,
    /// KV cache tokens over all replicas.
    pub kv_tokens_total: u64,
    /// Sequences of `max_model_len` that fit at once over all replicas.
    pub max_concurrent_seqs: u64,
    /// `--max-num-seqs` per replica.
    pub max_num_seqs: u32,
    /// `--max-num-batched-tokens` (SGLang: chunked prefill size).
    pub max_num_batched_tokens: u64,
    /// `--gpu-memory-utilization` (SGLang: `--mem-fraction-static`).
    pub memory_utilization: f64,
    /// Speed.
    pub performance: ServePerformance,
    /// Whether it holds the load.
    pub fit: Fit,
    /// Per-user speed reaches `--min-tps`.
    pub meets_min_tps: bool,
}

/// The chosen plan, its alternatives (best first) and what to know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServingPlan {
    /// Engine.
    pub engine: Engine,
    /// `--max-model-len`.
    pub max_model_len: u64,
    /// KV cache dtype.
    pub kv_cache_dtype: KvDtype,
    /// vLLM block size.
    pub block_size: u32,
    /// The best plan.
    pub best: Candidate,
    /// Other plans that start, best first.
    pub alternatives: Vec<Candidate>,
    /// Things the user should know.
    pub warnings: Vec<PlanWarning>,
}

/// Settings no plan can satisfy.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// No GPU in the machine.
    #[error("serving plans need GPUs: pass --gpu, e.g. `--gpu \"8x h100\"`")]
    NoGpu,
    /// A value out of range.
    #[error("{flag} {value} is out of range: expected {expected}")]
    OutOfRange {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
        /// The accepted range.
        expected: String,
    },
    /// A parallel size the engine rejects.
    #[error("{flag} {value} is not possible: {reason}")]
    Parallel {
        /// `--tp` or `--pp`.
        flag: &'static str,
        /// The size.
        value: u32,
        /// Why.
        reason: String,
    },
}

/// Per-GPU totals of one pipeline stage.
#[derive(Debug, Default, Clone)]
struct Stage {
    layers: u32,
    /// Resident weight bytes.
    weights: f64,
    /// Non-expert bytes read per step.
    dense_read: f64,
    /// All routed-expert bytes (read in part).
    experts: f64,
    /// Matmul elements one token uses.
    active: f64,
    /// KV bytes per token.
    kv_per_token: f64,
    /// Last stage (holds the sampler).
    last: bool,
}

/// vLLM's `get_pp_indices`: equal shares, the remainder to the stages before the last one.
fn pp_layer_counts(n_layer: u32, pp: u32) -> Vec<u32> {
    let mut v = vec![n_layer / pp; pp as usize];
    for i in 2..(n_layer % pp) + 2 {
        v[(pp - i) as usize] += 1;
    }
    v
}

fn kv_dtype_bytes(k: KvDtype, q: Quant) -> f64 {
    match (k, q) {
        (KvDtype::Fp8, _) => 1.0,
        (KvDtype::Auto, Quant::Other(OtherFormat::Fp32)) => 4.0,
        (KvDtype::Auto, _) => 2.0,
    }
}

/// KV bytes of layer `il` per token on one TP rank.
fn kv_layer_bytes(spec: &ModelSpec, il: u32, tp: u32, dtype: f64) -> f64 {
    if spec.is_recurrent_layer(il) {
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
/// replicated (vLLM `ReplicatedLinear`); K/V projections keep at least one head per rank.
fn tp_share(name: &str, role: Role, spec: &ModelSpec, tp: u32) -> f64 {
    let tp = f64::from(tp);
    match role {
        Role::Small | Role::OutputNorm => 1.0,
        _ if name.ends_with("attn_q_a.weight") || name.ends_with("attn_kv_a_mqa.weight") => 1.0,
        _ if name.ends_with("attn_k.weight") || name.ends_with("attn_v.weight") => {
            (1.0 / tp).max(1.0 / f64::from(spec.n_head_kv.max(1)))
        }
        _ => 1.0 / tp,
    }
}

fn stages(w: &ModelWeights, tp: u32, pp: u32, kv_dtype: f64) -> Vec<Stage> {
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
        let share = tp_share(&t.info.name, t.info.role, spec, tp);
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

/// Why `tp` cannot serve this model, if it cannot: vLLM needs the attention heads divisible by TP,
/// KV heads divisible by TP or TP by them, and for grouped int formats each row-parallel input
/// shard a multiple of the group (`input_size_per_partition % group_size`).
fn tp_problem(w: &ModelWeights, tp: u32) -> Option<String> {
    let s = &w.spec;
    if s.n_head % tp != 0 {
        return Some(format!(
            "the model's {} attention heads are not divisible by it",
            s.n_head
        ));
    }
    let kv = s.n_head_kv.max(1);
    if !s.is_mla() && kv % tp != 0 && tp % kv != 0 {
        return Some(format!(
            "the model's {kv} KV heads and the TP size must divide one another"
        ));
    }
    let group = match w.quant {
        Quant::Other(OtherFormat::Gptq { group, .. } | OtherFormat::Wna16 { group, .. }) => group,
        Quant::Other(OtherFormat::Awq { group, .. }) => Some(group),
        _ => None,
    };
    if let Some(g) = group.map(u64::from) {
        let ff = if s.n_expert > 1 {
            s.expert_ff.unwrap_or(s.n_ff)
        } else {
            s.n_ff
        };
        for width in [ff, s.q_width()] {
            if width % u64::from(tp) != 0 || (width / u64::from(tp)) % g != 0 {
                return Some(format!(
                    "a {width}-wide row-parallel layer split {tp} ways is not a multiple of the quant group size {g}"
                ));
            }
        }
    }
    None
}

/// Expected distinct experts per MoE layer for `b` tokens under uniform routing (§2.6).
fn experts_touched(spec: &ModelSpec, b: f64) -> f64 {
    if spec.n_expert < 2 {
        return 1.0;
    }
    let e = f64::from(spec.n_expert);
    let k = f64::from(spec.n_expert_used);
    e * (1.0 - (1.0 - k / e).powf(b))
}

/// Everything that stays fixed while candidates vary.
struct Ctx<'a> {
    w: &'a ModelWeights,
    c: &'a Cluster,
    s: &'a ServeSettings,
    gpu: &'a DeviceSpec,
    mem: f64,
    peak: f64,
    kv_dtype: f64,
}

impl Ctx<'_> {
    fn all_reduce(&self, link: &Link, tp: u32, tokens: f64) -> f64 {
        if tp < 2 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let bytes = tokens * self.w.spec.n_embd as f64 * 2.0;
        let tp = f64::from(tp);
        link.latency_s + 2.0 * (tp - 1.0) / tp * bytes / link.bandwidth_bytes_per_s
    }

    /// The link TP's all-reduces use: the node's fabric, or the network when TP spans nodes.
    fn tp_link(&self, tp: u32) -> Link {
        #[allow(clippy::cast_possible_truncation)]
        match self.c.gpus.len() as u32 {
            gpn if tp > gpn => self.c.internode.link(),
            _ => intra_node_link(&self.c.interconnect, &self.gpu.name, tp),
        }
    }

    /// PP's `pp − 1` hops for `tokens` (hidden state and residual, BF16): inside a node between a
    /// pair of GPUs, over the network where stages change nodes.
    fn hops(&self, tp: u32, pp: u32, tokens: f64) -> f64 {
        #[allow(clippy::cast_possible_truncation)]
        let inter = pp.div_ceil((self.c.gpus.len() as u32 / tp).max(1)) - 1;
        #[allow(clippy::cast_precision_loss)]
        let bytes = tokens * self.w.spec.n_embd as f64 * 4.0;
        let t = |l: Link| l.latency_s + bytes / l.bandwidth_bytes_per_s;
        f64::from(pp - 1 - inter) * t(intra_node_link(&self.c.interconnect, &self.gpu.name, 2))
            + f64::from(inter) * t(self.c.internode.link())
    }

    /// Seconds per decode step for `b` sequences per replica at context `ctx`, and the bound.
    fn step(&self, st: &[Stage], tp: u32, pp: u32, b: f64, ctx: f64) -> (f64, &'static str) {
        let spec = &self.w.spec;
        let tp_link = self.tp_link(tp);
        let mb = (b / f64::from(pp)).ceil().max(1.0);
        let bw = ETA_BW * self.gpu.bandwidth_bytes_per_s;
        let touched = experts_touched(spec, mb) / f64::from(spec.n_expert.max(1));
        #[allow(clippy::cast_precision_loss)]
        let attn_flops = 4.0 * spec.q_width() as f64 / f64::from(tp) * ctx;
        let mut worst: f64 = 0.0;
        let mut bound = "memory";
        for s in st {
            let bytes = s.dense_read + s.experts * touched + mb * ctx * s.kv_per_token;
            let flops = mb * (2.0 * s.active + attn_flops * f64::from(s.layers));
            let (tm, tc) = (bytes / bw, flops / (ETA_C * self.peak));
            let t = tm.max(tc) + 2.0 * f64::from(s.layers) * self.all_reduce(&tp_link, tp, mb);
            if t > worst {
                worst = t;
                bound = if tc > tm { "compute" } else { "memory" };
            }
        }
        (
            f64::from(pp) * worst + self.hops(tp, pp, mb) + STEP_S,
            bound,
        )
    }

    /// Seconds to prefill one prompt of `n` tokens (chunked by `chunk`) on an idle replica.
    fn prefill(&self, st: &[Stage], tp: u32, pp: u32, n: f64, chunk: f64) -> f64 {
        let spec = &self.w.spec;
        let tp_link = self.tp_link(tp);
        let chunks = (n / chunk).ceil().max(1.0);
        let touched = experts_touched(spec, n.min(chunk)) / f64::from(spec.n_expert.max(1));
        #[allow(clippy::cast_precision_loss)]
        let attn = 2.0 * spec.q_width() as f64 / f64::from(tp) * n * n;
        let mut t = 0.0;
        for s in st {
            let bytes = chunks * (s.dense_read + s.experts * touched) + n * s.kv_per_token;
            let flops = 2.0 * s.active * n + attn * f64::from(s.layers);
            t += (bytes / (ETA_BW * self.gpu.bandwidth_bytes_per_s))
                .max(flops / (ETA_C * self.peak))
                + 2.0 * f64::from(s.layers) * self.all_reduce(&tp_link, tp, n);
        }
        t + self.hops(tp, pp, n) + STEP_S
    }

    /// The engine's default `--max-num-batched-tokens`: vLLM 8192 on GPUs of ≥70 GiB other than
    /// A100, else 2048 (`EngineArgs.get_batch_defaults`, API server); SGLang's chunked prefill
    /// 8192, 2048 under 25 GB (`server_args.py`).
    fn default_batched_tokens(&self) -> u64 {
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

    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    fn evaluate(&self, tp: u32, pp: u32) -> Candidate {
        let (w, s, spec) = (self.w, self.s, &self.w.spec);
        let total_gpus = self.c.gpus.len() as u32 * self.c.nodes;
        let dp = (total_gpus / (tp * pp)).max(1);
        let users = s.users.div_ceil(dp).max(1);
        let st = stages(w, tp, pp, self.kv_dtype);
        let tokens = s
            .max_num_batched_tokens
            .unwrap_or_else(|| self.default_batched_tokens())
            .max(u64::from(users));
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
        for stage in &st {
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
        let (kv_tokens, memory_per_gpu, kv_tok) = best.unwrap_or_default();
        let kv_tokens = kv_tokens as u64;
        let len = s.max_model_len;
        let blocks_per_seq = len.div_ceil(block as u64) * block as u64;
        let seqs = kv_tokens / blocks_per_seq.max(1);
        let ctx = s.depth.unwrap_or(len / 2).clamp(1, len);
        let fit_batch = (kv_tokens / ctx).max(1);
        let batch = u64::from(users).min(fit_batch) as u32;
        let (t, bound) = self.step(&st, tp, pp, f64::from(batch), ctx as f64);
        let prompt = s.prompt.clamp(1, len) as f64;
        let ttft = self.prefill(&st, tp, pp, prompt, tokens as f64);
        let fit = if kv_tokens < len {
            Fit::DoesNotFit
        } else if seqs * u64::from(dp) < u64::from(s.users) {
            Fit::LimitedConcurrency
        } else {
            Fit::Fits
        };
        let per_user = 1.0 / t;
        let decoding = (u64::from(batch) * u64::from(dp)).min(u64::from(s.users));
        let aggregate = decoding as f64 / t;
        Candidate {
            plan: Parallelism {
                tp,
                pp,
                dp,
                nodes: self.c.nodes,
            },
            memory_per_gpu,
            kv_bytes_per_token_per_gpu: kv_tok as u64,
            kv_tokens_total: kv_tokens * u64::from(dp),
            max_concurrent_seqs: seqs * u64::from(dp),
            max_num_seqs: users,
            max_num_batched_tokens: tokens,
            memory_utilization: util,
            performance: ServePerformance {
                batch,
                context: ctx,
                per_user_decode_tokens_per_s: per_user,
                aggregate_tokens_per_s: aggregate,
                ttft_s: ttft + t,
                decode_bound: bound,
            },
            fit,
            meets_min_tps: per_user >= s.min_tps,
        }
    }
}

/// Ranking: plans that hold every user, then those meeting `--min-tps`, then aggregate throughput
/// (per-user speed when the minimum is missed), then fewer GPUs per replica.
fn rank(a: &Candidate) -> (Fit, bool, f64, i64) {
    let p = &a.performance;
    let speed = if a.meets_min_tps {
        p.aggregate_tokens_per_s
    } else {
        p.per_user_decode_tokens_per_s
    };
    (
        a.fit,
        a.meets_min_tps,
        speed,
        -i64::from(a.plan.tp * a.plan.pp),
    )
}

fn divisors(n: u32) -> impl Iterator<Item = u32> {
    (1..=n).filter(move |d| n % d == 0)
}

fn warn(code: &'static str, message: String) -> PlanWarning {
    PlanWarning { code, message }
}

/// Plans serving `w` on cluster `c` with settings `s`: every valid TP (dividing the GPUs of a node
/// and the model's heads) and PP (with TP·PP dividing all GPUs; the rest become DP replicas), or
/// the sizes given, ranked as [`rank`] says.
///
/// # Errors
/// [`PlanError`] for settings no plan can satisfy (no GPU, values out of range, impossible sizes).
#[allow(clippy::too_many_lines)]
pub fn plan_serving(
    w: &ModelWeights,
    c: &Cluster,
    s: &ServeSettings,
) -> Result<ServingPlan, PlanError> {
    let gpu = c
        .gpus
        .iter()
        .min_by_key(|g| g.memory_bytes)
        .ok_or(PlanError::NoGpu)?;
    #[allow(clippy::cast_possible_truncation)]
    let gpn = c.gpus.len() as u32;
    let util = s.memory_utilization.unwrap_or(0.9);
    let checks = [
        (
            "--nodes",
            (1..=1024).contains(&c.nodes),
            c.nodes.to_string(),
            "1..=1024",
        ),
        (
            "--max-model-len",
            (1..=super::settings::MAX_CTX).contains(&s.max_model_len),
            s.max_model_len.to_string(),
            "1..=16777216",
        ),
        (
            "--users",
            (1..=1_000_000).contains(&s.users),
            s.users.to_string(),
            "1..=1000000",
        ),
        (
            "--gpu-memory-utilization",
            util > 0.0 && util <= 1.0,
            util.to_string(),
            "a fraction in (0, 1]",
        ),
        (
            "--block-size",
            [1, 8, 16, 32, 64, 128].contains(&s.block_size),
            s.block_size.to_string(),
            "1, 8, 16, 32, 64 or 128",
        ),
        (
            "--min-tps",
            s.min_tps.is_finite() && s.min_tps >= 0.0,
            s.min_tps.to_string(),
            "a non-negative number",
        ),
    ];
    if let Some((flag, _, value, expected)) = checks.into_iter().find(|c| !c.1) {
        let expected = expected.into();
        return Err(PlanError::OutOfRange {
            flag,
            value,
            expected,
        });
    }
    let total = gpn * c.nodes;
    if let Some(tp) = s.tp {
        let reason = if tp == 0 || tp > total {
            Some(format!("the cluster has {total} GPUs"))
        } else if tp > gpn && tp % gpn != 0 {
            Some(format!(
                "TP beyond one node must span whole nodes of {gpn} GPUs"
            ))
        } else {
            tp_problem(w, tp)
        };
        if let Some(reason) = reason {
            return Err(PlanError::Parallel {
                flag: "--tp",
                value: tp,
                reason,
            });
        }
    }
    if let Some(pp) = s.pp {
        let most = total / s.tp.unwrap_or(1);
        if pp == 0 || pp > w.spec.n_layer || pp > most {
            return Err(PlanError::Parallel {
                flag: "--pp",
                value: pp,
                reason: format!(
                    "expected 1..={} (layers {}, GPUs {total} / TP)",
                    most.min(w.spec.n_layer),
                    w.spec.n_layer
                ),
            });
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let mem = gpu.memory_bytes as f64 * CUDA_VISIBLE_SHARE;
    let fp8 = matches!(
        w.quant,
        Quant::Other(OtherFormat::Fp8 { .. } | OtherFormat::Nvfp4)
    );
    let peak = if fp8 && c.fp8_flops > 0.0 {
        c.fp8_flops
    } else {
        gpu.fp16_flops
    };
    let ctx = Ctx {
        w,
        c,
        s,
        gpu,
        mem,
        peak: peak.max(1e12),
        kv_dtype: kv_dtype_bytes(s.kv_dtype, w.quant),
    };
    let tps: Vec<u32> = match s.tp {
        Some(tp) => vec![tp],
        None => divisors(gpn)
            .filter(|&t| tp_problem(w, t).is_none())
            .collect(),
    };
    let mut cands = Vec::new();
    for &tp in &tps {
        let pps: Vec<u32> = match s.pp {
            Some(pp) => vec![pp],
            None => divisors(total / tp)
                .filter(|&p| p <= w.spec.n_layer && total % (tp * p) == 0)
                .collect(),
        };
        for pp in pps {
            cands.push(ctx.evaluate(tp, pp));
        }
    }
    if cands.is_empty() {
        return Err(PlanError::Parallel {
            flag: "--tp",
            value: gpn,
            reason: format!(
                "no TP size dividing {gpn} GPUs suits the model ({} heads, {} KV heads)",
                w.spec.n_head, w.spec.n_head_kv
            ),
        });
    }
    cands.sort_by(|a, b| {
        rank(b)
            .partial_cmp(&rank(a))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut warnings = Vec::new();
    let fast_elsewhere = cands
        .iter()
        .any(|c| c.meets_min_tps && c.fit != Fit::DoesNotFit);
    let best = if cands[0].fit == Fit::DoesNotFit {
        // Nothing starts: show the plan with the most room for weights and explain it.
        let b = cands
            .iter()
            .max_by_key(|c| {
                c.memory_per_gpu
                    .budget_bytes
                    .saturating_sub(c.memory_per_gpu.weights_bytes)
            })
            .cloned()
            .unwrap_or_else(|| cands[0].clone());
        warnings.push(warn("does-not-fit", does_not_fit(&ctx, &b)));
        b
    } else {
        cands.remove(0)
    };
    let alternatives: Vec<Candidate> = cands
        .into_iter()
        .filter(|a| a.fit != Fit::DoesNotFit && a.plan != best.plan)
        .take(8)
        .collect();
    notes(&ctx, &best, fast_elsewhere, &mut warnings);
    Ok(ServingPlan {
        engine: s.engine,
        max_model_len: s.max_model_len,
        kv_cache_dtype: s.kv_dtype,
        block_size: s.block_size,
        best,
        alternatives,
        warnings,
    })
}

#[allow(clippy::cast_precision_loss)]
fn gib(b: u64) -> f64 {
    b as f64 / GIB
}

#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn does_not_fit(ctx: &Ctx, b: &Candidate) -> String {
    let m = &b.memory_per_gpu;
    let (p, w) = (&b.plan, ctx.w);
    let room = m.budget_bytes as f64 - m.activations_bytes as f64 - m.overhead_bytes as f64;
    let head = format!(
        "{} in {} ({:.1} GiB of weights) does not fit {} × {}",
        w.spec.name,
        w.quant.name(),
        gib(w.total_bytes()),
        ctx.c.gpus.len() as u32 * ctx.c.nodes,
        ctx.gpu.name
    );
    if m.weights_bytes as f64 >= room {
        let need = (w.total_bytes() as f64 / room.max(1.0)).ceil();
        format!(
            "{head}: split over TP{} PP{} each GPU holds {:.1} GiB of weights but the engine may use {:.1} GiB of {:.1} GiB (utilization {:.2}); about {need:.0} such GPUs are needed: add GPUs or nodes (--nodes), or use a smaller format (fp8, awq)",
            p.tp,
            p.pp,
            gib(m.weights_bytes),
            gib(m.budget_bytes),
            gib(m.capacity_bytes),
            b.memory_utilization
        )
    } else {
        format!(
            "{head}: after {:.1} GiB of weights per GPU (TP{} PP{}) the KV cache holds {} tokens, fewer than one --max-model-len {} sequence: lower --max-model-len, use --kv-cache-dtype fp8, or add GPUs",
            gib(m.weights_bytes),
            p.tp,
            p.pp,
            b.kv_tokens_total / u64::from(p.dp.max(1)),
            ctx.s.max_model_len
        )
    }
}

#[allow(clippy::cast_precision_loss)]
fn notes(ctx: &Ctx, b: &Candidate, fast_elsewhere: bool, out: &mut Vec<PlanWarning>) {
    let (s, spec) = (ctx.s, &ctx.w.spec);
    if b.fit == Fit::LimitedConcurrency {
        out.push(warn("limited-concurrency", format!(
            "only {} sequences of {} tokens fit at once (of {} users); the engine queues or preempts the rest when all run long",
            b.max_concurrent_seqs, s.max_model_len, s.users
        )));
    }
    if b.fit != Fit::DoesNotFit && !b.meets_min_tps {
        out.push(warn(
            "below-min-tps",
            format!(
                "{:.1} tokens/s per user is below --min-tps {:.0}; {}",
                b.performance.per_user_decode_tokens_per_s,
                s.min_tps,
                if fast_elsewhere {
                    "the faster alternatives hold fewer users at --max-model-len"
                } else {
                    "no plan reaches it on these GPUs"
                }
            ),
        ));
    }
    let m = &b.memory_per_gpu;
    let outside = (m.cuda_graphs_bytes + m.overhead_bytes) as f64;
    if s.engine == Engine::Vllm && ((m.capacity_bytes - m.budget_bytes) as f64) < outside {
        out.push(warn("cuda-graph-headroom", format!(
            "--gpu-memory-utilization {:.2} leaves {:.2} GiB for the CUDA context and graphs (~{:.1} GiB needed); lower it or add --enforce-eager",
            b.memory_utilization,
            gib(m.capacity_bytes - m.budget_bytes),
            outside / GIB
        )));
    }
    if b.plan.tp > ctx.c.gpus.len() as u32 {
        out.push(warn("tp-across-nodes", "tensor parallelism crosses nodes: every layer's all-reduces go over the network; keep TP inside a node and use PP across nodes".into()));
    }
    let p = &b.plan;
    if p.nodes > 1 {
        let msg = if p.dp >= p.nodes {
            format!("each node holds whole replicas: run the command on every node with {} replica(s) each (vLLM --data-parallel-size-local, SGLang --dp-size) and spread requests over the nodes", p.dp / p.nodes)
        } else if s.engine == Engine::Vllm {
            "vLLM spans nodes through a Ray cluster: `ray start --head` on one node, `ray start --address HEAD:6379` on the others, then run the command on the head".into()
        } else {
            "run the command on every node with its own --node-rank, pointing --dist-init-addr at node 0".into()
        };
        out.push(warn("multi-node-launch", msg));
    }
    if spec.context_length > 0 && s.max_model_len > spec.context_length {
        out.push(warn("context-beyond-training", format!(
            "--max-model-len {} exceeds the trained {} tokens; vLLM refuses it unless VLLM_ALLOW_LONG_MAX_MODEL_LEN=1",
            s.max_model_len, spec.context_length
        )));
    }
    if ctx
        .c
        .gpus
        .iter()
        .any(|g| g.memory_bytes != ctx.gpu.memory_bytes || g.name != ctx.gpu.name)
    {
        out.push(warn(
            "mixed-gpus",
            format!(
                "the GPUs differ; every rank is planned as the smallest, {}",
                ctx.gpu.name
            ),
        ));
    }
    if ctx
        .c
        .gpus
        .iter()
        .any(|g| !matches!(g.api, GpuApi::Cuda | GpuApi::Rocm) || g.kind != DeviceKind::Gpu)
    {
        out.push(warn("engine-unsupported-device", format!(
            "{} runs on NVIDIA (CUDA) and AMD (ROCm) GPUs; on Apple silicon use MLX (mlx_lm.server) or llama.cpp",
            s.engine.name()
        )));
    }
    if spec.sliding_window.is_some() {
        out.push(warn("sliding-window-not-modelled", "sliding-window layers are counted at full length; vLLM's hybrid allocator frees their blocks outside the window, so the real KV capacity is larger".into()));
    }
    if spec.recurrent.is_some() {
        out.push(warn("recurrent-not-modelled", "recurrent layers' per-sequence state is not modelled; only attention layers' KV is counted".into()));
    }
    if spec.n_expert > 1 {
        out.push(warn("moe-speed-rough", "mixture-of-experts speed assumes uniform routing over TP-sharded experts (no expert parallelism)".into()));
    }
    if let Some(n) = format_note(ctx.w.quant) {
        out.push(warn("format-engine", n));
    }
    out.push(warn("speed-uncalibrated", "serving speed uses published efficiencies (bandwidth 0.8, compute 0.6, all-reduce latencies from NCCL profiles), not yet calibrated against vLLM or SGLang runs".into()));
}

/// What differs for formats vLLM and SGLang do not load natively.
fn format_note(q: Quant) -> Option<String> {
    Some(match q {
        Quant::Gguf(_) => "vLLM loads GGUF experimentally (one file, slower kernels) and SGLang partly; prefer a BF16, FP8 or AWQ checkpoint, or llama.cpp (`llmrig estimate`)".into(),
        Quant::Other(f) => match f {
            OtherFormat::Exl2 { .. } | OtherFormat::Exl3 { .. } => "EXL2/EXL3 run on ExLlamaV2/V3 (TabbyAPI), not vLLM or SGLang: they split layers over GPUs by default (one GPU works at a time for one user) and have a tensor-parallel mode; memory here follows vLLM's rules".into(),
            OtherFormat::Mlx { .. } => "MLX weights run on Apple silicon with mlx-lm, one machine (its distributed mode pipelines layers over Thunderbolt or Ethernet); not on vLLM or SGLang".into(),
            OtherFormat::Hqq { .. } | OtherFormat::BnbNf4 { .. } | OtherFormat::BnbFp4 { .. } | OtherFormat::BnbInt8 => "bitsandbytes and HQQ are transformers formats: device_map=\"auto\" places layers in sequence (no tensor parallelism); vLLM loads bitsandbytes with slower kernels".into(),
            _ => return None,
        },
    })
}

impl ServingPlan {
    /// The engine's command line for candidate `c` (the best plan when `None`), serving `model`
    /// (a Hugging Face repository or a path); `quantization` adds vLLM's `--quantization` (online
    /// FP8 of a BF16 checkpoint).
    #[must_use]
    pub fn command(
        &self,
        c: Option<&Candidate>,
        model: &str,
        quantization: Option<&str>,
    ) -> String {
        let c = c.unwrap_or(&self.best);
        let p = &c.plan;
        let mut v: Vec<String> = Vec::new();
        let mut arg = |k: &str, val: String| {
            v.push(k.into());
            v.push(val);
        };
        let kv = |sg: bool| match (self.kv_cache_dtype, sg) {
            (KvDtype::Auto, _) => "auto",
            (KvDtype::Fp8, false) => "fp8",
            (KvDtype::Fp8, true) => "fp8_e4m3",
        };
        let head = match self.engine {
            Engine::Vllm => {
                arg("--tensor-parallel-size", p.tp.to_string());
                arg("--pipeline-parallel-size", p.pp.to_string());
                if p.dp > 1 {
                    arg("--data-parallel-size", p.dp.to_string());
                }
                arg("--max-model-len", self.max_model_len.to_string());
                arg("--max-num-seqs", c.max_num_seqs.to_string());
                arg(
                    "--max-num-batched-tokens",
                    c.max_num_batched_tokens.to_string(),
                );
                arg(
                    "--gpu-memory-utilization",
                    format!("{:.2}", c.memory_utilization),
                );
                arg("--kv-cache-dtype", kv(false).into());
                arg("--block-size", self.block_size.to_string());
                if let Some(q) = quantization {
                    arg("--quantization", q.into());
                }
                if p.nodes > 1 && p.dp < p.nodes {
                    arg("--distributed-executor-backend", "ray".into());
                }
                format!("vllm serve {model}")
            }
            Engine::Sglang => {
                arg("--tp", p.tp.to_string());
                if p.pp > 1 {
                    arg("--pp-size", p.pp.to_string());
                }
                if p.dp > 1 {
                    arg("--dp-size", p.dp.to_string());
                }
                arg("--context-length", self.max_model_len.to_string());
                arg("--max-running-requests", c.max_num_seqs.to_string());
                arg(
                    "--chunked-prefill-size",
                    c.max_num_batched_tokens.to_string(),
                );
                arg(
                    "--mem-fraction-static",
                    format!("{:.2}", c.memory_utilization),
                );
                arg("--kv-cache-dtype", kv(true).into());
                if let Some(q) = quantization {
                    arg("--quantization", q.into());
                }
                if p.nodes > 1 {
                    arg("--nnodes", p.nodes.to_string());
                    arg("--node-rank", "0".into());
                    arg("--dist-init-addr", "NODE0_IP:5000".into());
                }
                format!("python -m sglang.launch_server --model-path {model}")
            }
        };
        format!("{head} {}", v.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Arch;

    #[allow(clippy::too_many_arguments)]
    fn llama(layers: u32, d: u64, ff: u64, heads: u32, kv: u32, vocab: u64) -> ModelSpec {
        ModelSpec {
            id: "t".into(),
            name: "test llama".into(),
            arch: Arch::Llama,
            n_layer: layers,
            n_embd: d,
            n_ff: ff,
            n_head: heads,
            n_head_kv: kv,
            head_dim: Some(128),
            n_vocab: vocab,
            context_length: 131_072,
            ..ModelSpec::default()
        }
    }

    fn bf16(spec: &ModelSpec) -> ModelWeights {
        ModelWeights::new(spec, Quant::Other(OtherFormat::Bf16))
    }

    fn gpu(name: &str, gib: u64, tbs: f64, tflops: f64) -> DeviceSpec {
        DeviceSpec {
            name: name.into(),
            memory_bytes: gib << 30,
            bandwidth_bytes_per_s: tbs * 1e12,
            fp16_flops: tflops * 1e12,
            api: GpuApi::Cuda,
            ..DeviceSpec::default()
        }
    }

    fn h100s(n: usize) -> Cluster {
        Cluster {
            gpus: vec![gpu("NVIDIA H100 SXM 80GB", 80, 3.35, 989.4); n],
            nodes: 1,
            interconnect: "NVLink4 900 GB/s total; PCIe 5.0 x16".into(),
            fp8_flops: 1978.9e12,
            internode: InterNode::IbNdr,
        }
    }

    fn settings(users: u32, tp: Option<u32>) -> ServeSettings {
        ServeSettings {
            users,
            tp,
            max_model_len: 8192,
            ..ServeSettings::default()
        }
    }

    #[test]
    fn llama_70b_on_8_h100_by_hand() {
        let w = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
        let p = plan_serving(&w, &h100s(8), &settings(64, Some(8))).unwrap();
        let b = &p.best;
        assert_eq!((b.plan.tp, b.plan.pp, b.plan.dp), (8, 1, 1));
        // Weights: 70.55e9 params × 2 B = 141.1 GB; / 8 = 17.64 GB (16.43 GiB) per GPU.
        let wt = b.memory_per_gpu.weights_bytes as f64;
        assert!((wt / 17.64e9 - 1.0).abs() < 0.002, "{wt}");
        // KV per token: 80 layers × 2 (K, V) × 8 KV heads × 128 × 2 B = 320 KiB; one head per GPU
        // at TP8 = 40 KiB.
        assert_eq!(b.kv_bytes_per_token_per_gpu, 40 << 10);
        // Budget 0.9 × 79.18 GiB = 71.26 GiB. Activations: the forward of 8192 tokens,
        // 8192 × (3·8192 + 3·28672/8) × 2 B = 0.539 GiB, beats the sampler's
        // 38.5 × 64 × 128256 B = 0.294 GiB. Non-torch 0.55 GiB. KV = 71.26 − 16.43 − 0.54 − 0.55
        // = 53.74 GiB = 88 050 blocks of 16 × 40 KiB → 1 408 800 tokens; 8192-token sequences
        // take 512 blocks: 171 of them fit.
        let kv = b.memory_per_gpu.kv_capacity_bytes as f64 / GIB;
        assert!((kv - 53.74).abs() < 0.02, "{kv}");
        assert!(
            b.kv_tokens_total.abs_diff(1_408_800) < 700,
            "{}",
            b.kv_tokens_total
        );
        assert_eq!(b.max_concurrent_seqs, 171);
        assert_eq!(b.fit, Fit::Fits);
        assert_eq!(b.max_num_seqs, 64);
        // Decode at 64 × 4096 tokens: weights read 17.37 GB (the input embedding is a lookup) + KV
        // 64·4096·40 KiB = 10.74 GB at 0.8 × 3.35 TB/s = 10.49 ms (compute: 2 ms); 160 all-reduces
        // of 64·8192·2 B = 1 MiB, each 25 µs + 1.75 MiB / 315 GB/s = 30.8 µs, = 4.93 ms; 1.5 ms
        // step: 16.9 ms, 59 tokens/s per user.
        let t = 1.0 / b.performance.per_user_decode_tokens_per_s;
        assert!((t - 0.0169).abs() < 0.0002, "{t}");
        assert!((b.performance.aggregate_tokens_per_s * t - 64.0).abs() < 1e-6);
        assert!(p.command(None, "meta-llama/Llama-3.1-70B-Instruct", None).starts_with(
            "vllm serve meta-llama/Llama-3.1-70B-Instruct --tensor-parallel-size 8 --pipeline-parallel-size 1 --max-model-len 8192 --max-num-seqs 64"
        ));
    }

    #[test]
    fn llama_8b_kv_matches_vllm_log() {
        // vLLM v0.11.0, H100 (79.18 GiB), --max-model-len 16000 --block-size 128, default 1024
        // sequences: "Available KV cache memory: 51.38 GiB" after 14.99 GiB of weights, 4.76 GiB
        // of activations and 0.13 GiB non-torch.
        let w = bf16(&llama(32, 4096, 14336, 32, 8, 128_256));
        let s = ServeSettings {
            users: 1024,
            max_model_len: 16000,
            block_size: 128,
            tp: Some(1),
            ..ServeSettings::default()
        };
        let b = plan_serving(&w, &h100s(1), &s).unwrap().best;
        let kv = b.memory_per_gpu.kv_capacity_bytes as f64 / GIB;
        assert!((kv / 51.38 - 1.0).abs() < 0.01, "{kv}");
        let act = b.memory_per_gpu.activations_bytes as f64 / GIB;
        assert!((act / 4.76 - 1.0).abs() < 0.03, "{act}");
    }

    #[test]
    fn tp4_decode_near_published_vllm() {
        // §2.5: vLLM TP4 Qwen2.5-7B at concurrency 1: TPOT 3.93 ms on 4×H100 NVL (NVLink bridges
        // join pairs, so the 4-way ring crosses PCIe), 5.49 ms on 4×A100.
        let w = bf16(&ModelSpec {
            n_ff: 18944,
            ..llama(28, 3584, 18944, 28, 4, 152_064)
        });
        let s = ServeSettings {
            users: 1,
            tp: Some(4),
            max_model_len: 2048,
            depth: Some(256),
            ..ServeSettings::default()
        };
        let nvl = Cluster {
            gpus: vec![gpu("NVIDIA H100 NVL 94GB", 94, 3.9, 835.5); 4],
            interconnect: "PCIe 5.0 x16; NVLink bridge 600 GB/s".into(),
            ..h100s(4)
        };
        let a100 = Cluster {
            gpus: vec![gpu("NVIDIA A100 SXM4 80GB", 80, 2.039, 312.0); 4],
            interconnect: "NVLink3 600 GB/s total; PCIe 4.0 x16".into(),
            ..h100s(4)
        };
        for (c, ms) in [(nvl, 3.93), (a100, 5.49)] {
            let b = plan_serving(&w, &c, &s).unwrap().best;
            let t = 1e3 / b.performance.per_user_decode_tokens_per_s;
            assert!(
                (t / ms - 1.0).abs() < 0.25,
                "{}: {t:.2} ms vs {ms}",
                c.gpus[0].name
            );
        }
    }

    #[test]
    fn more_gpus_never_reduce_kv_capacity() {
        let w = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
        let mut last = 0;
        for n in [2u32, 4, 8] {
            let p = plan_serving(&w, &h100s(n as usize), &settings(16, Some(n))).unwrap();
            assert!(p.best.kv_tokens_total >= last, "{n} GPUs");
            last = p.best.kv_tokens_total;
        }
        // With the planner's choice too, over every plan it considered.
        let most = |n: usize| {
            let p = plan_serving(&w, &h100s(n), &settings(16, None)).unwrap();
            std::iter::once(&p.best)
                .chain(&p.alternatives)
                .map(|c| c.kv_tokens_total)
                .max()
                .unwrap()
        };
        assert!(most(8) >= most(4) && most(4) >= most(2));
    }

    #[test]
    fn more_users_never_raise_per_user_speed() {
        let w = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
        let mut last = f64::INFINITY;
        for users in [1, 2, 8, 32, 64, 128, 256, 1024] {
            let b = plan_serving(&w, &h100s(8), &settings(users, Some(8)))
                .unwrap()
                .best;
            let v = b.performance.per_user_decode_tokens_per_s;
            assert!(v <= last + 1e-9, "{users} users: {v} > {last}");
            last = v;
        }
    }

    #[test]
    fn llama_405b_bf16_on_two_4090s_does_not_fit() {
        let w = bf16(&ModelSpec {
            n_layer: 126,
            ..llama(126, 16384, 53248, 128, 8, 128_256)
        });
        let c = Cluster {
            gpus: vec![gpu("NVIDIA GeForce RTX 4090", 24, 1.008, 165.2); 2],
            interconnect: "PCIe 4.0 x16 (no NVLink; no P2P)".into(),
            fp8_flops: 0.0,
            ..h100s(2)
        };
        let p = plan_serving(&w, &c, &settings(1, None)).unwrap();
        assert_eq!(p.best.fit, Fit::DoesNotFit);
        let msg = &p
            .warnings
            .iter()
            .find(|w| w.code == "does-not-fit")
            .unwrap()
            .message;
        assert!(
            msg.contains("does not fit 2 × NVIDIA GeForce RTX 4090"),
            "{msg}"
        );
        assert!(msg.contains("such GPUs are needed"), "{msg}");
        assert!(p.alternatives.is_empty());
    }

    #[test]
    fn planner_prefers_replicas_for_small_models_and_tp_for_large() {
        let small = bf16(&llama(32, 4096, 14336, 32, 8, 128_256));
        let p = plan_serving(&small, &h100s(8), &settings(256, None)).unwrap();
        assert!(p.best.plan.dp > 1, "{:?}", p.best.plan);
        assert!(p.best.meets_min_tps);
        let big = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
        let p = plan_serving(&big, &h100s(8), &settings(64, None)).unwrap();
        assert_eq!(p.best.fit, Fit::Fits);
        assert!(p.best.plan.tp >= 4, "{:?}", p.best.plan);
        assert!(p
            .command(None, "m", None)
            .contains("--tensor-parallel-size"));
    }

    #[test]
    fn pipeline_across_nodes_and_sglang_flags() {
        let w = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
        let c = Cluster {
            nodes: 2,
            ..h100s(8)
        };
        let s = ServeSettings {
            engine: Engine::Sglang,
            tp: Some(8),
            pp: Some(2),
            kv_dtype: KvDtype::Fp8,
            ..settings(64, Some(8))
        };
        let p = plan_serving(&w, &c, &s).unwrap();
        assert_eq!((p.best.plan.tp, p.best.plan.pp, p.best.plan.dp), (8, 2, 1));
        // 40 layers per stage × 1 head × 128 × 2 × 1 B (fp8).
        assert_eq!(p.best.kv_bytes_per_token_per_gpu, 40 * 2 * 128);
        assert!((p.best.memory_utilization - 0.79).abs() < 1e-9);
        let cmd = p.command(None, "m", None);
        assert!(cmd.contains("--tp 8 --pp-size 2"), "{cmd}");
        assert!(
            cmd.contains("--kv-cache-dtype fp8_e4m3 --nnodes 2"),
            "{cmd}"
        );
        assert!(p.warnings.iter().any(|w| w.code == "multi-node-launch"));
    }

    #[test]
    fn layers_split_like_vllm() {
        assert_eq!(pp_layer_counts(80, 3), vec![27, 27, 26]);
        assert_eq!(pp_layer_counts(61, 4), vec![15, 15, 16, 15]);
        assert_eq!(pp_layer_counts(32, 1), vec![32]);
    }

    #[test]
    fn links_from_catalog_text() {
        let nv = intra_node_link("NVLink4 900 GB/s total; PCIe 5.0 x16", "H100", 8);
        assert!((nv.bandwidth_bytes_per_s - 315e9).abs() < 1e6);
        assert!((nv.latency_s - 25e-6).abs() < 1e-9);
        let pair = intra_node_link("PCIe 4.0 x16; NVLink bridge 112.5 GB/s", "RTX 3090", 2);
        assert!((pair.latency_s - 10e-6).abs() < 1e-9);
        let four = intra_node_link(
            "PCIe 4.0 x16; NVLink bridge 112.5 GB/s",
            "NVIDIA GeForce RTX 3090",
            4,
        );
        assert_eq!(four.name, "PCIe without P2P");
        let mi = intra_node_link(
            "Infinity Fabric 7x128 GB/s (896 GB/s); PCIe 5.0 x16",
            "MI300X",
            8,
        );
        assert!((mi.bandwidth_bytes_per_s - 313.6e9).abs() < 1e6);
        let gh = intra_node_link("NVLink-C2C 900 GB/s to Grace; NVLink4 900 GB/s", "GH200", 4);
        assert!((gh.latency_s - 17.5e-6).abs() < 1e-9);
        let l40 = intra_node_link("PCIe 4.0 x16", "NVIDIA L40S", 4);
        assert!((l40.bandwidth_bytes_per_s - 25e9).abs() < 1.0);
    }

    #[test]
    fn bad_sizes_are_errors() {
        let w = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
        let e = plan_serving(&w, &h100s(8), &settings(1, Some(3))).unwrap_err();
        assert!(e.to_string().contains("attention heads"), "{e}");
        let mut s = settings(1, None);
        s.memory_utilization = Some(1.5);
        assert!(plan_serving(&w, &h100s(8), &s).is_err());
        let none = Cluster {
            gpus: vec![],
            ..h100s(1)
        };
        assert_eq!(plan_serving(&w, &none, &s), Err(PlanError::NoGpu));
    }

    #[test]
    fn moe_reads_more_experts_with_batch() {
        let spec = ModelSpec {
            n_expert: 8,
            n_expert_used: 2,
            ..llama(32, 4096, 14336, 32, 8, 32000)
        };
        assert!((experts_touched(&spec, 1.0) - 2.0).abs() < 1e-9);
        assert!((experts_touched(&spec, 4.0) - 5.47).abs() < 0.01);
    }
}
