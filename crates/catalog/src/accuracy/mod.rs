//! Scores the speed model against published llama-bench results
//! (crates/catalog/data/calibration/throughput.csv, whose rows each cite their source): per source
//! and overall median and 90th-percentile absolute percentage error for decode (tg) and prefill
//! (pp), next to the naive rule "tokens/s = memory bandwidth / model size".
//!
//! Rows are matched to catalog models and devices by name; rows whose setup cannot be reproduced
//! (an unknown device, a host CPU the row does not name for CPU-resident weights) are reported as
//! skipped with the reason, never silently dropped.

use llmrig_core::estimate::{device_class, DEVICE_CLASSES};
use llmrig_core::estimate::{FlashAttn, GpuLayers, ModelWeights, Settings, SpeedCase, SpeedParams};
use llmrig_core::model::Arch;
use llmrig_core::quant::Quant;
use llmrig_core::system::{CpuSpec, GpuApi, SystemSpec};
use serde::Serialize;

use crate::row_model::{model_for, private_mix, DYNAMIC_SIZE_RANGE};
use crate::{devices, DeviceCatalog, DeviceEntry, EntryKind};

mod refit;
pub use refit::{amd_fa_on_matrix, fit_knobs, rdna_tile_holdout, refit, Knob};
pub(crate) use refit::{refit_with, Scope};

const THROUGHPUT_CSV: &str = include_str!("../../data/calibration/throughput.csv");
/// Devices that only calibration rows name (CPUs of LocalScore submissions, a few GPUs), with
/// specs as their collectors sourced them; kept out of the product catalog until each is checked
/// against its vendor's page (see the file's header).
const EXTRA_DEVICES_TOML: &str = include_str!("../../data/calibration/devices-extra.toml");

/// The calibration-only devices.
///
/// # Panics
/// If the embedded file is invalid, which the tests rule out.
pub fn extra_devices() -> &'static DeviceCatalog {
    static CATALOG: std::sync::OnceLock<DeviceCatalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| {
        DeviceCatalog::parse(EXTRA_DEVICES_TOML)
            .unwrap_or_else(|e| panic!("embedded devices-extra.toml: {e}"))
    })
}

/// A row's device: the product catalog first, then the calibration-only devices.
fn find_device(name: &str) -> Option<&'static DeviceEntry> {
    devices()
        .find(name)
        .or_else(|_| extra_devices().find(name))
        .ok()
}

/// LocalScore's nine (prompt, generated) tests (llamafile `localscore/localscore.cpp`,
/// `get_baseline_test_configs`): its prompt and generation speeds are the arithmetic means of the
/// nine tests' speeds, each generation run after its own prompt.
const LOCALSCORE_TESTS: [(u64, u64); 9] = [
    (1024, 16),
    (4096, 256),
    (2048, 256),
    (2048, 768),
    (1024, 1024),
    (1280, 3072),
    (384, 1152),
    (64, 1024),
    (16, 1536),
];

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
    /// The engine that measured the row: `llama.cpp`, or `llamafile` for LocalScore's results
    /// (llamafile's own CPU kernels, threads and tests), which are scored but never fitted, or
    /// `llama.cpp-hybrid` for models with blocks the speed model has no term for: recurrent or
    /// convolution blocks (Qwen3-Next, Granite 4.0-H, LFM2), Gemma 3n's AltUp and LAuReL and the
    /// per-layer embeddings of Gemma 3n and Gemma 4 E2B/E4B (many small ops per block, a table
    /// read from CPU memory). Their rows are scored apart and kept out of the fit rather than let
    /// them steer the transformer constants.
    pub engine: String,
    /// The catalog device the row ran on (rows naming one device differently share it).
    pub device: String,
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

/// A calibration row ready to be estimated: one run, or LocalScore's nine whose speeds it averages.
#[derive(Clone)]
pub struct Case {
    meta: Scored,
    /// Shared: cross-validation copies the cases into each fold's training set.
    runs: std::sync::Arc<[SpeedCase]>,
}

impl Case {
    /// A case from its description and runs.
    pub(crate) fn new(meta: Scored, runs: Vec<SpeedCase>) -> Case {
        Case {
            meta,
            runs: runs.into(),
        }
    }

    /// The row's description (prediction fields unset).
    #[must_use]
    pub fn meta(&self) -> &Scored {
        &self.meta
    }

    /// The machine the row ran on (of its first run).
    #[must_use]
    pub fn system(&self) -> &SystemSpec {
        self.runs[0].system()
    }
}

/// Scores every usable row of the calibration data with the fitted constants.
#[must_use]
pub fn score_all() -> (Vec<Scored>, Vec<Skipped>) {
    let (cases, skipped) = prepare();
    (score(&cases, &SpeedParams::default()), skipped)
}

/// Predicts every case with `params`.
#[must_use]
pub fn score(cases: &[Case], params: &SpeedParams) -> Vec<Scored> {
    cases.iter().map(|c| predict(c, params)).collect()
}

/// The noise floor: each row "predicted" by the one speed that best fits every row that shares
/// all of its inputs (device, GPU count, backend, model, quant, test and the resolved
/// llama.cpp settings), so by the best that any predictor seeing only those inputs could say.
/// Rows that share them yet disagree differ in what no input names (llama.cpp build, driver,
/// ROCm library, power limit, a PR branch): their spread is error no speed model can remove, and
/// it bounds from below every figure [`score`] and the cross-validations report. A row alone in
/// its group scores 0.
#[must_use]
pub fn floor(cases: &[Case]) -> Vec<Scored> {
    let key = |c: &Case| {
        let m = &c.meta;
        let runs: Vec<String> = c
            .runs
            .iter()
            .map(|r| format!("{:?}", r.settings()))
            .collect();
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}",
            m.engine,
            m.device,
            m.gpus,
            m.backend,
            m.model,
            m.quant,
            m.test,
            m.phase as u8,
            runs.join(";")
        )
    };
    let mut groups: std::collections::HashMap<String, Vec<f64>> = std::collections::HashMap::new();
    let keys: Vec<String> = cases.iter().map(key).collect();
    for (c, k) in cases.iter().zip(&keys) {
        groups.entry(k.clone()).or_default().push(c.meta.measured);
    }
    // The speed `p` that minimises Σ |p − m| / m over a group is its median weighted by 1 / m.
    let best = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        let half = v.iter().map(|m| 1.0 / m).sum::<f64>() / 2.0;
        let mut acc = 0.0;
        for m in &v {
            acc += 1.0 / m;
            if acc >= half {
                return *m;
            }
        }
        v[v.len() - 1]
    };
    let medians: std::collections::HashMap<&String, f64> =
        groups.iter().map(|(k, v)| (k, best(v))).collect();
    cases
        .iter()
        .zip(&keys)
        .map(|(c, k)| {
            let mut m = c.meta.clone();
            m.predicted = medians[k];
            (m.low, m.high) = (m.predicted, m.predicted);
            m
        })
        .collect()
}

/// One case's prediction: the mean of its runs' speeds, as LocalScore averages its tests.
fn predict(c: &Case, params: &SpeedParams) -> Scored {
    let mut m = c.meta.clone();
    let (mut v, mut lo, mut hi) = (0.0, 0.0, 0.0);
    for r in c.runs.iter() {
        let p = r.performance(params);
        let (a, b, d) = match m.phase {
            Phase::Prefill => (p.prefill_tokens_per_s, p.prefill_low, p.prefill_high),
            Phase::Decode => (p.decode_tokens_per_s, p.decode_low, p.decode_high),
        };
        v += a;
        lo += b;
        hi += d;
    }
    #[allow(clippy::cast_precision_loss)]
    let n = c.runs.len().max(1) as f64;
    (m.predicted, m.low, m.high) = (v / n, lo / n, hi / n);
    m
}

/// The row's backend as the speed model knows it; `None` for one llama.cpp no longer has.
fn row_api(backend: &str) -> Option<GpuApi> {
    let first = backend
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    Some(match first.as_str() {
        b if b.starts_with("cuda") => GpuApi::Cuda,
        b if b.starts_with("rocm") || b.starts_with("hip") => GpuApi::Rocm,
        "vulkan" => GpuApi::Vulkan,
        "metal" => GpuApi::Metal,
        "sycl" => GpuApi::Sycl,
        "cpu" | "blas" => GpuApi::Cpu,
        _ => return None,
    })
}

/// Reads the calibration rows and matches them to catalog models and devices.
///
/// # Panics
/// If the embedded CSV is malformed, which the tests rule out.
#[must_use]
#[allow(clippy::too_many_lines)]
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
    let (c_threads, c_size, c_class, c_notes, c_build) = (
        col("n_threads"),
        col("model_size_gib"),
        col("device_class"),
        col("notes"),
        col("build"),
    );
    let mut cases = Vec::new();
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
        // A row its own source contradicts (a misconfigured run) says why in its notes.
        if row[c_notes].starts_with("excluded: ") {
            skip("excluded: its source contradicts it (see the row's notes)");
            continue;
        }
        let Some(entry) = model_for(&row[c_model]) else {
            skip("model not in the catalog");
            continue;
        };
        // Every row is llama.cpp's: its "MXFP4" (llama-bench's "MXFP4 MoE") is the GGUF file type
        // MXFP4_MOE, not the safetensors release that `MXFP4` alone names.
        let quant_name = match row[c_quant].trim() {
            "MXFP4" | "MXFP4 MoE" => "MXFP4_MOE".to_string(),
            q => q.to_string(),
        };
        if private_mix(&quant_name) {
            skip("a publisher's private quant mix whose tensor types llmrig does not know (…_P, APEX)");
            continue;
        }
        let stated_gib = row[c_size].trim().parse::<f64>().ok().filter(|g| *g > 0.0);
        let dynamic = llmrig_core::quant::unsloth_base(&quant_name).filter(|b| *b != quant_name);
        if dynamic.is_some() && stated_gib.is_none() {
            skip("a dynamic quant mix (UD-…, …_XL) whose row states no file size");
            continue;
        }
        let Ok(quant) = Quant::parse(dynamic.unwrap_or(&quant_name)) else {
            skip("unknown quant");
            continue;
        };
        let Some(api) = row_api(&row[c_backend]) else {
            skip("backend not modelled (OpenCL/CLBlast was removed from llama.cpp in 2024)");
            continue;
        };
        let test = row[c_test].trim();
        let localscore = test.contains("(LocalScore)");
        let parsed = if localscore {
            let phase = if test.starts_with("pp") {
                Phase::Prefill
            } else {
                Phase::Decode
            };
            Some((phase, 0, 0))
        } else {
            parse_test(test)
        };
        let Some((phase, tokens, depth)) = parsed else {
            skip("unreadable test name");
            continue;
        };
        let measured = match row[c_tps].parse::<f64>() {
            Ok(v) if v > 0.0 => v,
            _ => {
                skip("no tokens/s");
                continue;
            }
        };
        let ngl: u32 = row[c_ngl].trim().parse().unwrap_or(999);
        let cpu_only = api == GpuApi::Cpu || (ngl == 0 && row[c_class].trim() == "cpu");
        let mut weights = ModelWeights::new(&entry.spec, quant);
        // A row that states its file's size must be the catalog model at that quant: a wrong
        // model or a different mix would score the formulas against another file. A dynamic mix
        // is its nearest preset scaled to the stated size, within the range such files take.
        if let Some(gib) = stated_gib {
            #[allow(clippy::cast_precision_loss)]
            let ours = weights.total_bytes() as f64 / f64::from(1u32 << 30);
            if dynamic.is_some() {
                let r = gib / ours;
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let scaled = (r >= DYNAMIC_SIZE_RANGE.0 && r <= DYNAMIC_SIZE_RANGE.1)
                    .then(|| weights.scaled_to((gib * f64::from(1u32 << 30)) as u64))
                    .flatten();
                let Some(w) = scaled else {
                    skip("the row's file size is outside what a dynamic mix of the catalog model at its nearest preset weighs (0.9–1.35×)");
                    continue;
                };
                weights = w;
            } else if (ours / gib - 1.0).abs() > 0.08 {
                skip("the row's file size differs from the catalog model at this quant by more than 8%");
                continue;
            }
        }
        let hw_name = hw.replace("(GPU core count not stated)", "");
        let Some(dev) = find_device(&hw_name) else {
            skip("device not in the catalog");
            continue;
        };
        let gpus: usize = row[c_gpus].trim().parse().unwrap_or(1).max(1);
        let threads: Option<u32> = row[c_threads].trim().parse().ok();
        let sys = if cpu_only {
            if dev.kind != EntryKind::Cpu || dev.cores.is_none() {
                skip("CPU-only row on a device without a CPU entry (cores, SIMD)");
                continue;
            }
            let mut cpu = CpuSpec::default();
            dev.apply_to_cpu(&mut cpu);
            cpu.ram_bytes = 512 << 30;
            SystemSpec {
                gpus: Vec::new(),
                cpu,
                ..SystemSpec::default()
            }
        } else {
            if ngl == 0 {
                skip("weights on an unnamed host CPU (ngl 0)");
                continue;
            }
            if !dev.is_gpu() {
                skip("a GPU backend on a device without a GPU entry");
                continue;
            }
            let mut cpu = host();
            let gpu = dev.to_spec(None, Some(api));
            if dev.kind == EntryKind::Unified {
                cpu.bandwidth_bytes_per_s = gpu.bandwidth_bytes_per_s;
            }
            SystemSpec {
                gpus: vec![gpu; gpus],
                cpu,
                ..SystemSpec::default()
            }
        };
        let ubatch: u64 = row[c_ub].trim().parse().unwrap_or(512);
        let fa = if row[c_fa].trim() == "1" {
            FlashAttn::On
        } else {
            FlashAttn::Off
        };
        let llama_cpp = crate::row_build::row_version(&row[c_build], &row[c_src]);
        let hipblaslt = crate::row_build::row_hipblaslt(&row[c_notes], llama_cpp);
        let force_mmq = crate::row_build::row_force_mmq(&row[c_notes]);
        let vulkan_driver = crate::row_build::row_vulkan_driver(&format!(
            "{} {} {}",
            &row[c_notes],
            &row[col("host_system")],
            &row[c_src]
        ));
        let settings = |prompt: u64, gen: u64, depth: u64| Settings {
            ctx: Some((prompt + gen + depth).max(256)),
            batch: ubatch.max(2048),
            ubatch,
            gpu_layers: GpuLayers::Count(if cpu_only { 0 } else { ngl }),
            flash_attn: fa,
            threads,
            prompt: prompt.max(1),
            gen: gen.max(1),
            depth,
            llama_cpp,
            hipblaslt,
            force_mmq,
            vulkan_driver,
            ..Settings::default()
        };
        let runs: Vec<Settings> = if localscore {
            LOCALSCORE_TESTS
                .iter()
                .map(|&(p, g)| match phase {
                    Phase::Prefill => settings(p, 0, 0),
                    Phase::Decode => settings(0, g, p),
                })
                .collect()
        } else {
            match phase {
                Phase::Prefill => vec![settings(tokens, 0, depth)],
                Phase::Decode => vec![settings(0, tokens, depth)],
            }
        };
        let runs: Result<Vec<SpeedCase>, _> = runs
            .iter()
            .map(|s| SpeedCase::new(&weights, &sys, s))
            .collect();
        let Ok(runs) = runs else {
            skip("settings llama.cpp would reject");
            continue;
        };
        // The naive rule: one device's bandwidth over the model's size.
        #[allow(clippy::cast_precision_loss)]
        let naive = sys
            .gpus
            .first()
            .map_or(sys.cpu.bandwidth_bytes_per_s, |g| g.bandwidth_bytes_per_s)
            / weights.total_bytes() as f64;
        let class = sys.gpus.first().map_or("cpu", |g0| {
            DEVICE_CLASSES[device_class(g0.api, g0.memory_tech, g0.vendor)]
        });
        cases.push(Case::new(
            Scored {
                source: short_source(&row[c_src]),
                hardware: hw.to_string(),
                engine: if localscore {
                    "llamafile"
                } else if entry.spec.recurrent.is_some()
                    || entry.spec.arch == Arch::Gemma3n
                    || entry.spec.per_layer_embd.is_some_and(|w| w > 0)
                {
                    "llama.cpp-hybrid"
                } else {
                    "llama.cpp"
                }
                .to_string(),
                device: dev.id.clone(),
                model: entry.spec.id.clone(),
                quant: if dynamic.is_some() {
                    quant_name.clone()
                } else {
                    weights.quant.name()
                },
                gpus: if cpu_only { 0 } else { gpus },
                backend: format!("{api:?}").to_lowercase(),
                class: class.to_string(),
                test: test.to_string(),
                phase,
                measured,
                predicted: f64::NAN,
                low: f64::NAN,
                high: f64::NAN,
                naive,
            },
            runs,
        ));
    }
    (cases, skipped)
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

/// Device-out cross-validation: each hardware's rows predicted by constants refitted without it
/// (and without the other devices of its fold, [`FOLDS`]), each fold refitted from
/// [`SpeedParams::prior`] so the shipped constants, fitted on every row, leak nothing into it.
/// Returns the held-out predictions (an honest error estimate).
#[must_use]
pub fn cross_validate(cases: &[Case]) -> Vec<Scored> {
    cross_validate_by(cases, |c| c.meta.device.clone())
}

/// Leave-one-source-out cross-validation: each source's rows (one benchmark table, one thread)
/// predicted by constants fitted on the other sources, so a source's own habits (build, flags,
/// how it measured) cannot leak into its score.
#[must_use]
pub fn cross_validate_sources(cases: &[Case]) -> Vec<Scored> {
    cross_validate_by(cases, |c| c.meta.source.clone())
}

/// How many folds cross-validation splits the groups into. Each group (a device, a source) is in
/// one fold, and its rows are predicted by constants refitted without that whole fold: as strict as
/// leaving the group alone out, and cheap enough for thousands of rows.
pub const FOLDS: u64 = 10;

/// A stable fold for a group name (FNV-1a), so that every run splits alike.
pub(crate) fn fold_of(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % FOLDS
}

/// The constants of each device-out fold ([`cross_validate`]): element `f` is refitted from
/// [`SpeedParams::prior`] without the devices of fold `f`, so it predicts them out of sample
/// (`None` for a fold that holds no device).
#[must_use]
pub fn device_fold_params(cases: &[Case]) -> Vec<Option<SpeedParams>> {
    fold_params_by(cases, |c| c.meta.device.clone())
}

/// Per fold of the groups `key` makes, the constants refitted from [`SpeedParams::prior`] on the
/// other folds (`None` where the fold holds no case). The folds are independent, so each refits
/// on its own thread: the whole takes about as long as the slowest fold where there are as many
/// cores as folds.
fn fold_params_by(
    cases: &[Case],
    key: impl Fn(&Case) -> String + Sync,
) -> Vec<Option<SpeedParams>> {
    let fit = |f: u64| {
        let (test, train): (Vec<&Case>, Vec<&Case>) =
            cases.iter().partition(|c| fold_of(&key(c)) == f);
        (!test.is_empty()).then(|| {
            let train: Vec<Case> = train.into_iter().cloned().collect();
            refit(&train, &SpeedParams::prior())
        })
    };
    std::thread::scope(|s| {
        let fit = &fit;
        let folds: Vec<_> = (0..FOLDS).map(|f| s.spawn(move || fit(f))).collect();
        folds
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Which device-out fold holds `device` (an index into [`device_fold_params`]).
#[must_use]
pub fn device_fold(device: &str) -> usize {
    usize::try_from(fold_of(device)).unwrap_or(0)
}

/// Which source-out fold holds `source` (a row's shortened source, as [`Scored::source`]).
#[must_use]
pub fn source_fold(source: &str) -> usize {
    usize::try_from(fold_of(source)).unwrap_or(0)
}

/// Cross-validation over the groups `key` makes: each group predicted by constants refitted on
/// the folds that do not hold it.
fn cross_validate_by(cases: &[Case], key: impl Fn(&Case) -> String + Sync) -> Vec<Scored> {
    let params = fold_params_by(cases, &key);
    let mut out = Vec::new();
    for (f, p) in (0..FOLDS).zip(&params) {
        let Some(p) = p else { continue };
        let test: Vec<Case> = cases
            .iter()
            .filter(|c| fold_of(&key(c)) == f)
            .cloned()
            .collect();
        out.extend(score(&test, p));
    }
    out
}
