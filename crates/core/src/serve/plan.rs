//! The plan's inputs and results: the [`Cluster`] and the [`ServeSettings`] the user gives, the
//! [`Candidate`]s the search evaluates (their [`Parallelism`], [`GpuMemory`] and
//! [`ServePerformance`], and whether they [`Fit`]), the [`ServingPlan`] chosen, the [`PlanError`]s
//! of settings no plan can satisfy, and `Ctx`, what stays fixed while candidates vary.

use serde::Serialize;

use super::engine::{Engine, KvDtype};
use super::links::{InterNode, Interconnect};
use super::warnings::PlanWarning;
use crate::estimate::ModelWeights;
use crate::system::DeviceSpec;

/// The machines: `nodes` identical nodes, each with `gpus`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// The GPUs of one node (the smallest is used for every rank, as TP does).
    pub gpus: Vec<DeviceSpec>,
    /// Number of nodes.
    pub nodes: u32,
    /// What joins the GPUs inside a node (the device catalog's data; PCIe 4.0 x16 with
    /// peer-to-peer when unknown, see [`Interconnect::default`]).
    pub interconnect: Interconnect,
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
    /// SGLang's data-parallel attention for MLA models (`--enable-dp-attention --dp TP`): every
    /// TP rank holds the whole attention and the latent KV of its own sequences instead of a
    /// replicated share, while the experts stay split over the ranks.
    pub dp_attention: bool,
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
#[derive(Debug, Clone, PartialEq)]
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
    #[error("serving plans need GPUs")]
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

/// Everything that stays fixed while candidates vary.
pub(super) struct Ctx<'a> {
    pub(super) w: &'a ModelWeights,
    pub(super) c: &'a Cluster,
    pub(super) s: &'a ServeSettings,
    /// The GPU every rank is planned as (the smallest).
    pub(super) gpu: &'a DeviceSpec,
    /// Memory CUDA reports on it, bytes.
    pub(super) mem: f64,
    /// Tensor FLOP/s the weights' format runs at.
    pub(super) peak: f64,
    /// KV cache bytes per element.
    pub(super) kv_dtype: f64,
}
