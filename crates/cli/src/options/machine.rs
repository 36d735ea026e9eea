//! The machine: `--system` or detection (with the RAM bandwidth `llmrig hw --measure` stored in
//! the user config), completed from the device catalog, then `--gpu`/`--no-gpu`/`--cpu`/`--ram`/
//! `--ram-bw`/`--api`/`--os`/`--os-reserve`/`--wired-limit` override parts of it. What was assumed
//! is a [`MachineNote`], and the RAM left for the model is always one.

use std::fmt;
use std::path::PathBuf;

use anyhow::Result;
use llmrig_catalog::devices;
use llmrig_core::system::{DeviceKind, DeviceSpec, GpuApi, Os, RamBasis, RamBudget, SystemSpec};
use llmrig_detect::Note;

use crate::args::MachineArgs;
use crate::render::gib;

/// What the machine's description assumed or left out, shown as `note:` lines (in JSON, as the same
/// strings).
#[derive(Debug, Clone, PartialEq)]
pub enum MachineNote {
    /// A note from detection, shown with what to do about it (the flag or command to use).
    Detected(Note),
    /// The RAM bandwidth `llmrig hw --measure` stored in the user config.
    BandwidthMeasured {
        /// GB/s.
        gbs: f64,
        /// The config file.
        config: PathBuf,
    },
    /// No bandwidth was known for this host, so a quick probe measured it now (and stored it).
    BandwidthProbed {
        /// GB/s.
        gbs: f64,
        /// Seconds the probe took.
        seconds: f64,
        /// Where it was stored, if it could be.
        config: Option<PathBuf>,
    },
    /// The RAM bandwidth is that of a detected unified-memory chip in the device catalog.
    BandwidthUnified {
        /// Bytes/s.
        bytes_per_s: f64,
        /// The chip.
        gpu: String,
    },
    /// Speed comes from this machine's own llama-bench results (`llmrig calibrate`).
    Calibrated {
        /// The run's date.
        date: String,
        /// Results fitted.
        rows: usize,
        /// Median error before and after.
        before: f64,
        /// See `before`.
        after: f64,
        /// Where the calibration is kept.
        stored: String,
    },
    /// A GPU the device catalog does not know: 500 GB/s assumed.
    GpuNotInCatalog {
        /// The GPU.
        gpu: String,
    },
    /// A GPU the device catalog does not know, with the bandwidth NVML reported.
    GpuBandwidthFromNvml {
        /// The GPU.
        gpu: String,
        /// Bytes/s.
        bytes_per_s: f64,
    },
    /// A detected GPU's compute rates come from a catalog entry matched by part of its name.
    GpuRatesFrom {
        /// The GPU as detected.
        gpu: String,
        /// The catalog entry's name.
        entry: String,
        /// The catalog entry's id.
        id: String,
    },
    /// An integrated GPU the catalog does not know reads RAM at the RAM's bandwidth.
    IntegratedAtRamBandwidth {
        /// The GPU.
        gpu: String,
        /// Bytes/s.
        bytes_per_s: f64,
    },
    /// Metal lets the GPU allocate only the working-set share of unified memory.
    WorkingSet {
        /// Bytes the GPU may allocate.
        usable: u64,
        /// Unified memory, bytes.
        total: u64,
        /// The chip was given with `--gpu` (the note then says how to give another size).
        given: bool,
        /// The share is the wired limit set with `iogpu.wired_limit_mb` (or `--wired-limit`).
        wired: bool,
    },
    /// The RAM estimates leave for the model, and why.
    Ram(RamBudget),
}

impl MachineNote {
    /// Whether the note only says where a number came from (a measured bandwidth, the RAM
    /// budget's basis, the catalog entry a GPU's rates come from): shown with `--verbose`.
    pub fn is_provenance(&self) -> bool {
        matches!(
            self,
            MachineNote::BandwidthMeasured { .. }
                | MachineNote::BandwidthUnified { .. }
                | MachineNote::GpuRatesFrom { .. }
                | MachineNote::Ram(_)
        )
    }

    /// Whether the note says where the RAM bandwidth came from (superseded when it is given).
    pub fn is_ram_bandwidth(&self) -> bool {
        match self {
            MachineNote::Detected(n) => n.is_ram_bandwidth(),
            MachineNote::BandwidthMeasured { .. }
            | MachineNote::BandwidthProbed { .. }
            | MachineNote::BandwidthUnified { .. } => true,
            MachineNote::GpuNotInCatalog { .. }
            | MachineNote::Calibrated { .. }
            | MachineNote::GpuBandwidthFromNvml { .. }
            | MachineNote::GpuRatesFrom { .. }
            | MachineNote::IntegratedAtRamBandwidth { .. }
            | MachineNote::WorkingSet { .. }
            | MachineNote::Ram(_) => false,
        }
    }
}

/// The note for a machine with a calibration kept in `stored`.
fn calibrated_note(c: &llmrig_core::estimate::Calibration, stored: &str) -> MachineNote {
    MachineNote::Calibrated {
        date: c.date.clone(),
        rows: c.rows,
        before: c.error_before,
        after: c.error_after,
        stored: stored.to_string(),
    }
}

/// What the user can do about a detection note: the flag or command, which detection does not know.
fn hint(n: &Note) -> &'static str {
    match n {
        Note::BandwidthAssumed => "; run `llmrig hw --measure` or pass --ram-bw",
        Note::BandwidthFromFirmware { .. } => "; `llmrig hw --measure` measures it",
        Note::RamSizeUnknown => "; pass --ram",
        Note::NoGpu => "; pass --gpu to describe one",
        Note::NvidiaUnanswered { .. } => "; pass --gpu to describe them",
        Note::OnlyNvidiaDetected => "; pass --gpu to describe others",
        Note::IntegratedGpuLeftOut { .. }
        | Note::HybridCores { .. }
        | Note::AmdIntegratedGpu { .. }
        | Note::IntelIntegratedGpu { .. } => "",
    }
}

impl fmt::Display for MachineNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MachineNote::Detected(n) => write!(f, "{n}{}", hint(n)),
            MachineNote::BandwidthMeasured { gbs, config } => write!(
                f,
                "RAM bandwidth {gbs:.1} GB/s as measured on this machine (stored in {}; `llmrig hw --measure` measures again); estimates use it instead of an assumed peak",
                config.display()
            ),
            MachineNote::BandwidthProbed {
                gbs,
                seconds,
                config,
            } => write!(
                f,
                "RAM bandwidth {gbs:.1} GB/s, measured just now by a quick probe ({seconds:.1} s){}; `llmrig hw --measure` measures longer",
                config.as_ref().map_or_else(
                    || ", not stored".to_string(),
                    |c| format!(" and stored in {} for the next runs", c.display())
                )
            ),
            MachineNote::BandwidthUnified { bytes_per_s, gpu } => write!(
                f,
                "RAM bandwidth {:.1} GB/s: the unified memory of the {gpu} (device catalog)",
                bytes_per_s / 1e9
            ),
            MachineNote::Calibrated {
                date,
                rows,
                before,
                after,
                stored,
            } => write!(
                f,
                "speed calibrated on your llama-bench run of {date} ({rows} results; median error {:.1}% with the shipped constants, {:.1}% calibrated; kept in {stored}, `llmrig calibrate` again to update)",
                before * 100.0,
                after * 100.0
            ),
            MachineNote::GpuNotInCatalog { gpu } => {
                write!(f, "{gpu} is not in the device catalog; assuming 500 GB/s")
            }
            MachineNote::GpuBandwidthFromNvml { gpu, bytes_per_s } => write!(
                f,
                "{gpu} is not in the device catalog; bandwidth {:.0} GB/s from NVML, compute rate unknown",
                bytes_per_s / 1e9
            ),
            MachineNote::GpuRatesFrom { gpu, entry, id } => write!(
                f,
                "{gpu}: compute rates from the device catalog's {entry} ({id})"
            ),
            MachineNote::IntegratedAtRamBandwidth { gpu, bytes_per_s } => write!(
                f,
                "{gpu} is not in the device catalog; it reads system RAM at the RAM's {:.1} GB/s",
                bytes_per_s / 1e9
            ),
            MachineNote::WorkingSet {
                usable,
                total,
                given,
                wired,
            } => {
                write!(
                    f,
                    "unified memory: {} of {} usable by the GPU ({})",
                    gib(*usable),
                    gib(*total),
                    if *wired {
                        "the wired limit set with iogpu.wired_limit_mb"
                    } else {
                        "macOS working-set limit; `sudo sysctl iogpu.wired_limit_mb=N` raises it, --wired-limit tells llmrig"
                    }
                )?;
                if *given {
                    f.write_str("; pass e.g. `--gpu m2-max:32GiB` for your configuration")?;
                }
                Ok(())
            }
            MachineNote::Ram(b) => match b.basis {
                RamBasis::Available => write!(
                    f,
                    "system RAM: estimates fit in the {} available now, of {} (pass --os-reserve SIZE to plan for the total less SIZE instead)",
                    gib(b.usable_bytes),
                    gib(b.total_bytes)
                ),
                RamBasis::Reserve {
                    os,
                    reserve_bytes,
                    given,
                } => write!(
                    f,
                    "system RAM: {} of {} kept for {} and other programs, {} left for the model{}",
                    gib(reserve_bytes),
                    gib(b.total_bytes),
                    os.map_or("the OS", Os::display_name),
                    gib(b.usable_bytes),
                    if given {
                        " (as given)"
                    } else {
                        " (--os-reserve changes it)"
                    }
                ),
            },
        }
    }
}

/// Builds the machine: `--system`, else detection (with the RAM bandwidth `llmrig hw --measure`
/// stored in the user config), then `--gpu`/`--no-gpu`/`--cpu`/`--ram`/`--ram-bw` override parts
/// of it. Returns notes on what was assumed.
pub fn machine(m: &MachineArgs) -> Result<(SystemSpec, Vec<MachineNote>)> {
    machine_with(m, true)
}

/// [`machine`], reading the user config's measured RAM bandwidth only when `use_config` is set (the
/// bandwidth probe compares against the peak without it).
pub fn machine_with(m: &MachineArgs, use_config: bool) -> Result<(SystemSpec, Vec<MachineNote>)> {
    machine_from(m, detect(m)?, use_config)
}

/// What `m` starts from before its flags apply: the `--system` file, else this host.
///
/// # Errors
/// A `--system` file that cannot be read.
pub fn detect(m: &MachineArgs) -> Result<llmrig_detect::Detected> {
    use llmrig_detect::Probe;
    Ok(match &m.system {
        Some(path) => llmrig_detect::FileProbe::new(path).detect()?,
        None => llmrig_detect::HostProbe.detect()?,
    })
}

/// [`machine_with`] on a detection already made (`need` checks hundreds of machines on one host).
///
/// # Errors
/// As [`machine_with`].
pub fn machine_from(
    m: &MachineArgs,
    detected: llmrig_detect::Detected,
    use_config: bool,
) -> Result<(SystemSpec, Vec<MachineNote>)> {
    let host = m.system.is_none();
    let mut sys = detected.system;
    // Machine files written before llmrig knew GPUs' FP32 rates (it bounds decode on HBM GPUs)
    // lack it: a GPU the catalog names exactly takes the catalog's.
    if !host {
        for g in sys.gpus.iter_mut().filter(|g| g.fp32_flops == 0.0) {
            if let Some((e, true)) = catalog_match(&g.name) {
                g.fp32_flops = e.to_spec(None, None).fp32_flops;
            }
        }
    }
    let mut notes: Vec<MachineNote> = detected
        .notes
        .into_iter()
        .map(MachineNote::Detected)
        .collect();
    let mut measured = false;
    if host && use_config {
        if let Some(path) = llmrig_detect::config_path() {
            let config = llmrig_detect::load_config(&path)?;
            sys.calibration = config.calibration;
            if let Some(c) = &sys.calibration {
                notes.push(calibrated_note(c, &path.display().to_string()));
            }
            if let Some(gbs) = config.ram_bandwidth_gbs {
                sys.cpu.bandwidth_bytes_per_s = gbs * 1e9;
                notes.retain(|n| !n.is_ram_bandwidth());
                notes.push(MachineNote::BandwidthMeasured { gbs, config: path });
                measured = true;
            }
        }
        // Nothing tells this host's bandwidth: rather than assume a desktop's, measure it once,
        // quickly, and keep it (LLMRIG_NO_PROBE=1 turns this off).
        let assumed = notes.contains(&MachineNote::Detected(Note::BandwidthAssumed));
        if !measured && assumed && std::env::var_os("LLMRIG_NO_PROBE").is_none() {
            let gbs = quick_probe(&mut sys, &mut notes);
            measured = gbs.is_some();
        }
    }
    if let (Some(path), Some(c)) = (&m.system, &sys.calibration) {
        notes.push(calibrated_note(c, &path.display().to_string()));
    }
    let api = m.api.map(GpuApi::from);
    if let Some(w) = m.wired_limit {
        sys.gpu_wired_limit_bytes = Some(w);
    }
    if m.no_gpu {
        sys.gpus.clear();
        notes.retain(|n| *n != MachineNote::Detected(Note::NoGpu));
    }
    if !m.gpu.is_empty() {
        sys.gpus.clear();
        notes.retain(|n| *n != MachineNote::Detected(Note::NoGpu));
        for g in &m.gpu {
            sys.gpus
                .extend(vec![g.entry.to_spec(g.memory_bytes, api); g.count]);
        }
    } else if host {
        // Detected GPUs carry names and memory: compute rates (and bandwidth, unless NVML gave it)
        // come from the catalog.
        for g in &mut sys.gpus {
            complete_detected_gpu(g, api, &mut notes);
        }
    } else {
        // A system file without rates: take them from the catalog.
        for g in &mut sys.gpus {
            if g.bandwidth_bytes_per_s == 0.0 {
                match devices().find(&g.name) {
                    Ok(e) => {
                        let full = e.to_spec(Some(g.memory_bytes), api.or(Some(g.api)));
                        *g = full;
                    }
                    Err(_) => {
                        notes.push(MachineNote::GpuNotInCatalog {
                            gpu: g.name.clone(),
                        });
                        g.bandwidth_bytes_per_s = 500e9;
                    }
                }
            }
        }
    }
    if let Some(e) = m.cpu {
        e.apply_to_cpu(&mut sys.cpu);
        notes.retain(|n| !n.is_ram_bandwidth());
    }
    if let Some(r) = m.ram {
        // RAM described, not detected: what was available on the host says nothing about it.
        sys.cpu.ram_bytes = r;
        sys.cpu.ram_available_bytes = None;
    }
    if let Some(bw) = m.ram_bw {
        sys.cpu.bandwidth_bytes_per_s = bw * 1e9;
        notes.retain(|n| !n.is_ram_bandwidth());
    }
    if host && m.gpu.is_empty() {
        let cpu_bw_given = measured || m.ram_bw.is_some() || m.cpu.is_some();
        detected_unified(&mut sys, cpu_bw_given, &mut notes);
    }
    // A unified-memory chip is the machine's RAM: the CPU side gets its size and bandwidth, and
    // the GPU may allocate up to macOS's working-set limit of it (Metal), or all of it.
    if !m.gpu.is_empty() {
        if let Some(u) = sys
            .gpus
            .iter()
            .find(|g| g.kind == DeviceKind::Unified)
            .cloned()
        {
            let total = m
                .ram
                .map_or(u.memory_bytes, |_| sys.cpu.ram_bytes.min(u.memory_bytes));
            if m.ram.is_none() {
                sys.cpu.ram_bytes = total;
            }
            // The machine is that chip, not this host: nothing was detected about its RAM, and
            // Metal means macOS (for others the OS is not known unless `--os` says).
            sys.cpu.ram_available_bytes = None;
            sys.os = (u.api == GpuApi::Metal).then_some(Os::Macos);
            if m.ram_bw.is_none() && m.cpu.is_none() {
                sys.cpu.bandwidth_bytes_per_s = u.bandwidth_bytes_per_s;
                sys.cpu.name = format!("{} (CPU side)", u.name);
                notes.retain(|n| !n.is_ram_bandwidth());
            }
            // Metal's working-set limit is macOS's; CUDA on a DGX Spark or Jetson, and ROCm or
            // Vulkan on an iGPU, allocate from the whole pool, which the CPU side shares (the fit
            // counts both against the RAM).
            let metal = u.api == GpuApi::Metal;
            let usable = if metal {
                metal_working_set(total, sys.gpu_wired_limit_bytes)
            } else {
                total
            };
            for g in sys
                .gpus
                .iter_mut()
                .filter(|g| g.kind == DeviceKind::Unified)
            {
                g.memory_bytes = usable;
            }
            if metal {
                notes.push(MachineNote::WorkingSet {
                    usable,
                    total,
                    given: true,
                    wired: sys.gpu_wired_limit_bytes.is_some(),
                });
            }
        }
    } else if let (false, Some(w)) = (host, m.wired_limit) {
        // A machine file's Metal GPU keeps its working set unless the limit is given.
        let total = sys.cpu.ram_bytes;
        for g in sys
            .gpus
            .iter_mut()
            .filter(|g| g.kind == DeviceKind::Unified && g.api == GpuApi::Metal)
        {
            g.memory_bytes = w.min(total);
        }
    }
    if let Some(os) = m.os {
        sys.os = Some(os);
    }
    if let Some(r) = m.os_reserve {
        sys.os_reserve_bytes = Some(r);
    }
    // A machine file (or a driver) may not say who made a GPU: the catalog knows by the name, so
    // the estimator never reads names.
    for g in sys.gpus.iter_mut().filter(|g| g.vendor.is_none()) {
        g.vendor = llmrig_catalog::vendor_from_name(&g.name);
    }
    if let Some(api) = api {
        check_api(api, &sys)?;
    }
    notes.push(MachineNote::Ram(sys.ram_budget()));
    Ok((sys, notes))
}

/// `--api` must be one llama.cpp can build for the machine's GPUs: Metal only on Apple silicon,
/// CUDA only on NVIDIA, ROCm (HIP) only on AMD, and no API but Vulkan for Apple's GPUs (through
/// MoltenVK) or the CPU. SYCL runs on Intel, and through oneAPI's plugins on NVIDIA and AMD.
fn check_api(api: GpuApi, sys: &SystemSpec) -> Result<()> {
    use llmrig_core::system::GpuVendor;
    for g in &sys.gpus {
        let Some(v) = g.vendor else { continue };
        let ok = match api {
            GpuApi::Metal => v == GpuVendor::Apple,
            GpuApi::Cuda => v == GpuVendor::Nvidia,
            GpuApi::Rocm => v == GpuVendor::Amd,
            GpuApi::Sycl => matches!(v, GpuVendor::Intel | GpuVendor::Nvidia | GpuVendor::Amd),
            GpuApi::Vulkan | GpuApi::Cpu => true,
        };
        if !ok {
            let names = match v {
                GpuVendor::Apple => "metal or vulkan",
                GpuVendor::Nvidia => "cuda, vulkan or sycl",
                GpuVendor::Amd => "rocm, vulkan or sycl",
                GpuVendor::Intel => "sycl or vulkan",
                GpuVendor::Other => "vulkan",
            };
            anyhow::bail!(
                "--api {}: llama.cpp has no such build for {} (expected {names})",
                api.name(),
                g.name
            );
        }
    }
    Ok(())
}

/// The catalog entry for a name the OS reports: exact (`NVIDIA GeForce RTX 4090`, `Apple M2 Max`),
/// the part in parentheses (`AMD Radeon 8060S (Strix Halo)`), or the name with trailing words
/// dropped (`NVIDIA H100 80GB HBM3` → `NVIDIA H100`, `Tesla T4` → `T4`). Laptop variants are not
/// matched to desktop cards, whose memory is faster. The flag says whether the match was exact.
pub(super) fn catalog_match(name: &str) -> Option<(&'static llmrig_catalog::DeviceEntry, bool)> {
    let d = devices();
    if let Ok(e) = d.find(name) {
        return Some((e, true));
    }
    let (head, paren) = match name.split_once('(') {
        Some((h, p)) => (h.trim(), p.split(')').next()),
        None => (name, None),
    };
    if let Some(e) = paren.and_then(|p| d.find(p).ok()) {
        return Some((e, false));
    }
    let mut words: Vec<&str> = head
        .split([' ', '-', '_'])
        .filter(|w| !w.is_empty())
        .collect();
    if words
        .iter()
        .any(|w| ["laptop", "mobile", "max-q", "maxq"].contains(&w.to_ascii_lowercase().as_str()))
    {
        return None;
    }
    if words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("tesla"))
    {
        words.remove(0);
    }
    for n in (1..=words.len()).rev() {
        // One word alone must look like a model (`T4`), not a vendor.
        if n == 1 && !words[0].chars().any(|c| c.is_ascii_digit()) {
            break;
        }
        if let Ok(e) = d.find(&words[..n].join(" ")) {
            return Some((e, false));
        }
    }
    None
}

/// Fills a detected GPU's rates from the catalog: compute always, bandwidth unless detection
/// measured it (NVML's bus width × memory clock), memory only when the OS did not report it.
pub(super) fn complete_detected_gpu(
    g: &mut DeviceSpec,
    api: Option<GpuApi>,
    notes: &mut Vec<MachineNote>,
) {
    if let Some(a) = api {
        g.api = a;
    }
    match catalog_match(&g.name) {
        Some((e, exact)) => {
            let full = e.to_spec(None, None);
            g.fp16_flops = full.fp16_flops;
            g.fp16_acc16_flops = full.fp16_acc16_flops;
            g.fp32_flops = full.fp32_flops;
            g.int8_ops = full.int8_ops;
            // Detection cannot tell HBM from GDDR; the catalog can.
            g.memory_tech = full.memory_tech;
            if g.bandwidth_bytes_per_s == 0.0 {
                g.bandwidth_bytes_per_s = full.bandwidth_bytes_per_s;
            }
            if g.memory_bytes == 0 {
                g.memory_bytes = full.memory_bytes;
            }
            if !exact {
                notes.push(MachineNote::GpuRatesFrom {
                    gpu: g.name.clone(),
                    entry: e.name.clone(),
                    id: e.id.clone(),
                });
            }
        }
        None if g.kind == DeviceKind::Unified => {}
        None if g.bandwidth_bytes_per_s > 0.0 => notes.push(MachineNote::GpuBandwidthFromNvml {
            gpu: g.name.clone(),
            bytes_per_s: g.bandwidth_bytes_per_s,
        }),
        None => {
            notes.push(MachineNote::GpuNotInCatalog {
                gpu: g.name.clone(),
            });
            g.bandwidth_bytes_per_s = 500e9;
        }
    }
}

/// Detected GPUs that share system RAM (Apple silicon, AMD and Intel iGPUs): one found in the
/// catalog gives the RAM its bandwidth (unless measured or given); one not found reads at the RAM's
/// bandwidth. Metal may allocate only the working-set share of it.
pub(super) fn detected_unified(
    sys: &mut SystemSpec,
    cpu_bw_given: bool,
    notes: &mut Vec<MachineNote>,
) {
    let cpu_bw = sys.cpu.bandwidth_bytes_per_s;
    let mut ram_bw = None;
    for g in sys
        .gpus
        .iter_mut()
        .filter(|g| g.kind == DeviceKind::Unified)
    {
        if g.bandwidth_bytes_per_s == 0.0 {
            g.bandwidth_bytes_per_s = cpu_bw;
            notes.push(MachineNote::IntegratedAtRamBandwidth {
                gpu: g.name.clone(),
                bytes_per_s: cpu_bw,
            });
        } else if !cpu_bw_given {
            ram_bw.get_or_insert((g.bandwidth_bytes_per_s, g.name.clone()));
        }
        if g.api == GpuApi::Metal {
            let total = g.memory_bytes;
            g.memory_bytes = metal_working_set(total, sys.gpu_wired_limit_bytes);
            notes.push(MachineNote::WorkingSet {
                usable: g.memory_bytes,
                total,
                given: false,
                wired: sys.gpu_wired_limit_bytes.is_some(),
            });
        }
    }
    if let Some((bw, name)) = ram_bw {
        sys.cpu.bandwidth_bytes_per_s = bw;
        notes.retain(|n| !n.is_ram_bandwidth());
        notes.push(MachineNote::BandwidthUnified {
            bytes_per_s: bw,
            gpu: name,
        });
    }
}

/// The share of unified memory Metal lets one process allocate (`recommendedMaxWorkingSetSize`, which
/// llama.cpp prints at start-up and its `--fit` plans with): about two thirds up to 36 GiB, three
/// quarters above; or the wired limit set with `sudo sysctl iogpu.wired_limit_mb=N`, which
/// `recommendedMaxWorkingSetSize` then reports (measured on a 128 GiB M5 Max: 107.52 GiB by
/// default, 112.00 GiB with `iogpu.wired_limit_mb=114688`; antirez/ds4 PR #893), never more than
/// the RAM.
fn metal_working_set(total: u64, wired_limit: Option<u64>) -> u64 {
    match wired_limit {
        Some(w) => w.min(total),
        None if total <= 36 << 30 => total / 3 * 2,
        None => total / 4 * 3,
    }
}

/// A short RAM bandwidth probe (a quarter of a second of reading, well under a second with the
/// buffer's fill) for a host whose bandwidth nothing tells; stores the result in the user config
/// when it can. Returns GB/s.
fn quick_probe(sys: &mut SystemSpec, notes: &mut Vec<MachineNote>) -> Option<f64> {
    use llmrig_detect::{measure_ram_bandwidth, BandwidthOptions};
    let mut opts = BandwidthOptions::for_ram(sys.cpu.ram_bytes);
    // 256 MiB is still many times any desktop's last-level cache.
    opts.buffer_bytes = opts.buffer_bytes.min(256 << 20);
    opts.max_passes = 4;
    opts.time_budget = std::time::Duration::from_millis(250);
    let b = measure_ram_bandwidth(&opts, &mut |_, _| {});
    if b.best_bytes_per_s <= 0.0 || !b.best_bytes_per_s.is_finite() {
        return None;
    }
    let gbs = b.best_bytes_per_s / 1e9;
    sys.cpu.bandwidth_bytes_per_s = b.best_bytes_per_s;
    let config =
        llmrig_detect::config_path().filter(|p| llmrig_detect::store_ram_bandwidth(p, gbs).is_ok());
    notes.retain(|n| !n.is_ram_bandwidth());
    notes.push(MachineNote::BandwidthProbed {
        gbs,
        seconds: b.seconds,
        config,
    });
    Some(gbs)
}
