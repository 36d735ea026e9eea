//! The graph as llmrig rebuilds it: tensors (inputs, ops, views) with their sizes and sources,
//! in ggml's leaf and node order; what the builders write and the allocator replays.

/// Index of a tensor in [`Graph::tensors`].
pub type Id = usize;

/// Marks an unused source slot.
pub(super) const NONE: Id = usize::MAX;

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
