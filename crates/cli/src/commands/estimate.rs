//! `llmrig estimate MODEL`: memory per device, layers on the GPU, largest context, speed, verdict.

use std::fmt::Write as _;

use anyhow::Result;
use llmrig_core::estimate::{estimate, Verdict, Warning};

use crate::args::EstimateArgs;
use crate::options;
use crate::render::{self, json, table};

/// Runs the estimate and renders it.
pub fn run(a: &EstimateArgs, as_json: bool) -> Result<String> {
    let model = options::model(&a.model, a.quant.as_deref())?;
    let settings = options::settings(a)?;
    let (sys, machine_notes) = options::machine(&a.machine)?;
    let e = estimate(&model.weights, &sys, &settings)?;
    let backend = a.backend.to_ascii_lowercase();
    let mut extra: Vec<Warning> = model
        .notes
        .iter()
        .map(|n| Warning {
            code: "model-note",
            message: n.clone(),
        })
        .collect();
    extra.extend(machine_notes.iter().map(|n| Warning {
        code: "machine-assumed",
        message: n.clone(),
    }));
    if backend != "llama.cpp" {
        extra.push(Warning {
            code: "backend-not-modelled",
            message: format!(
                "only llama.cpp's allocations are modelled so far; {backend} allocates differently"
            ),
        });
    }
    if as_json {
        return Ok(json::to_string(&json::estimate(
            &model.weights,
            &model.source,
            &settings,
            &backend,
            &e,
            extra,
        )));
    }

    let w = &model.weights;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · {} ({:.2} bpw, {}) · context {} · {}",
        w.spec.name,
        w.quant.name(),
        w.bits_per_weight(),
        render::gib(w.total_bytes()),
        e.resolved.ctx,
        if sys.gpus.is_empty() {
            "CPU only".to_string()
        } else {
            sys.gpus
                .iter()
                .map(|g| g.name.as_str())
                .collect::<Vec<_>>()
                .join(" + ")
        }
    );
    let mut t = table::new(
        &[
            "device", "layers", "weights", "KV cache", "compute", "other", "total", "capacity",
            "fits",
        ],
        &[1, 2, 3, 4, 5, 6, 7],
    );
    for d in &e.memory.devices {
        t.add_row(vec![
            d.name.clone(),
            d.layers.to_string(),
            render::size(d.weights_bytes),
            render::size(d.kv_cache_bytes),
            render::size(d.compute_bytes),
            render::size(d.other_bytes),
            render::size(d.total_bytes),
            render::size(d.capacity_bytes),
            if d.fits() { "yes" } else { "NO" }.to_string(),
        ]);
    }
    let _ = writeln!(out, "{t}");
    let p = &e.performance;
    let _ = writeln!(
        out,
        "layers on GPU  {}/{}   (weights read from RAM: {:.0}%)",
        e.offload.gpu_layers,
        e.offload.total_layers,
        e.offload.ram_fraction * 100.0
    );
    let _ = writeln!(
        out,
        "max context    {} tokens (trained: {})",
        e.max_context, w.spec.context_length
    );
    let _ = writeln!(
        out,
        "speed          decode ~{:.1} tok/s ({:.1}–{:.1}, {}-bound) · prefill ~{:.0} tok/s · first token {:.2} s for {} tokens",
        p.decode_tokens_per_s, p.decode_low, p.decode_high, p.decode_bound, p.prefill_tokens_per_s, p.time_to_first_token_s, settings.prompt
    );
    let curve: Vec<String> = p
        .decode_by_depth
        .iter()
        .map(|d| format!("{:.1} @ {}", d.decode_tokens_per_s, d.depth))
        .collect();
    let _ = writeln!(
        out,
        "decode by depth {} (tok/s @ tokens in context)",
        curve.join(" · ")
    );
    let verdict = match e.verdict {
        Verdict::WorksWell => "works well",
        Verdict::Usable => "usable",
        Verdict::Slow => "slow",
        Verdict::DoesNotFit => "does not fit",
    };
    let _ = writeln!(out, "verdict        {verdict}");
    for wn in e.warnings.iter().chain(extra.iter()) {
        let _ = writeln!(out, "note: {}", wn.message);
    }
    Ok(out)
}
