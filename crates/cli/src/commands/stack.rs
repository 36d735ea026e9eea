//! What runs beside the main model on the same machine: embedders, rerankers and other LLMs as
//! llama-server processes of their own (`--with`), each estimated with the settings that server
//! runs with, in the memory the previous ones left.

use anyhow::{Context as _, Result};
use llmrig_contract::{ComponentJson, MemoryJson};
use llmrig_core::estimate::{estimate, Estimate, Settings};
use llmrig_core::model::{ModelSpec, Pooling};
use llmrig_core::quant::Quant;
use llmrig_core::stack::{remaining, Component, ComponentRole};
use llmrig_core::system::SystemSpec;

use crate::options;

/// Context a server beside the main model gets unless it is shorter: llama-server would take the
/// trained length (`-c 0`), which for Qwen3-Embedding's 32768 tokens alone is 3.5 GiB of cache
/// nobody embedding 512-token chunks needs.
pub const COMPANION_CTX: u64 = 8192;

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

/// How llama-server runs an embedding model (`--embedding`, `--reranking`): it sets `-b` to `-ub`
/// (tools/server/server.cpp), and an encoder reads each document in one ubatch, so `-ub` must hold
/// a chunk. The speed test is one chunk.
pub fn embedder_settings(s: &mut Settings, spec: &ModelSpec, chunk: u64) -> Option<String> {
    if !spec.is_embedder() {
        return None;
    }
    s.prompt = chunk;
    s.gen = 0;
    let mut note = None;
    if spec.is_encoder() && chunk > s.ubatch {
        note = Some(format!(
            "{}: llama-server refuses documents longer than -ub (\"input is too large to process\"); estimated with -ub {chunk} for --chunk {chunk}",
            spec.name
        ));
        s.ubatch = chunk;
    }
    s.batch = s.ubatch;
    note
}

/// Settings of a server beside the main model: llama-server's defaults, the context capped at
/// [`COMPANION_CTX`], and an embedder's batch rules.
fn companion_settings(spec: &ModelSpec, base: &Settings, chunk: u64) -> (Settings, Vec<String>) {
    let ctx = spec.context_length.clamp(1, COMPANION_CTX);
    let mut s = Settings {
        ctx: Some(ctx),
        backend: base.backend,
        llama_cpp: base.llama_cpp,
        good_tps: base.good_tps,
        usable_tps: base.usable_tps,
        threads: base.threads,
        prompt: base.prompt,
        gen: base.gen,
        ..Settings::default()
    };
    let mut notes = Vec::new();
    if ctx < spec.context_length {
        notes.push(format!(
            "{} runs beside it with -c {ctx} (trained: {})",
            spec.name, spec.context_length
        ));
    }
    notes.extend(embedder_settings(&mut s, spec, chunk));
    (s, notes)
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
        let (name, quant) = split_model_quant(arg);
        let m = options::model(name, quant).with_context(|| format!("--with {arg}"))?;
        let (s, mut notes) = companion_settings(&m.weights.spec, base, chunk);
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
