//! `llmrig inspect MODEL`: what the model is — from its file's header, or predicted for a catalog model.

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use crate::args::InspectArgs;
use crate::options;
use crate::render::{self, json, table};

/// `inspect --json` (schema_version 1).
#[derive(Serialize)]
struct InspectJson {
    schema_version: u32,
    source: String,
    kind: &'static str,
    name: String,
    architecture: String,
    params: u64,
    active_params: u64,
    n_layers: u32,
    context_length: u64,
    n_embd: u64,
    n_head: u32,
    n_head_kv: u32,
    n_vocab: u64,
    tensor_count: usize,
    tensors_by_type: Vec<TypeRow>,
    weights_bytes: u64,
    bits_per_weight: f64,
    file_type: String,
    file: Option<FileJson>,
    safetensors: Option<SafetensorsJson>,
    chat_template: Option<bool>,
    rope_scaling: Option<String>,
    sliding_window: Option<u64>,
    swa_period: Option<u32>,
    experts: Option<ExpertsJson>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct TypeRow {
    #[serde(rename = "type")]
    ty: &'static str,
    count: usize,
    bytes: u64,
}

#[derive(Serialize)]
struct FileJson {
    paths: Vec<String>,
    size_bytes: u64,
    header_bytes_read: u64,
    gguf_version: u32,
    file_type_declared: Option<String>,
}

#[derive(Serialize)]
struct SafetensorsJson {
    files: Vec<(String, u64)>,
    tensor_count: usize,
    tensor_bytes: u64,
    header_bytes_read: u64,
    dtypes: Vec<DtypeRow>,
    model_type: String,
    torch_dtype: Option<String>,
}

#[derive(Serialize)]
struct DtypeRow {
    dtype: String,
    elements: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct ExpertsJson {
    count: u32,
    used: u32,
    shared: u32,
    expert_ff: Option<u64>,
}

/// Runs `inspect`.
pub fn run(a: &InspectArgs, as_json: bool) -> Result<String> {
    let m = options::model(&a.model, a.quant.as_deref())?;
    let w = &m.weights;
    let s = &w.spec;
    let kind = match &m.local {
        Some(l) if l.model.kind == llmrig_formats::gguf::GgufKind::Projector => "projector",
        _ => "model",
    };
    let j = InspectJson {
        schema_version: 1,
        source: m.source.clone(),
        kind,
        name: s.name.clone(),
        architecture: m.local.as_ref().map_or_else(
            || s.arch.gguf_name().to_string(),
            |l| l.model.arch_name.clone(),
        ),
        params: w.params(),
        active_params: w.active_params(),
        n_layers: s.n_layer,
        context_length: s.context_length,
        n_embd: s.n_embd,
        n_head: s.n_head,
        n_head_kv: s.n_head_kv,
        n_vocab: s.n_vocab,
        tensor_count: w.tensors.len(),
        tensors_by_type: w
            .type_histogram()
            .into_iter()
            .map(|(t, count, bytes)| TypeRow {
                ty: t.name(),
                count,
                bytes,
            })
            .collect(),
        weights_bytes: w.total_bytes(),
        bits_per_weight: w.bits_per_weight(),
        file_type: w.quant.name(),
        file: m.local.as_ref().map(|l| FileJson {
            paths: l.facts.paths.clone(),
            size_bytes: l.facts.size_bytes,
            header_bytes_read: l.facts.bytes_read,
            gguf_version: l.facts.gguf_version,
            file_type_declared: l.model.file_type.map(|f| f.name().to_string()),
        }),
        safetensors: m.folder.as_ref().map(|f| SafetensorsJson {
            files: f.files.clone(),
            tensor_count: f.tensor_count,
            tensor_bytes: f.tensor_bytes,
            header_bytes_read: f.bytes_read,
            dtypes: f
                .dtypes
                .iter()
                .map(|(d, e, b)| DtypeRow {
                    dtype: d.clone(),
                    elements: *e,
                    bytes: *b,
                })
                .collect(),
            model_type: f.config.model_type.clone(),
            torch_dtype: f.config.dtype.clone(),
        }),
        chat_template: m.local.as_ref().map(|l| l.facts.chat_template),
        rope_scaling: s.rope_scaling.clone(),
        sliding_window: s.sliding_window,
        swa_period: s.swa_period,
        experts: (s.n_expert > 1).then_some(ExpertsJson {
            count: s.n_expert,
            used: s.n_expert_used,
            shared: s.n_expert_shared,
            expert_ff: s.expert_ff,
        }),
        warnings: m.notes.clone(),
    };
    if as_json {
        return Ok(json::to_string(&j));
    }
    let mut out = String::new();
    let _ = writeln!(out, "{} ({}, {})", j.name, j.architecture, j.kind);
    let mut facts = table::facts();
    #[allow(clippy::cast_precision_loss)]
    let params = if j.active_params < j.params && s.n_expert > 1 {
        format!(
            "{:.2}B ({:.2}B active per token)",
            j.params as f64 / 1e9,
            j.active_params as f64 / 1e9
        )
    } else {
        format!("{:.2}B", j.params as f64 / 1e9)
    };
    facts.add_row(vec!["parameters".to_string(), params]);
    facts.add_row(vec!["layers".into(), j.n_layers.to_string()]);
    facts.add_row(vec!["context length".into(), j.context_length.to_string()]);
    facts.add_row(vec![
        "hidden / heads / KV heads".into(),
        format!("{} / {} / {}", j.n_embd, j.n_head, j.n_head_kv),
    ]);
    facts.add_row(vec!["vocabulary".into(), j.n_vocab.to_string()]);
    facts.add_row(vec![
        "file type".into(),
        format!("{} ({:.2} bits per weight)", j.file_type, j.bits_per_weight),
    ]);
    facts.add_row(vec!["weights".into(), render::gib(j.weights_bytes)]);
    if let Some(f) = &j.file {
        facts.add_row(vec![
            "file size".into(),
            format!(
                "{} in {} file(s), header {} read",
                render::gib(f.size_bytes),
                f.paths.len(),
                render::size(f.header_bytes_read)
            ),
        ]);
        facts.add_row(vec!["GGUF version".into(), f.gguf_version.to_string()]);
    }
    if let Some(st) = &j.safetensors {
        facts.add_row(vec![
            "safetensors".into(),
            format!(
                "{} in {} file(s), {} tensors, header {} read",
                render::gib(st.tensor_bytes),
                st.files.len(),
                st.tensor_count,
                render::size(st.header_bytes_read)
            ),
        ]);
        for d in &st.dtypes {
            #[allow(clippy::cast_precision_loss)]
            let line = format!(
                "{:.3}B elements, {}",
                d.elements as f64 / 1e9,
                render::size(d.bytes)
            );
            facts.add_row(vec![format!("  {}", d.dtype), line]);
        }
    }
    if let Some(c) = j.chat_template {
        facts.add_row(vec![
            "chat template".into(),
            if c { "yes" } else { "no" }.to_string(),
        ]);
    }
    if let Some(r) = &j.rope_scaling {
        facts.add_row(vec!["RoPE scaling".into(), r.clone()]);
    }
    if let Some(w) = j.sliding_window {
        let pattern = j.swa_period.map_or("all layers".to_string(), |p| {
            format!("every {p}th layer global")
        });
        facts.add_row(vec![
            "sliding window".into(),
            format!("{w} tokens ({pattern})"),
        ]);
    }
    if let Some(e) = &j.experts {
        facts.add_row(vec![
            "experts".into(),
            format!(
                "{} used of {} (+{} shared), expert FFN {}",
                e.used,
                e.count,
                e.shared,
                e.expert_ff.unwrap_or(0)
            ),
        ]);
    }
    let _ = writeln!(out, "{facts}");
    let mut t = table::new(&["type", "tensors", "bytes"], &[1, 2]);
    for r in &j.tensors_by_type {
        t.add_row(vec![
            r.ty.to_string(),
            r.count.to_string(),
            render::size(r.bytes),
        ]);
    }
    let _ = writeln!(out, "{t}");
    let _ = writeln!(out, "{} tensors", j.tensor_count);
    for wn in &j.warnings {
        let _ = writeln!(out, "note: {wn}");
    }
    Ok(out)
}
