//! `ModelSpec`: the architecture numbers of a model, enough to list its tensors and size its caches.
//!
//! Field names follow Hugging Face `config.json` where it has one and llama.cpp's hparams otherwise.
//! A spec comes from the catalog (TOML data), from a GGUF header or from a `config.json`; this module
//! only holds and checks the numbers.

use serde::{Deserialize, Serialize};

/// The llama.cpp architecture (`general.architecture`) whose graph and tensor names a model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Arch {
    /// Llama, Mistral, Mixtral, SmolLM, TinyLlama and other Llama-shaped models.
    #[default]
    #[serde(rename = "llama")]
    Llama,
    /// Qwen2 / Qwen2.5 (q/k/v biases).
    #[serde(rename = "qwen2")]
    Qwen2,
    /// Qwen3 dense (per-head q/k norms).
    #[serde(rename = "qwen3")]
    Qwen3,
    /// Qwen3 mixture of experts.
    #[serde(rename = "qwen3moe")]
    Qwen3Moe,
    /// Gemma 2 (post-norms, alternating sliding window).
    #[serde(rename = "gemma2")]
    Gemma2,
    /// Gemma 3 text (q/k norms, 5:1 sliding window).
    #[serde(rename = "gemma3")]
    Gemma3,
    /// Phi-3, Phi-3.5, Phi-4 (fused qkv and gate/up).
    #[serde(rename = "phi3")]
    Phi3,
    /// DeepSeek V2/V3/R1 (multi-head latent attention, shared + routed experts).
    #[serde(rename = "deepseek2")]
    Deepseek2,
    /// gpt-oss (attention sinks, biased experts, MXFP4 experts).
    #[serde(rename = "gpt-oss")]
    GptOss,
    /// Cohere Command R7B (parallel blocks, 3:1 sliding window).
    #[serde(rename = "cohere2")]
    Cohere2,
    /// Llama 4 (`llama4`): MoE with a shared expert (every layer in Scout, every second in
    /// Maverick), chunked attention on three layers of four (llama.cpp sizes them as a sliding
    /// window of 8192).
    #[serde(rename = "llama4")]
    Llama4,
    /// GLM-4.5/4.6 (`glm4moe`): leading dense layers, a shared expert, q/k/v biases, a
    /// sigmoid-router bias; the file's NextN (MTP) block is not loaded.
    #[serde(rename = "glm4moe")]
    Glm4Moe,
    /// Qwen3-Next (`qwen3next`): gated delta-net layers with three of four blocks recurrent, gated
    /// full attention on every fourth, 512 small experts with a gated shared expert on every block.
    #[serde(rename = "qwen3next")]
    Qwen3Next,
    /// Qwen3.5 dense (`qwen35`): Qwen3-Next's gated delta-net and gated attention (3 : 1) with a
    /// dense FFN on every block.
    #[serde(rename = "qwen35")]
    Qwen35,
    /// Qwen3.5 mixture of experts (`qwen35moe`): Qwen3-Next's layout with separate β and α
    /// projections in the delta-net blocks.
    #[serde(rename = "qwen35moe")]
    Qwen35Moe,
    /// IBM Granite 4.0 hybrids (`granitehybrid`): Mamba-2 blocks with a few attention blocks, dense
    /// or MoE FFNs with a shared expert on every block.
    #[serde(rename = "granitehybrid")]
    GraniteHybrid,
    /// IBM Granite 3.x and Granite 4.0 micro (`granite`): Llama-shaped, with scalar multipliers.
    #[serde(rename = "granite")]
    Granite,
    /// Gemma 3n (`gemma3n`): Gemma 3 attention (4 sliding : 1 global) with per-layer embeddings kept
    /// in CPU memory, AltUp and LAuReL; only the first 20 blocks have a KV cache of their own.
    #[serde(rename = "gemma3n")]
    Gemma3n,
    /// Gemma 4 (`gemma4`): Gemma 3's 5 sliding : 1 global attention with wider global heads (512
    /// beside 256) and fewer KV heads there, K doubling as V on the global layers of the 26B and
    /// 31B, a dense GELU MLP beside 128 experts on the 26B-A4B, and on E2B/E4B Gemma 3n's
    /// per-layer embeddings and KV sharing without AltUp or LAuReL (llama.cpp
    /// `src/models/gemma4.cpp`).
    #[serde(rename = "gemma4")]
    Gemma4,
    /// LiquidAI LFM2 (`lfm2`): short-convolution blocks with a few attention blocks.
    #[serde(rename = "lfm2")]
    Lfm2,
    /// LiquidAI LFM2 MoE (`lfm2moe`): LFM2 with routed experts past the leading dense blocks.
    #[serde(rename = "lfm2moe")]
    Lfm2Moe,
    /// Gemma (v1) (`gemma`): Llama's blocks (GeGLU FFN, scaled embeddings) with tied
    /// embeddings; Gemma 2B attends with one KV head.
    #[serde(rename = "gemma")]
    Gemma,
    /// IBM Granite 3.x mixture of experts (`granitemoe`): Granite's Llama-shaped blocks (scalar
    /// multipliers) with routed experts on every block, no shared expert.
    #[serde(rename = "granitemoe")]
    GraniteMoe,
    /// MiniMax-M2, M2.1, M2.5, M2.7 (`minimax-m2`): full attention on every block with one RMS
    /// norm over the whole q and k projections (not per head), partial RoPE, and 256 routed
    /// experts under a sigmoid router with a selection bias (llama.cpp
    /// `src/models/minimax-m2.cpp`).
    #[serde(rename = "minimax-m2")]
    MinimaxM2,
    /// Tencent Hunyuan-A13B (`hunyuan-moe`): per-head q/k norms after RoPE, 64 routed experts
    /// and one shared expert on every block (llama.cpp `src/models/hunyuan-moe.cpp`).
    #[serde(rename = "hunyuan-moe")]
    HunyuanMoe,
    /// rednote dots.llm1 (`dots1`): per-head q/k norms, one leading dense block, then 128
    /// routed experts with two shared ones under a sigmoid router with a selection bias
    /// (llama.cpp `src/models/dots1.cpp`).
    #[serde(rename = "dots1")]
    Dots1,
    /// BERT-style encoders (`bert`): BERT, RoBERTa and XLM-RoBERTa embedders and rerankers (bge,
    /// MiniLM, bge-m3, bge-reranker-v2-m3): learned positions, biases everywhere, GELU FFN,
    /// bidirectional attention and no KV cache.
    #[serde(rename = "bert")]
    Bert,
    /// Nomic BERT (`nomic-bert`, nomic-embed-text): fused QKV, RoPE, SwiGLU FFN, no biases, no KV
    /// cache.
    #[serde(rename = "nomic-bert")]
    NomicBert,
    /// Jina BERT v2 (`jina-bert-v2`, jina-embeddings-v2): BERT's blocks with ALiBi instead of
    /// learned positions and a GEGLU FFN whose up and gate projections are one matrix.
    #[serde(rename = "jina-bert-v2")]
    JinaBertV2,
    /// An architecture llmrig has no tensor rules for (read from a file): sized from its real
    /// tensors, with a Llama-like attention assumed for the cache.
    #[serde(rename = "generic")]
    Generic,
}

impl Arch {
    /// The architecture for a `general.architecture` string; `None` for one llmrig has no rules for.
    #[must_use]
    pub fn from_gguf_name(name: &str) -> Option<Arch> {
        Some(match name {
            "llama" | "mistral" => Arch::Llama,
            // Qwen2-VL/Qwen2.5-VL text: Qwen2's tensors and cache, multi-section RoPE.
            "qwen2" | "qwen2vl" => Arch::Qwen2,
            // Qwen3-VL text: Qwen3's tensors and cache; the deep-stack input and M-RoPE positions
            // are `n_deepstack` and `mrope`.
            "qwen3" | "qwen3vl" => Arch::Qwen3,
            "qwen3moe" | "qwen3vlmoe" => Arch::Qwen3Moe,
            "gemma2" => Arch::Gemma2,
            "gemma3" => Arch::Gemma3,
            "phi3" => Arch::Phi3,
            "deepseek2" => Arch::Deepseek2,
            "gpt-oss" | "gptoss" => Arch::GptOss,
            "cohere2" => Arch::Cohere2,
            "llama4" => Arch::Llama4,
            "glm4moe" => Arch::Glm4Moe,
            "qwen3next" => Arch::Qwen3Next,
            "qwen35" => Arch::Qwen35,
            "qwen35moe" => Arch::Qwen35Moe,
            "granitehybrid" => Arch::GraniteHybrid,
            "granite" => Arch::Granite,
            "lfm2" => Arch::Lfm2,
            "lfm2moe" => Arch::Lfm2Moe,
            "gemma3n" => Arch::Gemma3n,
            "gemma4" => Arch::Gemma4,
            "gemma" => Arch::Gemma,
            "granitemoe" => Arch::GraniteMoe,
            "minimax-m2" => Arch::MinimaxM2,
            "hunyuan-moe" => Arch::HunyuanMoe,
            "dots1" => Arch::Dots1,
            "bert" => Arch::Bert,
            "nomic-bert" => Arch::NomicBert,
            "jina-bert-v2" => Arch::JinaBertV2,
            _ => return None,
        })
    }

    /// The sliding-window pattern llama.cpp hard-codes for an architecture (`set_swa_pattern` in
    /// llama-model.cpp): every `n`-th layer is global. `None` where it reads it from the file or the
    /// architecture has no pattern.
    #[must_use]
    pub fn swa_period(self) -> Option<u32> {
        match self {
            Arch::Gemma2 | Arch::GptOss => Some(2),
            Arch::Gemma3 => Some(6),
            // llama.cpp gemma3n.cpp: `load_swa_pattern(ml, 5)` (a GGUF array may override it).
            Arch::Gemma3n => Some(5),
            // llama.cpp: `set_swa_pattern(4)` for llama4 (layers 3, 7, … attend in full).
            Arch::Cohere2 | Arch::Llama4 => Some(4),
            _ => None,
        }
    }

    /// The `general.architecture` string.
    #[must_use]
    pub fn gguf_name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Qwen3Moe => "qwen3moe",
            Arch::Gemma2 => "gemma2",
            Arch::Gemma3 => "gemma3",
            Arch::Phi3 => "phi3",
            Arch::Deepseek2 => "deepseek2",
            Arch::GptOss => "gpt-oss",
            Arch::Cohere2 => "cohere2",
            Arch::Llama4 => "llama4",
            Arch::Glm4Moe => "glm4moe",
            Arch::Qwen3Next => "qwen3next",
            Arch::Qwen35 => "qwen35",
            Arch::Qwen35Moe => "qwen35moe",
            Arch::GraniteHybrid => "granitehybrid",
            Arch::Granite => "granite",
            Arch::Lfm2 => "lfm2",
            Arch::Lfm2Moe => "lfm2moe",
            Arch::Gemma3n => "gemma3n",
            Arch::Gemma4 => "gemma4",
            Arch::Gemma => "gemma",
            Arch::GraniteMoe => "granitemoe",
            Arch::MinimaxM2 => "minimax-m2",
            Arch::HunyuanMoe => "hunyuan-moe",
            Arch::Dots1 => "dots1",
            Arch::Bert => "bert",
            Arch::NomicBert => "nomic-bert",
            Arch::JinaBertV2 => "jina-bert-v2",
            Arch::Generic => "generic",
        }
    }
}

/// How an embedding model turns token vectors into one vector (llama.cpp `llama_pooling_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Per-token embeddings.
    None,
    /// Mean of the tokens.
    Mean,
    /// The first (CLS) token.
    Cls,
    /// The last token (decoder embedders such as Qwen3-Embedding).
    Last,
    /// A reranker's relevance score (`--reranking`).
    Rank,
}

impl Pooling {
    /// The GGUF `pooling_type` value.
    #[must_use]
    pub fn from_gguf(v: u32) -> Option<Pooling> {
        Some(match v {
            0 => Pooling::None,
            1 => Pooling::Mean,
            2 => Pooling::Cls,
            3 => Pooling::Last,
            4 => Pooling::Rank,
            _ => return None,
        })
    }

    /// llama-server's `--pooling` name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Pooling::None => "none",
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
            Pooling::Last => "last",
            Pooling::Rank => "rank",
        }
    }
}

/// Architecture numbers of one model. Sizes are element counts, not bytes. `Default` gives a
/// Llama-architecture spec with every size zero (invalid until filled in), for struct-update syntax.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Short id (`llama-3.1-8b`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// llama.cpp architecture.
    pub arch: Arch,
    /// Transformer blocks (`num_hidden_layers`).
    pub n_layer: u32,
    /// Hidden size (`hidden_size`).
    pub n_embd: u64,
    /// Dense FFN inner size (`intermediate_size`).
    pub n_ff: u64,
    /// Attention (query) heads.
    pub n_head: u32,
    /// Key/value heads (GQA); equal to `n_head` for multi-head attention.
    pub n_head_kv: u32,
    /// Per-head dimension of keys and values (`head_dim`, else `n_embd / n_head`). Unused by MLA.
    #[serde(default)]
    pub head_dim: Option<u64>,
    /// Vocabulary size (rows of the embedding matrix).
    pub n_vocab: u64,
    /// The output projection shares the token-embedding matrix (no `output.weight`).
    #[serde(default)]
    pub tied_embeddings: bool,
    /// Trained context length in tokens (`max_position_embeddings`).
    pub context_length: u64,
    /// RoPE base frequency.
    #[serde(default)]
    pub rope_theta: Option<f64>,
    /// RoPE scaling summary (`llama3 factor 8`, `yarn factor 40`, `longrope`, `linear factor 8`).
    #[serde(default)]
    pub rope_scaling: Option<String>,
    /// q/k/v projections carry biases.
    #[serde(default)]
    pub attn_bias: bool,
    /// Per-head RMSNorm on q and k.
    #[serde(default)]
    pub qk_norm: bool,
    /// Sliding-window size in tokens, for the layers that use it.
    #[serde(default)]
    pub sliding_window: Option<u64>,
    /// Every `swa_period`-th layer (the last of each group) is global; the others slide. With a window
    /// and no period, every layer slides.
    #[serde(default)]
    pub swa_period: Option<u32>,
    /// Routed experts per MoE layer (0 for dense models).
    #[serde(default)]
    pub n_expert: u32,
    /// Experts each token uses.
    #[serde(default)]
    pub n_expert_used: u32,
    /// Always-on shared experts.
    #[serde(default)]
    pub n_expert_shared: u32,
    /// FFN inner size of one expert.
    #[serde(default)]
    pub expert_ff: Option<u64>,
    /// FFN inner size of the shared expert(s) where it is not `expert_ff × n_expert_shared`
    /// (`expert_shared_feed_forward_length`: Granite 4.0's 1536 beside 768-wide experts).
    #[serde(default)]
    pub shared_expert_ff: Option<u64>,
    /// Leading blocks with a dense FFN in an MoE model (`first_k_dense_replace`).
    #[serde(default)]
    pub leading_dense_layers: u32,
    /// MoE on every this-many-th block, the others dense (Llama 4 Maverick's
    /// `interleave_moe_layer_step` 2: blocks 1, 3, …); 0 or 1: every block past the dense lead.
    #[serde(default)]
    pub moe_layer_step: u32,
    /// MLA query low-rank size.
    #[serde(default)]
    pub q_lora_rank: Option<u64>,
    /// MLA compressed KV size (the latent that is cached).
    #[serde(default)]
    pub kv_lora_rank: Option<u64>,
    /// MLA per-head q/k size without RoPE.
    #[serde(default)]
    pub qk_nope_head_dim: Option<u64>,
    /// MLA per-head RoPE part (cached once per token).
    #[serde(default)]
    pub qk_rope_head_dim: Option<u64>,
    /// MLA per-head value size.
    #[serde(default)]
    pub v_head_dim: Option<u64>,
    /// An MLA model in a GGUF converted before llama.cpp's MLA keys (`key_length_mla`): it caches full
    /// per-head K (`qk_nope + qk_rope`) and V (`v_head_dim`) instead of the latent.
    #[serde(default)]
    pub mla_legacy_kv: bool,
    /// Only the first `kv_layers` blocks keep a KV cache; later blocks read the cache of the last
    /// earlier block of their kind (Gemma 3n: 20, llama.cpp `n_layer_kv_from_start`).
    #[serde(default)]
    pub kv_layers: Option<u32>,
    /// Per-head size of the sliding-window layers where it differs from `head_dim`, which is then
    /// the global layers' (Gemma 4: 256 beside 512; llama.cpp `key_length_swa`).
    #[serde(default)]
    pub swa_head_dim: Option<u64>,
    /// KV heads of the sliding-window layers where they differ from `n_head_kv`, which is then
    /// the global layers' (Gemma 4 31B: 16 beside 4, a per-layer `head_count_kv` array in the
    /// GGUF).
    #[serde(default)]
    pub swa_n_head_kv: Option<u32>,
    /// The global (full-attention) layers have no V projection: K's projection doubles as V
    /// (Gemma 4 26B/31B `attention_k_eq_v`). llama.cpp still caches a V of its own.
    #[serde(default)]
    pub global_k_eq_v: bool,
    /// Dense FFN width of the blocks past `kv_layers` where it differs from `n_ff` (Gemma 4 E2B's
    /// `use_double_wide_mlp`: 12288 beside 6144; a per-layer `feed_forward_length` in the GGUF).
    #[serde(default)]
    pub kv_shared_n_ff: Option<u64>,
    /// Width of the per-layer input embedding each block gets (Gemma 3n
    /// `hidden_size_per_layer_input`, 256): a `{width·n_layer, n_vocab}` table that llama.cpp keeps
    /// in CPU memory like the token embeddings.
    #[serde(default)]
    pub per_layer_embd: Option<u64>,
    /// Recurrent (Mamba-style or gated delta-net) state, for recurrent and hybrid models.
    #[serde(default)]
    pub recurrent: Option<RecurrentSpec>,
    /// How an embedding model pools its token vectors (`{arch}.pooling_type`); `None` for a text
    /// generator. A model with pooling is served with llama-server's `--embedding` (or
    /// `--reranking` for `rank`).
    #[serde(default)]
    pub pooling: Option<Pooling>,
    /// sentence-transformers' `max_seq_length` (the repository's sentence_bert_config.json), the
    /// length `encode` cuts inputs at when it is below the position table (all-MiniLM-L6-v2: 256
    /// of 512); `None` where it is the context length or unknown.
    #[serde(default)]
    pub max_seq_length: Option<u64>,
    /// Classifier outputs of a reranker (`{arch}.classifier.output_labels`): 1 for BERT-style
    /// rerankers (`cls` + `cls.output`), 2 for Qwen3-Reranker (`cls.output` = the yes/no rows of
    /// its lm_head); 0 without a classifier head.
    #[serde(default)]
    pub n_cls_out: u32,
    /// BERT token-type (segment) embeddings (`tokenizer.ggml.token_type_count`): 2 for BERT, 1 for
    /// XLM-RoBERTa; 0 for other architectures.
    #[serde(default)]
    pub n_token_types: u32,
    /// Qwen3-VL's deep-stack layers (`{arch}.n_deepstack_layers`, 3): the vision features added
    /// to the first text blocks arrive through an input `n_embd·(1 + n)` wide
    /// (`n_embd_inp`), which the compute buffer holds; 0 for other models.
    #[serde(default)]
    pub n_deepstack: u32,
    /// Multi-section RoPE (Qwen2-VL, Qwen2.5-VL, Qwen3-VL: `rope.dimension_sections`): four
    /// positions per token in the graph's position input.
    #[serde(default)]
    pub mrope: bool,
}

/// Sizes of a recurrent layer's state (llama.cpp `llama_memory_recurrent`, f32). LFM2's short
/// convolution fits the same formula with `d_inner = n_embd`, `d_state = n_group = 0`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecurrentSpec {
    /// Convolution kernel size (`ssm.conv_kernel`).
    pub d_conv: u64,
    /// Inner size (`ssm.inner_size`).
    pub d_inner: u64,
    /// State size (`ssm.state_size`).
    pub d_state: u64,
    /// Groups (`ssm.group_count`).
    pub n_group: u64,
    /// Every `attention_period`-th layer (the last of each group) is an attention layer with a KV
    /// cache; the others are recurrent. `None`: every layer is recurrent.
    #[serde(default)]
    pub attention_period: Option<u32>,
    /// The attention blocks by index, where they follow no period (LFM2's 2, 5, 8, 10, 12, 14;
    /// Granite 4.0's 5, 15, 25, 35; in a GGUF the blocks whose `head_count_kv` is non-zero).
    /// Overrides `attention_period` when not empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attention_layers: Vec<u32>,
    /// SSM heads (`ssm.time_step_rank`): Mamba-2's heads, a delta-net's value heads. Sizes the
    /// per-head tensors (`ssm_a`, `ssm_dt`), not the state.
    #[serde(default)]
    pub n_head: u64,
}

/// A spec whose numbers cannot describe a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model `{id}`: {what}")]
pub struct SpecError {
    /// The model id.
    pub id: String,
    /// What is wrong, and what was expected.
    pub what: String,
}

impl ModelSpec {
    /// Key/value per-head size.
    #[must_use]
    pub fn head_dim(&self) -> u64 {
        self.head_dim
            .unwrap_or_else(|| self.n_embd / u64::from(self.n_head.max(1)))
    }

    /// Share of an MoE layer's routed experts that `tokens` tokens use under uniform routing: each
    /// expert is missed by one token with probability `1 − k/E`, by all of them with
    /// `(1 − k/E)^tokens`. 1 for a dense model.
    #[must_use]
    pub fn expert_share_touched(&self, tokens: f64) -> f64 {
        if self.n_expert < 2 {
            return 1.0;
        }
        let miss = 1.0 - f64::from(self.n_expert_used) / f64::from(self.n_expert);
        1.0 - miss.max(0.0).powf(tokens)
    }

    /// Whether the model uses multi-head latent attention.
    #[must_use]
    pub fn is_mla(&self) -> bool {
        self.kv_lora_rank.is_some()
    }

    /// Whether block `il` keeps recurrent state (and no KV cache).
    #[must_use]
    pub fn is_recurrent_layer(&self, il: u32) -> bool {
        match &self.recurrent {
            None => false,
            Some(r) if !r.attention_layers.is_empty() => !r.attention_layers.contains(&il),
            Some(RecurrentSpec {
                attention_period: Some(p),
                ..
            }) => *p > 0 && (il + 1) % p != 0,
            Some(_) => true,
        }
    }

    /// Recurrent state per layer and sequence, bytes: the conv state `(d_conv − 1)(d_inner +
    /// 2·n_group·d_state)` and the SSM state `d_state·d_inner`, both f32 (`n_embd_r`, `n_embd_s`).
    #[must_use]
    pub fn recurrent_state_bytes(&self) -> (u64, u64) {
        self.recurrent.as_ref().map_or((0, 0), |r| {
            (
                r.d_conv.saturating_sub(1) * (r.d_inner + 2 * r.n_group * r.d_state) * 4,
                r.d_state * r.d_inner * 4,
            )
        })
    }

    /// Whether block `il` has a routed-expert FFN.
    #[must_use]
    pub fn is_moe_layer(&self, il: u32) -> bool {
        self.n_expert > 1
            && il >= self.leading_dense_layers
            && (self.moe_layer_step <= 1 || (il + 1) % self.moe_layer_step == 0)
    }

    /// Whether block `il` keeps a KV cache of its own (llama.cpp `has_kv(il)`): not a recurrent
    /// block, not past `kv_layers`, and not an encoder (which has no cache at all).
    #[must_use]
    pub fn has_kv(&self, il: u32) -> bool {
        !self.is_encoder() && !self.is_recurrent_layer(il) && self.kv_layers.is_none_or(|n| il < n)
    }

    /// Whether the model is a bidirectional encoder: llama.cpp creates no KV cache for it
    /// (`llama_model::create_memory` returns none) and encodes each input in one ubatch.
    #[must_use]
    pub fn is_encoder(&self) -> bool {
        matches!(self.arch, Arch::Bert | Arch::NomicBert | Arch::JinaBertV2)
    }

    /// Whether the output matmul reads the token embeddings (tied embeddings of a model with an
    /// output head; an encoder has none, so llama.cpp makes no copy for it).
    #[must_use]
    pub fn output_reads_embeddings(&self) -> bool {
        self.tied_embeddings && !self.is_encoder()
    }

    /// Whether the model makes embeddings or scores rather than text.
    #[must_use]
    pub fn is_embedder(&self) -> bool {
        self.pooling.is_some()
    }

    /// Whether block `il` uses sliding-window attention (llama.cpp's `is_swa(il)`).
    #[must_use]
    pub fn is_swa_layer(&self, il: u32) -> bool {
        match (self.sliding_window, self.swa_period) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(_), Some(p)) => p > 1 && (il % p) < p - 1,
        }
    }

    /// Query heads × head size: the width of q and of the attention output.
    #[must_use]
    pub fn q_width(&self) -> u64 {
        u64::from(self.n_head) * self.head_dim()
    }

    /// FLOPs of a layer's attention products (QK and AV) per query token and cached token:
    /// 2·(K width + V width) per head. llama.cpp's MLA graph (deepseek2 since PR #12801, April
    /// 2025) multiplies in the latent space, one 576-wide K (`kv_lora_rank` + rope) and one
    /// 512-wide V shared by all heads, so each head's products are that wide rather than its
    /// 192/128 head dims: 2.1× the head-dim count on GLM-4.7-Flash, 2.8× on DeepSeek-V3. Files
    /// converted before it (`mla_legacy_kv`) attend per head.
    #[must_use]
    pub fn attn_flops_per_kv(&self) -> u64 {
        if let (Some(kv), Some(rope)) = (self.kv_lora_rank, self.qk_rope_head_dim) {
            if !self.mla_legacy_kv {
                return 2 * u64::from(self.n_head) * (2 * kv + rope);
            }
        }
        4 * self.q_width()
    }

    /// [`ModelSpec::attn_flops_per_kv`] of block `il`, at that block's head size (Gemma 4's
    /// sliding blocks attend with 256-wide heads beside the global blocks' 512).
    #[must_use]
    pub fn layer_attn_flops_per_kv(&self, il: u32) -> u64 {
        if self.swa_head_dim.is_some() {
            4 * self.layer_q_width(il)
        } else {
            self.attn_flops_per_kv()
        }
    }

    /// Key/value per-head size of block `il` (llama.cpp `n_embd_head_k(il)`): `swa_head_dim` on
    /// sliding-window blocks where the model has one.
    #[must_use]
    pub fn layer_head_dim(&self, il: u32) -> u64 {
        match self.swa_head_dim {
            Some(d) if self.is_swa_layer(il) => d,
            _ => self.head_dim(),
        }
    }

    /// Width of the K rows block `il`'s flash attention multiplies (the kernel's `HSK`): the
    /// latent K (`kv_lora_rank` + rope dims, 576 on DeepSeek-V3 and GLM-4.7-Flash) under
    /// llama.cpp's MLA graph, else that block's head size.
    #[must_use]
    pub fn layer_fa_k_width(&self, il: u32) -> u64 {
        if let (Some(kv), Some(rope)) = (self.kv_lora_rank, self.qk_rope_head_dim) {
            if !self.mla_legacy_kv {
                return kv + rope;
            }
        }
        self.layer_head_dim(il)
    }

    /// KV heads of block `il` (llama.cpp `n_head_kv(il)`).
    #[must_use]
    pub fn layer_n_head_kv(&self, il: u32) -> u32 {
        match self.swa_n_head_kv {
            Some(n) if self.is_swa_layer(il) => n,
            _ => self.n_head_kv,
        }
    }

    /// Query width of block `il`: heads × that block's head size.
    #[must_use]
    pub fn layer_q_width(&self, il: u32) -> u64 {
        u64::from(self.n_head) * self.layer_head_dim(il)
    }

    /// Dense FFN width of block `il` (llama.cpp `n_ff(il)`).
    #[must_use]
    pub fn layer_n_ff(&self, il: u32) -> u64 {
        match (self.kv_shared_n_ff, self.kv_layers) {
            (Some(f), Some(n)) if il >= n => f,
            _ => self.n_ff,
        }
    }

    /// Whether the per-layer sizes vary (Gemma 4): every block must then be sized on its own.
    #[must_use]
    pub fn has_layer_shapes(&self) -> bool {
        self.swa_head_dim.is_some() || self.swa_n_head_kv.is_some() || self.kv_shared_n_ff.is_some()
    }

    /// K elements cached per token in block `il` (`n_embd_k_gqa`).
    #[must_use]
    pub fn n_embd_k_gqa(&self, il: u32) -> u64 {
        if let (Some(kv), Some(rope)) = (self.kv_lora_rank, self.qk_rope_head_dim) {
            if self.mla_legacy_kv {
                return u64::from(self.n_head_kv) * (self.qk_nope_head_dim.unwrap_or(0) + rope);
            }
            return kv + rope;
        }
        u64::from(self.layer_n_head_kv(il)) * self.layer_head_dim(il)
    }

    /// V elements cached per token in block `il` (`n_embd_v_gqa`); MLA stores V inside K.
    #[must_use]
    pub fn n_embd_v_gqa(&self, il: u32) -> u64 {
        if let Some(kv) = self.kv_lora_rank {
            if self.mla_legacy_kv {
                return u64::from(self.n_head_kv) * self.v_head_dim.unwrap_or(0);
            }
            return kv;
        }
        u64::from(self.layer_n_head_kv(il)) * self.layer_head_dim(il)
    }

    /// The widest V row of any block (`n_embd_v_gqa_max`): without flash attention llama.cpp
    /// stores V transposed and pads every layer's V to it when the widths differ
    /// (llama-kv-cache.cpp, `TAG_V_CACHE_VARIABLE`).
    #[must_use]
    pub fn n_embd_v_gqa_max(&self) -> u64 {
        (0..self.n_layer)
            .map(|il| self.n_embd_v_gqa(il))
            .max()
            .unwrap_or(0)
    }

    /// Checks that the numbers can describe a model; catalog data and parsed files pass through here.
    ///
    /// # Errors
    /// A [`SpecError`] naming the first impossible value.
    pub fn validate(&self) -> Result<(), SpecError> {
        let err = |what: String| {
            Err(SpecError {
                id: self.id.clone(),
                what,
            })
        };
        if self.n_layer == 0 || self.n_layer > 1024 {
            return err(format!("n_layer {} is not in 1..=1024", self.n_layer));
        }
        if self.n_embd == 0 || self.n_embd > 1 << 20 {
            return err(format!("n_embd {} is not in 1..=1048576", self.n_embd));
        }
        if self.n_head == 0 || self.n_head_kv == 0 || self.n_head % self.n_head_kv != 0 {
            return err(format!(
                "n_head {} must be a positive multiple of n_head_kv {}",
                self.n_head, self.n_head_kv
            ));
        }
        // Bounds far above any released model (128 heads, 256-wide heads, 384 experts, 53248-wide
        // FFNs), so that no size computed from them can overflow: a file's numbers are untrusted.
        if self.n_head > 4096 {
            return err(format!("n_head {} is not in 1..=4096", self.n_head));
        }
        if self.head_dim.is_some_and(|d| d == 0 || d > 8192) {
            return err(format!("head_dim {:?} is not in 1..=8192", self.head_dim));
        }
        if self.n_ff > 1 << 22 || self.expert_ff.is_some_and(|f| f > 1 << 22) {
            return err(format!(
                "n_ff {} / expert_ff {:?}: expected at most 4194304",
                self.n_ff, self.expert_ff
            ));
        }
        if self.n_cls_out > 1 << 16 || self.n_token_types > 1 << 16 {
            return err(format!(
                "{} classifier outputs, {} token types: expected at most 65536",
                self.n_cls_out, self.n_token_types
            ));
        }
        if self.n_expert > 16384 || self.n_expert_used > 256 || self.n_expert_shared > 256 {
            return err(format!(
                "{} experts, {} used, {} shared: expected at most 16384, 256 and 256",
                self.n_expert, self.n_expert_used, self.n_expert_shared
            ));
        }
        for (name, v) in [
            ("q_lora_rank", self.q_lora_rank),
            ("kv_lora_rank", self.kv_lora_rank),
            ("qk_nope_head_dim", self.qk_nope_head_dim),
            ("qk_rope_head_dim", self.qk_rope_head_dim),
            ("v_head_dim", self.v_head_dim),
        ] {
            if v.is_some_and(|v| v > 1 << 20) {
                return err(format!("{name} {v:?}: expected at most 1048576"));
            }
        }
        if self.n_vocab == 0 || self.n_vocab > 1 << 24 {
            return err(format!("n_vocab {} is not in 1..=16777216", self.n_vocab));
        }
        if self.n_ff == 0 && self.n_expert == 0 {
            return err("a dense model needs n_ff > 0".into());
        }
        if self.context_length == 0 {
            return err("context_length must be positive".into());
        }
        if self.n_expert > 0 {
            if self.n_expert_used == 0 || self.n_expert_used > self.n_expert {
                return err(format!(
                    "n_expert_used {} must be in 1..={}",
                    self.n_expert_used, self.n_expert
                ));
            }
            if self.expert_ff.unwrap_or(0) == 0 {
                return err("an MoE model needs expert_ff".into());
            }
        }
        // q_lora_rank is optional: DeepSeek-V2-Lite projects q directly.
        if self.is_mla()
            && (self.qk_nope_head_dim.is_none()
                || self.qk_rope_head_dim.is_none()
                || self.v_head_dim.is_none())
        {
            return err(
                "an MLA model needs qk_nope_head_dim, qk_rope_head_dim and v_head_dim".into(),
            );
        }
        if self.swa_period == Some(0) {
            return err("swa_period must be at least 1".into());
        }
        if self.n_deepstack > 64 {
            return err(format!(
                "n_deepstack {}: expected at most 64",
                self.n_deepstack
            ));
        }
        if self.swa_head_dim.is_some_and(|d| d == 0 || d > 8192) {
            return err(format!(
                "swa_head_dim {:?} is not in 1..=8192",
                self.swa_head_dim
            ));
        }
        if let Some(n) = self.swa_n_head_kv {
            if n == 0 || self.n_head % n != 0 {
                return err(format!(
                    "n_head {} must be a positive multiple of swa_n_head_kv {n}",
                    self.n_head
                ));
            }
        }
        if self.kv_shared_n_ff.is_some_and(|f| f > 1 << 22) {
            return err(format!(
                "kv_shared_n_ff {:?}: expected at most 4194304",
                self.kv_shared_n_ff
            ));
        }
        if self.per_layer_embd.is_some_and(|w| w > 1 << 16) {
            return err(format!(
                "per_layer_embd {:?}: expected at most 65536",
                self.per_layer_embd
            ));
        }
        if self.shared_expert_ff.is_some_and(|f| f > 1 << 22) {
            return err(format!(
                "shared_expert_ff {:?}: expected at most 4194304",
                self.shared_expert_ff
            ));
        }
        if let Some(r) = &self.recurrent {
            // Far above Mamba-2's and Qwen3-Next's sizes (d_inner 8192, d_state 128, 16 groups),
            // so that the state formula cannot overflow on a hostile file.
            if r.d_conv > 1024
                || r.d_inner > 1 << 20
                || r.d_state > 1 << 16
                || r.n_group > 1 << 12
                || r.n_head > 1 << 16
            {
                return err(format!(
                    "recurrent sizes d_conv {}, d_inner {}, d_state {}, groups {}, heads {}: expected at most 1024, 1048576, 65536, 4096 and 65536",
                    r.d_conv, r.d_inner, r.d_state, r.n_group, r.n_head
                ));
            }
            if let Some(&il) = r.attention_layers.iter().find(|&&il| il >= self.n_layer) {
                return err(format!(
                    "attention layer {il} is not a block of a {}-block model",
                    self.n_layer
                ));
            }
        }
        Ok(())
    }
}
