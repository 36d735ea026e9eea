//! `llmrig calibrate RESULTS`: fits this machine's speed efficiencies to its own llama-bench
//! results and keeps them with the machine, so that every later estimate on it uses them.
//!
//! Each result is matched to its model: the GGUF file llama-bench ran when it still exists
//! (`model_filename` in `-o json`/`jsonl`/`csv`), else the catalog model of the same architecture
//! and parameter count at the result's file type. The fit is [`llmrig_catalog::calibrate`]. The
//! efficiencies go into the `--system` file, the `--save` file, or for the detected machine the
//! user config (where `llmrig hw --measure` keeps the RAM bandwidth).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use llmrig_catalog::accuracy::Phase;
use llmrig_catalog::calibrate::{calibrate, distinct_models, model_by_arch_params, Measurement};
use llmrig_core::estimate::{
    FlashAttn, GpuLayers, LlamaCppVersion, ModelWeights, Settings, VulkanDriver, CPU_CLASS,
    DEVICE_CLASSES,
};
use llmrig_core::quant::{GgmlType, Quant};
use llmrig_formats::llama_bench::{self, BenchRow};

use crate::args::CalibrateArgs;
use crate::options;
use crate::render::{json, table};

/// Runs the calibration.
pub fn run(a: &CalibrateArgs, as_json: bool) -> Result<String> {
    let (text, source) = match (&a.results, &a.run) {
        (_, Some(model)) => (
            run_llama_bench(model)?,
            format!("llama-bench -m {}", model.display()),
        ),
        (Some(p), None) if p.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(std::io::stdin(), llama_bench::MAX_BYTES as u64 + 1),
                &mut s,
            )
            .context("reading llama-bench results from standard input")?;
            (s, "standard input".to_string())
        }
        (Some(p), None) => (read_results(p)?, p.display().to_string()),
        (None, None) => {
            bail!("give llama-bench results (a file, or - for standard input) or --run MODEL.gguf")
        }
    };
    let rows = llama_bench::parse(&text).with_context(|| format!("reading {source}"))?;
    let (sys, _) = options::machine(&a.machine)?;
    let mut measured = Vec::new();
    let mut skipped: Vec<(String, String)> = Vec::new();
    for r in &rows {
        match measurement(r) {
            Ok(m) => measured.push(m),
            Err(why) => skipped.push((format!("{} {}", r.model_type, r.test_name()), why)),
        }
    }
    if measured.is_empty() {
        let why: Vec<String> = skipped.iter().map(|(r, w)| format!("{r}: {w}")).collect();
        bail!("no result in {source} can be used:\n  {}", why.join("\n  "));
    }
    if a.check {
        return Ok(check(&measured, &sys, &skipped, as_json));
    }
    let date = rows
        .iter()
        .find_map(|r| r.test_time.as_deref().and_then(|t| t.get(..10)))
        .map_or_else(today, str::to_string);
    let outcome = calibrate(&measured, &sys, &source, &date)?;
    // One model cannot separate a per-token cost from a bandwidth share (validation/report.md: a
    // CPU calibrated on one 1.1B file predicted Gemma 3 270M worse than the shipped constants).
    let one_model = (distinct_models(&measured) < 2).then_some(
        "calibrated on one model: its per-token and per-ubatch costs are kept from the shipped fit, so models of other sizes can be further off than before; add a second model of another size (llama-bench -m A.gguf -m B.gguf) to fit them",
    );
    let mut calibrated = sys.clone();
    calibrated.calibration = Some(outcome.calibration.clone());
    let stored = store(a, &calibrated, &outcome.calibration)?;
    if as_json {
        return Ok(json::to_string(&serde_json::json!({
            "schema_version": 1,
            "calibration": outcome.calibration,
            "stored_in": stored,
            "rows": outcome.rows,
            "prompt_weight": outcome.prompt_weight,
            "prompt_carried": outcome.carried,
            "warnings": one_model.into_iter().collect::<Vec<_>>(),
            "skipped": skipped.iter().map(|(r, w)| serde_json::json!({"row": r, "reason": w})).collect::<Vec<_>>(),
        })));
    }
    let mut t = table::new(
        &["model", "test", "measured", "before", "after"],
        &[2, 3, 4],
    );
    let cell = |v: f64, m: f64| format!("{v:.1} ({:+.0}%)", (v / m - 1.0) * 100.0);
    for r in &outcome.rows {
        t.add_row(vec![
            r.model.clone(),
            r.test.clone(),
            format!("{:.1}", r.measured),
            cell(r.before, r.measured),
            cell(r.after, r.measured),
        ]);
    }
    let c = &outcome.calibration;
    let mut out = format!("{t}\n");
    let _ = writeln!(
        out,
        "median error {:.1}% with the shipped constants, {:.1}% calibrated, over {} results of {date}",
        c.error_before * 100.0,
        c.error_after * 100.0,
        c.rows
    );
    for (class, b) in &c.backends {
        // A GPU on shared LPDDR reads at the memory's share, not its class's.
        let (bw, shared) = match c.lpddr_bw {
            Some(v) if class != DEVICE_CLASSES[CPU_CLASS] => (v, " (shared LPDDR)"),
            _ => (b.bw, ""),
        };
        let _ = writeln!(
            out,
            "{class}: bandwidth share {bw:.2}{shared}, per-token cost {:.2} ms, prompt compute share {:.2} (float) / {:.2} (quantized), per-ubatch cost {:.1} ms",
            b.step_s * 1e3,
            b.pp_float,
            b.pp_quant,
            b.ubatch_s * 1e3
        );
    }
    if outcome.prompt_weight < 1.0 && outcome.rows.iter().any(|r| r.phase == Phase::Prefill) {
        let _ = writeln!(
            out,
            "prompt shares moved {:.0}% of the way to this run's fit: one model and quant's prompt speed tells its own kernels more than the machine's (results of more models and quants move them further)",
            outcome.prompt_weight * 100.0
        );
    }
    for line in &outcome.carried {
        let _ = writeln!(out, "{line}");
    }
    for (r, w) in &skipped {
        let _ = writeln!(out, "not used: {r}: {w}");
    }
    let _ = writeln!(
        out,
        "kept in {stored}; estimates on this machine now use it"
    );
    Ok(out)
}

/// `--check`: each result against the machine's current prediction.
fn check(
    measured: &[Measurement],
    sys: &llmrig_core::system::SystemSpec,
    skipped: &[(String, String)],
    as_json: bool,
) -> String {
    let params = llmrig_core::estimate::SpeedParams::for_system(sys);
    let rows: Vec<(String, String, f64, Option<f64>)> = measured
        .iter()
        .map(|m| {
            let p = llmrig_core::estimate::performance_with(&m.weights, sys, &m.settings, &params)
                .ok()
                .map(|p| match m.phase {
                    Phase::Prefill => p.prefill_tokens_per_s,
                    Phase::Decode => p.decode_tokens_per_s,
                });
            (m.label.clone(), m.test.clone(), m.measured, p)
        })
        .collect();
    let mut errs: Vec<f64> = rows
        .iter()
        .filter_map(|(_, _, m, p)| p.map(|p| (p - m).abs() / m))
        .collect();
    errs.sort_by(f64::total_cmp);
    let median = errs.get(errs.len() / 2).copied().unwrap_or(f64::NAN);
    if as_json {
        return json::to_string(&serde_json::json!({
            "schema_version": 1,
            "calibrated": sys.calibration.as_ref().map(|c| &c.date),
            "median_error": median,
            "rows": rows.iter().map(|(m, t, me, p)| serde_json::json!({"model": m, "test": t, "measured": me, "predicted": p})).collect::<Vec<_>>(),
        }));
    }
    let mut t = table::new(&["model", "test", "measured", "predicted"], &[2, 3]);
    for (m, test, me, p) in &rows {
        t.add_row(vec![
            m.clone(),
            test.clone(),
            format!("{me:.1}"),
            p.map_or_else(
                || "-".into(),
                |p| format!("{p:.1} ({:+.0}%)", (p / me - 1.0) * 100.0),
            ),
        ]);
    }
    let mut out = format!("{t}\n");
    let _ = writeln!(
        out,
        "median error {:.1}% over {} results, {}",
        median * 100.0,
        errs.len(),
        sys.calibration.as_ref().map_or_else(
            || "with the shipped constants (not calibrated)".to_string(),
            |c| format!("calibrated on the llama-bench run of {}", c.date)
        )
    );
    for (r, w) in skipped {
        let _ = writeln!(out, "not used: {r}: {w}");
    }
    out
}

/// The results file, refusing one far larger than llama-bench writes.
fn read_results(p: &Path) -> Result<String> {
    let len = std::fs::metadata(p)
        .with_context(|| format!("cannot read llama-bench results `{}`", p.display()))?
        .len();
    if len > llama_bench::MAX_BYTES as u64 {
        bail!(
            "`{}` is {len} bytes; llama-bench results are far smaller (at most {} bytes are read)",
            p.display(),
            llama_bench::MAX_BYTES
        );
    }
    std::fs::read_to_string(p)
        .with_context(|| format!("cannot read llama-bench results `{}`", p.display()))
}

/// Runs llama-bench (from PATH) on `model` with its default tests, as JSON.
fn run_llama_bench(model: &Path) -> Result<String> {
    if !model.is_file() {
        bail!(
            "`{}` is not a file: --run takes a .gguf model",
            model.display()
        );
    }
    let out = Command::new("llama-bench")
        .arg("-m")
        .arg(model)
        .args(["-o", "json"])
        .output()
        .context("cannot run `llama-bench`: is llama.cpp's llama-bench on PATH?")?;
    if !out.status.success() {
        bail!(
            "llama-bench failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Today as `YYYY-MM-DD` (UTC), for results that do not say when they ran.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::try_from(secs / 86_400).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// One llama-bench row as a measurement on this machine.
fn measurement(r: &BenchRow) -> Result<Measurement, String> {
    if r.n_prompt > 0 && r.n_gen > 0 {
        return Err("a combined prompt+generation test; llmrig scores ppN and tgN".into());
    }
    if r.avg_ts <= 0.0 {
        return Err("no tokens/s".into());
    }
    let weights = weights_of(r)?;
    let cache = |t: &Option<String>| -> Result<GgmlType, String> {
        t.as_deref().map_or(Ok(GgmlType::F16), |n| {
            GgmlType::from_name(&n.to_ascii_lowercase())
                .ok_or(format!("cache type `{n}` is not a ggml type"))
        })
    };
    let ubatch = u64::from(r.n_ubatch.unwrap_or(512)).max(1);
    let settings = Settings {
        // llama-bench sizes the context to the test.
        ctx: Some((r.n_prompt + r.n_gen + r.n_depth).max(1)),
        batch: u64::from(r.n_batch.unwrap_or(2048)).max(ubatch),
        ubatch,
        // A CPU build offloads nothing; a GPU build's default (and auto) offloads every layer
        // that fits, all of them in a benchmark that runs.
        gpu_layers: GpuLayers::Count(if r.cpu_only() {
            0
        } else {
            r.n_gpu_layers.unwrap_or(99)
        }),
        flash_attn: match r.flash_attn {
            Some(true) => FlashAttn::On,
            Some(false) => FlashAttn::Off,
            None => FlashAttn::Auto,
        },
        cache_type_k: cache(&r.type_k)?,
        cache_type_v: cache(&r.type_v)?,
        no_kv_offload: r.no_kv_offload.unwrap_or(false),
        threads: r.n_threads,
        prompt: r.n_prompt.max(1),
        gen: r.n_gen.max(1),
        depth: r.n_depth,
        // The kernels the run's build chose (AMD's prompt kernels changed with builds).
        llama_cpp: r
            .build_number
            .map_or(LlamaCppVersion::Current, LlamaCppVersion::Build),
        // The Vulkan driver where llama-bench's GPU description names it (`(RADV GFX1151)`);
        // else the machine's OS decides.
        vulkan_driver: r.gpu_info.as_deref().and_then(VulkanDriver::named_in),
        ..Settings::default()
    };
    Ok(Measurement {
        label: r.model_type.clone(),
        weights,
        settings,
        phase: if r.n_gen == 0 {
            Phase::Prefill
        } else {
            Phase::Decode
        },
        test: r.test_name(),
        measured: r.avg_ts,
    })
}

/// The row's model: its GGUF when the file is still there, else the catalog model of its
/// architecture and parameter count at its file type.
fn weights_of(r: &BenchRow) -> Result<ModelWeights, String> {
    if let Some(f) = r.model_filename.as_deref().map(PathBuf::from) {
        if f.is_file() {
            return options::model(&f.display().to_string(), None)
                .map(|m| m.weights)
                .map_err(|e| format!("{e:#}"));
        }
    }
    let ft = r.file_type().ok_or(format!(
        "model `{}` does not say its file type",
        r.model_type
    ))?;
    let quant = Quant::parse(&ft).map_err(|e| e.to_string())?;
    let params = r
        .n_params
        .ok_or("no parameter count to match the model by")?;
    let entry = model_by_arch_params(r.arch(), params, quant).ok_or(format!(
        "no catalog model of architecture `{}` with {:.2} B parameters; give the GGUF file (llama-bench `-o json` records its path)",
        r.arch(),
        params / 1e9
    ))?;
    let weights = ModelWeights::new(&entry.spec, quant);
    // The file's size must agree too: a fine-tune with another vocabulary, or a different mix
    // under the same file type name, is another file.
    if let Some(size) = r.model_size {
        #[allow(clippy::cast_precision_loss)]
        let ours = weights.total_bytes() as f64;
        if (ours / size - 1.0).abs() > 0.08 {
            return Err(format!(
                "{} at {ft} is {:.2} GiB in llmrig's catalog but {:.2} GiB in the results; give the GGUF file (llama-bench `-o json` records its path)",
                entry.spec.id,
                ours / f64::from(1u32 << 30),
                size / f64::from(1u32 << 30)
            ));
        }
    }
    Ok(weights)
}

/// Keeps the calibration: in `--save FILE` (the whole machine), in the `--system` file, or in the
/// user config for the detected machine. Returns where.
fn store(
    a: &CalibrateArgs,
    calibrated: &llmrig_core::system::SystemSpec,
    c: &llmrig_core::estimate::Calibration,
) -> Result<String> {
    if let Some(path) = a.save.as_ref().or(a.machine.system.as_ref()) {
        llmrig_detect::write_system_file(path, calibrated)?;
        return Ok(path.display().to_string());
    }
    let path = llmrig_detect::config_path()
        .context("no home folder to keep the calibration in; pass --save FILE")?;
    llmrig_detect::store_calibration(&path, c)?;
    Ok(path.display().to_string())
}
