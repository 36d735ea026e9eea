//! Compute buffers, exactly: llama.cpp's graph for a model, rebuilt tensor by tensor, and
//! ggml-alloc's allocator replayed over it; with a GPU, `ggml_backend_sched`'s placement of each op
//! and its copies between backends first (`sched.rs`).
//!
//! A closed form ("logits plus a few activations") gets within a few MiB, but where the logits land
//! depends on how earlier activations fragmented the buffer: Qwen3 at `-c 4096 -fa on` peaks 5 MiB
//! above its logits because the final matmul's output no longer fits below a 6 MiB gap. Only the
//! replay gets that right, so the estimate uses it for every architecture whose graph is written
//! here (`build/`: shared pieces in `mod.rs`, one builder per architecture in `arch.rs`), and the
//! closed forms in `memory.rs` otherwise. The graphs follow the builders in llama.cpp's
//! `src/models/*.cpp` and `llm_graph_context` (`src/llama-graph.cpp`) at the commit the validation
//! harness builds; `validation/` checks the CPU result against llama.cpp's own reservation, the
//! H200 logs (crates/catalog/tests/it/cuda_h200.rs) the CUDA ones, and `examples/graph_trace.rs`
//! prints the allocation events to compare with a `GGML_ALLOCATOR_DEBUG` trace.

mod alloc;
mod build;
mod ir;
pub mod sched;

use crate::model::ModelSpec;

use super::memory::ContextShape;
use super::settings::Settings;

pub use alloc::Event;
pub use ir::{Graph, Id, Kind, Op, Tensor, NONE, W};

/// The CPU compute buffer of a CPU-only run, bytes; `None` when this architecture's graph is not
/// written here.
#[must_use]
pub fn cpu_compute_bytes(spec: &ModelSpec, shape: &ContextShape, s: &Settings) -> Option<u64> {
    let g = build::build(spec, shape, s)?;
    Some(alloc::simulate(&g, None))
}

/// The size of one CPU buffer that ggml-alloc reserves for any graph written in this IR (other
/// engines' graphs too: stable-diffusion.cpp's transformers, `stack::image::graphs`).
#[must_use]
pub fn cpu_buffer_bytes(g: &Graph) -> u64 {
    alloc::simulate(g, None)
}

/// The graph llama.cpp reserves for this run, for the scheduler replay (`sched`); `None` when
/// its graph is not written here or not yet annotated with the weights each op reads.
#[must_use]
pub fn sched_graph(spec: &ModelSpec, shape: &ContextShape, s: &Settings) -> Option<Graph> {
    if !sched_arch(spec) {
        return None;
    }
    build::build(spec, shape, s)
}

/// Whether the builder tags every weight this architecture's ops read (needed to place them).
#[must_use]
pub fn sched_arch(spec: &ModelSpec) -> bool {
    use crate::model::Arch;
    matches!(
        spec.arch,
        Arch::Llama
            | Arch::Qwen2
            | Arch::Qwen3
            | Arch::Qwen3Moe
            | Arch::Phi3
            | Arch::Gemma2
            | Arch::Gemma3
            | Arch::Cohere2
            | Arch::GptOss
    )
}

/// The graph llmrig replays for this run, and the allocation events (for comparing with a
/// `GGML_ALLOCATOR_DEBUG` trace of llama.cpp).
#[must_use]
pub fn trace(
    spec: &ModelSpec,
    shape: &ContextShape,
    s: &Settings,
) -> Option<(Graph, Vec<Event>, u64)> {
    let g = build::build(spec, shape, s)?;
    let mut ev = Vec::new();
    let size = alloc::simulate(&g, Some(&mut ev));
    Some((g, ev, size))
}

#[cfg(test)]
mod tests;
