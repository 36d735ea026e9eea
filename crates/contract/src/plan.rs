//! `llmrig plan --json`: a vLLM/SGLang serving plan for one or more identical GPU nodes.
//!
//! ```text
//! schema_version              1
//! model                       name, id, source, params, quant, weights_bytes
//! machine                     gpu, gpus_per_node, nodes, interconnect, internode
//! engine                      vllm | sglang
//! plan                        tp, pp, dp, nodes, dp_attention
//! memory_per_gpu              capacity_bytes, budget_bytes, weights_bytes, kv_capacity_bytes,
//!                             activations_bytes, cuda_graphs_bytes, overhead_bytes
//! kv_tokens_total             KV cache tokens over all replicas
//! max_concurrent_seqs         sequences of max_model_len that fit at once
//! kv_bytes_per_token_per_gpu  KV bytes one token takes on the limiting GPU
//! performance                 batch, context, per_user_decode_tokens_per_s,
//!                             aggregate_tokens_per_s, ttft_s, decode_bound
//! settings                    max_model_len, max_num_seqs, max_num_batched_tokens,
//!                             gpu_memory_utilization, kv_cache_dtype, block_size
//! fit                         fits | limited-concurrency | does-not-fit
//! command                     the engine's command line
//! alternatives                [{plan, fit, kv_tokens_total, max_concurrent_seqs, performance,
//!                             command}], best first
//! warnings                    [{code, message}]
//! ```

use serde::{Deserialize, Serialize};

use llmrig_core::estimate::ModelWeights;
use llmrig_core::serve::{
    Candidate, Engine, Fit, GpuMemory, InterNode, KvDtype, Parallelism, ServePerformance,
    ServingPlan,
};

use crate::WarningJson;

/// `plan --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanJson {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The model served.
    pub model: ModelJson,
    /// The nodes it is served on.
    pub machine: ClusterJson,
    /// `vllm` or `sglang`.
    pub engine: String,
    /// The chosen parallel layout.
    pub plan: ParallelismJson,
    /// Memory of the GPU that limits the KV cache, in the chosen layout.
    pub memory_per_gpu: GpuMemoryJson,
    /// KV cache over all replicas, tokens.
    pub kv_tokens_total: u64,
    /// Sequences of `max_model_len` tokens that fit at once over all replicas.
    pub max_concurrent_seqs: u64,
    /// KV cache one token takes on the limiting GPU, bytes.
    pub kv_bytes_per_token_per_gpu: u64,
    /// Speed of the chosen layout.
    pub performance: ServePerformanceJson,
    /// The engine's settings for the chosen layout.
    pub settings: ServeSettingsJson,
    /// `fits`, `limited-concurrency` or `does-not-fit`.
    pub fit: String,
    /// The engine's command line for the chosen layout.
    pub command: String,
    /// Other layouts that start, best first.
    pub alternatives: Vec<AlternativeJson>,
    /// What the user should know, each with a stable code.
    pub warnings: Vec<WarningJson>,
}

/// The model served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelJson {
    /// Display name.
    pub name: String,
    /// Catalog id, or the name the file gives.
    pub id: String,
    /// Where the description came from (`catalog`, `file`, `hf`, `size`, …).
    pub source: String,
    /// All weights, parameters.
    pub params: u64,
    /// The checkpoint's format (`bf16`, `fp8`, `awq`, …).
    pub quant: String,
    /// All weights, bytes.
    pub weights_bytes: u64,
}

/// The nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterJson {
    /// Name of the node's first GPU (empty without GPUs).
    pub gpu: String,
    /// GPUs in each node.
    pub gpus_per_node: u64,
    /// Identical nodes.
    pub nodes: u32,
    /// The GPU's interconnect as the device catalog describes it (empty when unknown).
    pub interconnect: String,
    /// The network between nodes: `ib-ndr`, `ib-hdr`, `roce100` or `ethernet25`.
    pub internode: String,
}

/// Parallel sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParallelismJson {
    /// Tensor-parallel size.
    pub tp: u32,
    /// Pipeline-parallel size.
    pub pp: u32,
    /// Data-parallel replicas.
    pub dp: u32,
    /// Nodes in the cluster.
    pub nodes: u32,
    /// SGLang's data-parallel attention (`--enable-dp-attention`): each TP rank runs attention
    /// for its own sequences with the whole attention weights and its own latent KV cache.
    #[serde(default)]
    pub dp_attention: bool,
}

/// Memory of the GPU that limits the KV cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuMemoryJson {
    /// Memory CUDA reports, bytes.
    pub capacity_bytes: u64,
    /// What the engine may use (`gpu_memory_utilization` × capacity for vLLM), bytes.
    pub budget_bytes: u64,
    /// Weights on this GPU, bytes.
    pub weights_bytes: u64,
    /// KV cache allocated, bytes.
    pub kv_capacity_bytes: u64,
    /// Activation peak of the engine's profile run, bytes.
    pub activations_bytes: u64,
    /// CUDA graphs (outside the budget), bytes.
    pub cuda_graphs_bytes: u64,
    /// CUDA context and communication buffers, bytes.
    pub overhead_bytes: u64,
}

/// Speed of a layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServePerformanceJson {
    /// Sequences decoding together in one replica.
    pub batch: u32,
    /// Context of each sequence while decoding, tokens.
    pub context: u64,
    /// Decode speed each user sees, tokens/s.
    pub per_user_decode_tokens_per_s: f64,
    /// Decode speed over all users, tokens/s.
    pub aggregate_tokens_per_s: f64,
    /// Time to first token: the prompt's prefill plus one decode step at this batch (no
    /// queueing), seconds.
    pub ttft_s: f64,
    /// What limits decoding: `memory` or `compute`.
    pub decode_bound: String,
}

/// The engine's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServeSettingsJson {
    /// `--max-model-len`, tokens.
    pub max_model_len: u64,
    /// `--max-num-seqs` per replica.
    pub max_num_seqs: u32,
    /// `--max-num-batched-tokens` (SGLang: chunked prefill size), tokens.
    pub max_num_batched_tokens: u64,
    /// `--gpu-memory-utilization` (SGLang: `--mem-fraction-static`), a share of GPU memory.
    pub gpu_memory_utilization: f64,
    /// KV cache dtype: `auto` (the model's) or `fp8`.
    pub kv_cache_dtype: String,
    /// Tokens per KV cache block.
    pub block_size: u32,
}

/// Another layout that starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlternativeJson {
    /// Parallel sizes.
    pub plan: ParallelismJson,
    /// `fits` or `limited-concurrency`.
    pub fit: String,
    /// KV cache over all replicas, tokens.
    pub kv_tokens_total: u64,
    /// Sequences of `max_model_len` tokens that fit at once over all replicas.
    pub max_concurrent_seqs: u64,
    /// Speed.
    pub performance: ServePerformanceJson,
    /// The engine's command line.
    pub command: String,
}

impl PlanJson {
    /// The wire form of `plan` for `w` (described by `source`) on `machine`; `command` gives the
    /// engine's command line of a candidate (the best when `None`); `warnings` are the plan's,
    /// mapped by the front end, then its notes.
    #[must_use]
    pub fn new(
        w: &ModelWeights,
        source: &str,
        machine: ClusterJson,
        plan: &ServingPlan,
        command: &dyn Fn(Option<&Candidate>) -> String,
        warnings: Vec<WarningJson>,
    ) -> PlanJson {
        let b = &plan.best;
        PlanJson {
            schema_version: crate::SCHEMA_VERSION,
            model: ModelJson {
                name: w.spec.name.clone(),
                id: w.spec.id.clone(),
                source: source.to_string(),
                params: w.params(),
                quant: w.quant.name(),
                weights_bytes: w.total_bytes(),
            },
            machine,
            engine: engine_name(plan.engine).to_string(),
            plan: ParallelismJson::from(&b.plan),
            memory_per_gpu: GpuMemoryJson::from(&b.memory_per_gpu),
            kv_tokens_total: b.kv_tokens_total,
            max_concurrent_seqs: b.max_concurrent_seqs,
            kv_bytes_per_token_per_gpu: b.kv_bytes_per_token_per_gpu,
            performance: ServePerformanceJson::from(&b.performance),
            settings: ServeSettingsJson {
                max_model_len: plan.max_model_len,
                max_num_seqs: b.max_num_seqs,
                max_num_batched_tokens: b.max_num_batched_tokens,
                gpu_memory_utilization: b.memory_utilization,
                kv_cache_dtype: kv_dtype_name(plan.kv_cache_dtype).to_string(),
                block_size: plan.block_size,
            },
            fit: fit_name(b.fit).to_string(),
            command: command(None),
            alternatives: plan
                .alternatives
                .iter()
                .map(|c| AlternativeJson {
                    plan: ParallelismJson::from(&c.plan),
                    fit: fit_name(c.fit).to_string(),
                    kv_tokens_total: c.kv_tokens_total,
                    max_concurrent_seqs: c.max_concurrent_seqs,
                    performance: ServePerformanceJson::from(&c.performance),
                    command: command(Some(c)),
                })
                .collect(),
            warnings,
        }
    }
}

impl ClusterJson {
    /// `nodes` nodes of `gpus_per_node` GPUs named `gpu`, joined inside a node by `interconnect`
    /// (the device catalog's text) and between nodes by `internode`.
    #[must_use]
    pub fn new(
        gpu: &str,
        gpus_per_node: usize,
        nodes: u32,
        interconnect: &str,
        internode: InterNode,
    ) -> ClusterJson {
        ClusterJson {
            gpu: gpu.to_string(),
            gpus_per_node: gpus_per_node as u64,
            nodes,
            interconnect: interconnect.to_string(),
            internode: internode_name(internode).to_string(),
        }
    }
}

impl From<&Parallelism> for ParallelismJson {
    fn from(p: &Parallelism) -> ParallelismJson {
        ParallelismJson {
            tp: p.tp,
            pp: p.pp,
            dp: p.dp,
            nodes: p.nodes,
            dp_attention: p.dp_attention,
        }
    }
}

impl From<&GpuMemory> for GpuMemoryJson {
    fn from(m: &GpuMemory) -> GpuMemoryJson {
        GpuMemoryJson {
            capacity_bytes: m.capacity_bytes,
            budget_bytes: m.budget_bytes,
            weights_bytes: m.weights_bytes,
            kv_capacity_bytes: m.kv_capacity_bytes,
            activations_bytes: m.activations_bytes,
            cuda_graphs_bytes: m.cuda_graphs_bytes,
            overhead_bytes: m.overhead_bytes,
        }
    }
}

impl From<&ServePerformance> for ServePerformanceJson {
    fn from(p: &ServePerformance) -> ServePerformanceJson {
        ServePerformanceJson {
            batch: p.batch,
            context: p.context,
            per_user_decode_tokens_per_s: p.per_user_decode_tokens_per_s,
            aggregate_tokens_per_s: p.aggregate_tokens_per_s,
            ttft_s: p.ttft_s,
            decode_bound: p.decode_bound.to_string(),
        }
    }
}

/// The contract's name of a plan's fit.
#[must_use]
pub fn fit_name(f: Fit) -> &'static str {
    match f {
        Fit::Fits => "fits",
        Fit::LimitedConcurrency => "limited-concurrency",
        Fit::DoesNotFit => "does-not-fit",
    }
}

/// The contract's name of a KV cache dtype.
#[must_use]
pub fn kv_dtype_name(k: KvDtype) -> &'static str {
    match k {
        KvDtype::Auto => "auto",
        KvDtype::Fp8 => "fp8",
    }
}

/// The contract's name of the network between nodes. `roce100` and `ethernet25` differ from the
/// flag values (`roce-100`, `ethernet-25`): they are the names the first contract printed.
#[must_use]
pub fn internode_name(n: InterNode) -> &'static str {
    match n {
        InterNode::IbNdr => "ib-ndr",
        InterNode::IbHdr => "ib-hdr",
        InterNode::Roce100 => "roce100",
        InterNode::Ethernet25 => "ethernet25",
    }
}

/// The contract's name of an engine (`vllm`, `sglang`).
#[must_use]
pub fn engine_name(e: Engine) -> &'static str {
    e.name()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each name is the one the core's `Serialize` derive printed before the contract had its own
    /// structs, so documents did not change when the plan moved here.
    #[test]
    fn names_are_the_first_contracts() {
        let serde_name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
        for (_, n) in InterNode::ALL {
            assert_eq!(internode_name(n), serde_name(serde_json::json!(n)));
        }
        for f in [Fit::Fits, Fit::LimitedConcurrency, Fit::DoesNotFit] {
            assert_eq!(fit_name(f), serde_name(serde_json::json!(f)));
        }
        for k in [KvDtype::Auto, KvDtype::Fp8] {
            assert_eq!(kv_dtype_name(k), serde_name(serde_json::json!(k)));
        }
        for e in [Engine::Vllm, Engine::Sglang] {
            assert_eq!(engine_name(e), serde_name(serde_json::json!(e)));
        }
    }
}
