//! `llmrig inspect --json`: what a model is, from its file's header or predicted for a catalog
//! model.
//!
//! ```text
//! schema_version   1
//! source           catalog | file | hf | size | …
//! kind             model | projector
//! name, architecture, params, active_params, n_layers, context_length, n_embd, n_head,
//! n_head_kv, n_vocab
//! tensor_count     tensors in the model
//! tensors_by_type  [{type, count, bytes}]
//! weights_bytes, bits_per_weight, file_type
//! file             GGUF only (else null): paths, size_bytes, header_bytes_read, gguf_version,
//!                  file_type_declared
//! safetensors      safetensors folder only (else null): files: [[name, bytes]], tensor_count,
//!                  tensor_bytes, header_bytes_read, dtypes: [{dtype, elements, bytes}],
//!                  model_type, torch_dtype
//! chat_template    GGUF only (else null): whether the file has one
//! rope_scaling, sliding_window, swa_period   null when the model has none
//! experts          MoE only (else null): count, used, shared, expert_ff
//! warnings         [text]
//! ```

use serde::{Deserialize, Serialize};

use llmrig_core::estimate::ModelWeights;

/// `inspect --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectJson {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Where the description came from (`catalog`, `file`, `hf`, `size`, …).
    pub source: String,
    /// `model`, or `projector` for a multimodal projector file.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Architecture: the file's `general.architecture`, else the GGUF name llmrig models it as.
    pub architecture: String,
    /// All weights, parameters.
    pub params: u64,
    /// Weights used per token (routed experts counted at the used share), parameters.
    pub active_params: u64,
    /// Transformer blocks.
    pub n_layers: u32,
    /// Trained context, tokens.
    pub context_length: u64,
    /// Hidden size.
    pub n_embd: u64,
    /// Attention heads.
    pub n_head: u32,
    /// KV heads.
    pub n_head_kv: u32,
    /// Vocabulary, tokens.
    pub n_vocab: u64,
    /// Tensors in the model.
    pub tensor_count: u64,
    /// Tensors and bytes per GGML type, in type order.
    pub tensors_by_type: Vec<TypeRowJson>,
    /// All weights, bytes.
    pub weights_bytes: u64,
    /// Effective bits per weight over all weights.
    pub bits_per_weight: f64,
    /// The quantization's name (`Q4_K_M`, `bf16`, …).
    pub file_type: String,
    /// The GGUF file(s) read; null for anything else.
    pub file: Option<FileJson>,
    /// The safetensors folder read; null for anything else.
    pub safetensors: Option<SafetensorsJson>,
    /// Whether the GGUF file has a chat template; null when no GGUF file was read.
    pub chat_template: Option<bool>,
    /// RoPE scaling summary (`llama3 factor 8`, `yarn factor 40`), null when none.
    pub rope_scaling: Option<String>,
    /// Sliding-window size for the layers that use it, tokens; null when none.
    pub sliding_window: Option<u64>,
    /// Every `swa_period`-th layer is global, the others slide; null when all slide (or none).
    pub swa_period: Option<u32>,
    /// Mixture of experts; null for dense models.
    pub experts: Option<ExpertsJson>,
    /// What the description assumed or left out.
    pub warnings: Vec<String>,
}

/// Tensors of one GGML type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeRowJson {
    /// GGML type name (`Q4_K`, `F32`).
    #[serde(rename = "type")]
    pub ty: String,
    /// Tensors of this type.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// The GGUF file(s) read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileJson {
    /// Every file read (all shards), in order.
    pub paths: Vec<String>,
    /// All shards, bytes.
    pub size_bytes: u64,
    /// Bytes actually read (headers only).
    pub header_bytes_read: u64,
    /// GGUF version of the first file.
    pub gguf_version: u32,
    /// `general.file_type` as the file declares it, when it does.
    pub file_type_declared: Option<String>,
}

/// The safetensors folder read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetensorsJson {
    /// Files read with their sizes: `[name, bytes]`.
    pub files: Vec<(String, u64)>,
    /// Tensors stored.
    pub tensor_count: u64,
    /// Tensor data, bytes.
    pub tensor_bytes: u64,
    /// Header bytes read.
    pub header_bytes_read: u64,
    /// Elements and bytes per stored dtype, summed over all headers.
    pub dtypes: Vec<DtypeRowJson>,
    /// `config.json`'s `model_type`.
    pub model_type: String,
    /// `config.json`'s `torch_dtype` or `dtype` (`bfloat16`), when given.
    pub torch_dtype: Option<String>,
}

/// Tensors of one safetensors dtype.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtypeRowJson {
    /// Safetensors dtype (`BF16`, `F8_E4M3`).
    pub dtype: String,
    /// Elements.
    pub elements: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Mixture of experts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpertsJson {
    /// Routed experts per layer.
    pub count: u32,
    /// Routed experts used per token.
    pub used: u32,
    /// Shared experts per layer.
    pub shared: u32,
    /// FFN inner size of one expert, when known.
    pub expert_ff: Option<u64>,
}

impl InspectJson {
    /// The wire form of model `w` (described by `source`) with its `warnings`, as the model
    /// itself tells: `kind` `model`, the architecture llmrig models it as, no file read. The front
    /// end sets `kind`, `architecture`, `file`, `chat_template` and `safetensors` from what it
    /// read.
    #[must_use]
    pub fn new(w: &ModelWeights, source: &str, warnings: Vec<String>) -> InspectJson {
        let s = &w.spec;
        InspectJson {
            schema_version: crate::SCHEMA_VERSION,
            source: source.to_string(),
            kind: "model".to_string(),
            name: s.name.clone(),
            architecture: s.arch.gguf_name().to_string(),
            params: w.params(),
            active_params: w.active_params(),
            n_layers: s.n_layer,
            context_length: s.context_length,
            n_embd: s.n_embd,
            n_head: s.n_head,
            n_head_kv: s.n_head_kv,
            n_vocab: s.n_vocab,
            tensor_count: w.tensors.len() as u64,
            tensors_by_type: w
                .type_histogram()
                .into_iter()
                .map(|(t, count, bytes)| TypeRowJson {
                    ty: t.name().to_string(),
                    count: count as u64,
                    bytes,
                })
                .collect(),
            weights_bytes: w.total_bytes(),
            bits_per_weight: w.bits_per_weight(),
            file_type: w.quant.name(),
            file: None,
            safetensors: None,
            chat_template: None,
            rope_scaling: s.rope_scaling.clone(),
            sliding_window: s.sliding_window,
            swa_period: s.swa_period,
            experts: (s.n_expert > 1).then_some(ExpertsJson {
                count: s.n_expert,
                used: s.n_expert_used,
                shared: s.n_expert_shared,
                expert_ff: s.expert_ff,
            }),
            warnings,
        }
    }
}
