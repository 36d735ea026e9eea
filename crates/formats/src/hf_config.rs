//! Hugging Face `config.json` → [`ModelSpec`], and its `quantization_config` (or MLX's
//! `quantization`) → the weight format. Field names are transformers' (`num_hidden_layers`,
//! `num_key_value_heads`, `rope_scaling`, …); multimodal configs keep the language model in
//! `text_config`.

use llmrig_core::model::{Arch, ModelSpec, RecurrentSpec};
use llmrig_core::quant::other::{Fp8Scales, OtherFormat};
use serde_json::Value;

/// A config that cannot describe a model.
#[derive(Debug, thiserror::Error)]
#[error("`{file}`: {what}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// What is missing or wrong.
    pub what: String,
}

/// What `config.json` says.
#[derive(Debug, Clone)]
pub struct HfConfig {
    /// The architecture numbers.
    pub spec: ModelSpec,
    /// `model_type` as written.
    pub model_type: String,
    /// The weight format from `quantization_config`, if quantized.
    pub quant: Option<OtherFormat>,
    /// `torch_dtype` / `dtype` (`bfloat16`).
    pub dtype: Option<String>,
    /// What was assumed.
    pub warnings: Vec<String>,
}

fn arch_of(model_type: &str) -> Option<Arch> {
    Some(match model_type {
        "llama" | "mistral" | "mixtral" | "granite" | "olmo2" => Arch::Llama,
        "qwen2" => Arch::Qwen2,
        "qwen3" => Arch::Qwen3,
        "qwen3_moe" => Arch::Qwen3Moe,
        "gemma2" => Arch::Gemma2,
        "gemma3" | "gemma3_text" => Arch::Gemma3,
        "phi3" => Arch::Phi3,
        "deepseek_v2" | "deepseek_v3" | "kimi_k2" => Arch::Deepseek2,
        "gpt_oss" => Arch::GptOss,
        "cohere2" => Arch::Cohere2,
        "llama4" | "llama4_text" => Arch::Llama4,
        "glm4_moe" => Arch::Glm4Moe,
        "qwen3_next" => Arch::Qwen3Next,
        "qwen3_5" | "qwen3_5_text" => Arch::Qwen35,
        "qwen3_5_moe" | "qwen3_5_moe_text" => Arch::Qwen35Moe,
        "granitemoehybrid" => Arch::GraniteHybrid,
        "lfm2" => Arch::Lfm2,
        "lfm2_moe" => Arch::Lfm2Moe,
        "gemma3n" | "gemma3n_text" => Arch::Gemma3n,
        "gemma4" | "gemma4_text" => Arch::Gemma4,
        "gemma" => Arch::Gemma,
        "granitemoe" => Arch::GraniteMoe,
        "minimax_m2" => Arch::MinimaxM2,
        "hunyuan" | "hunyuan_v1_moe" => Arch::HunyuanMoe,
        "dots1" => Arch::Dots1,
        _ => return None,
    })
}

/// Parses `config.json` text.
///
/// # Errors
/// [`ConfigError`] naming the file when it is not JSON or lacks the numbers a model needs.
#[allow(clippy::too_many_lines)]
pub fn parse_config(file: &str, text: &str) -> Result<HfConfig, ConfigError> {
    let err = |what: String| ConfigError {
        file: file.to_string(),
        what,
    };
    let root: Value =
        serde_json::from_str(text).map_err(|e| err(format!("not valid JSON: {e}")))?;
    let top = root
        .as_object()
        .ok_or_else(|| err("expected a JSON object".into()))?;
    // The language model's numbers: text_config when present, else the top level.
    let text_cfg = top.get("text_config").and_then(Value::as_object);
    let get = |k: &str| text_cfg.and_then(|t| t.get(k)).or_else(|| top.get(k));
    let u = |k: &str| get(k).and_then(Value::as_u64);
    // A number, or a per-layer list's first value (Hunyuan's `moe_topk` and
    // `num_shared_expert`, uniform).
    let per_layer = |k: &str| {
        u(k).or_else(|| {
            get(k)
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_u64)
        })
    };
    let f = |k: &str| get(k).and_then(Value::as_f64);
    let b = |k: &str| get(k).and_then(Value::as_bool);
    let model_type = text_cfg
        .and_then(|t| t.get("model_type"))
        .or_else(|| top.get("model_type"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut warnings = Vec::new();
    let mut arch = arch_of(&model_type).unwrap_or_else(|| {
        warnings.push(format!(
            "model_type `{model_type}` has no llmrig rules yet: sized as a standard transformer"
        ));
        Arch::Generic
    });
    // Block kinds as the config lists them (`layer_types`: Granite 4.0's "mamba"/"attention",
    // LFM2's "conv"/"full_attention"; LFM2's older `full_attn_idxs`).
    let layer_types: Vec<&str> = get("layer_types")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let attention_layers: Vec<u32> = match get("full_attn_idxs").and_then(Value::as_array) {
        Some(idx) => idx
            .iter()
            .filter_map(Value::as_u64)
            .filter_map(|i| u32::try_from(i).ok())
            .collect(),
        None => (0u32..)
            .zip(&layer_types)
            .filter(|(_, t)| t.contains("attention"))
            .map(|(il, _)| il)
            .collect(),
    };
    // convert_hf_to_gguf writes a Granite 4.0 model without Mamba blocks (granite-4.0-micro) as
    // the plain `granite` architecture.
    if arch == Arch::GraniteHybrid && !layer_types.contains(&"mamba") {
        arch = Arch::Granite;
    }
    let need = |k: &str| u(k).ok_or_else(|| err(format!("no `{k}` (expected a number)")));
    let n_layer = need("num_hidden_layers")?;
    let n_embd = need("hidden_size")?;
    let n_head = need("num_attention_heads")?;
    let n_head_kv = u("num_key_value_heads").unwrap_or(n_head);
    let n_expert = u("num_local_experts")
        .or_else(|| u("num_experts"))
        .or_else(|| u("n_routed_experts"))
        .unwrap_or(0);
    let rope_scaling = get("rope_scaling").and_then(Value::as_object).map(|r| {
        let ty = r
            .get("rope_type")
            .or_else(|| r.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("scaled");
        match r.get("factor").and_then(Value::as_f64) {
            Some(fa) => format!("{ty} factor {fa}"),
            None => ty.to_string(),
        }
    });
    // Qwen2 configs carry a sliding_window that is off unless use_sliding_window is true; Phi-3's
    // is not used by llama.cpp either.
    let sliding_window = match arch {
        Arch::Qwen2 | Arch::Phi3 | Arch::Llama | Arch::Lfm2 | Arch::Lfm2Moe => None,
        // llama.cpp sizes Llama 4's chunked attention as a window of 8192 (hard-coded).
        Arch::Llama4 => Some(8192),
        _ if b("use_sliding_window") == Some(false) => None,
        _ => u("sliding_window").filter(|&w| w > 0),
    };
    // The config's own pattern when it gives one, else llama.cpp's for the architecture.
    let swa_period = sliding_window.and_then(|_| {
        u("sliding_window_pattern")
            .and_then(|p| u32::try_from(p).ok())
            .filter(|_| matches!(arch, Arch::Gemma3 | Arch::Cohere2))
            .or(arch.swa_period())
            // Gemma 4 lists its layers: the first full-attention one ends the period.
            .or_else(|| {
                layer_types
                    .iter()
                    .position(|t| *t == "full_attention")
                    .and_then(|i| u32::try_from(i + 1).ok())
                    .filter(|_| arch == Arch::Gemma4)
            })
    });
    let kv_lora = u("kv_lora_rank");
    let n_ff = match arch {
        // Llama 4: `intermediate_size` is the expert's, `intermediate_size_mlp` the dense FFN's.
        Arch::Llama4 => u("intermediate_size_mlp").or_else(|| u("intermediate_size")),
        // LFM2's converter (conversion/lfm2.py) shrinks block_ff_dim as the model code does:
        // 2/3, the multiplier, rounded up to block_multiple_of.
        Arch::Lfm2 => u("block_ff_dim").map(|ff| {
            if b("block_auto_adjust_ff_dim") == Some(true) {
                let mut ff = 2 * ff / 3;
                if let Some(m) = f("block_ffn_dim_multiplier") {
                    ff = (m * ff as f64) as u64;
                }
                let of = u("block_multiple_of").unwrap_or(256).max(1);
                ff.div_ceil(of) * of
            } else {
                ff
            }
        }),
        // Gemma 3n lists one width per layer (all equal in E2B and E4B).
        _ => u("intermediate_size").or_else(|| {
            get("intermediate_size")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().filter_map(Value::as_u64).max())
        }),
    }
    .unwrap_or(0);
    let recurrent = match arch {
        // Qwen3-Next's converter: ssm.state_size = linear_key_head_dim, group_count =
        // linear_num_key_heads, time_step_rank = linear_num_value_heads, inner_size = value dim.
        Arch::Qwen3Next | Arch::Qwen35 | Arch::Qwen35Moe => Some(RecurrentSpec {
            d_conv: u("linear_conv_kernel_dim").unwrap_or(4),
            d_inner: u("linear_value_head_dim").unwrap_or(128)
                * u("linear_num_value_heads").unwrap_or(32),
            d_state: u("linear_key_head_dim").unwrap_or(128),
            n_group: u("linear_num_key_heads").unwrap_or(16),
            attention_period: u("full_attention_interval")
                .and_then(|p| u32::try_from(p).ok())
                .or(Some(4)),
            attention_layers: Vec::new(),
            n_head: u("linear_num_value_heads").unwrap_or(32),
        }),
        // Granite 4.0: Mamba-2 with d_inner = mamba_expand × hidden_size.
        Arch::GraniteHybrid => Some(RecurrentSpec {
            d_conv: u("mamba_d_conv").unwrap_or(4),
            d_inner: u("mamba_expand").unwrap_or(2) * n_embd,
            d_state: u("mamba_d_state").unwrap_or(128),
            n_group: u("mamba_n_groups").unwrap_or(1),
            attention_period: None,
            attention_layers: attention_layers.clone(),
            n_head: u("mamba_n_heads").unwrap_or(0),
        }),
        Arch::Lfm2 | Arch::Lfm2Moe => Some(RecurrentSpec {
            d_conv: u("conv_L_cache").unwrap_or(3),
            d_inner: n_embd,
            d_state: 0,
            n_group: 0,
            attention_period: None,
            attention_layers: attention_layers.clone(),
            n_head: 0,
        }),
        _ => None,
    };
    let shared_expert_ff = u("shared_expert_intermediate_size")
        .or_else(|| u("shared_intermediate_size"))
        .filter(|&f| f > 0 && n_expert > 1);
    let to32 =
        |x: u64, k: &str| u32::try_from(x).map_err(|_| err(format!("`{k}` {x} is too large")));
    // Gemma 4 (transformers' Gemma4TextConfig as written by 5.5): the global layers' head size
    // and KV heads (`global_head_dim`, `num_global_key_value_heads`) beside the sliding ones'
    // (`head_dim`, `num_key_value_heads`), K doubling as V on the global layers, a double-wide
    // MLP past the KV-sharing point. Configs that move these into `per_layer_config` are read as
    // uniform.
    let g4 = arch == Arch::Gemma4;
    let global_kv = u("num_global_key_value_heads").filter(|_| g4);
    let global_hd = u("global_head_dim").filter(|_| g4);
    let kv_shared = u("num_kv_shared_layers")
        .filter(|&n| n > 0 && n < n_layer && matches!(arch, Arch::Gemma3n | Arch::Gemma4));
    let spec = ModelSpec {
        id: file.to_string(),
        name: top
            .get("_name_or_path")
            .and_then(Value::as_str)
            .map_or_else(|| file.to_string(), str::to_string),
        arch,
        n_layer: to32(n_layer, "num_hidden_layers")?,
        n_embd,
        n_ff,
        n_head: to32(n_head, "num_attention_heads")?,
        n_head_kv: to32(global_kv.unwrap_or(n_head_kv), "num_key_value_heads")?,
        head_dim: if kv_lora.is_some() {
            None
        } else {
            global_hd.or_else(|| u("head_dim"))
        },
        swa_head_dim: global_hd
            .and(u("head_dim"))
            .filter(|&d| Some(d) != global_hd),
        swa_n_head_kv: global_kv
            .filter(|&k| k != n_head_kv)
            .and_then(|_| u32::try_from(n_head_kv).ok()),
        global_k_eq_v: g4 && b("attention_k_eq_v") == Some(true),
        kv_shared_n_ff: (g4 && b("use_double_wide_mlp") == Some(true) && kv_shared.is_some())
            .then_some(2 * n_ff),
        n_vocab: need("vocab_size")?,
        // Gemma and Cohere tie embeddings by default; transformers' default is true otherwise too,
        // but nearly every untied config says false explicitly.
        tied_embeddings: b("tie_word_embeddings")
            .or_else(|| top.get("tie_word_embeddings").and_then(Value::as_bool))
            .unwrap_or(matches!(
                arch,
                Arch::Gemma
                    | Arch::Gemma2
                    | Arch::Gemma3
                    | Arch::Gemma3n
                    | Arch::Gemma4
                    | Arch::Cohere2
            )),
        context_length: u("max_position_embeddings").unwrap_or(4096),
        rope_theta: f("rope_theta"),
        rope_scaling,
        attn_bias: b("attention_bias").unwrap_or(arch == Arch::Qwen2),
        qk_norm: b("use_qk_norm").unwrap_or(matches!(
            arch,
            Arch::Qwen3
                | Arch::Qwen3Moe
                | Arch::Gemma3
                | Arch::Gemma3n
                | Arch::Gemma4
                | Arch::Qwen3Next
                | Arch::Qwen35
                | Arch::Qwen35Moe
                | Arch::Lfm2
                | Arch::Lfm2Moe
                | Arch::Dots1
        )),
        sliding_window,
        swa_period,
        n_expert: to32(n_expert, "num_experts")?,
        n_expert_used: to32(
            u("num_experts_per_tok")
                .or_else(|| u("top_k_experts"))
                .or_else(|| per_layer("moe_topk"))
                .unwrap_or(0),
            "num_experts_per_tok",
        )?,
        n_expert_shared: to32(
            u("n_shared_experts")
                .or_else(|| per_layer("num_shared_expert"))
                .unwrap_or(u64::from(
                    shared_expert_ff.is_some() || (arch == Arch::Llama4 && n_expert > 1),
                )),
            "n_shared_experts",
        )?,
        expert_ff: if n_expert > 1 {
            u("moe_intermediate_size")
                .or_else(|| u("expert_intermediate_size"))
                .or_else(|| u("intermediate_size"))
        } else {
            None
        },
        shared_expert_ff,
        leading_dense_layers: to32(
            u("first_k_dense_replace")
                .or_else(|| u("num_dense_layers"))
                .unwrap_or(0),
            "first_k_dense_replace",
        )?,
        moe_layer_step: to32(
            u("interleave_moe_layer_step").unwrap_or(0),
            "interleave_moe_layer_step",
        )?,
        q_lora_rank: u("q_lora_rank"),
        kv_lora_rank: kv_lora,
        qk_nope_head_dim: u("qk_nope_head_dim"),
        qk_rope_head_dim: u("qk_rope_head_dim"),
        v_head_dim: u("v_head_dim"),
        mla_legacy_kv: false,
        kv_layers: kv_shared.and_then(|shared| u32::try_from(n_layer - shared).ok()),
        per_layer_embd: u("hidden_size_per_layer_input")
            .filter(|&w| w > 0 && matches!(arch, Arch::Gemma3n | Arch::Gemma4)),
        recurrent,
        pooling: None,
        max_seq_length: None,
        n_cls_out: 0,
        n_token_types: 0,
        // Qwen3-VL's vision_config lists the deep-stack blocks whose features join the text.
        n_deepstack: top
            .get("vision_config")
            .and_then(|v| v.get("deepstack_visual_indexes"))
            .and_then(Value::as_array)
            .map_or(0, |a| u32::try_from(a.len()).unwrap_or(0)),
        mrope: get("rope_scaling")
            .or_else(|| get("rope_parameters"))
            .and_then(|r| r.get("mrope_section"))
            .is_some(),
    };
    spec.validate().map_err(|e| err(e.what))?;
    let quant = quant_format(top, &mut warnings);
    let dtype = top
        .get("torch_dtype")
        .or_else(|| top.get("dtype"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(HfConfig {
        spec,
        model_type,
        quant,
        dtype,
        warnings,
    })
}

/// The weight format a config declares (`quantization_config`, MLX's `quantization`).
fn quant_format(
    top: &serde_json::Map<String, Value>,
    warnings: &mut Vec<String>,
) -> Option<OtherFormat> {
    let to_u8 = |v: Option<&Value>| v.and_then(Value::as_u64).and_then(|x| u8::try_from(x).ok());
    let to_u32 = |v: Option<&Value>| {
        v.and_then(Value::as_i64)
            .and_then(|x| u32::try_from(x).ok())
    };
    if let Some(q) = top.get("quantization").and_then(Value::as_object) {
        // mlx-lm writes {"group_size": 64, "bits": 4}.
        return Some(OtherFormat::Mlx {
            bits: to_u8(q.get("bits")).unwrap_or(4),
            group: to_u32(q.get("group_size")).unwrap_or(64),
        });
    }
    let q = top.get("quantization_config")?.as_object()?;
    let method = q
        .get("quant_method")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let fmt = match method.as_str() {
        "gptq" => OtherFormat::Gptq {
            bits: to_u8(q.get("bits")).unwrap_or(4),
            group: to_u32(q.get("group_size")),
            desc_act: q.get("desc_act").and_then(Value::as_bool).unwrap_or(false),
        },
        "awq" => OtherFormat::Awq {
            bits: to_u8(q.get("bits").or_else(|| q.get("w_bit"))).unwrap_or(4),
            group: to_u32(q.get("group_size").or_else(|| q.get("q_group_size"))).unwrap_or(128),
        },
        "bitsandbytes" => {
            if q.get("load_in_8bit").and_then(Value::as_bool) == Some(true) {
                OtherFormat::BnbInt8
            } else {
                let dq = q
                    .get("bnb_4bit_use_double_quant")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                match q.get("bnb_4bit_quant_type").and_then(Value::as_str) {
                    Some("fp4") => OtherFormat::BnbFp4 { double_quant: dq },
                    _ => OtherFormat::BnbNf4 { double_quant: dq },
                }
            }
        }
        "fp8" => OtherFormat::Fp8 {
            scales: if q.get("weight_block_size").is_some() {
                Fp8Scales::Block128
            } else {
                Fp8Scales::PerTensor
            },
        },
        "mxfp4" => OtherFormat::Mxfp4,
        "exl2" | "exl3" => {
            let bpw = q.get("bits").and_then(Value::as_f64).unwrap_or(4.0);
            let head_bits = to_u8(q.get("head_bits")).unwrap_or(6);
            if method == "exl2" {
                OtherFormat::Exl2 { bpw, head_bits }
            } else {
                OtherFormat::Exl3 { bpw, head_bits }
            }
        }
        "hqq" => OtherFormat::Hqq {
            bits: to_u8(q.get("nbits").or_else(|| q.get("bits"))).unwrap_or(4),
            group: to_u32(q.get("group_size")).unwrap_or(64),
        },
        "compressed-tensors" => compressed_tensors(q)?,
        other => {
            warnings.push(format!(
                "quant_method `{other}` is not known to llmrig; weights sized from the files"
            ));
            return None;
        }
    };
    Some(fmt)
}

/// compressed-tensors (llm-compressor): the weight scheme of the first config group.
fn compressed_tensors(q: &serde_json::Map<String, Value>) -> Option<OtherFormat> {
    let format = q.get("format").and_then(Value::as_str).unwrap_or("");
    let groups = q.get("config_groups")?.as_object()?;
    let w = groups.values().next()?.get("weights")?.as_object()?;
    let bits = w
        .get("num_bits")
        .and_then(Value::as_u64)
        .and_then(|b| u8::try_from(b).ok())?;
    let ty = w.get("type").and_then(Value::as_str).unwrap_or("int");
    let strategy = w.get("strategy").and_then(Value::as_str).unwrap_or("");
    let group = w
        .get("group_size")
        .and_then(Value::as_u64)
        .and_then(|g| u32::try_from(g).ok());
    Some(match (ty, bits) {
        ("float", 8) => OtherFormat::Fp8 {
            scales: match strategy {
                "channel" => Fp8Scales::PerChannel,
                "block" => Fp8Scales::Block128,
                _ => Fp8Scales::PerTensor,
            },
        },
        ("float", 4) if format.contains("nvfp4") => OtherFormat::Nvfp4,
        ("float", 4) => OtherFormat::Mxfp4,
        _ => OtherFormat::Wna16 {
            bits,
            group,
            sym: w.get("symmetric").and_then(Value::as_bool).unwrap_or(true),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LLAMA_31_8B: &str = r#"{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":4096,
      "intermediate_size":14336,"num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,
      "vocab_size":128256,"max_position_embeddings":131072,"rope_theta":500000.0,"tie_word_embeddings":false,
      "rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},
      "torch_dtype":"bfloat16"}"#;

    #[test]
    fn llama_config() {
        let c = parse_config("config.json", LLAMA_31_8B).unwrap();
        assert_eq!(c.spec.n_layer, 32);
        assert_eq!(c.spec.n_head_kv, 8);
        assert_eq!(c.spec.rope_scaling.as_deref(), Some("llama3 factor 8"));
        assert!(c.quant.is_none());
        assert_eq!(c.dtype.as_deref(), Some("bfloat16"));
    }

    #[test]
    fn nested_text_config_and_quantization() {
        let gemma = r#"{"model_type":"gemma3","text_config":{"model_type":"gemma3_text","hidden_size":2560,
          "intermediate_size":10240,"num_attention_heads":8,"num_hidden_layers":34,"num_key_value_heads":4,
          "head_dim":256,"vocab_size":262208,"sliding_window":1024,"max_position_embeddings":131072},
          "quantization_config":{"quant_method":"awq","bits":4,"group_size":128}}"#;
        let c = parse_config("config.json", gemma).unwrap();
        assert_eq!(c.spec.arch, Arch::Gemma3);
        assert_eq!(c.spec.sliding_window, Some(1024));
        assert_eq!(c.spec.swa_period, Some(6));
        assert!(c.spec.tied_embeddings);
        assert_eq!(
            c.quant,
            Some(OtherFormat::Awq {
                bits: 4,
                group: 128
            })
        );
    }

    #[test]
    fn quant_methods() {
        let with = |q: &str| {
            let t = LLAMA_31_8B.replace(
                "\"torch_dtype\"",
                &format!("\"quantization_config\":{q},\"torch_dtype\""),
            );
            parse_config("c", &t).unwrap().quant
        };
        assert_eq!(
            with(r#"{"quant_method":"gptq","bits":4,"group_size":128,"desc_act":true}"#),
            Some(OtherFormat::Gptq {
                bits: 4,
                group: Some(128),
                desc_act: true
            })
        );
        assert_eq!(
            with(r#"{"quant_method":"gptq","bits":8,"group_size":-1}"#),
            Some(OtherFormat::Gptq {
                bits: 8,
                group: None,
                desc_act: false
            })
        );
        assert_eq!(
            with(
                r#"{"quant_method":"bitsandbytes","load_in_4bit":true,"bnb_4bit_quant_type":"nf4","bnb_4bit_use_double_quant":true}"#
            ),
            Some(OtherFormat::BnbNf4 { double_quant: true })
        );
        assert_eq!(
            with(r#"{"quant_method":"fp8","weight_block_size":[128,128]}"#),
            Some(OtherFormat::Fp8 {
                scales: Fp8Scales::Block128
            })
        );
        assert_eq!(
            with(r#"{"quant_method":"exl2","bits":4.65,"head_bits":8}"#),
            Some(OtherFormat::Exl2 {
                bpw: 4.65,
                head_bits: 8
            })
        );
        assert_eq!(
            with(
                r#"{"quant_method":"compressed-tensors","format":"pack-quantized","config_groups":{"group_0":{"weights":{"num_bits":4,"type":"int","strategy":"group","group_size":128,"symmetric":true}}}}"#
            ),
            Some(OtherFormat::Wna16 {
                bits: 4,
                group: Some(128),
                sym: true
            })
        );
        assert_eq!(
            with(
                r#"{"quant_method":"compressed-tensors","format":"float-quantized","config_groups":{"g":{"weights":{"num_bits":8,"type":"float","strategy":"channel"}}}}"#
            ),
            Some(OtherFormat::Fp8 {
                scales: Fp8Scales::PerChannel
            })
        );
    }

    /// Hybrid configs read as llama.cpp's converter writes them (docs/research/new-archs.md):
    /// Qwen3-Next's delta-net numbers, Granite 4.0's `layer_types`, LFM2's adjusted FFN width.
    #[test]
    fn hybrid_configs() {
        let next = r#"{"model_type":"qwen3_next","hidden_size":2048,"intermediate_size":5120,
          "num_attention_heads":16,"num_key_value_heads":2,"head_dim":256,"num_hidden_layers":48,
          "vocab_size":151936,"num_experts":512,"num_experts_per_tok":10,"moe_intermediate_size":512,
          "shared_expert_intermediate_size":512,"full_attention_interval":4,"linear_num_key_heads":16,
          "linear_num_value_heads":32,"linear_key_head_dim":128,"linear_value_head_dim":128,
          "linear_conv_kernel_dim":4,"max_position_embeddings":262144,"tie_word_embeddings":false}"#;
        let s = parse_config("c", next).unwrap().spec;
        assert_eq!(s.arch, Arch::Qwen3Next);
        assert_eq!((s.n_expert_shared, s.shared_expert_ff), (1, Some(512)));
        // 96 KiB of conv state and 2 MiB of delta-net state per block (n_embd_r, n_embd_s).
        assert_eq!(s.recurrent_state_bytes(), (96 << 10, 2 << 20));
        assert_eq!((0..48).filter(|&il| !s.is_recurrent_layer(il)).count(), 12);
        assert!(!s.is_recurrent_layer(3) && s.is_recurrent_layer(4));
        // Qwen3.5-MoE's text config reads the same way, as its own architecture.
        let q35 = next.replace("qwen3_next", "qwen3_5_moe_text");
        let s = parse_config("c", &q35).unwrap().spec;
        assert_eq!(
            (s.arch, s.recurrent_state_bytes()),
            (Arch::Qwen35Moe, (96 << 10, 2 << 20))
        );

        let tiny = r#"{"model_type":"granitemoehybrid","hidden_size":1536,"intermediate_size":512,
          "shared_intermediate_size":1024,"num_attention_heads":12,"num_key_value_heads":4,
          "num_hidden_layers":10,"vocab_size":100352,"num_local_experts":64,"num_experts_per_tok":6,
          "mamba_d_conv":4,"mamba_d_state":128,"mamba_expand":2,"mamba_n_groups":1,"mamba_n_heads":48,
          "layer_types":["mamba","mamba","mamba","mamba","mamba","attention","mamba","mamba","mamba","mamba"]}"#;
        let s = parse_config("c", tiny).unwrap().spec;
        assert_eq!(s.arch, Arch::GraniteHybrid);
        let r = s.recurrent.clone().unwrap();
        assert_eq!(
            (r.d_inner, r.n_head, r.attention_layers),
            (3072, 48, vec![5])
        );
        assert_eq!((s.expert_ff, s.shared_expert_ff), (Some(512), Some(1024)));
        let micro = tiny
            .replace(r#""mamba","#, r#""attention","#)
            .replace(r#""mamba"]"#, r#""attention"]"#);
        assert_eq!(parse_config("c", &micro).unwrap().spec.arch, Arch::Granite);

        let lfm2 = r#"{"model_type":"lfm2","hidden_size":1024,"block_ff_dim":6656,
          "block_auto_adjust_ff_dim":true,"block_ffn_dim_multiplier":1.0,"block_multiple_of":256,
          "num_attention_heads":16,"num_key_value_heads":8,"num_hidden_layers":16,"vocab_size":65536,
          "conv_L_cache":3,"full_attn_idxs":[2,5,8,10,12,14],"tie_word_embeddings":true}"#;
        let s = parse_config("c", lfm2).unwrap().spec;
        assert_eq!((s.arch, s.n_ff), (Arch::Lfm2, 4608));
        // n_embd × (l_cache − 1) f32 of conv state, no SSM state.
        assert_eq!(s.recurrent_state_bytes(), (2 * 1024 * 4, 0));
        assert_eq!((0..16).filter(|&il| !s.is_recurrent_layer(il)).count(), 6);

        // Gemma 3n: one FFN width per layer, the shared-KV blocks, the per-layer input width.
        let g = r#"{"model_type":"gemma3n","text_config":{"model_type":"gemma3n_text",
          "hidden_size":2048,"intermediate_size":[8192,8192,8192,8192,8192],"num_attention_heads":8,
          "num_key_value_heads":2,"head_dim":256,"num_hidden_layers":30,"vocab_size":262400,
          "num_kv_shared_layers":10,"hidden_size_per_layer_input":256,"sliding_window":512}}"#;
        let s = parse_config("c", g).unwrap().spec;
        assert_eq!(
            (s.arch, s.n_ff, s.kv_layers),
            (Arch::Gemma3n, 8192, Some(20))
        );
        assert_eq!((s.per_layer_embd, s.swa_period), (Some(256), Some(5)));
        assert!(s.tied_embeddings && s.has_kv(19) && !s.has_kv(20));
    }

    /// Gemma 4's text configs (transformers' Gemma4TextConfig keys, the 26B A4B's and the E2B's
    /// values as models.toml cites them): per-layer head sizes and KV heads, K as V on the global
    /// blocks, the period from `layer_types`, the experts' own keys, the double-wide MLP.
    #[test]
    fn gemma4_configs() {
        let types = ["sliding_attention"; 5]
            .iter()
            .chain(&["full_attention"])
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(",");
        let moe = format!(
            r#"{{"model_type":"gemma4","text_config":{{"model_type":"gemma4_text",
          "hidden_size":2816,"intermediate_size":2112,"num_attention_heads":16,
          "num_key_value_heads":8,"num_global_key_value_heads":2,"head_dim":256,
          "global_head_dim":512,"attention_k_eq_v":true,"num_hidden_layers":30,
          "vocab_size":262144,"sliding_window":1024,"layer_types":[{t},{t},{t},{t},{t}],
          "num_experts":128,"top_k_experts":8,"expert_intermediate_size":704}}}}"#,
            t = types
        );
        let s = parse_config("c", &moe).unwrap().spec;
        assert_eq!(
            (s.arch, s.swa_period, s.sliding_window),
            (Arch::Gemma4, Some(6), Some(1024))
        );
        assert!(s.is_swa_layer(4) && !s.is_swa_layer(5) && s.global_k_eq_v);
        assert_eq!(
            (
                s.layer_head_dim(0),
                s.layer_n_head_kv(0),
                s.layer_head_dim(5),
                s.layer_n_head_kv(5)
            ),
            (256, 8, 512, 2)
        );
        assert_eq!(
            (s.n_expert, s.n_expert_used, s.expert_ff),
            (128, 8, Some(704))
        );
        assert!(s.tied_embeddings);

        // E2B: one KV head, 20 of 35 blocks sharing the KV of earlier ones, whose MLP is twice
        // as wide (use_double_wide_mlp).
        let e2b = r#"{"model_type":"gemma4_text","hidden_size":1536,"intermediate_size":6144,
          "num_attention_heads":8,"num_key_value_heads":1,"head_dim":256,"global_head_dim":512,
          "num_hidden_layers":35,"vocab_size":262144,"sliding_window":512,
          "layer_types":["sliding_attention","sliding_attention","sliding_attention",
            "sliding_attention","full_attention"],
          "num_kv_shared_layers":20,"use_double_wide_mlp":true,"hidden_size_per_layer_input":256}"#;
        let s = parse_config("c", e2b).unwrap().spec;
        assert_eq!(
            (s.swa_period, s.kv_layers, s.per_layer_embd),
            (Some(5), Some(15), Some(256))
        );
        assert_eq!((s.layer_n_ff(14), s.layer_n_ff(15)), (6144, 12288));
        assert_eq!((s.layer_head_dim(3), s.layer_head_dim(4)), (256, 512));
        assert!(!s.global_k_eq_v && s.has_kv(14) && !s.has_kv(15));
    }

    /// Hunyuan-A13B lists its experts per layer (`moe_topk`, `num_shared_expert`); MiniMax-M2
    /// sizes its experts with `intermediate_size`; both as in the checkpoints' config.json.
    #[test]
    fn hunyuan_and_minimax_configs() {
        let hunyuan = r#"{"architectures":["HunYuanMoEV1ForCausalLM"],"model_type":"hunyuan",
          "hidden_size":4096,"intermediate_size":3072,"moe_intermediate_size":[3072,3072],
          "num_attention_heads":32,"num_key_value_heads":8,"attention_head_dim":128,
          "num_hidden_layers":32,"vocab_size":128167,"tie_word_embeddings":true,
          "num_experts":64,"moe_topk":[8,8],"num_shared_expert":[1,1],"use_qk_norm":true,
          "use_cla":false,"max_position_embeddings":32768,"rope_theta":10000.0}"#;
        let s = parse_config("c", hunyuan).unwrap().spec;
        assert_eq!(s.arch, Arch::HunyuanMoe);
        assert_eq!(
            (s.n_expert, s.n_expert_used, s.n_expert_shared, s.expert_ff),
            (64, 8, 1, Some(3072))
        );
        assert!(s.qk_norm && s.tied_embeddings);
        let minimax = r#"{"architectures":["MiniMaxM2ForCausalLM"],"model_type":"minimax_m2",
          "hidden_size":3072,"intermediate_size":1536,"num_attention_heads":48,
          "num_key_value_heads":8,"head_dim":128,"num_hidden_layers":62,"vocab_size":200064,
          "tie_word_embeddings":false,"num_local_experts":256,"num_experts_per_tok":8,
          "use_qk_norm":true,"qk_norm_type":"per_layer","rotary_dim":64,
          "max_position_embeddings":196608,"rope_theta":5000000}"#;
        let s = parse_config("c", minimax).unwrap().spec;
        assert_eq!(s.arch, Arch::MinimaxM2);
        assert_eq!(
            (s.n_expert, s.n_expert_used, s.n_expert_shared, s.expert_ff),
            (256, 8, 0, Some(1536))
        );
        assert_eq!(s.q_width(), 6144);
    }

    #[test]
    fn bad_configs() {
        assert!(parse_config("c", "nope")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
        assert!(parse_config("c", "[]")
            .unwrap_err()
            .to_string()
            .contains("JSON object"));
        assert!(parse_config("c", r#"{"model_type":"llama"}"#)
            .unwrap_err()
            .to_string()
            .contains("num_hidden_layers"));
        let e = parse_config(
            "c",
            &LLAMA_31_8B.replace("\"num_key_value_heads\":8", "\"num_key_value_heads\":7"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("multiple"), "{e}");
    }
}
