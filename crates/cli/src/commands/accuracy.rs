//! `llmrig accuracy`: the speed model scored on the calibration data shipped in the catalog
//! (published llama-bench results), per backend, device class and source, next to the naive rule;
//! with `--cv`, out of sample: each device, and each source, predicted by constants refitted
//! without it.

use std::fmt::Write as _;

use llmrig_catalog::accuracy::{
    cross_validate, cross_validate_sources, floor, prepare, score, stats, ErrorStats, Phase, Scored,
};
use llmrig_core::estimate::SpeedParams;
use serde::Serialize;

use crate::args::AccuracyArgs;
use crate::render::{json, table};

/// One group of rows (all, a backend, a device class or a source) in one phase.
#[derive(Serialize)]
struct Group {
    /// `all`, `backend`, `class` or `source`.
    by: &'static str,
    /// The backend, class or source.
    name: String,
    phase: Phase,
    /// Scored with the shipped constants (fitted on these rows).
    in_sample: ErrorStats,
    /// Each device's rows predicted by constants fitted without that device (`--cv`).
    leave_one_device_out: Option<ErrorStats>,
    /// Each source's rows predicted by constants fitted without that source (`--cv`).
    leave_one_source_out: Option<ErrorStats>,
    /// The noise floor: each row predicted by the best single speed for all rows that share
    /// every input llmrig sees (`llmrig_catalog::accuracy::floor`); no speed model can score
    /// below it on these rows.
    floor: ErrorStats,
}

/// The key of a row in one grouping.
type Key = fn(&Scored) -> &str;

/// The ways rows are grouped, each with the key of a row.
const GROUPINGS: [(&str, Key); 4] = [
    // LocalScore's llamafile rows are scored apart (llmrig predicts llama.cpp), and so are the
    // hybrid recurrent models' rows (no term for their blocks in the speed model).
    ("all", |r| match r.engine.as_str() {
        "llama.cpp" => "all",
        "llama.cpp-hybrid" => "hybrid",
        _ => "llamafile",
    }),
    ("backend", |r| &r.backend),
    ("class", |r| &r.class),
    ("source", |r| &r.source),
];

/// Runs the scoring.
pub fn run(a: &AccuracyArgs, as_json: bool) -> String {
    let (cases, skipped) = prepare();
    let params = SpeedParams::default();
    let rows = score(&cases, &params);
    let floor = floor(&cases);
    let cv = a.cv || !a.in_sample;
    let (lodo, loso) = if cv {
        // The two cross-validations are independent: they refit side by side.
        std::thread::scope(|s| {
            let sources = s.spawn(|| cross_validate_sources(&cases));
            let devices = cross_validate(&cases);
            let sources = sources
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            (Some(devices), Some(sources))
        })
    } else {
        (None, None)
    };
    let mut groups = Vec::new();
    for (by, key) in GROUPINGS {
        let mut names: Vec<&str> = rows.iter().map(key).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            for phase in [Phase::Decode, Phase::Prefill] {
                let pick = |v: &[Scored]| -> Option<ErrorStats> {
                    let sel: Vec<&Scored> = v
                        .iter()
                        .filter(|r| r.phase == phase && key(r) == name)
                        .collect();
                    (!sel.is_empty()).then(|| stats(sel.iter().copied()))
                };
                let Some(in_sample) = pick(&rows) else {
                    continue;
                };
                groups.push(Group {
                    by,
                    name: name.to_string(),
                    phase,
                    in_sample,
                    leave_one_device_out: lodo.as_deref().and_then(pick),
                    leave_one_source_out: loso.as_deref().and_then(pick),
                    floor: pick(&floor).unwrap_or(in_sample),
                });
            }
        }
    }
    if as_json {
        return json::to_string(&serde_json::json!({
            "schema_version": 2,
            "cross_validated": cv,
            "groups": groups,
            "rows": if a.rows { serde_json::to_value(&rows).unwrap_or_default() } else { serde_json::Value::Null },
            "rows_device_out": if a.rows { serde_json::to_value(&lodo).unwrap_or_default() } else { serde_json::Value::Null },
            "rows_source_out": if a.rows { serde_json::to_value(&loso).unwrap_or_default() } else { serde_json::Value::Null },
            "skipped": skipped,
        }));
    }
    let mut out = String::new();
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let pair = |s: Option<&ErrorStats>| s.map_or_else(String::new, |s| pct(s.median));
    let p90 = |s: Option<&ErrorStats>| s.map_or_else(String::new, |s| pct(s.p90));
    let held = |s: Option<&ErrorStats>| {
        s.map_or_else(String::new, |s| format!("{:.0}%", s.in_range * 100.0))
    };
    if cv {
        let _ = writeln!(
            out,
            "out of sample: each device's rows (and each source's) predicted by constants refitted without them; in-sample beside; \"in range\": share of rows whose measured speed lies in llmrig's range; \"floor\": the error of the best speed for each set of rows that share every input llmrig sees (device, backend, model, quant, test, settings) but disagree (other builds, drivers, libraries): no model scores below it"
        );
        let mut t = table::new(
            &[
                "group",
                "phase",
                "rows",
                "device out: median",
                "p90",
                "in range",
                "source out: median",
                "p90",
                "in range",
                "in-sample median",
                "p90",
                "floor: median",
                "p90",
            ],
            &[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        );
        for g in &groups {
            t.add_row(vec![
                label(g),
                format!("{:?}", g.phase).to_lowercase(),
                g.in_sample.n.to_string(),
                pair(g.leave_one_device_out.as_ref()),
                p90(g.leave_one_device_out.as_ref()),
                held(g.leave_one_device_out.as_ref()),
                pair(g.leave_one_source_out.as_ref()),
                p90(g.leave_one_source_out.as_ref()),
                held(g.leave_one_source_out.as_ref()),
                pct(g.in_sample.median),
                pct(g.in_sample.p90),
                pct(g.floor.median),
                pct(g.floor.p90),
            ]);
        }
        let _ = writeln!(out, "{t}");
    } else {
        let _ = writeln!(
            out,
            "in sample (--in-sample): the shipped constants were fitted on these rows; without --in-sample, the out-of-sample figures lead"
        );
        let mut t = table::new(
            &[
                "group",
                "phase",
                "rows",
                "median",
                "p90",
                "naive median",
                "naive p90",
            ],
            &[2, 3, 4, 5, 6],
        );
        for g in &groups {
            t.add_row(vec![
                label(g),
                format!("{:?}", g.phase).to_lowercase(),
                g.in_sample.n.to_string(),
                pct(g.in_sample.median),
                pct(g.in_sample.p90),
                pct(g.in_sample.naive_median),
                pct(g.in_sample.naive_p90),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    if a.rows {
        let mut r = table::new(
            &[
                "hardware",
                "backend",
                "model",
                "quant",
                "GPUs",
                "test",
                "measured",
                "predicted",
                "error",
            ],
            &[4, 6, 7, 8],
        );
        for x in &rows {
            r.add_row(vec![
                x.hardware.clone(),
                x.backend.clone(),
                x.model.clone(),
                x.quant.clone(),
                x.gpus.to_string(),
                x.test.clone(),
                format!("{:.1}", x.measured),
                format!("{:.1}", x.predicted),
                format!("{:+.0}%", (x.predicted / x.measured - 1.0) * 100.0),
            ]);
        }
        let _ = writeln!(out, "{r}");
    }
    let _ = writeln!(
        out,
        "{} rows scored, {} skipped (`--json` lists them with reasons)",
        rows.len(),
        skipped.len()
    );
    out
}

/// `all`, `backend cuda`, `class cuda-hbm`, `source ggml-org/llama.cpp#4167`.
fn label(g: &Group) -> String {
    if g.by == "all" && g.name == "all" {
        "all (llama.cpp)".to_string()
    } else if g.by == "all" && g.name == "hybrid" {
        "hybrid, Gemma 3n and Gemma 4 E2B/E4B models (llama.cpp; scored, never fitted)".to_string()
    } else if g.by == "all" {
        format!("{} (LocalScore; scored, never fitted)", g.name)
    } else {
        format!("{} {}", g.by, g.name)
    }
}
