//! `llmrig inspect MODEL`: what the model is — from its file's header, or predicted for a catalog model.
//! `--json` prints [`llmrig_contract::InspectJson`].

use std::fmt::Write as _;

use anyhow::Result;
use llmrig_contract::inspect::{DtypeRowJson, FileJson, SafetensorsJson};
use llmrig_contract::InspectJson;
use llmrig_formats::gguf::GgufKind;

use crate::args::InspectArgs;
use crate::options;
use crate::render::{self, json, table};

/// Runs `inspect`.
pub fn run(a: &InspectArgs, as_json: bool) -> Result<String> {
    let m = options::model(&a.model, a.quant.as_deref())?;
    let w = &m.weights;
    let s = &w.spec;
    let mut j = InspectJson::new(w, &m.source, m.notes.clone());
    // What a GGUF file or safetensors folder told, given to the contract as plain values.
    if let Some(l) = &m.local {
        if l.model.kind == GgufKind::Projector {
            j.kind = "projector".into();
        }
        j.architecture.clone_from(&l.model.arch_name);
        j.file = Some(FileJson {
            paths: l.facts.paths.clone(),
            size_bytes: l.facts.size_bytes,
            header_bytes_read: l.facts.bytes_read,
            gguf_version: l.facts.gguf_version,
            file_type_declared: l.model.file_type.map(|f| f.name().to_string()),
        });
        j.chat_template = Some(l.facts.chat_template);
    }
    j.safetensors = m.folder.as_ref().map(|f| SafetensorsJson {
        files: f.files.clone(),
        tensor_count: f.tensor_count as u64,
        tensor_bytes: f.tensor_bytes,
        header_bytes_read: f.bytes_read,
        dtypes: f
            .dtypes
            .iter()
            .map(|(d, e, b)| DtypeRowJson {
                dtype: d.clone(),
                elements: *e,
                bytes: *b,
            })
            .collect(),
        model_type: f.config.model_type.clone(),
        torch_dtype: f.config.dtype.clone(),
    });
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
            format!("every {} layer global", ordinal(p))
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
            r.ty.clone(),
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

/// `2nd`, `3rd`, `6th`, `21st`, `12th`.
fn ordinal(n: impl Into<u64>) -> String {
    let n: u64 = n.into();
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}
