//! `llmrig recommend --use image|speech`: the image and Whisper models this machine runs, ranked
//! by one published quality table each (WISE for images, the Open ASR Leaderboard for speech)
//! among the plans that fit and are not slow; each image model with the fewest of sd.cpp's memory
//! savers that make it fit.

use std::fmt::Write as _;

use anyhow::Result;
use llmrig_catalog::image::{image_models, image_quality, IMAGE_QUALITY_SOURCE};
use llmrig_catalog::recommend::Use;
use llmrig_catalog::speech::{speech_wer, whisper_models, SPEECH_QUALITY_SOURCE};
use llmrig_contract::estimate::verdict_name;
use llmrig_core::estimate::Verdict;
use llmrig_core::quant::GgmlType;
use llmrig_core::system::SystemSpec;
use serde::Serialize;

use crate::render::{self, json, table};

/// One ranked model.
#[derive(Debug, Serialize)]
struct MediaRow {
    /// Catalog id.
    id: String,
    /// Display name.
    name: String,
    /// The quality score (WISE overall, higher is better; or WER %, lower is better), if published.
    score: Option<f64>,
    /// `llmrig estimate` flags that make it fit (sd.cpp's savers, a smaller file); empty if none.
    changes: String,
    /// Memory on the GPU (the CPU without one), bytes.
    memory_bytes: u64,
    /// Seconds per image at the model's size and steps (image models).
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds_per_image: Option<f64>,
    /// Seconds of work per second of audio (speech models).
    #[serde(skip_serializing_if = "Option::is_none")]
    realtime_factor: Option<f64>,
    /// `works-well`, `usable` or `slow`.
    verdict: String,
}

/// Ranks the rows: those that are not slow first, by score (`higher_better` or not; unscored
/// last), then faster; the slow ones after them, fastest first (where nothing runs well, what
/// comes closest).
fn rank(rows: &mut [(MediaRow, Verdict, f64)], higher_better: bool) {
    rows.sort_by(|(a, va, ta), (b, vb, tb)| {
        let slow = |v: &Verdict| u8::from(*v == Verdict::Slow);
        if slow(va) + slow(vb) == 2 {
            return ta.total_cmp(tb);
        }
        slow(va)
            .cmp(&slow(vb))
            .then_with(|| match (a.score, b.score) {
                (Some(x), Some(y)) if higher_better => y.total_cmp(&x),
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| ta.total_cmp(tb))
    });
}

/// Memory where the model runs: the first GPU's, else the CPU's.
fn where_bytes(m: &llmrig_core::estimate::MemoryBreakdown, sys: &SystemSpec) -> u64 {
    if sys.gpus.is_empty() {
        m.devices.last().map_or(0, |d| d.total_bytes)
    } else {
        m.devices.first().map_or(0, |d| d.total_bytes)
    }
}

/// `llmrig recommend --use image|speech` on `sys`.
///
/// # Errors
/// None yet; a `Result` like the other commands.
pub fn run(
    use_: Use,
    sys: &SystemSpec,
    top: usize,
    notes: &[String],
    as_json: bool,
) -> Result<String> {
    let image = use_ == Use::Image;
    let mut rows: Vec<(MediaRow, Verdict, f64)> = Vec::new();
    if image {
        for e in image_models() {
            let Some((changes, est, v)) = crate::commands::image::default_plan(&e, sys) else {
                continue;
            };
            rows.push((
                MediaRow {
                    id: e.id.to_string(),
                    name: e.name.to_string(),
                    score: image_quality(e.id),
                    changes,
                    memory_bytes: where_bytes(&est.memory, sys),
                    seconds_per_image: Some(est.seconds_per_image),
                    realtime_factor: None,
                    verdict: verdict_name(v).to_string(),
                },
                v,
                est.seconds_per_image,
            ));
        }
    } else {
        for w in whisper_models() {
            // whisper.cpp's published files are F16, and flash attention is its default.
            let r = crate::commands::speech::evaluate(&w, GgmlType::F16, true, sys);
            if !r.fits {
                continue;
            }
            rows.push((
                MediaRow {
                    id: w.id.to_string(),
                    name: w.name.to_string(),
                    score: speech_wer(w.id),
                    changes: String::new(),
                    memory_bytes: where_bytes(&r.memory, sys),
                    seconds_per_image: None,
                    realtime_factor: Some(r.rtf),
                    verdict: verdict_name(r.verdict).to_string(),
                },
                r.verdict,
                r.rtf,
            ));
        }
    }
    rank(&mut rows, image);
    let rows: Vec<MediaRow> = rows.into_iter().take(top.max(1)).map(|r| r.0).collect();
    let source = if image {
        IMAGE_QUALITY_SOURCE
    } else {
        SPEECH_QUALITY_SOURCE
    };
    if as_json {
        return Ok(json::to_string(&serde_json::json!({
            "schema_version": llmrig_contract::SCHEMA_VERSION,
            "use": use_.name(),
            "quality_source": source,
            "recommendations": rows,
            "notes": notes,
        })));
    }
    let mut out = String::new();
    if rows.is_empty() {
        let _ = writeln!(
            out,
            "no {} model in the catalog fits this machine",
            if image { "image" } else { "speech" }
        );
        return Ok(out);
    }
    let (score, speed) = if image {
        ("WISE", "s / image")
    } else {
        ("WER %", "real-time factor")
    };
    let mut t = table::new(
        &["#", "model", score, "changes", "memory", speed, "verdict"],
        &[0, 2, 4, 5],
    );
    for (i, r) in rows.iter().enumerate() {
        t.add_row(vec![
            (i + 1).to_string(),
            r.id.clone(),
            r.score
                .map_or_else(|| "-".to_string(), |s| format!("{s:.2}")),
            if r.changes.is_empty() {
                "-".to_string()
            } else {
                r.changes.clone()
            },
            render::size(r.memory_bytes),
            r.seconds_per_image
                .or(r.realtime_factor)
                .map_or_else(String::new, |x| format!("{x:.2}")),
            r.verdict.clone(),
        ]);
    }
    let _ = writeln!(out, "{t}");
    let _ = writeln!(
        out,
        "ranked by {source}{} among the plans that fit and are not slow, then the slow ones fastest first; `-` = no published score",
        if image {
            " (higher is better),"
        } else {
            " (lower is better),"
        }
    );
    let _ = writeln!(
        out,
        "`llmrig estimate MODEL [changes]` with the same machine flags prints the memory per part and the command that starts it{}",
        if image { " (stable-diffusion.cpp)" } else { " (whisper.cpp)" }
    );
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    Ok(out)
}
