//! GGUF metadata → [`ModelSpec`] and the file's real tensors → [`ModelWeights`].
//!
//! Keys are llama.cpp's `LLM_KV_*` names (`{arch}.block_count`, `{arch}.attention.head_count_kv`,
//! …, see `src/llama-arch.cpp`); where llama.cpp hard-codes a value per architecture (the sliding
//! window pattern of Gemma 2/3, Command R7B, gpt-oss) the same value is used here.

use llmrig_core::estimate::{ModelWeights, WeightTensor};
use llmrig_core::model::{classify, Arch, ModelSpec, RecurrentSpec};
use llmrig_core::quant::{FileType, GgmlType, Mix, Quant};

use super::parse::{ArrayValue, GgufHeader, Value};

/// What a GGUF file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgufKind {
    /// A language model.
    Model,
    /// A vision/audio projector (`mmproj`, architecture `clip`).
    Projector,
}

/// A model read from GGUF headers.
#[derive(Debug, Clone)]
pub struct GgufModel {
    /// Model or projector.
    pub kind: GgufKind,
    /// `general.architecture` as written.
    pub arch_name: String,
    /// The spec (for projectors: a placeholder; use `weights` for the size).
    pub spec: ModelSpec,
    /// The file's tensors with their real types and sizes.
    pub weights: ModelWeights,
    /// `general.file_type`, if present and known.
    pub file_type: Option<FileType>,
    /// What was assumed or could not be read.
    pub warnings: Vec<String>,
    /// A vision projector's numbers, for the families llmrig sizes (`clip.projector_type`).
    pub projector: Option<llmrig_core::model::ProjectorSpec>,
}

/// Headers whose metadata cannot describe a model.
#[derive(Debug, thiserror::Error)]
#[error("`{file}`: {what}")]
pub struct SpecFromGguf {
    /// The file.
    pub file: String,
    /// What is missing or wrong.
    pub what: String,
}

fn first_u(v: &Value) -> Option<u64> {
    match v {
        Value::Array(ArrayValue::Items(items)) => items.iter().filter_map(Value::as_u64).max(),
        v => v.as_u64(),
    }
}

/// Builds the spec and weights from the headers of one model (every shard of a split file).
///
/// # Errors
/// [`SpecFromGguf`] when a required key is missing or a number is impossible.
#[allow(clippy::too_many_lines)]
pub fn model_from_gguf(file: &str, shards: &[GgufHeader]) -> Result<GgufModel, SpecFromGguf> {
    let err = |what: String| SpecFromGguf {
        file: file.to_string(),
        what,
    };
    let h = shards.first().ok_or_else(|| err("no GGUF header".into()))?;
    let arch_name = h
        .get("general.architecture")
        .and_then(Value::as_str)
        .ok_or_else(|| err("no `general.architecture` key".into()))?
        .to_string();
    let mut warnings = Vec::new();
    let entries: Vec<_> = shards.iter().flat_map(|s| s.tensors.iter()).collect();
    let unknown: Vec<String> = entries
        .iter()
        .filter(|t| t.ggml_type.is_none())
        .map(|t| format!("{} (type id {})", t.name, t.type_id))
        .collect();
    if !unknown.is_empty() {
        return Err(err(format!(
            "{} tensor(s) have a ggml type llmrig does not know, so their size is unknown: {}",
            unknown.len(),
            unknown
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let tensors: Vec<WeightTensor> = entries
        .iter()
        .map(|t| {
            let mut ne = [1u64; 3];
            for (i, d) in t.dims.iter().enumerate() {
                if i < 3 {
                    ne[i] = *d;
                } else {
                    ne[2] *= *d;
                }
            }
            WeightTensor {
                info: classify(&t.name, ne),
                ggml_type: t.ggml_type,
                bytes: t.bytes,
            }
        })
        .collect();
    // llama.cpp's vocabulary files (models/ggml-vocab-*.gguf) have a model's keys and no
    // weights; a split model's first shard may hold no tensors, but the shards together must.
    if tensors.is_empty() {
        return Err(err(
            "holds no tensors, only metadata (a vocabulary-only file?): expected a model's weights"
                .into(),
        ));
    }
    let file_type = h
        .get("general.file_type")
        .and_then(Value::as_u64)
        .and_then(|id| u32::try_from(id).ok())
        .and_then(FileType::from_gguf_id);
    let quant = Quant::Gguf(Mix::new(
        file_type.unwrap_or_else(|| guess_file_type(&tensors)),
    ));

    let name = h
        .get("general.name")
        .and_then(Value::as_str)
        .unwrap_or(file)
        .to_string();
    if arch_name == "clip" {
        let spec = ModelSpec {
            id: name.clone(),
            name,
            arch: Arch::Generic,
            ..ModelSpec::default()
        };
        let projector = projector_spec(h, &tensors);
        if projector.is_none() {
            warnings.push(format!(
                "projector type `{}` has no llmrig rules yet: its weights are exact, its compute buffer is not estimated",
                h.get("clip.projector_type")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
            ));
        }
        let weights = ModelWeights::from_tensors(spec.clone(), quant, tensors);
        return Ok(GgufModel {
            projector,
            kind: GgufKind::Projector,
            arch_name,
            spec,
            weights,
            file_type,
            warnings,
        });
    }
    let arch = Arch::from_gguf_name(&arch_name).unwrap_or_else(|| {
        warnings.push(format!(
            "architecture `{arch_name}` has no llmrig rules yet: weights are exact, the KV cache assumes standard attention"
        ));
        Arch::Generic
    });
    let a = &arch_name;
    let key = |k: &str| h.get(&format!("{a}.{k}"));
    let u = |k: &str| key(k).and_then(first_u);
    let find = |n: &str| tensors.iter().find(|t| t.info.name == n);

    let n_layer = u("block_count").ok_or_else(|| err(format!("no `{a}.block_count` key")))?;
    // llama.cpp refuses a file whose tensors name blocks beyond `block_count` (it loads only the
    // blocks the key declares and then finds tensors it did not create).
    if let Some(t) = tensors
        .iter()
        .find(|t| t.info.layer.is_some_and(|il| u64::from(il) >= n_layer))
    {
        return Err(err(format!(
            "tensor `{}` is in a block beyond `{a}.block_count` = {n_layer}",
            t.info.name
        )));
    }
    // GLM-4.5's NextN (multi-token prediction) blocks come after the trunk: in the file, never
    // loaded (llama.cpp creates them TENSOR_SKIP) and, since PR #28630, given no KV cache.
    let nextn = u("nextn_predict_layers")
        .unwrap_or(0)
        .min(n_layer.saturating_sub(1));
    let n_embd =
        u("embedding_length").ok_or_else(|| err(format!("no `{a}.embedding_length` key")))?;
    let n_head = u("attention.head_count").unwrap_or(0);
    let n_head_kv = u("attention.head_count_kv")
        .filter(|&k| k > 0)
        .unwrap_or(n_head);
    let n_vocab = find("token_embd.weight")
        .map(|t| t.info.ne[1])
        .or_else(|| u("vocab_size"))
        .or_else(|| h.get("tokenizer.ggml.tokens").and_then(Value::array_len))
        .unwrap_or(0);
    let rope_dim = u("rope.dimension_count");
    let kv_lora = u("attention.kv_lora_rank");
    let key_mla = u("attention.key_length_mla");
    let (head_dim, mla) = match kv_lora {
        Some(kv) => {
            let rope = rope_dim.unwrap_or(64);
            // With `key_length_mla` the file caches the latent; without it (older conversions)
            // key_length/value_length are the full per-head sizes.
            let (nope, v, legacy) = match key_mla {
                Some(k) => (
                    k.saturating_sub(rope),
                    u("attention.value_length_mla").unwrap_or(k - rope),
                    false,
                ),
                None => (
                    u("attention.key_length")
                        .unwrap_or(rope * 3)
                        .saturating_sub(rope),
                    u("attention.value_length").unwrap_or(128),
                    true,
                ),
            };
            (None, Some((kv, rope, nope, v, legacy)))
        }
        None => (u("attention.key_length"), None),
    };
    // llama4: chunked attention llama.cpp sizes as a window of 8192 unless the file says 0.
    let sliding_window = match (arch, u("attention.sliding_window")) {
        (Arch::Llama4, Some(0)) => None,
        (Arch::Llama4, _) => Some(8192),
        (_, w) => w.filter(|&w| w > 0),
    };
    let swa_period = sliding_window.and_then(|_| match arch.swa_period() {
        // llama.cpp sets these patterns in code (`hparams.set_swa_pattern`).
        Some(p) => Some(p),
        None => key("attention.sliding_window_pattern").and_then(|v| match v {
            Value::Array(ArrayValue::Items(items)) => {
                // A per-layer bool array: the period is the position of the first global layer.
                items
                    .iter()
                    .position(|b| *b == Value::Bool(false))
                    .and_then(|i| u32::try_from(i + 1).ok())
            }
            v => v.as_u64().and_then(|p| u32::try_from(p).ok()),
        }),
    });
    // Hybrids mark their recurrent blocks with `head_count_kv` 0 in a per-block array (LFM2,
    // Granite 4.0: llama.cpp's `is_recr(il) = n_head_kv(il) == 0`), or list them
    // (`attention.recurrent_layers`, Qwen3-Next's alternative to `full_attention_interval`).
    let per_layer = |k: &str| match key(k) {
        Some(Value::Array(ArrayValue::Items(items))) if items.len() as u64 == n_layer => {
            Some(items)
        }
        _ => None,
    };
    let attention_layers: Vec<u32> = if let Some(items) = per_layer("attention.head_count_kv") {
        let attn: Vec<u32> = (0u32..)
            .zip(items.iter())
            .filter(|(_, v)| v.as_u64().unwrap_or(0) > 0)
            .map(|(il, _)| il)
            .collect();
        if attn.len() < items.len() {
            attn
        } else {
            Vec::new()
        }
    } else if let Some(items) = per_layer("attention.recurrent_layers") {
        (0u32..)
            .zip(items.iter())
            .filter(|(_, v)| **v == Value::Bool(false))
            .map(|(il, _)| il)
            .collect()
    } else {
        Vec::new()
    };
    let attention_period = u("full_attention_interval").and_then(|p| u32::try_from(p).ok());
    let recurrent = match (u("ssm.inner_size"), u("shortconv.l_cache")) {
        (Some(d_inner), _) => Some(RecurrentSpec {
            d_conv: u("ssm.conv_kernel").unwrap_or(4),
            d_inner,
            d_state: u("ssm.state_size").unwrap_or(0),
            n_group: u("ssm.group_count").unwrap_or(1),
            attention_period,
            attention_layers,
            n_head: u("ssm.time_step_rank").unwrap_or(0),
        }),
        // LFM2's short convolution keeps `n_embd × (l_cache − 1)` f32 per block (`n_embd_r`)
        // and no SSM state: the state formula with d_inner = n_embd and no groups.
        (None, Some(l_cache)) => Some(RecurrentSpec {
            d_conv: l_cache,
            d_inner: n_embd,
            d_state: 0,
            n_group: 0,
            attention_period: None,
            attention_layers,
            n_head: 0,
        }),
        (None, None) => None,
    };
    let to32 =
        |x: u64, what: &str| u32::try_from(x).map_err(|_| err(format!("{what} {x} is too large")));
    let g4 = if arch == Arch::Gemma4 {
        gemma4_shapes(
            n_layer,
            head_dim,
            [
                per_layer("attention.sliding_window_pattern").map(Vec::as_slice),
                per_layer("attention.head_count_kv").map(Vec::as_slice),
                per_layer("feed_forward_length").map(Vec::as_slice),
            ],
            (
                u("attention.key_length_swa"),
                u("attention.shared_kv_layers"),
            ),
            &|n| find(n).is_some(),
        )
    } else {
        Gemma4Shapes::default()
    };
    let spec = ModelSpec {
        id: name.clone(),
        name,
        arch,
        n_layer: to32(n_layer - nextn, "block_count")?,
        n_embd,
        n_ff: g4.n_ff.or_else(|| u("feed_forward_length")).unwrap_or(0),
        n_head: to32(n_head, "head_count")?,
        n_head_kv: to32(g4.n_head_kv.unwrap_or(n_head_kv), "head_count_kv")?,
        head_dim,
        swa_head_dim: g4.swa_head_dim,
        swa_n_head_kv: g4.swa_n_head_kv,
        global_k_eq_v: g4.k_eq_v,
        kv_shared_n_ff: g4.kv_shared_n_ff,
        n_vocab,
        tied_embeddings: find("output.weight").is_none(),
        context_length: u("context_length").unwrap_or(4096),
        rope_theta: key("rope.freq_base").and_then(Value::as_f64),
        rope_scaling: key("rope.scaling.type").and_then(Value::as_str).map(|t| {
            match key("rope.scaling.factor").and_then(Value::as_f64) {
                Some(f) => format!("{t} factor {f}"),
                None => t.to_string(),
            }
        }),
        attn_bias: find("blk.0.attn_q.bias").is_some(),
        qk_norm: find("blk.0.attn_q_norm.weight").is_some(),
        sliding_window,
        swa_period,
        n_expert: to32(u("expert_count").unwrap_or(0), "expert_count")?,
        n_expert_used: to32(u("expert_used_count").unwrap_or(0), "expert_used_count")?,
        n_expert_shared: to32(u("expert_shared_count").unwrap_or(0), "expert_shared_count")?,
        expert_ff: u("expert_feed_forward_length"),
        shared_expert_ff: u("expert_shared_feed_forward_length"),
        leading_dense_layers: to32(
            u("leading_dense_block_count").unwrap_or(0),
            "leading_dense_block_count",
        )?,
        moe_layer_step: to32(
            u("interleave_moe_layer_step").unwrap_or(0),
            "interleave_moe_layer_step",
        )?,
        q_lora_rank: u("attention.q_lora_rank"),
        kv_lora_rank: mla.map(|m| m.0),
        qk_nope_head_dim: mla.map(|m| m.2),
        qk_rope_head_dim: mla.map(|m| m.1),
        v_head_dim: mla.map(|m| m.3),
        mla_legacy_kv: mla.is_some_and(|m| m.4),
        // llama.cpp gemma3n.cpp hard-codes `n_layer_kv_from_start = 20` (the file's
        // `shared_kv_layers` is not read).
        kv_layers: if arch == Arch::Gemma3n {
            Some(20)
        } else {
            g4.kv_layers
        },
        per_layer_embd: u("embedding_length_per_layer_input"),
        recurrent,
        max_seq_length: None,
        // Embedders: the converter writes `pooling_type` from sentence-transformers' pooling
        // config; a reranker's labels size its `cls.output` (llama-model.cpp `n_cls_out`).
        pooling: u("pooling_type")
            .and_then(|p| u32::try_from(p).ok())
            .and_then(llmrig_core::model::Pooling::from_gguf)
            .or_else(|| {
                // An encoder with no pooling key still embeds (llama.cpp's default is none).
                matches!(arch, Arch::Bert | Arch::NomicBert | Arch::JinaBertV2)
                    .then_some(llmrig_core::model::Pooling::None)
            }),
        n_cls_out: match key("classifier.output_labels") {
            Some(Value::Array(ArrayValue::Items(items))) => {
                u32::try_from(items.len()).unwrap_or(u32::MAX)
            }
            Some(Value::Array(ArrayValue::Skipped { len, .. })) => {
                u32::try_from(*len).unwrap_or(u32::MAX)
            }
            _ => find("cls.output.weight")
                .map_or(0, |t| u32::try_from(t.info.ne[1]).unwrap_or(u32::MAX)),
        },
        n_token_types: h
            .get("tokenizer.ggml.token_type_count")
            .and_then(first_u)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        n_deepstack: u("n_deepstack_layers")
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        mrope: key("rope.dimension_sections").is_some(),
    };
    let tensors: Vec<WeightTensor> = if nextn > 0 {
        let trunk = u64::from(spec.n_layer);
        let (kept, skipped): (Vec<_>, Vec<_>) = tensors
            .into_iter()
            .partition(|t| t.info.layer.is_none_or(|il| u64::from(il) < trunk));
        warnings.push(format!(
            "{} NextN (multi-token prediction) tensors in the file ({} bytes) are not loaded by llama.cpp",
            skipped.len(),
            skipped.iter().map(|t| t.bytes).sum::<u64>()
        ));
        kept
    } else {
        tensors
    };
    if spec.n_expert > 1 && spec.expert_ff.is_none() {
        // Older MoE files (Mixtral) give only feed_forward_length, which is the expert size.
        let mut s = spec;
        s.expert_ff = Some(s.n_ff);
        return finish(file, s, quant, tensors, file_type, arch_name, warnings);
    }
    finish(file, spec, quant, tensors, file_type, arch_name, warnings)
}

fn finish(
    file: &str,
    spec: ModelSpec,
    quant: Quant,
    tensors: Vec<WeightTensor>,
    file_type: Option<FileType>,
    arch_name: String,
    warnings: Vec<String>,
) -> Result<GgufModel, SpecFromGguf> {
    spec.validate().map_err(|e| SpecFromGguf {
        file: file.to_string(),
        what: e.what,
    })?;
    let weights = ModelWeights::from_tensors(spec.clone(), quant, tensors);
    Ok(GgufModel {
        projector: None,
        kind: GgufKind::Model,
        arch_name,
        spec,
        weights,
        file_type,
        warnings,
    })
}

/// The llama.cpp file type whose default type holds most of the quantized bytes (for files without
/// `general.file_type`).
fn guess_file_type(tensors: &[WeightTensor]) -> FileType {
    let mut by_type: Vec<(GgmlType, u64)> = Vec::new();
    for t in tensors {
        if let Some(ty) = t.ggml_type.filter(|ty| *ty != GgmlType::F32) {
            match by_type.iter_mut().find(|e| e.0 == ty) {
                Some(e) => e.1 += t.bytes,
                None => by_type.push((ty, t.bytes)),
            }
        }
    }
    let top = by_type.iter().max_by_key(|e| e.1).map(|e| e.0);
    top.and_then(|ty| FileType::all().find(|f| f.default_type() == ty))
        .unwrap_or(FileType::F16)
}

/// A vision projector's numbers from its `clip.vision.*` keys and tensor shapes (clip.cpp
/// `load_hparams`); `None` for a projector type llmrig has no rules for or a file that lacks them.
fn projector_spec(
    h: &GgufHeader,
    tensors: &[WeightTensor],
) -> Option<llmrig_core::model::ProjectorSpec> {
    use llmrig_core::model::{ProjectorKind, ProjectorSpec};
    let kind = h
        .get("clip.projector_type")
        .or_else(|| h.get("clip.vision.projector_type"))
        .and_then(Value::as_str)
        .and_then(ProjectorKind::from_gguf_name)?;
    let u = |k: &str| h.get(&format!("clip.vision.{k}")).and_then(first_u);
    let ne = |name: &str, i: usize| {
        tensors
            .iter()
            .find(|t| t.info.name == name)
            .map(|t| t.info.ne[i])
    };
    // The output width comes from the merger's shapes, as clip.cpp reads it
    // (`clip_n_mmproj_embd`).
    let text_embd = match kind {
        ProjectorKind::Gemma3 => ne("mm.input_projection.weight", 0)?,
        ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl => ne("mm.2.bias", 0)?,
        ProjectorKind::Pixtral | ProjectorKind::Llava => ne("mm.2.weight", 1)?,
        ProjectorKind::Llama4 | ProjectorKind::Idefics3 => ne("mm.model.fc.weight", 1)?,
        ProjectorKind::InternVl => ne("mm.model.mlp.3.weight", 1)?,
    };
    // clip.cpp's defaults when a key is missing: Gemma 3 pools 4×4; Qwen merges 2×2; Pixtral
    // (Pixtral 12B) and the pixel-shuffle families merge nothing (n_merge 1).
    let merge = match kind {
        ProjectorKind::Gemma3 => u("projector.scale_factor").unwrap_or(4),
        ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl => u("spatial_merge_size").unwrap_or(2),
        ProjectorKind::Pixtral => u("spatial_merge_size").unwrap_or(1),
        ProjectorKind::Llama4 | ProjectorKind::Idefics3 | ProjectorKind::InternVl => {
            u("projector.scale_factor").unwrap_or(1)
        }
        ProjectorKind::Llava => 1,
    };
    let deepstack = tensors
        .iter()
        .filter(|t| t.info.name.starts_with("v.deepstack.") && t.info.name.ends_with(".fc1.weight"))
        .count();
    let spec = ProjectorSpec {
        kind,
        n_embd: u("embedding_length")?,
        n_ff: u("feed_forward_length")?,
        n_head: u("attention.head_count")?,
        n_layer: u32::try_from(u("block_count")?).ok()?,
        patch: u("patch_size")?,
        image_size: u("image_size")?,
        merge,
        text_embd,
        n_pos: ne("v.position_embd.weight", 1).unwrap_or(0),
        deepstack: u32::try_from(deepstack).ok()?,
        adapter: if kind == ProjectorKind::Llama4 {
            ne("mm.model.mlp.2.weight", 0)?
        } else {
            0
        },
        preproc: if kind == ProjectorKind::Idefics3 {
            u("preproc_image_size").unwrap_or(0)
        } else {
            0
        },
        anyres: kind == ProjectorKind::Llava && h.get("clip.vision.image_grid_pinpoints").is_some(),
    };
    // Untrusted numbers: the compute buffer multiplies them (N² · heads), so keep them to what a
    // real encoder has.
    let sane = spec.n_embd > 0
        && spec.n_embd <= 16384
        && spec.n_ff <= 65536
        && (1..=256).contains(&spec.n_head)
        && (1..=256).contains(&spec.n_layer)
        && (1..=64).contains(&spec.patch)
        && (1..=8192).contains(&spec.image_size)
        && (1..=16).contains(&spec.merge)
        && spec.text_embd <= 65536
        && spec.adapter <= 65536
        && spec.preproc <= 16384;
    sane.then_some(spec)
}

/// What a Gemma 4 file says per layer: the global layers' head size (`key_length`) beside the
/// sliding ones' (`key_length_swa`), KV heads from the per-layer `head_count_kv` array (26B, 31B),
/// the FFN width past the KV-sharing point from the per-layer `feed_forward_length` array (E2B),
/// the KV-sharing point (`n_layer − shared_kv_layers`, llama.cpp gemma4.cpp) and whether the global
/// layers lack `attn_v` (K doubles as V).
#[derive(Default)]
struct Gemma4Shapes {
    n_ff: Option<u64>,
    n_head_kv: Option<u64>,
    swa_head_dim: Option<u64>,
    swa_n_head_kv: Option<u32>,
    k_eq_v: bool,
    kv_shared_n_ff: Option<u64>,
    kv_layers: Option<u32>,
}

fn gemma4_shapes(
    n_layer: u64,
    head_dim: Option<u64>,
    [pattern, kv, ff]: [Option<&[Value]>; 3],
    (key_length_swa, shared): (Option<u64>, Option<u64>),
    has: &dyn Fn(&str) -> bool,
) -> Gemma4Shapes {
    // The sliding-window flags; the first global layer gives the global layers' values.
    let swa: Vec<bool> = pattern
        .map(|items| items.iter().map(|v| *v == Value::Bool(true)).collect())
        .unwrap_or_default();
    let first_global = swa.iter().position(|s| !s);
    let first_swa = swa.iter().position(|s| *s);
    let at =
        |items: &[Value], i: Option<usize>| i.and_then(|i| items.get(i)).and_then(Value::as_u64);
    let (global_kv, swa_kv) = match kv {
        Some(items) => (at(items, first_global), at(items, first_swa)),
        None => (None, None),
    };
    let swa_head_dim = key_length_swa.filter(|&d| Some(d) != head_dim);
    let shared = shared.unwrap_or(0);
    let kv_layers = (shared > 0 && shared < n_layer)
        .then(|| u32::try_from(n_layer - shared).ok())
        .flatten();
    let n_ff = ff.and_then(|items| items.first()).and_then(Value::as_u64);
    let kv_shared_n_ff = ff
        .and_then(|items| items.last())
        .and_then(Value::as_u64)
        .filter(|&last| Some(last) != n_ff);
    Gemma4Shapes {
        n_ff,
        n_head_kv: global_kv,
        swa_head_dim,
        swa_n_head_kv: swa_kv
            .filter(|&k| Some(k) != global_kv)
            .and_then(|k| u32::try_from(k).ok()),
        k_eq_v: first_global.is_some_and(|il| !has(&format!("blk.{il}.attn_v.weight"))),
        kv_shared_n_ff,
        kv_layers,
    }
}
