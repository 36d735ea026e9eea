//! `llmrig recommend` and bare `llmrig`: the best catalog models this machine runs well, with the
//! command that starts each, and which are already installed. `--json` prints
//! [`llmrig_contract::RecommendJson`] (bare `llmrig`: [`llmrig_contract::OverviewJson`]).

use std::fmt::Write as _;

use anyhow::{anyhow, Result};
use llmrig_catalog::recommend::{recommend, RecommendOptions, Recommendation, Use};
use llmrig_contract::{OverviewJson, RecommendJson, RecommendationJson};
use llmrig_formats::installed::{scan, Installed, Roots};

use crate::args::{MachineArgs, RecommendArgs};
use crate::launch::Launcher;
use crate::options;
use crate::render::{self, json, table};

/// An installed copy of a recommended model: an Ollama tag or a file whose name resolves to the
/// same catalog id.
fn installed_match(rec: &Recommendation, installed: &[Installed]) -> Option<String> {
    installed
        .iter()
        .find(|i| {
            let stem = i.stem();
            let stem = stem.as_str();
            // `Qwen2.5-7B-Instruct-Q4_K_M` → `Qwen2.5-7B-Instruct`; `llama3.1:8b` stays.
            let base = stem.rsplit_once(['-', '.']).map_or(stem, |(b, q)| {
                if llmrig_core::quant::Quant::parse(q).is_ok() {
                    b
                } else {
                    stem
                }
            });
            llmrig_catalog::models()
                .find(base)
                .is_ok_and(|e| e.spec.id == rec.model)
        })
        .map(|i| i.name.clone())
}

/// The command that starts a recommendation in `launcher`: the plan estimated again with the
/// recommendation's settings, then adapted to the program as `estimate --launch` does.
fn launch_line(
    launcher: Launcher,
    rec: &Recommendation,
    sys: &llmrig_core::system::SystemSpec,
) -> Result<String> {
    let entry = llmrig_catalog::models()
        .find(&rec.model)
        .map_err(|e| anyhow!("{e}"))?;
    let quant = llmrig_core::quant::Quant::parse(&rec.quant)?;
    let mut model = options::ResolvedModel {
        weights: llmrig_core::estimate::ModelWeights::new(&entry.spec, quant),
        source: "catalog".into(),
        notes: Vec::new(),
        local: None,
        folder: None,
    };
    // Ollama pulls the one quant its library ships (gpt-oss: its own conversion, 2 GB over the
    // MXFP4_MOE file recommended), so its Modelfile is planned for that file, its layers anew.
    options::for_program(&mut model, false, launcher == Launcher::Ollama, false)?;
    let gpu_layers = if model.weights.quant == quant {
        llmrig_core::estimate::GpuLayers::Count(rec.gpu_layers)
    } else {
        llmrig_core::estimate::GpuLayers::Auto
    };
    let settings = llmrig_core::estimate::Settings {
        ctx: Some(rec.ctx),
        gpu_layers,
        n_cpu_moe: rec.n_cpu_moe,
        auto_cpu_moe: false,
        ..llmrig_core::estimate::Settings::default()
    };
    let e = llmrig_core::estimate::estimate(&model.weights, sys, &settings)?;
    crate::commands::estimate::launch_for(launcher, &model, &settings, &e, sys, Vec::new())
}

/// `llmrig recommend`.
pub fn run(a: &RecommendArgs, as_json: bool) -> Result<String> {
    let use_ = a.use_;
    let (sys, notes) = options::machine(&a.machine)?;
    if matches!(use_, Use::Image | Use::Speech) {
        let notes: Vec<String> = notes.iter().map(ToString::to_string).collect();
        return crate::commands::recommend_media::run(use_, &sys, a.top, &notes, as_json);
    }
    let recs = recommend(
        &sys,
        &RecommendOptions {
            use_,
            min_tps: a.min_tps,
            min_ctx: a.min_ctx,
            top: a.top.max(1),
        },
    );
    let installed = scan(&Roots::from_env());
    let rows: Vec<RecommendationJson> = recs
        .iter()
        .map(|r| {
            Ok(RecommendationJson::new(
                r,
                installed_match(r, &installed),
                a.launch.map(|l| launch_line(l, r, &sys)).transpose()?,
            ))
        })
        .collect::<Result<_>>()?;
    if as_json {
        let notes = notes.iter().map(ToString::to_string).collect();
        return Ok(json::to_string(&RecommendJson::new(
            &sys, use_, rows, notes,
        )));
    }
    let mut out = String::new();
    if rows.is_empty() {
        let _ = writeln!(
            out,
            "nothing in the catalog suits `{}` at {} tok/s or more on this machine{}",
            use_.name(),
            a.min_tps,
            match use_ {
                Use::Vision => " (vision models are only offered with a projector llmrig sizes)",
                Use::Rag => " (RAG needs an embedder and a reranker beside the LLM)",
                _ => "",
            }
        );
        return Ok(out);
    }
    let _ = writeln!(out, "{}", rec_table(&rows));
    for r in rows.iter().filter(|r| r.launch.is_some()) {
        let _ = writeln!(
            out,
            "{} {}:\n  {}",
            r.name,
            r.quant,
            r.launch.as_deref().unwrap_or("").replace('\n', "\n  ")
        );
    }
    // What runs with the picks (the same for every RAG row; a projector per vision model).
    let mut with: Vec<String> = Vec::new();
    for r in &rows {
        for c in &r.components {
            let line = if c.role == "mmproj" {
                format!(
                    "{} ({}, {})",
                    c.model,
                    c.quant,
                    render::size(c.memory_bytes)
                )
            } else {
                format!(
                    "{} {} ({}, {})",
                    c.model,
                    c.quant,
                    c.role,
                    render::size(c.memory_bytes)
                )
            };
            if !with.contains(&line) {
                with.push(line);
            }
        }
    }
    if !with.is_empty() {
        let _ = writeln!(out, "memory includes {}", with.join(", "));
    }
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    Ok(out)
}

fn rec_table(rows: &[RecommendationJson]) -> String {
    // Embedders and rerankers generate nothing: their column is what they read.
    let readers = rows.iter().all(|x| x.decode_tokens_per_s == 0.0);
    let mut t = table::new(
        &[
            "model",
            "quant",
            "context",
            "GPU layers",
            "memory",
            if readers { "read" } else { "decode" },
            if readers {
                "docs/s (512 tok)"
            } else {
                "prefill"
            },
            "verdict",
            "installed",
        ],
        &[2, 3, 4, 5, 6],
    );
    for x in rows {
        let (speed, second) = if readers {
            (
                x.prefill_tokens_per_s,
                format!("{:.1}", x.prefill_tokens_per_s / 512.0),
            )
        } else {
            (
                x.decode_tokens_per_s,
                format!(
                    "{} tok/s",
                    crate::commands::suggest::tps(x.prefill_tokens_per_s)
                ),
            )
        };
        t.add_row(vec![
            x.name.clone(),
            x.quant.clone(),
            x.ctx.to_string(),
            if x.n_cpu_moe > 0 {
                format!("{} (+{} in RAM)", x.gpu_layers, x.n_cpu_moe)
            } else {
                x.gpu_layers.to_string()
            },
            render::gib(x.memory_bytes),
            format!("{} tok/s", crate::commands::suggest::tps(speed)),
            second,
            x.verdict.clone(),
            x.installed.clone().unwrap_or_default(),
        ]);
    }
    // Narrow terminals lose the installed column, then prompt speed, then the context.
    let installed_any = rows.iter().any(|x| x.installed.is_some());
    if !installed_any {
        if let Some(c) = t.column_mut(8) {
            c.set_constraint(comfy_table::ColumnConstraint::Hidden);
        }
    }
    table::fit(&mut t, &[8, 6, 2]);
    t.to_string()
}

/// Bare `llmrig`: this machine and the top picks per use, quickly (no bandwidth probe).
pub fn overview(as_json: bool) -> Result<String> {
    // Bare `llmrig` takes no flags; the machine file of `LLMRIG_SYSTEM` applies as for commands.
    let machine = MachineArgs {
        system: std::env::var_os("LLMRIG_SYSTEM").map(std::path::PathBuf::from),
        ..MachineArgs::default()
    };
    let (sys, notes) = options::machine(&machine)?;
    let installed = scan(&Roots::from_env());
    let uses = [Use::Chat, Use::Code, Use::Reasoning];
    let mut per_use = Vec::new();
    for u in uses {
        let recs = recommend(
            &sys,
            &RecommendOptions {
                use_: u,
                top: 3,
                ..RecommendOptions::default()
            },
        );
        per_use.push((u, recs));
    }
    if as_json {
        return Ok(json::to_string(&OverviewJson::new(
            &sys,
            &per_use,
            installed.iter().map(|i| i.name.clone()).collect(),
            notes.iter().map(ToString::to_string).collect(),
        )));
    }
    let mut out = String::new();
    let gpus: Vec<String> = sys
        .gpus
        .iter()
        .map(|g| format!("{} ({})", g.name, render::gib(g.memory_bytes)))
        .collect();
    let _ = writeln!(
        out,
        "This machine: {} · {} RAM · {}",
        sys.cpu.name,
        render::gib(sys.cpu.ram_bytes),
        if gpus.is_empty() {
            "no GPU".to_string()
        } else {
            gpus.join(" + ")
        }
    );
    if !installed.is_empty() {
        let _ = writeln!(
            out,
            "Installed models: {}",
            installed
                .iter()
                .map(|i| format!("{} ({})", i.stem(), i.store.program()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for (u, recs) in &per_use {
        let _ = writeln!(out, "\nBest for {} (≥10 tok/s):", u.name());
        if recs.is_empty() {
            let _ = writeln!(out, "  nothing in the catalog runs at 10 tok/s here");
        }
        for r in recs {
            let _ = writeln!(
                out,
                "  {:<28} {:<7} ctx {:<6} ~{:>4.0} tok/s  {}",
                r.name,
                r.quant,
                r.ctx,
                r.decode_tokens_per_s,
                render::gib(r.memory_bytes)
            );
        }
    }
    let _ = writeln!(out, "\nEstimate a specific model: llmrig estimate MODEL -q QUANT -c CONTEXT   (llmrig recommend --help for more)");
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    Ok(out)
}
