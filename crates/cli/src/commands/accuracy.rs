//! `llmrig accuracy`: the speed model scored on the calibration data shipped in the catalog
//! (published llama-bench results), per source and overall, next to the naive rule.

use std::fmt::Write as _;

use llmrig_catalog::accuracy::{cross_validate, prepare, score, stats, ErrorStats, Phase, Scored};
use llmrig_core::estimate::SpeedParams;
use serde::Serialize;

use crate::args::AccuracyArgs;
use crate::render::{json, table};

#[derive(Serialize)]
struct Group {
    source: String,
    phase: Phase,
    #[serde(flatten)]
    stats: ErrorStats,
}

/// Runs the scoring.
pub fn run(a: &AccuracyArgs, as_json: bool) -> String {
    let (cases, skipped) = prepare();
    let params = SpeedParams::default();
    let rows: Vec<Scored> = if a.cv {
        cross_validate(&cases, &params)
    } else {
        score(&cases, &params)
    };
    let mut sources: Vec<String> = rows.iter().map(|r| r.source.clone()).collect();
    sources.sort();
    sources.dedup();
    let mut groups = Vec::new();
    for phase in [Phase::Decode, Phase::Prefill] {
        for src in sources.iter().map(Some).chain([None]) {
            let sel: Vec<&Scored> = rows
                .iter()
                .filter(|r| r.phase == phase && src.is_none_or(|s| &r.source == s))
                .collect();
            if sel.is_empty() {
                continue;
            }
            groups.push(Group {
                source: src.map_or_else(|| "all".to_string(), Clone::clone),
                phase,
                stats: stats(sel.iter().copied()),
            });
        }
    }
    if as_json {
        return json::to_string(&serde_json::json!({
            "schema_version": 1,
            "mode": if a.cv { "leave-one-device-out" } else { "in-sample" },
            "groups": groups,
            "rows": if a.rows { serde_json::to_value(&rows).unwrap_or_default() } else { serde_json::Value::Null },
            "skipped": skipped,
        }));
    }
    let mut out = String::new();
    if a.cv {
        let _ = writeln!(out, "leave-one-device-out: each device's rows are predicted by constants fitted without them");
    }
    let mut t = table::new(
        &[
            "source",
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
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        t.add_row(vec![
            g.source.clone(),
            format!("{:?}", g.phase).to_lowercase(),
            g.stats.n.to_string(),
            pct(g.stats.median),
            pct(g.stats.p90),
            pct(g.stats.naive_median),
            pct(g.stats.naive_p90),
        ]);
    }
    let _ = writeln!(out, "{t}");
    if a.rows {
        let mut r = table::new(
            &[
                "hardware",
                "model",
                "quant",
                "GPUs",
                "test",
                "measured",
                "predicted",
                "error",
            ],
            &[3, 5, 6, 7],
        );
        for x in &rows {
            r.add_row(vec![
                x.hardware.clone(),
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
