//! What runs beside the main model on the same machine: embedders, rerankers and other LLMs as
//! llama-server processes of their own (`--with`), each estimated with the settings that server
//! runs with, in the memory the previous ones left.

use anyhow::{Context as _, Result};
use llmrig_contract::{ComponentJson, MemoryJson};
use llmrig_core::estimate::{estimate, Backend, Estimate, Settings};
use llmrig_core::model::{ModelSpec, Pooling};
use llmrig_core::quant::Quant;
use llmrig_core::stack::{remaining, Component, ComponentRole};
use llmrig_core::system::SystemSpec;

use crate::options;

pub use llmrig_core::stack::{companion_settings, embedder_settings};

/// One server beside the main model, estimated.
pub struct Part {
    /// What it is and what it takes per device.
    pub component: Component,
    /// The same for the JSON contract.
    pub json: ComponentJson,
    /// What the user should know about it.
    pub notes: Vec<String>,
}

/// `MODEL[:QUANT]`: the text after the last `:` is the quant when it parses as one (`bge-m3:Q8_0`),
/// so that Ollama-style names keep their tag (`qwen2.5:14b`).
pub fn split_model_quant(arg: &str) -> (&str, Option<&str>) {
    match arg.rsplit_once(':') {
        Some((m, q)) if !m.is_empty() && Quant::parse(q).is_ok() => (m, Some(q)),
        _ => (arg, None),
    }
}

/// The role a model plays beside the main one.
pub fn role_of(spec: &ModelSpec) -> ComponentRole {
    match spec.pooling {
        Some(Pooling::Rank) => ComponentRole::Reranker,
        Some(_) => ComponentRole::Embedding,
        None => ComponentRole::Llm,
    }
}

/// The component and JSON entry of one estimated model.
pub fn part(
    role: ComponentRole,
    w: &llmrig_core::estimate::ModelWeights,
    e: &Estimate,
    chunk: u64,
) -> (Component, ComponentJson) {
    let embedder = w.spec.is_embedder();
    let prefill = e.performance.prefill_tokens_per_s;
    #[allow(clippy::cast_precision_loss)]
    let docs = embedder.then(|| prefill / chunk.max(1) as f64);
    let component = Component {
        role,
        model: w.spec.id.clone(),
        quant: w.quant.name(),
        memory: e.memory.clone(),
    };
    let json = ComponentJson {
        role: role.name().to_string(),
        model: w.spec.id.clone(),
        quant: w.quant.name(),
        ctx: e.resolved.ctx,
        gpu_layers: e.offload.gpu_layers,
        memory: MemoryJson::from(&e.memory),
        prefill_tokens_per_s: prefill,
        decode_tokens_per_s: if embedder {
            0.0
        } else {
            e.performance.decode_tokens_per_s
        },
        documents_per_s: docs,
        image_tokens: None,
        params: None,
        seconds: None,
    };
    (component, json)
}

/// Estimates each `--with` server in turn, each in what the ones before it left; returns them
/// and the machine as the main model finds it.
///
/// # Errors
/// A model that cannot be resolved or settings llama.cpp would refuse, naming the `--with` value.
pub fn with_servers(
    list: &[String],
    base: &Settings,
    chunk: u64,
    sys: &SystemSpec,
) -> Result<(Vec<Part>, SystemSpec)> {
    let mut left = sys.clone();
    let mut parts = Vec::new();
    for arg in list {
        // `MODEL[:QUANT]@tei` or `@sentence-transformers`: an embedder or reranker served by that
        // engine instead of a llama-server.
        let (spec_arg, engine) = match arg.rsplit_once('@') {
            Some((m, e)) if !m.is_empty() => match Backend::parse(e) {
                Some(b) if b.is_embedding() || b == Backend::LlamaCpp => (m, b),
                _ => anyhow::bail!("--with {arg}: `@{e}` is not an engine for a model beside this one: expected @llama.cpp, @tei or @sentence-transformers"),
            },
            _ => (arg.as_str(), Backend::LlamaCpp),
        };
        let (name, quant) = split_model_quant(spec_arg);
        let quant = quant.or(crate::commands::embedders::default_dtype(engine, sys));
        let m = options::model(name, quant).with_context(|| format!("--with {arg}"))?;
        let (mut s, mut notes) = companion_settings(&m.weights.spec, base, chunk);
        if engine.is_embedding() {
            s.backend = engine;
            let w = &m.weights;
            notes.extend(
                crate::commands::embedders::configure(
                    engine,
                    &mut s,
                    (&w.spec, &w.quant.name()),
                    chunk,
                    (None, None),
                    sys,
                )
                .with_context(|| format!("--with {arg}"))?,
            );
        }
        let e = estimate(&m.weights, &left, &s).with_context(|| format!("--with {arg}"))?;
        let role = role_of(&m.weights.spec);
        notes.extend(m.notes.iter().cloned());
        left = remaining(&left, &e.memory);
        let (component, json) = part(role, &m.weights, &e, chunk);
        parts.push(Part {
            component,
            json,
            notes,
        });
    }
    Ok((parts, left))
}

/// The projector families llmrig sizes from a file, for error messages.
const KNOWN_PROJECTORS: &str =
    "Gemma 3, Qwen2.5-VL, Qwen3-VL, Qwen3.5, Pixtral, Llama 4, SmolVLM, InternVL, LLaVA";

/// The projector `--mmproj` names, estimated in the main model's process: `auto` is the one
/// published with a catalog model, else a projector file. Returns the part and the tokens each
/// image takes in the context.
///
/// # Errors
/// `auto` for a model without a projector llmrig sizes, a file that is not a projector, a bad
/// `--mmproj-type`.
pub fn mmproj(
    a: &crate::args::StackArgs,
    spec: &ModelSpec,
    s: &Settings,
    sys: &SystemSpec,
) -> Result<Option<(Part, u64)>> {
    use llmrig_core::quant::GgmlType;
    use llmrig_core::stack::{projector_memory, ProjectorPlacement, ProjectorUse};
    let Some(arg) = a.mmproj.as_deref() else {
        return Ok(None);
    };
    let wtype = match a.mmproj_type.as_deref() {
        None => GgmlType::F16,
        Some(t) => match GgmlType::from_name(t) {
            Some(g @ (GgmlType::F16 | GgmlType::BF16 | GgmlType::F32 | GgmlType::Q8_0)) => g,
            _ => anyhow::bail!("--mmproj-type `{t}`: expected f16, bf16, f32 or q8_0 (the types llama.cpp's converter writes projectors in)"),
        },
    };
    let (pspec, weights, label, quant) = if arg.eq_ignore_ascii_case("auto") {
        let Some(p) = llmrig_catalog::projectors::projector_for(spec) else {
            if llmrig_catalog::projectors::unsized_vision(spec) {
                anyhow::bail!("--mmproj auto: {}'s vision projector is not sized by llmrig yet; pass --mmproj FILE for a projector of a family llmrig knows ({})", spec.name, KNOWN_PROJECTORS);
            }
            anyhow::bail!("--mmproj auto: {} has no vision projector in the catalog (`llmrig recommend --use vision` ranks the models that have one)", spec.name);
        };
        (
            p,
            None,
            format!("{} projector", spec.id),
            wtype.name().to_string(),
        )
    } else {
        let (p, bytes, ftype) = options::projector(arg)?;
        (p, Some(bytes), arg.to_string(), ftype)
    };
    if pspec.text_embd != spec.n_embd {
        anyhow::bail!(
            "--mmproj {arg}: the projector outputs {}-wide embeddings but {} takes {} (llama.cpp refuses: \"mismatch between text model and mmproj\")",
            pspec.text_embd,
            spec.name,
            spec.n_embd
        );
    }
    let placement = if a.no_mmproj_offload || sys.gpus.is_empty() {
        ProjectorPlacement::Cpu
    } else {
        ProjectorPlacement::Gpu(s.main_gpu.min(sys.gpus.len() - 1))
    };
    let (w, h) = a.image_size.unwrap_or(llmrig_core::model::DEFAULT_PHOTO);
    let batch_max = a
        .mtmd_batch_max_tokens
        .unwrap_or(llmrig_core::model::MTMD_BATCH_MAX_TOKENS);
    let tiles = pspec.tiles_for(w, h);
    let batch = pspec.encode_batch(tiles, batch_max);
    let u = ProjectorUse {
        spec: pspec.clone(),
        batch,
        wtype,
        weights_bytes: weights,
        placement,
        flash_attn: llmrig_core::estimate::flash_attn_on(s),
    };
    let memory = projector_memory(&u, sys);
    // Gemma 3 and Qwen keep their load-time counts unless a size is named.
    let tokens = a.image_tokens.unwrap_or_else(|| {
        a.image_size.map_or_else(
            || pspec.image_tokens(),
            |(w, h)| pspec.image_tokens_for(w, h),
        )
    });
    let gpu_layers = u32::from(matches!(placement, ProjectorPlacement::Gpu(_)));
    let json = ComponentJson {
        role: ComponentRole::Mmproj.name().to_string(),
        model: label.clone(),
        quant: quant.clone(),
        ctx: 0,
        gpu_layers,
        memory: MemoryJson::from(&memory),
        prefill_tokens_per_s: 0.0,
        decode_tokens_per_s: 0.0,
        documents_per_s: None,
        image_tokens: Some(tokens),
        params: None,
        seconds: None,
    };
    let growth = if pspec.kind.dynamic_resolution() {
        " and grows with larger images (dynamic resolution)".to_string()
    } else if batch > 1 {
        format!(
            "; a {w}×{h} image's {tiles} tiles are encoded {batch} at a time (--mtmd-batch-max-tokens {batch_max}), which grows it {batch}× and keeps it"
        )
    } else if tiles > 1 {
        format!("; a {w}×{h} image is encoded as {tiles} tiles of that size, one at a time")
    } else {
        String::new()
    };
    let mut notes = vec![format!(
        "{}: {} encoder ({} layers × {}), {tokens} context tokens per image; its compute buffer is reserved at load for a {}-patch image{growth}",
        label,
        pspec.kind.label(),
        pspec.n_layer,
        pspec.n_embd,
        pspec.warmup_patches(),
    )];
    if !u.flash_attn {
        notes.push(format!(
            "{label}: without flash attention the encoder holds every head's {0}×{0} attention matrix in F32",
            pspec.warmup_patches()
        ));
    }
    Ok(Some((
        Part {
            component: Component {
                role: ComponentRole::Mmproj,
                model: label,
                quant,
                memory,
            },
            json,
            notes,
        },
        tokens,
    )))
}

/// A draft model for speculative decoding (`--draft MODEL[:QUANT]`, llama.cpp's `-md`).
pub struct Draft {
    /// The draft model.
    pub model: options::ResolvedModel,
    /// `-ngld`: all layers unless given (llama.cpp's -1 means all; `--fit` never lowers it).
    pub gpu_layers: llmrig_core::estimate::GpuLayers,
}

/// Resolves `--draft` and checks it against the target as llama.cpp does
/// (`common_speculative_are_compatible`: vocabularies within 128 tokens of each other).
///
/// # Errors
/// An unknown model, or vocabularies llama.cpp refuses to pair.
pub fn draft(a: &crate::args::StackArgs, target: &ModelSpec) -> Result<Option<Draft>> {
    let Some(arg) = a.draft.as_deref() else {
        return Ok(None);
    };
    let (name, quant) = split_model_quant(arg);
    // Drafts are small: Q8_0 is what the speculative-decoding examples use, unless a quant is named.
    let model = options::model(name, Some(quant.unwrap_or("Q8_0")))
        .with_context(|| format!("--draft {arg}"))?;
    let d = &model.weights.spec;
    if d.is_embedder() {
        anyhow::bail!(
            "--draft {arg}: {} is an embedding model, not a text generator",
            d.name
        );
    }
    // llama.cpp common/speculative.cpp SPEC_VOCAB_MAX_SIZE_DIFFERENCE.
    if d.n_vocab.abs_diff(target.n_vocab) > 128 {
        anyhow::bail!(
            "--draft {arg}: its vocabulary ({} tokens) is not {}'s ({} tokens); llama.cpp refuses the pair (\"draft model vocab type must match target model\"): use a draft of the same family",
            d.n_vocab,
            target.name,
            target.n_vocab
        );
    }
    Ok(Some(Draft {
        model,
        gpu_layers: a
            .gpu_layers_draft
            .unwrap_or(llmrig_core::estimate::GpuLayers::Count(u32::MAX)),
    }))
}

/// The draft context's settings in llama-server (common/speculative.cpp
/// `common_base_params_to_speculative`): the target's, with the target's context, `-ngld`, and
/// F16 caches (`-ctkd`/`-ctvd` default to f16 and do not follow `-ctk`/`-ctv`).
pub fn draft_settings(d: &Draft, target: &Settings, ctx: u64) -> Settings {
    Settings {
        ctx: Some(ctx),
        gpu_layers: d.gpu_layers,
        cache_type_k: llmrig_core::quant::GgmlType::F16,
        cache_type_v: llmrig_core::quant::GgmlType::F16,
        n_cpu_moe: 0,
        auto_cpu_moe: false,
        tensor_overrides: Vec::new(),
        ..target.clone()
    }
}

/// A draft shares the target's process: its GPU runtime is already counted there.
pub fn without_runtime(
    mut m: llmrig_core::estimate::MemoryBreakdown,
) -> llmrig_core::estimate::MemoryBreakdown {
    let n = m.devices.len().saturating_sub(1);
    for d in &mut m.devices[..n] {
        d.total_bytes -= d.other_bytes;
        d.other_bytes = 0;
    }
    m.total_bytes -= m.overhead_bytes;
    m.overhead_bytes = 0;
    m
}

/// Acceptance `--draft-accept` defaults to: 0.8 for a coding pair, 0.7 otherwise
/// (docs/research/speculative.md: per-token acceptance measured for same-family drafts 15–60×
/// smaller than the target at low temperature).
pub fn default_acceptance(target: &ModelSpec, draft: &ModelSpec) -> f64 {
    let coder = |s: &ModelSpec| s.id.contains("coder") || s.id.contains("devstral");
    if coder(target) && coder(draft) {
        0.8
    } else {
        0.7
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quant_suffix_splits_but_ollama_tags_stay() {
        assert_eq!(split_model_quant("bge-m3:Q8_0"), ("bge-m3", Some("Q8_0")));
        assert_eq!(split_model_quant("qwen2.5:14b"), ("qwen2.5:14b", None));
        assert_eq!(split_model_quant("bge-m3"), ("bge-m3", None));
        assert_eq!(split_model_quant(":Q8_0"), (":Q8_0", None));
    }
}
