//! The graph as llmrig rebuilds it: tensors (inputs, ops, views) with their sizes and sources,
//! in ggml's leaf and node order; what the builders write and the allocator replays.

/// Index of a tensor in [`Graph::tensors`].
pub type Id = usize;

/// Marks an unused source slot.
pub const NONE: Id = usize::MAX;

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

/// What an op is, where that decides its backend (`ggml_backend_sched`) or its batch size
/// (`get_op_batch_size` in ggml-cuda.cu).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Op {
    /// Any other op: its batch is its row count.
    #[default]
    Other,
    /// `MUL_MAT`: batch `ne[1]`.
    MulMat,
    /// `MUL_MAT_ID` (experts): batch `ne[2]`.
    MulMatId,
    /// `ROPE`: batch `ne[2]`; never placed by its (frequency-factor) weight.
    Rope,
    /// `GET_ROWS`: batch 0, never offloaded.
    GetRows,
    /// `FLASH_ATTN_EXT`: never placed by its (sink) weight; CUDA may allocate f16 K/V beside it.
    FlashAttn,
    /// `SET_ROWS` into the KV cache: runs where the cache is.
    KvStore,
}

/// A weight an op reads, by its GGUF name within its layer (`blk.N.` left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum W {
    /// `attn_k.bias`.
    AttnKBias,
    /// `attn_k.weight`.
    AttnK,
    /// `attn_k_norm.weight`.
    AttnKNorm,
    /// `attn_norm.weight`.
    AttnNorm,
    /// `attn_output.weight`.
    AttnOutput,
    /// `attn_q.bias`.
    AttnQBias,
    /// `attn_q.weight`.
    AttnQ,
    /// `attn_q_norm.weight`.
    AttnQNorm,
    /// `attn_qkv.weight`.
    AttnQkv,
    /// `attn_v.bias`.
    AttnVBias,
    /// `attn_v.weight`.
    AttnV,
    /// `ffn_down.weight`.
    FfnDown,
    /// `ffn_down_exps.weight`.
    FfnDownExps,
    /// `ffn_gate.weight`.
    FfnGate,
    /// `ffn_gate_exps.weight`.
    FfnGateExps,
    /// `ffn_gate_inp.weight`.
    FfnGateInp,
    /// `ffn_norm.weight`.
    FfnNorm,
    /// `ffn_up.weight`.
    FfnUp,
    /// `ffn_up_exps.weight`.
    FfnUpExps,
    /// `output.weight`.
    Output,
    /// `output_norm.weight`.
    OutputNorm,
    /// `rope_freqs.weight`.
    RopeFreqs,
    /// `token_embd.weight`.
    TokenEmbd,
    /// `post_attention_norm.weight`.
    PostAttentionNorm,
    /// `post_ffw_norm.weight`.
    PostFfwNorm,
    /// `attn_output.bias`.
    AttnOutputBias,
    /// `attn_sinks.weight`.
    AttnSinks,
    /// `ffn_gate_inp.bias`.
    FfnGateInpBias,
    /// `ffn_gate_exps.bias`.
    FfnGateExpsBias,
    /// `ffn_up_exps.bias`.
    FfnUpExpsBias,
    /// `ffn_down_exps.bias`.
    FfnDownExpsBias,
}

impl W {
    /// Every weight, in declaration order.
    pub const ALL: [W; 31] = [
        W::AttnKBias,
        W::AttnK,
        W::AttnKNorm,
        W::AttnNorm,
        W::AttnOutput,
        W::AttnQBias,
        W::AttnQ,
        W::AttnQNorm,
        W::AttnQkv,
        W::AttnVBias,
        W::AttnV,
        W::FfnDown,
        W::FfnDownExps,
        W::FfnGate,
        W::FfnGateExps,
        W::FfnGateInp,
        W::FfnNorm,
        W::FfnUp,
        W::FfnUpExps,
        W::Output,
        W::OutputNorm,
        W::RopeFreqs,
        W::TokenEmbd,
        W::PostAttentionNorm,
        W::PostFfwNorm,
        W::AttnOutputBias,
        W::AttnSinks,
        W::FfnGateInpBias,
        W::FfnGateExpsBias,
        W::FfnUpExpsBias,
        W::FfnDownExpsBias,
    ];

    /// Its GGUF name without the `blk.N.` prefix.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            W::AttnKBias => "attn_k.bias",
            W::AttnK => "attn_k.weight",
            W::AttnKNorm => "attn_k_norm.weight",
            W::AttnNorm => "attn_norm.weight",
            W::AttnOutput => "attn_output.weight",
            W::AttnQBias => "attn_q.bias",
            W::AttnQ => "attn_q.weight",
            W::AttnQNorm => "attn_q_norm.weight",
            W::AttnQkv => "attn_qkv.weight",
            W::AttnVBias => "attn_v.bias",
            W::AttnV => "attn_v.weight",
            W::FfnDown => "ffn_down.weight",
            W::FfnDownExps => "ffn_down_exps.weight",
            W::FfnGate => "ffn_gate.weight",
            W::FfnGateExps => "ffn_gate_exps.weight",
            W::FfnGateInp => "ffn_gate_inp.weight",
            W::FfnNorm => "ffn_norm.weight",
            W::FfnUp => "ffn_up.weight",
            W::FfnUpExps => "ffn_up_exps.weight",
            W::Output => "output.weight",
            W::OutputNorm => "output_norm.weight",
            W::RopeFreqs => "rope_freqs.weight",
            W::TokenEmbd => "token_embd.weight",
            W::PostAttentionNorm => "post_attention_norm.weight",
            W::PostFfwNorm => "post_ffw_norm.weight",
            W::AttnOutputBias => "attn_output.bias",
            W::AttnSinks => "attn_sinks.weight",
            W::FfnGateInpBias => "ffn_gate_inp.bias",
            W::FfnGateExpsBias => "ffn_gate_exps.bias",
            W::FfnUpExpsBias => "ffn_up_exps.bias",
            W::FfnDownExpsBias => "ffn_down_exps.bias",
        }
    }

    /// The weight of this name, if the graphs here read it.
    #[must_use]
    pub fn from_name(name: &str) -> Option<W> {
        W::ALL.iter().copied().find(|w| w.name() == name)
    }

    /// Index in [`W::ALL`].
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether the tensor is one per model rather than one per layer.
    #[must_use]
    pub const fn global(self) -> bool {
        matches!(
            self,
            W::Output | W::OutputNorm | W::TokenEmbd | W::RopeFreqs
        )
    }
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
    /// The op, where it matters for scheduling.
    pub op: Op,
    /// The weight it reads, by its GGUF name without `blk.N.` and `.weight` (`attn_q`,
    /// `ffn_down_exps`, `output`); the layer is the tensor's.
    pub weight: Option<W>,
    /// Reads the layer's K and V cache (attention).
    pub reads_kv: bool,
}

impl Tensor {
    /// `get_op_batch_size`: the batch ggml-cuda compares with the op-offload threshold.
    #[must_use]
    pub fn batch(&self) -> u64 {
        match self.op {
            Op::GetRows => 0,
            Op::MulMat => self.ne[1],
            Op::MulMatId | Op::Rope => self.ne[2],
            _ => self.ne[1] * self.ne[2] * self.ne[3],
        }
    }

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
