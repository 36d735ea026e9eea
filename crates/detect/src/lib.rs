//! llmrig-detect: this machine → [`SystemSpec`].
//!
//! A [`Probe`] reports the machine: [`HostProbe`] asks the OS (one `imp` module per OS: Linux reads
//! /proc and sysfs, macOS runs sysctl and system_profiler, Windows and others use sysinfo; NVIDIA
//! GPUs come from NVML loaded at run time, else nvidia-smi), and [`FileProbe`] reads a system
//! description (`--system FILE.toml`), which makes runs reproducible and describes machines the
//! user does not have. Detection reports names and memory; compute rates and GPU bandwidth come
//! from the device catalog, which the CLI matches by name (this crate does not depend on it).
//!
//! Every parser takes text or the root of a file tree, so tests run against captured outputs in
//! `tests/fixtures` on any OS. The RAM bandwidth probe ([`measure_ram_bandwidth`]) and the user
//! configuration that stores its result ([`config_path`]) live here too.
//!
//! ```
//! let m = llmrig_detect::parse_meminfo("MemTotal: 16384 kB\nMemAvailable: 8192 kB\n");
//! assert_eq!(m.total_bytes, Some(16 << 20));
//! ```

mod amd;
mod apple;
mod bandwidth;
mod config;
mod cpu;
mod drm;
mod intel;
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod linux;
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod macos;
mod memory;
mod note;
mod nvidia;
#[cfg_attr(any(target_os = "linux", target_os = "macos"), allow(dead_code))]
mod windows;

#[cfg(target_os = "linux")]
use linux as imp;
#[cfg(target_os = "macos")]
use macos as imp;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
use windows as imp;

use std::path::{Path, PathBuf};

use llmrig_core::system::{CpuSpec, DeviceKind, DeviceSpec, Os, SystemSpec};

pub use apple::{
    parse_ioreg_gpu_cores, parse_sysctl, parse_system_profiler, parse_vm_stat, AppleOutputs,
    Profiler, ProfilerGpu, SYSCTL_KEYS,
};
pub use bandwidth::{measure_ram_bandwidth, Bandwidth, BandwidthOptions};
pub use config::{
    config_dir, config_path, load_config, store_calibration, store_ram_bandwidth, ConfigError,
    UserConfig,
};
pub use cpu::{
    allowed_cpus_from_status, count_cpu_list, parse_cpuinfo, parse_meminfo, CpuInfo, MemInfo,
    SIMD_FLAGS,
};
pub use drm::{read_drm_gpus, DrmGpus, HostMemory};
pub use memory::{parse_smbios, read_edac, read_memory_modules, MemoryModules};
pub use note::Note;
pub use nvidia::{nvml_bandwidth, parse_nvidia_smi, NVIDIA_SMI_QUERY};

/// Dual-channel DDR5-5600, the common desktop today: 2 × 8 B × 5600 MT/s (JEDEC arithmetic, as in
/// the `cpu-desktop-ddr5-5600-dual-channel` entry of crates/catalog/data/devices.toml).
pub const DEFAULT_RAM_BANDWIDTH: f64 = 89.6e9;
/// Per-core SIMD rate assumed for prompt processing when the CPU is not in the catalog: AVX2, two
/// 8-wide f32 FMA units at ~3 GHz = 96 GFLOP/s.
pub const DEFAULT_FLOPS_PER_CORE: f64 = 96e9;

/// A detected machine with notes on what was assumed rather than measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    /// The machine.
    pub system: SystemSpec,
    /// What was assumed or left out (shown to the user).
    pub notes: Vec<Note>,
}

/// Reports the machine an estimate is for.
pub trait Probe {
    /// The machine, with notes on what was assumed.
    ///
    /// # Errors
    /// [`SystemFileError`] when the machine comes from a file that cannot be read.
    fn detect(&self) -> Result<Detected, SystemFileError>;
}

/// The machine this runs on, as the OS reports it.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostProbe;

impl Probe for HostProbe {
    fn detect(&self) -> Result<Detected, SystemFileError> {
        Ok(finish(imp::facts()))
    }
}

/// The fake probe: a machine described in a TOML file (`llmrig hw --save` writes one).
#[derive(Debug, Clone)]
pub struct FileProbe {
    path: PathBuf,
}

impl FileProbe {
    /// A probe reading `path`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileProbe { path: path.into() }
    }
}

impl Probe for FileProbe {
    fn detect(&self) -> Result<Detected, SystemFileError> {
        Ok(Detected {
            system: read_system_file(&self.path)?,
            notes: Vec::new(),
        })
    }
}

/// Detects this machine (never fails: what cannot be read is assumed and noted).
#[must_use]
pub fn detect() -> Detected {
    finish(imp::facts())
}

/// The Linux machine whose `proc/` and `sys/` lie under `root`, with NVIDIA GPUs from the text of
/// `nvidia-smi --query-gpu=`[`NVIDIA_SMI_QUERY`] when given. Used by tests on fixture trees.
#[must_use]
pub fn detect_linux_root(root: &Path, nvidia_smi: Option<&str>) -> Detected {
    let nvidia = nvidia_smi.map(parse_nvidia_smi).unwrap_or_default();
    finish(linux::facts_from_root(root, nvidia, None))
}

/// A Mac from the outputs of the commands macOS detection runs. Used by tests on fixtures.
#[must_use]
pub fn detect_apple(outputs: &AppleOutputs) -> Detected {
    finish(apple::facts(outputs))
}

/// What an OS module found, before defaults are applied.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    pub cpu_name: Option<String>,
    pub cores: Option<u32>,
    pub threads: Option<u32>,
    pub simd: Vec<String>,
    pub ram_total: Option<u64>,
    pub ram_available: Option<u64>,
    pub memory: MemoryModules,
    pub gpus: Vec<DeviceSpec>,
    pub notes: Vec<Note>,
    /// The OS the facts come from.
    pub os: Option<Os>,
    /// macOS: `iogpu.wired_limit_mb` when set (non-zero), bytes.
    pub gpu_wired_limit: Option<u64>,
}

/// `24.0 GiB`, for notes.
pub(crate) fn gib(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let g = bytes as f64 / 1_073_741_824.0;
    format!("{g:.1} GiB")
}

/// Facts → machine: defaults for what is unknown, and llama.cpp's choice of GPUs.
fn finish(f: Facts) -> Detected {
    let mut notes = f.notes;
    let cores = f.cores.or(f.threads).unwrap_or(1).max(1);
    // Prompt processing runs on the cores this process may use.
    let usable = f.threads.map_or(cores, |t| t.min(cores)).max(1);
    let bandwidth = if let Some(peak) = f.memory.peak_bytes_per_s() {
        notes.push(Note::BandwidthFromFirmware {
            bytes_per_s: peak,
            channels: f.memory.channels.unwrap_or(0),
            memory_type: f.memory.memory_type.as_deref().unwrap_or("RAM").to_string(),
            speed_mts: f.memory.speed_mts.unwrap_or(0),
        });
        peak
    } else {
        notes.push(Note::BandwidthAssumed);
        DEFAULT_RAM_BANDWIDTH
    };
    let ram_bytes = f.ram_total.unwrap_or(0);
    if ram_bytes == 0 {
        notes.push(Note::RamSizeUnknown);
    }
    let mut gpus = f.gpus;
    // llama.cpp leaves integrated GPUs alone when there is a discrete one: CUDA and ROCm builds do
    // not see them, and the Vulkan backend skips them by default (ggml-vulkan device selection).
    if gpus.iter().any(|g| g.kind == DeviceKind::Gpu) {
        for g in gpus.iter().filter(|g| g.kind == DeviceKind::Unified) {
            notes.push(Note::IntegratedGpuLeftOut {
                gpu: g.name.clone(),
            });
        }
        gpus.retain(|g| g.kind == DeviceKind::Gpu);
    }
    if gpus.is_empty() {
        notes.push(Note::NoGpu);
    }
    Detected {
        system: SystemSpec {
            gpus,
            cpu: CpuSpec {
                name: f.cpu_name.unwrap_or_else(|| "CPU".into()),
                ram_bytes,
                bandwidth_bytes_per_s: bandwidth,
                flops: f64::from(usable) * DEFAULT_FLOPS_PER_CORE,
                cores,
                threads: f.threads,
                simd: f.simd,
                ram_available_bytes: f.ram_available,
                memory_type: f.memory.memory_type,
                memory_speed_mts: f.memory.speed_mts,
                memory_channels: f.memory.channels,
            },
            os: f.os,
            os_reserve_bytes: None,
            gpu_wired_limit_bytes: f.gpu_wired_limit,
            calibration: None,
        },
        notes,
    }
}

/// Reading or writing a `--system` file failed.
#[derive(Debug, thiserror::Error)]
pub enum SystemFileError {
    /// The file could not be read.
    #[error("cannot read system file `{path}`")]
    Read {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid system description.
    #[error("system file `{path}` is not a valid system description: {message}")]
    Parse {
        /// The path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The file could not be written.
    #[error("cannot write system file `{path}`")]
    Write {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The machine cannot be written as TOML (a size beyond TOML's 64-bit signed integers).
    #[error("cannot write the machine as TOML: {message}")]
    Serialize {
        /// What went wrong.
        message: String,
    },
}

/// Reads a [`SystemSpec`] from TOML (`[cpu]` and `[[gpus]]` tables with the field names of
/// `SystemSpec`, sizes in bytes and rates per second; fields added since a file was written take
/// their defaults).
///
/// # Errors
/// [`SystemFileError`] naming the file.
pub fn read_system_file(path: &Path) -> Result<SystemSpec, SystemFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| SystemFileError::Read {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| SystemFileError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// A [`SystemSpec`] as the TOML [`read_system_file`] reads, with a comment saying what it is.
///
/// # Errors
/// [`SystemFileError::Serialize`] when a number does not fit TOML.
pub fn system_to_toml(system: &SystemSpec) -> Result<String, SystemFileError> {
    let body = toml::to_string(system).map_err(|e| SystemFileError::Serialize {
        message: e.to_string(),
    })?;
    Ok(format!(
        "# A machine for llmrig, written by `llmrig hw --save`; use it with `--system FILE`.\n\
         # Sizes are bytes, bandwidths bytes/s, compute rates FLOP/s or OP/s.\n\n{body}"
    ))
}

/// Writes `system` to `path` as [`system_to_toml`] does.
///
/// # Errors
/// [`SystemFileError`] naming the file.
pub fn write_system_file(path: &Path, system: &SystemSpec) -> Result<(), SystemFileError> {
    let text = system_to_toml(system)?;
    std::fs::write(path, text).map_err(|source| SystemFileError::Write {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_finds_ram_and_cores() {
        let d = detect();
        assert!(d.system.cpu.ram_bytes > 0);
        assert!(d.system.cpu.cores >= 1);
        assert!(d.system.cpu.threads.unwrap_or(1) >= 1);
    }

    #[test]
    fn system_file_round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("llmrig-detect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("sys.toml");
        // A file written before the detected fields existed still reads.
        std::fs::write(
            &p,
            "[cpu]\nname = \"x\"\nram_bytes = 68719476736\nbandwidth_bytes_per_s = 8.96e10\nflops = 1e12\ncores = 8\n\n[[gpus]]\nname = \"g\"\nkind = \"gpu\"\nmemory_bytes = 25769803776\nbandwidth_bytes_per_s = 1.008e12\nfp16_flops = 1.65e14\nint8_ops = 6.6e14\napi = \"cuda\"\n",
        )
        .unwrap();
        let s = FileProbe::new(&p).detect().unwrap().system;
        assert_eq!(s.gpus.len(), 1);
        assert_eq!(s.cpu.threads, None);
        let q = dir.join("again.toml");
        write_system_file(&q, &s).unwrap();
        assert_eq!(read_system_file(&q).unwrap(), s);
        std::fs::write(&p, "[cpu]\nname = 3\n").unwrap();
        assert!(matches!(
            read_system_file(&p),
            Err(SystemFileError::Parse { .. })
        ));
        assert!(matches!(
            read_system_file(&dir.join("missing.toml")),
            Err(SystemFileError::Read { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn integrated_gpus_give_way_to_discrete_ones() {
        let igpu = DeviceSpec {
            name: "igpu".into(),
            kind: DeviceKind::Unified,
            ..DeviceSpec::default()
        };
        let dgpu = DeviceSpec {
            name: "dgpu".into(),
            ..DeviceSpec::default()
        };
        let d = finish(Facts {
            gpus: vec![igpu.clone(), dgpu],
            ..Facts::default()
        });
        assert_eq!(d.system.gpus.len(), 1);
        assert_eq!(d.system.gpus[0].name, "dgpu");
        let d = finish(Facts {
            gpus: vec![igpu],
            threads: Some(4),
            cores: Some(8),
            ..Facts::default()
        });
        assert_eq!(d.system.gpus.len(), 1);
        assert_eq!(d.system.cpu.flops, 4.0 * DEFAULT_FLOPS_PER_CORE);
    }
}
