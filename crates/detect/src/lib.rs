//! llmrig-detect: this machine → [`SystemSpec`]. A first version: CPU name and cores and total RAM
//! from the OS (sysinfo), NVIDIA GPUs from `nvidia-smi` when it is installed; RAM bandwidth is not
//! measured yet and defaults to a dual-channel DDR5 desktop. `--system FILE.toml` replaces detection
//! with a written description, which makes runs reproducible.

use std::path::Path;
use std::process::Command;

use llmrig_core::system::{CpuSpec, DeviceKind, DeviceSpec, GpuApi, SystemSpec};

/// Dual-channel DDR5-5600, the common desktop today: 2 × 8 B × 5600 MT/s (shared/data/devices-reference.csv).
pub const DEFAULT_RAM_BANDWIDTH: f64 = 89.6e9;
/// Per-core SIMD rate assumed for prompt processing when the CPU is not in the catalog: AVX2, two
/// 8-wide f32 FMA units at ~3 GHz = 96 GFLOP/s.
pub const DEFAULT_FLOPS_PER_CORE: f64 = 96e9;

/// A detected machine with notes on what was assumed rather than measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    /// The machine.
    pub system: SystemSpec,
    /// What was assumed (shown to the user).
    pub notes: Vec<String>,
}

/// Reading a `--system` file failed.
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
}

/// Reads a [`SystemSpec`] from TOML (`[cpu]` and `[[gpus]]` tables with the field names of
/// `SystemSpec`, sizes in bytes and rates per second).
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

/// Detects this machine.
#[must_use]
pub fn detect() -> Detected {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    sys.refresh_cpu_all();
    let cores = u32::try_from(sys.physical_core_count().unwrap_or(1)).unwrap_or(1);
    let name = sys
        .cpus()
        .first()
        .map(|c| c.brand().trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "CPU".to_string());
    let mut notes = vec![format!(
        "RAM bandwidth not measured; assuming {:.1} GB/s (dual-channel DDR5-5600), pass --ram-bw to set it",
        DEFAULT_RAM_BANDWIDTH / 1e9
    )];
    let gpus = nvidia_gpus();
    if gpus.is_empty() {
        notes.push("no GPU found (only NVIDIA GPUs with nvidia-smi are detected so far); pass --gpu to describe one".into());
    }
    Detected {
        system: SystemSpec {
            gpus,
            cpu: CpuSpec {
                name,
                ram_bytes: sys.total_memory(),
                bandwidth_bytes_per_s: DEFAULT_RAM_BANDWIDTH,
                flops: f64::from(cores) * DEFAULT_FLOPS_PER_CORE,
                cores,
            },
        },
        notes,
    }
}

/// NVIDIA GPUs as `nvidia-smi` lists them (name, total memory in MiB). Bandwidth and compute come
/// from the device catalog in the CLI; here they are left at 0.
fn nvidia_gpus() -> Vec<DeviceSpec> {
    let Ok(out) = Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,memory.total",
            "--format=csv,noheader,nounits",
        ])
        .output()
    else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    parse_nvidia_smi(&String::from_utf8_lossy(&out.stdout))
}

fn parse_nvidia_smi(text: &str) -> Vec<DeviceSpec> {
    text.lines()
        .filter_map(|line| {
            let (name, mib) = line.rsplit_once(',')?;
            let mib: u64 = mib.trim().parse().ok()?;
            Some(DeviceSpec {
                name: name.trim().to_string(),
                kind: DeviceKind::Gpu,
                memory_bytes: mib.checked_mul(1 << 20)?,
                bandwidth_bytes_per_s: 0.0,
                fp16_flops: 0.0,
                int8_ops: 0.0,
                fp16_acc16_flops: 0.0,
                api: GpuApi::Cuda,
                memory_tech: llmrig_core::system::MemoryTech::Gddr,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvidia_smi_lines() {
        let g = parse_nvidia_smi(
            "NVIDIA GeForce RTX 4090, 24564\nNVIDIA H100 80GB HBM3, 81559\ngarbage\n",
        );
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].name, "NVIDIA GeForce RTX 4090");
        assert_eq!(g[0].memory_bytes, 24564 << 20);
    }

    #[test]
    fn detect_finds_ram_and_cores() {
        let d = detect();
        assert!(d.system.cpu.ram_bytes > 0);
        assert!(d.system.cpu.cores >= 1);
    }

    #[test]
    fn system_file_round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("llmrig-detect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("sys.toml");
        std::fs::write(
            &p,
            "[cpu]\nname = \"x\"\nram_bytes = 68719476736\nbandwidth_bytes_per_s = 8.96e10\nflops = 1e12\ncores = 8\n\n[[gpus]]\nname = \"g\"\nkind = \"gpu\"\nmemory_bytes = 25769803776\nbandwidth_bytes_per_s = 1.008e12\nfp16_flops = 1.65e14\nint8_ops = 6.6e14\napi = \"cuda\"\n",
        )
        .unwrap();
        let s = read_system_file(&p).unwrap();
        assert_eq!(s.gpus.len(), 1);
        std::fs::write(&p, "[cpu]\nname = 3\n").unwrap();
        assert!(matches!(
            read_system_file(&p),
            Err(SystemFileError::Parse { .. })
        ));
        assert!(matches!(
            read_system_file(&dir.join("missing.toml")),
            Err(SystemFileError::Read { .. })
        ));
    }
}
