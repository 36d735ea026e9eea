//! `llmrig hw` and bare `llmrig`: the machine as llmrig sees it; `--measure` runs the RAM bandwidth
//! probe and stores the result in the user config, `--save` writes the machine for `--system`.
//!
//! `--json` prints [`llmrig_contract::HwJson`], documented field by field there.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use llmrig_contract::{HwJson, MeasurementJson};
use llmrig_detect::{measure_ram_bandwidth, BandwidthOptions, Note};

use crate::args::HwArgs;
use crate::options::{self, MachineNote};
use crate::render::{self, json, table};

const GPU_NOT_MEASURED: &str =
    "not measured: reading GPU memory needs a GPU backend (CUDA, ROCm, Metal), which llmrig does not link; GPU bandwidth comes from NVML or the device catalog";

/// Shows the machine.
pub fn run(a: &HwArgs, as_json: bool) -> Result<String> {
    let measurement = if a.measure { Some(measure(a)?) } else { None };
    let (sys, notes) = options::machine(&a.machine)?;
    if let Some(path) = &a.save {
        llmrig_detect::write_system_file(path, &sys)?;
    }
    if as_json {
        let mut j = HwJson::new(&sys, notes.iter().map(ToString::to_string).collect());
        j.measurement = measurement;
        j.saved_to = a.save.as_ref().map(|p| p.display().to_string());
        return Ok(json::to_string(&j));
    }
    let mut t = table::new(
        &["device", "kind", "memory", "free", "bandwidth", "API"],
        &[2, 3, 4],
    );
    let free = |b: Option<u64>| b.map_or_else(|| "-".into(), render::gib);
    for g in &sys.gpus {
        let mut name = g.name.clone();
        if let Some(c) = g.cores {
            let _ = write!(name, " ({c} cores)");
        }
        if let (Some(gen), Some(w)) = (g.pcie_gen, g.pcie_width) {
            let _ = write!(name, " PCIe {gen}.0 x{w}");
        }
        t.add_row(vec![
            name,
            format!("{:?}", g.kind).to_lowercase(),
            render::gib(g.memory_bytes),
            free(g.memory_free_bytes),
            format!("{:.0} GB/s", g.bandwidth_bytes_per_s / 1e9),
            g.api.name().to_string(),
        ]);
    }
    let c = &sys.cpu;
    let threads = c
        .threads
        .map(|t| format!(", {t} threads"))
        .unwrap_or_default();
    t.add_row(vec![
        format!("{} ({} cores{threads})", c.name, c.cores),
        "cpu".into(),
        render::gib(c.ram_bytes),
        free(c.ram_available_bytes),
        format!("{:.1} GB/s", c.bandwidth_bytes_per_s / 1e9),
        "-".into(),
    ]);
    let mut out = format!("{t}\n");
    if !c.simd.is_empty() {
        let _ = writeln!(out, "SIMD: {}", c.simd.join(" "));
    }
    if c.memory_type.is_some() || c.memory_speed_mts.is_some() {
        let _ = writeln!(
            out,
            "memory: {}{}{}",
            c.memory_type.as_deref().unwrap_or("RAM"),
            c.memory_speed_mts
                .map(|s| format!("-{s}"))
                .unwrap_or_default(),
            c.memory_channels
                .map(|n| format!(", {n} channel(s)"))
                .unwrap_or_default()
        );
    }
    if let Some(m) = &measurement {
        let _ = writeln!(
            out,
            "RAM read bandwidth: {:.1} GB/s sustained (best of {} passes over {} with {} threads), {:.0}% of the {:.1} GB/s peak ({}){}",
            m.ram_read_bytes_per_s / 1e9,
            m.passes,
            render::size(m.buffer_bytes),
            m.threads,
            100.0 * m.ram_read_bytes_per_s / m.peak_bytes_per_s,
            m.peak_bytes_per_s / 1e9,
            m.peak_source,
            m.config_file
                .as_ref()
                .map(|p| format!("; stored in {p}"))
                .unwrap_or_default()
        );
        let _ = writeln!(out, "GPU memory bandwidth: {GPU_NOT_MEASURED}");
    }
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    if let Some(p) = &a.save {
        let _ = writeln!(
            out,
            "saved this machine to {}; use it with `--system {}`",
            p.display(),
            p.display()
        );
    }
    Ok(out)
}

/// Runs the RAM bandwidth probe with a progress bar on stderr and stores the result.
fn measure(a: &HwArgs) -> Result<MeasurementJson> {
    // The peak as it would be without a stored measurement: detected, assumed or given.
    let (sys, notes) = options::machine_with(&a.machine, false)?;
    let peak = sys.cpu.bandwidth_bytes_per_s;
    let given = a.machine.system.is_some() || a.machine.ram_bw.is_some() || a.machine.cpu.is_some();
    let peak_source = if given {
        "given"
    } else if notes.contains(&MachineNote::Detected(Note::BandwidthAssumed)) {
        "assumed"
    } else {
        "detected"
    };
    let mut opts = BandwidthOptions::for_ram(sys.cpu.ram_bytes);
    if let Some(mib) = a.measure_mib {
        opts.buffer_bytes = mib << 20;
    }
    let bar = ProgressBar::new(u64::from(opts.max_passes) + 1);
    bar.set_style(
        ProgressStyle::with_template("measuring RAM bandwidth {bar:30} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let b = measure_ram_bandwidth(&opts, &mut |done, total| {
        bar.set_length(u64::from(total));
        bar.set_position(u64::from(done));
    });
    bar.finish_and_clear();
    let config_file = llmrig_detect::config_path();
    if let Some(path) = &config_file {
        llmrig_detect::store_ram_bandwidth(path, b.best_bytes_per_s / 1e9)
            .with_context(|| "storing the measured bandwidth")?;
    }
    Ok(MeasurementJson {
        buffer_bytes: b.buffer_bytes,
        config_file: config_file.map(|p| p.display().to_string()),
        gpu: GPU_NOT_MEASURED.to_string(),
        passes: b.passes,
        peak_bytes_per_s: peak,
        peak_source: peak_source.to_string(),
        ram_read_bytes_per_s: b.best_bytes_per_s,
        ram_read_mean_bytes_per_s: b.mean_bytes_per_s,
        seconds: b.seconds,
        threads: b.threads as u64,
    })
}
