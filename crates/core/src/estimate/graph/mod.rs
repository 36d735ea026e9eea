//! The CPU compute buffer, exactly: llama.cpp's graph for a model, rebuilt tensor by tensor, and
//! ggml-alloc's allocator replayed over it.
//!
//! A closed form ("logits plus a few activations") gets within a few MiB, but where the logits land
//! depends on how earlier activations fragmented the buffer: Qwen3 at `-c 4096 -fa on` peaks 5 MiB
//! above its logits because the final matmul's output no longer fits below a 6 MiB gap. Only the
//! replay gets that right, so the CPU-only estimate uses it for every architecture whose graph is
//! written here ([`build`]), and the closed forms in `memory.rs` otherwise. The graphs follow the
//! builders in llama.cpp's `src/models/*.cpp` and `llm_graph_context` (`src/llama-graph.cpp`) at the
//! commit the validation harness builds; `validation/` checks the result against llama.cpp's own
//! reservation, and `examples/graph_trace.rs` prints the allocation events to compare with a
//! `GGML_ALLOCATOR_DEBUG` trace.

mod alloc;
mod build;

use crate::model::ModelSpec;

use super::memory::ContextShape;
use super::settings::Settings;

pub use alloc::Event;

/// Index of a tensor in [`Graph::tensors`].
pub type Id = usize;

/// Marks an unused source slot.
const NONE: Id = usize::MAX;

/// Where a tensor's memory comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not in the compute buffer: weights, KV cache, views of them, and ops that write into them.
    External,
    /// A graph input (token ids, positions, masks, ...), allocated before the graph runs.
    Input,
    /// An op's result, allocated when the op runs.
    Op,
    /// A view (reshape, permute, ...) of an allocated tensor, the root of the view chain.
    View(Id),
}

/// One tensor of the graph.
#[derive(Debug, Clone)]
pub struct Tensor {
    /// Name, as llama.cpp names it (`-il` is appended for layer tensors when printed).
    pub name: &'static str,
    /// Layer, or -1.
    pub layer: i32,
    /// Shape (`ne`).
    pub ne: [u64; 4],
    /// Bytes per element.
    pub esize: u64,
    /// Memory origin.
    pub kind: Kind,
    /// Sources that matter for allocation (weights are left out).
    pub srcs: [Id; 4],
    /// `ggml_op_can_inplace` for its op.
    pub inplace: bool,
    /// A graph output: never freed, never reused.
    pub output: bool,
}

impl Tensor {
    /// Size in bytes.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.ne.iter().product::<u64>() * self.esize
    }

    /// The name with its layer, as in llama.cpp's logs.
    #[must_use]
    pub fn label(&self) -> String {
        if self.layer >= 0 {
            format!("{}-{}", self.name, self.layer)
        } else {
            self.name.to_string()
        }
    }
}

/// A compute graph: tensors, the inputs in leaf order, and the nodes in execution order.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Every tensor.
    pub tensors: Vec<Tensor>,
    /// Graph inputs, in the order ggml lists them as leafs.
    pub leafs: Vec<Id>,
    /// Ops and views, in execution order.
    pub nodes: Vec<Id>,
}

/// The CPU compute buffer of a CPU-only run, bytes; `None` when this architecture's graph is not
/// written here.
#[must_use]
pub fn cpu_compute_bytes(spec: &ModelSpec, shape: &ContextShape, s: &Settings) -> Option<u64> {
    let g = build::build(spec, shape, s)?;
    Some(alloc::simulate(&g, None))
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
