//! Scores the speed model against published llama-bench results
//! (crates/catalog/data/calibration/throughput.csv, whose rows each cite their source): per source
//! and overall median and 90th-percentile absolute percentage error for decode (tg) and prefill
//! (pp), next to the naive rule "tokens/s = memory bandwidth / model size".
//!
//! Rows are matched to catalog models and devices by name; rows whose setup cannot be reproduced
//! (an unknown device, a host CPU the row does not name for CPU-resident weights) are reported as
//! skipped with the reason, never silently dropped.

use llmrig_core::estimate::{
    performance_with, FlashAttn, GpuLayers, ModelWeights, Settings, SpeedParams,
};
use llmrig_core::quant::Quant;
use llmrig_core::system::{CpuSpec, SystemSpec};
use serde::Serialize;

use crate::{devices, models};

const THROUGHPUT_CSV: &str = include_str!("../data/calibration/throughput.csv");

/// Prompt processing or generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// llama-bench `ppN`.
    Prefill,
    /// llama-bench `tgN`.
    Decode,
}

/// One measurement with its prediction.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    /// Source URL (shortened to the repository/thread).
    pub source: String,
    /// Hardware as written in the row.
    pub hardware: String,
    /// Catalog model id.
    pub model: String,
    /// Quant.
    pub quant: String,
    /// GPUs.
    pub gpus: usize,
    /// llama.cpp backend the row ran (`cuda`, `rocm`, `vulkan`, `metal`, `sycl`, `cpu`).
    pub backend: String,
    /// The speed model's device class (`cuda-gddr`, `cuda-hbm`, ..., `DEVICE_CLASSES`).
    pub class: String,
    /// The llama-bench test (`tg512`, `pp2048 @ d4096`).
    pub test: String,
    /// Phase.
    pub phase: Phase,
    /// Measured tokens/s.
    pub measured: f64,
    /// llmrig's prediction.
    pub predicted: f64,
    /// Low end of llmrig's range.
    pub low: f64,
    /// High end of llmrig's range.
    pub high: f64,
    /// The naive rule's prediction.
    pub naive: f64,
}

impl Scored {
    /// Absolute percentage error of the prediction.
    #[must_use]
    pub fn error(&self) -> f64 {
        (self.predicted - self.measured).abs() / self.measured
    }
    /// Absolute percentage error of the naive rule.
    #[must_use]
    pub fn naive_error(&self) -> f64 {
        (self.naive - self.measured).abs() / self.measured
    }
}

/// A row that was not scored, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Hardware, model and test of the row.
    pub row: String,
    /// Why.
    pub reason: String,
}

fn model_id(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    Some(if n.starts_with("meta-llama-3-70b") {
        "llama-3-70b"
    } else if n.starts_with("meta-llama-3-8b") || n.starts_with("llama 3 8b") {
        "llama-3-8b"
    } else if n.starts_with("llama 2 7b") || n.starts_with("llama 7b") {
        // LLaMA 1 7B has Llama 2 7B's architecture (only the context differs).
        "llama-2-7b"
    } else if n.starts_with("llama 13b") || n.starts_with("llama 2 13b") {
        "llama-2-13b"
    } else if n.starts_with("gpt-oss-20b") {
        "gpt-oss-20b"
    } else if n.starts_with("gpt-oss-120b") {
        "gpt-oss-120b"
    } else if n.starts_with("qwen3-coder-30b-a3b") {
        "qwen3-coder-30b-a3b"
    } else if n.starts_with("qwen2.5-coder-7b") {
        "qwen2.5-coder-7b"
    } else if n.starts_with("gemma-3-4b") {
        "gemma-3-4b"
    } else {
        return None;
    })
}

/// `tg512`, `pp2048 @ d4096` → (phase, tokens, depth).
fn parse_test(t: &str) -> Option<(Phase, u64, u64)> {
    let (head, depth) = match t.split_once('@') {
        Some((h, d)) => (h.trim(), d.trim().strip_prefix('d')?.parse().ok()?),
        None => (t.trim(), 0),
    };
    let (phase, n) = if let Some(n) = head.strip_prefix("pp") {
        (Phase::Prefill, n)
    } else {
        (Phase::Decode, head.strip_prefix("tg")?)
    };
    Some((phase, n.parse().ok()?, depth))
}

fn short_source(url: &str) -> String {
    let u = url.split_whitespace().next().unwrap_or(url);
    let parts: Vec<&str> = u.trim_start_matches("https://").split('/').collect();
    // github.com/OWNER/REPO/KIND/NUMBER…
    match parts.as_slice() {
        [_, owner, repo, kind, num, ..]
            if *kind == "pull" || *kind == "discussions" || *kind == "issues" =>
        {
            format!("{owner}/{repo}#{num}")
        }
        [_, owner, repo, ..] => format!("{owner}/{repo}"),
        _ => u.to_string(),
    }
}

/// A generic desktop host for rows that do not name theirs (only used when weights are on GPUs).
fn host() -> CpuSpec {
    CpuSpec {
        name: "host".into(),
        ram_bytes: 512 << 30,
        bandwidth_bytes_per_s: 89.6e9,
        flops: 16.0 * 96e9,
        cores: 16,
        ..CpuSpec::default()
    }
}

/// A calibration row ready to be estimated.
#[derive(Clone)]
pub struct Case {
    meta: Scored,
    weights: ModelWeights,
    sys: SystemSpec,
    settings: Settings,
}

/// Scores every usable row of the calibration data with the fitted constants.
#[must_use]
pub fn score_all() -> (Vec<Scored>, Vec<Skipped>) {
    let (cases, skipped) = prepare();
    (score(&cases, &SpeedParams::default()), skipped)
}

/// Predicts every case with `params`; rows llama.cpp would reject are left out.
#[must_use]
pub fn score(cases: &[Case], params: &SpeedParams) -> Vec<Scored> {
    cases
        .iter()
        .filter_map(|c| {
            let p = performance_with(&c.weights, &c.sys, &c.settings, params).ok()?;
            let mut m = c.meta.clone();
            (m.predicted, m.low, m.high) = match m.phase {
                Phase::Prefill => (p.prefill_tokens_per_s, p.prefill_low, p.prefill_high),
                Phase::Decode => (p.decode_tokens_per_s, p.decode_low, p.decode_high),
            };
            Some(m)
        })
        .collect()
}

/// Reads the calibration rows and matches them to catalog models and devices.
///
/// # Panics
/// If the embedded CSV is malformed, which the tests rule out.
#[must_use]
pub fn prepare() -> (Vec<Case>, Vec<Skipped>) {
    let mut rdr = csv::Reader::from_reader(THROUGHPUT_CSV.as_bytes());
    let headers = rdr.headers().expect("throughput.csv header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect("column");
    let c_backend = col("backend");
    let (c_hw, c_gpus, c_model, c_quant, c_ngl, c_ub, c_fa, c_test, c_tps, c_src) = (
        col("hardware"),
        col("gpu_count"),
        col("model"),
        col("quant"),
        col("ngl"),
        col("n_ubatch"),
        col("flash_attn"),
        col("test"),
        col("tokens_per_s"),
        col("source"),
    );
    let mut scored = Vec::new();
    let mut skipped = Vec::new();
    for row in rdr.records() {
        let row = row.expect("throughput.csv row");
        let hw = &row[c_hw];
        let label = format!(
            "{hw} · {} · {} · {}",
            &row[c_model], &row[c_quant], &row[c_test]
        );
        let mut skip = |reason: &str| {
            skipped.push(Skipped {
                row: label.clone(),
                reason: reason.to_string(),
            });
        };
        let Some(mid) = model_id(&row[c_model]) else {
            skip("model not in the catalog");
            continue;
        };
        let quant_name = row[c_quant].replace("MXFP4 MoE", "MXFP4_MOE");
        let Ok(quant) = Quant::parse(&quant_name) else {
            skip("unknown quant");
            continue;
        };
        let hw_name = hw.replace("(GPU core count not stated)", "");
        let Ok(dev) = devices().find(&hw_name) else {
            skip("device not in the catalog");
            continue;
        };
        let Some((phase, tokens, depth)) = parse_test(&row[c_test]) else {
            skip("unreadable test name");
            continue;
        };
        let ngl: u32 = row[c_ngl].trim().parse().unwrap_or(999);
        if ngl == 0 {
            skip("weights on an unnamed host CPU (ngl 0)");
            continue;
        }
        let Ok(measured) = row[c_tps].parse::<f64>() else {
            skip("no tokens/s");
            continue;
        };
        let gpus: usize = row[c_gpus].trim().parse().unwrap_or(1).max(1);
        let spec = &models().find(mid).expect("mapped ids exist").spec;
        let weights = ModelWeights::new(spec, quant);
        // The backend the row ran, which may differ from the device's usual one.
        let api = match row[c_backend].to_ascii_lowercase().as_str() {
            b if b.starts_with("cuda") => llmrig_core::system::GpuApi::Cuda,
            b if b.starts_with("rocm") => llmrig_core::system::GpuApi::Rocm,
            "vulkan" => llmrig_core::system::GpuApi::Vulkan,
            "metal" => llmrig_core::system::GpuApi::Metal,
            "sycl" => llmrig_core::system::GpuApi::Sycl,
            _ => {
                skip("backend not modelled (OpenCL/CLBlast was removed from llama.cpp in 2024)");
                continue;
            }
        };
        let mut cpu = host();
        let gpu = dev.to_spec(None, Some(api));
        if dev.kind == crate::EntryKind::Unified {
            cpu.bandwidth_bytes_per_s = gpu.bandwidth_bytes_per_s;
        }
        let sys = SystemSpec {
            gpus: vec![gpu; gpus],
            cpu,
            ..SystemSpec::default()
        };
        let ubatch: u64 = row[c_ub].trim().parse().unwrap_or(512);
        let (prompt, gen) = match phase {
            Phase::Prefill => (tokens, 0),
            Phase::Decode => (0, tokens),
        };
        let s = Settings {
            ctx: Some((prompt + gen + depth).max(256)),
            batch: ubatch.max(2048),
            ubatch,
            gpu_layers: GpuLayers::Count(ngl),
            flash_attn: if row[c_fa].trim() == "1" {
                FlashAttn::On
            } else {
                FlashAttn::Off
            },
            prompt: prompt.max(1),
            gen: gen.max(1),
            depth,
            ..Settings::default()
        };
        // The naive rule: one device's bandwidth over the model's size.
        #[allow(clippy::cast_precision_loss)]
        let naive = sys.gpus[0].bandwidth_bytes_per_s / weights.total_bytes() as f64;
        let g0 = &sys.gpus[0];
        let class = llmrig_core::estimate::DEVICE_CLASSES[llmrig_core::estimate::device_class(
            g0.api,
            g0.memory_tech,
            g0.vendor == Some(llmrig_core::system::GpuVendor::Intel),
        )];
        scored.push(Case {
            meta: Scored {
                source: short_source(&row[c_src]),
                hardware: hw.to_string(),
                model: mid.to_string(),
                quant: weights.quant.name(),
                gpus,
                backend: format!("{api:?}").to_lowercase(),
                class: class.to_string(),
                test: row[c_test].to_string(),
                phase,
                measured,
                predicted: f64::NAN,
                low: f64::NAN,
                high: f64::NAN,
                naive,
            },
            weights,
            sys,
            settings: s,
        });
    }
    (scored, skipped)
}

/// Median and 90th percentile of absolute percentage errors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ErrorStats {
    /// Rows.
    pub n: usize,
    /// Median absolute percentage error (0.1 = 10%).
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// The naive rule's median.
    pub naive_median: f64,
    /// The naive rule's 90th percentile.
    pub naive_p90: f64,
    /// Share of rows whose measured value lies in llmrig's range.
    pub in_range: f64,
}

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let pos = (q * (v.len() - 1) as f64).round() as usize;
    v[pos]
}

/// Error statistics of a set of scored rows.
#[must_use]
pub fn stats<'a>(rows: impl Iterator<Item = &'a Scored> + Clone) -> ErrorStats {
    let e: Vec<f64> = rows.clone().map(Scored::error).collect();
    let held = rows
        .clone()
        .filter(|r| r.low <= r.measured && r.measured <= r.high)
        .count();
    let n: Vec<f64> = rows.map(Scored::naive_error).collect();
    #[allow(clippy::cast_precision_loss)]
    let in_range = held as f64 / e.len().max(1) as f64;
    ErrorStats {
        in_range,
        n: e.len(),
        median: quantile(e.clone(), 0.5),
        p90: quantile(e, 0.9),
        naive_median: quantile(n.clone(), 0.5),
        naive_p90: quantile(n, 0.9),
    }
}

/// The fitting objective: mean absolute log error of decode plus that of prefill (an L1 loss in
/// log space, so a few anomalous rows pull the constants less than squared errors would).
#[must_use]
pub fn objective(rows: &[Scored]) -> f64 {
    let mean = |phase: Phase| {
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| r.phase == phase && r.predicted > 0.0)
            .map(|r| (r.predicted / r.measured).ln().abs())
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let n = v.len().max(1) as f64;
        v.iter().sum::<f64>() / n
    };
    mean(Phase::Decode) + mean(Phase::Prefill)
}

/// Refits the speed constants to the calibration rows by coordinate descent in log space
/// (multiplicative steps of 20%, 5%, 1%), starting from `start`. Every constant stays inside a
/// physical range. A device class's main efficiency of a phase moves when 2 rows inform it, its
/// fixed costs when 8 do; classes without rows keep the published defaults.
#[must_use]
pub fn refit(cases: &[Case], start: &SpeedParams) -> SpeedParams {
    use llmrig_core::estimate::device_class;
    use llmrig_core::system::GpuVendor;
    const MIN_ROWS: usize = 8;
    let mut p = start.clone();
    let class_rows = |phase: Phase| {
        let mut counts = [0usize; 8];
        for c in cases.iter().filter(|c| c.meta.phase == phase) {
            if let Some(g) = c.sys.gpus.first() {
                counts[device_class(g.api, g.memory_tech, g.vendor == Some(GpuVendor::Intel))] += 1;
            }
        }
        counts
    };
    let (dec, pre) = (class_rows(Phase::Decode), class_rows(Phase::Prefill));
    // (accessor, lower bound, upper bound)
    type Knob = (Box<dyn Fn(&mut SpeedParams) -> &mut f64>, f64, f64);
    let mut knobs: Vec<Knob> = Vec::new();
    for b in 0..8 {
        // With a couple of rows only the main efficiency of the phase moves; with 8 or more, the
        // fixed costs too.
        if dec[b] >= 2 {
            knobs.push((Box::new(move |p| &mut p.backends[b].bw), 0.3, 1.0));
        }
        if dec[b] >= MIN_ROWS {
            knobs.push((Box::new(move |p| &mut p.backends[b].step_s), 1e-5, 10e-3));
        }
        if pre[b] >= 2 {
            knobs.push((Box::new(move |p| &mut p.backends[b].pp_quant), 0.02, 2.0));
        }
        if pre[b] >= MIN_ROWS {
            knobs.push((Box::new(move |p| &mut p.backends[b].pp_float), 0.02, 2.0));
            knobs.push((Box::new(move |p| &mut p.backends[b].ubatch_s), 1e-5, 50e-3));
        }
    }
    for c in 1..llmrig_core::estimate::WeightClass::COUNT {
        knobs.push((Box::new(move |p| &mut p.class_factor[c]), 0.3, 1.5));
    }
    knobs.push((Box::new(|p| &mut p.kv_factor), 0.1, 1.5));
    knobs.push((Box::new(|p| &mut p.attn_passes), 1.0, 20.0));
    knobs.push((Box::new(|p| &mut p.hop_s), 1e-6, 5e-3));
    knobs.push((Box::new(|p| &mut p.pipeline_overlap), 0.05, 1.0));
    let mut best = objective(&score(cases, &p));
    for step in [1.2f64, 1.05, 1.01] {
        for _round in 0..4 {
            let mut improved = false;
            for (k, lo, hi) in &knobs {
                for dir in [step, 1.0 / step] {
                    loop {
                        let mut q = p.clone();
                        let v = k(&mut q);
                        let next = (*v * dir).clamp(*lo, *hi);
                        if (next - *v).abs() < 1e-12 {
                            break;
                        }
                        *v = next;
                        let o = objective(&score(cases, &q));
                        if o + 1e-9 < best {
                            best = o;
                            p = q;
                            improved = true;
                        } else {
                            break;
                        }
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }
    p
}

/// Leave-one-device-out cross-validation: for each hardware name, refit on every other row and
/// predict that hardware's rows. Returns the held-out predictions (an honest error estimate).
#[must_use]
pub fn cross_validate(cases: &[Case], start: &SpeedParams) -> Vec<Scored> {
    cross_validate_by(cases, start, |c| c.meta.hardware.clone())
}

/// Leave-one-source-out cross-validation: each source's rows (one benchmark table, one thread)
/// predicted by constants fitted on the other sources, so a source's own habits (build, flags,
/// how it measured) cannot leak into its score.
#[must_use]
pub fn cross_validate_sources(cases: &[Case], start: &SpeedParams) -> Vec<Scored> {
    cross_validate_by(cases, start, |c| c.meta.source.clone())
}

/// Cross-validation over the groups `key` makes: each group predicted by constants refitted on
/// every other group.
fn cross_validate_by(
    cases: &[Case],
    start: &SpeedParams,
    key: impl Fn(&Case) -> String,
) -> Vec<Scored> {
    let mut groups: Vec<String> = cases.iter().map(&key).collect();
    groups.sort();
    groups.dedup();
    let mut out = Vec::new();
    for g in &groups {
        let (test, train): (Vec<Case>, Vec<Case>) =
            cases.iter().cloned().partition(|c| &key(c) == g);
        let p = refit(&train, start);
        out.extend(score(&test, &p));
    }
    out
}
