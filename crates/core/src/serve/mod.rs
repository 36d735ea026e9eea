//! Serving plans for vLLM and SGLang on one or more identical multi-GPU nodes: tensor (TP), pipeline
//! (PP) and data (DP) parallel sizes, the memory each GPU gives the KV cache, how many sequences fit
//! at `--max-model-len`, decode speed per user and in aggregate, time to first token, and the engine
//! settings that realise the plan. Pure: the caller supplies the GPU's interconnect as an
//! [`Interconnect`] (the device catalog builds it from its data). Not modelled: queueing, prefix
//! caching, speculative decoding, expert parallelism, sliding-window and recurrent state in vLLM's
//! hybrid allocator.
//!
//! Where things are:
//!
//! - this file: the module declarations, the re-exports and [`plan_serving`];
//! - `plan.rs`: the public inputs and results ([`Cluster`], [`ServeSettings`], [`Candidate`],
//!   [`ServingPlan`], [`PlanError`] and the rest) and the fixed context of a search;
//! - `engine.rs`: [`Engine`] and [`KvDtype`];
//! - `search.rs`: the sizes an engine accepts, the TP/PP/DP candidates, each one evaluated, and the
//!   ranking that picks the plan;
//! - `memory.rs`: memory per GPU (weights per stage and rank, KV bytes per token, activation peak,
//!   vLLM's and SGLang's start-up accounting);
//! - `speed.rs`: the decode and prefill roofline with all-reduces and pipeline hops;
//! - `links.rs`: the links collectives use, inside a node ([`Interconnect`]) and between nodes
//!   ([`InterNode`]);
//! - `command.rs`: the engine's command line;
//! - `warnings.rs`: [`PlanWarning`], what the user should know about a plan;
//! - `notes.rs`: the warnings a plan gets, assembled from its candidate and settings.
//!
//! Other engines differ: ExLlamaV2/V3 (TabbyAPI) split layers across GPUs by default (a pipeline
//! with no overlap for one user) and offer a tensor-parallel mode; MLX serves on one Apple machine
//! (its distributed mode pipelines over Thunderbolt or Ethernet); transformers' `device_map="auto"`
//! places layers in sequence, so one GPU works at a time. Their formats get a warning here.

mod command;
mod engine;
mod links;
mod memory;
mod notes;
mod plan;
mod search;
mod speed;
mod warnings;

#[cfg(test)]
mod tests;

use crate::estimate::ModelWeights;

pub use engine::{Engine, KvDtype};
pub use links::{Fabric, FabricKind, InterNode, Interconnect, Link, Pcie, PcieGen};
pub use plan::{
    Candidate, Cluster, Fit, GpuMemory, Parallelism, PlanError, ServePerformance, ServeSettings,
    ServingPlan,
};
pub use warnings::{ForeignFormat, MultiNodeLaunch, NoFitReason, PlanWarning};

use plan::Ctx;

/// Plans serving `w` on cluster `c` with settings `s`: every valid TP (dividing the GPUs of a node
/// and the model's heads) and PP (with TP·PP dividing all GPUs; the rest become DP replicas), or
/// the sizes given, ranked as `search::rank` says.
///
/// # Errors
/// [`PlanError`] for settings no plan can satisfy (no GPU, values out of range, impossible sizes).
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
    search::check(w, c, s)?;
    let ctx = Ctx::new(w, c, s, gpu);
    let found = ctx.search()?;
    let mut warnings = Vec::new();
    if let Some(reason) = found.does_not_fit {
        warnings.push(reason);
    }
    ctx.notes(&found.best, found.fast_elsewhere, &mut warnings);
    Ok(ServingPlan {
        engine: s.engine,
        max_model_len: s.max_model_len,
        kv_cache_dtype: s.kv_dtype,
        block_size: s.block_size,
        best: found.best,
        alternatives: found.alternatives,
        warnings,
    })
}
