//! `llmrig hw --json`: the machine as llmrig sees it, and the [`MachineJson`] that `recommend` and
//! bare `llmrig` embed. Keys are in alphabetical order, as the first contract printed them.
//!
//! ```text
//! machine         cpu: {bandwidth_bytes_per_s, cores, flops, memory_channels, memory_speed_mts,
//!                 memory_type, name, ram_available_bytes, ram_bytes, ram_usable_bytes, simd,
//!                 threads},
//!                 gpu_wired_limit_bytes,
//!                 gpus: [{api, bandwidth_bytes_per_s, cores, fp16_acc16_flops, fp16_flops, fp32_flops,
//!                 int8_ops, kind, memory_bytes, memory_free_bytes, memory_tech, name, pci_id,
//!                 pcie_gen, pcie_width}],
//!                 os, os_reserve_bytes
//! measurement     only with --measure: buffer_bytes, config_file, gpu, passes, peak_bytes_per_s,
//!                 peak_source, ram_read_bytes_per_s, ram_read_mean_bytes_per_s, seconds, threads
//! notes           [text], what the description assumed or left out
//! saved_to        only with --save: the system file written
//! schema_version  1
//! ```

use serde::{Deserialize, Serialize};

use llmrig_core::system::{DeviceSpec, GpuVendor, MemoryTech, SystemSpec};

use crate::estimate::device_kind_name;

/// `hw --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HwJson {
    /// The machine.
    pub machine: MachineJson,
    /// What `--measure` found; absent without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<MeasurementJson>,
    /// What the machine's description assumed or left out, as text.
    pub notes: Vec<String>,
    /// The system file `--save` wrote; absent without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_to: Option<String>,
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
}

/// A machine: its GPUs and its CPU with system RAM, and the OS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineJson {
    /// This machine's speed efficiencies from `llmrig calibrate` (its llama-bench run's date,
    /// results file, rows, errors before and after, and per device class the fitted
    /// efficiencies), when it has them; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<llmrig_core::estimate::Calibration>,
    /// The host.
    pub cpu: CpuJson,
    /// macOS: the GPU's wired-memory limit (`iogpu.wired_limit_mb`, `--wired-limit`), bytes, when
    /// set.
    #[serde(default)]
    pub gpu_wired_limit_bytes: Option<u64>,
    /// GPUs in llama.cpp's device order (empty for CPU-only).
    pub gpus: Vec<GpuJson>,
    /// `linux`, `linux-server`, `macos` or `windows`, when known (given, detected, or macOS for a
    /// Metal GPU).
    #[serde(default)]
    pub os: Option<String>,
    /// RAM kept for the OS and other programs when given (`--os-reserve`), bytes.
    #[serde(default)]
    pub os_reserve_bytes: Option<u64>,
}

/// The host: CPU and system RAM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuJson {
    /// Peak RAM bandwidth, bytes/s.
    pub bandwidth_bytes_per_s: f64,
    /// Physical cores.
    pub cores: u32,
    /// Usable SIMD compute rate for prompt processing, FLOP/s.
    pub flops: f64,
    /// Populated memory channels, when the OS tells them without root.
    pub memory_channels: Option<u32>,
    /// Configured memory speed, MT/s, when the OS tells it without root.
    pub memory_speed_mts: Option<u32>,
    /// Memory type (`DDR5`, `LPDDR5`), when the OS tells it without root.
    pub memory_type: Option<String>,
    /// Display name.
    pub name: String,
    /// RAM available to new programs when detected, bytes.
    pub ram_available_bytes: Option<u64>,
    /// Physical system RAM, bytes.
    pub ram_bytes: u64,
    /// What estimates leave of it for the model, bytes: the RAM available when detected, else the
    /// total less the OS's reserve (or `--os-reserve`).
    #[serde(default)]
    pub ram_usable_bytes: u64,
    /// SIMD features that matter to llama.cpp's CPU kernels, as Linux names them (`avx2`, `sve`).
    pub simd: Vec<String>,
    /// Logical CPUs this process may run on, when detected.
    pub threads: Option<u32>,
}

/// One GPU (or unified-memory accelerator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuJson {
    /// The API llama.cpp uses for it: `cuda`, `rocm`, `vulkan`, `metal`, `sycl` or `cpu`.
    pub api: String,
    /// Peak memory bandwidth, bytes/s.
    pub bandwidth_bytes_per_s: f64,
    /// GPU cores (Apple GPU cores, NVIDIA CUDA cores), when reported.
    pub cores: Option<u32>,
    /// Dense FP16 rate with FP16 accumulate, FLOP/s (0: same as `fp16_flops`).
    pub fp16_acc16_flops: f64,
    /// Dense FP16 tensor rate with FP32 accumulate, FLOP/s (0 when unknown).
    pub fp16_flops: f64,
    /// FP32 vector rate, FLOP/s (0 when unknown).
    pub fp32_flops: f64,
    /// Dense INT8 tensor rate, OP/s (0 when unknown).
    pub int8_ops: f64,
    /// `gpu` (own memory) or `unified` (shares system memory).
    pub kind: String,
    /// Memory llama.cpp may use, bytes.
    pub memory_bytes: u64,
    /// Free memory when the machine was detected, bytes.
    pub memory_free_bytes: Option<u64>,
    /// `gddr`, `hbm`, `lpddr` or `ddr`.
    pub memory_tech: String,
    /// Display name (`NVIDIA GeForce RTX 4090`).
    pub name: String,
    /// PCI vendor and device id (`10de:2684`), when detected on a PCI bus.
    pub pci_id: Option<String>,
    /// PCIe generation of the link, when reported.
    pub pcie_gen: Option<u32>,
    /// PCIe lanes of the link, when reported.
    pub pcie_width: Option<u32>,
    /// Who made it (`nvidia`, `amd`, `intel`, `apple`, `other`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
}

/// What `llmrig hw --measure` found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementJson {
    /// Buffer read, bytes.
    pub buffer_bytes: u64,
    /// The config file the result was stored in (null when no config folder is known).
    pub config_file: Option<String>,
    /// Why GPU memory is not measured.
    pub gpu: String,
    /// Passes over the buffer.
    pub passes: u32,
    /// The peak it is compared with, bytes/s.
    pub peak_bytes_per_s: f64,
    /// Where the peak comes from: `assumed`, `detected` or `given` (a flag or system file).
    pub peak_source: String,
    /// Sustained read bandwidth, best pass, bytes/s.
    pub ram_read_bytes_per_s: f64,
    /// Mean over passes, bytes/s.
    pub ram_read_mean_bytes_per_s: f64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Reader threads.
    pub threads: u64,
}

impl HwJson {
    /// The wire form of machine `sys` with its `notes` (as text).
    #[must_use]
    pub fn new(sys: &SystemSpec, notes: Vec<String>) -> HwJson {
        HwJson {
            machine: MachineJson::from(sys),
            measurement: None,
            notes,
            saved_to: None,
            schema_version: crate::SCHEMA_VERSION,
        }
    }
}

impl From<&SystemSpec> for MachineJson {
    fn from(s: &SystemSpec) -> MachineJson {
        MachineJson {
            calibration: s.calibration.clone(),
            cpu: CpuJson::from(s),
            gpu_wired_limit_bytes: s.gpu_wired_limit_bytes,
            gpus: s.gpus.iter().map(GpuJson::from).collect(),
            os: s.os_or_implied().map(|o| o.name().to_string()),
            os_reserve_bytes: s.os_reserve_bytes,
        }
    }
}

impl From<&SystemSpec> for CpuJson {
    /// The machine's host, with the RAM its budget leaves for the model.
    fn from(s: &SystemSpec) -> CpuJson {
        let c = &s.cpu;
        CpuJson {
            bandwidth_bytes_per_s: c.bandwidth_bytes_per_s,
            cores: c.cores,
            flops: c.flops,
            memory_channels: c.memory_channels,
            memory_speed_mts: c.memory_speed_mts,
            memory_type: c.memory_type.clone(),
            name: c.name.clone(),
            ram_available_bytes: c.ram_available_bytes,
            ram_bytes: c.ram_bytes,
            ram_usable_bytes: s.ram_budget().usable_bytes,
            simd: c.simd.clone(),
            threads: c.threads,
        }
    }
}

impl From<&DeviceSpec> for GpuJson {
    fn from(g: &DeviceSpec) -> GpuJson {
        GpuJson {
            api: g.api.name().to_string(),
            bandwidth_bytes_per_s: g.bandwidth_bytes_per_s,
            cores: g.cores,
            fp16_acc16_flops: g.fp16_acc16_flops,
            fp16_flops: g.fp16_flops,
            fp32_flops: g.fp32_flops,
            int8_ops: g.int8_ops,
            kind: device_kind_name(g.kind).to_string(),
            memory_bytes: g.memory_bytes,
            memory_free_bytes: g.memory_free_bytes,
            memory_tech: memory_tech_name(g.memory_tech).to_string(),
            name: g.name.clone(),
            pci_id: g.pci_id.clone(),
            pcie_gen: g.pcie_gen,
            pcie_width: g.pcie_width,
            vendor: g.vendor.map(|v| vendor_name(v).to_string()),
        }
    }
}

/// The contract's name of a GPU vendor.
#[must_use]
pub fn vendor_name(v: GpuVendor) -> &'static str {
    match v {
        GpuVendor::Nvidia => "nvidia",
        GpuVendor::Amd => "amd",
        GpuVendor::Intel => "intel",
        GpuVendor::Apple => "apple",
        GpuVendor::Other => "other",
    }
}

/// The contract's name of a memory technology.
#[must_use]
pub fn memory_tech_name(m: MemoryTech) -> &'static str {
    match m {
        MemoryTech::Gddr => "gddr",
        MemoryTech::Hbm => "hbm",
        MemoryTech::Lpddr => "lpddr",
        MemoryTech::Ddr => "ddr",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmrig_core::system::{CpuSpec, DeviceKind, GpuApi, Os};

    /// Each name is the one the core's `Serialize` derive printed before the contract had its own
    /// structs.
    #[test]
    fn names_are_the_first_contracts() {
        let serde_name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
        for m in [
            MemoryTech::Gddr,
            MemoryTech::Hbm,
            MemoryTech::Lpddr,
            MemoryTech::Ddr,
        ] {
            assert_eq!(memory_tech_name(m), serde_name(serde_json::json!(m)));
        }
        for k in [DeviceKind::Gpu, DeviceKind::Cpu, DeviceKind::Unified] {
            assert_eq!(device_kind_name(k), serde_name(serde_json::json!(k)));
        }
        for a in [
            GpuApi::Cuda,
            GpuApi::Rocm,
            GpuApi::Vulkan,
            GpuApi::Metal,
            GpuApi::Sycl,
            GpuApi::Cpu,
        ] {
            assert_eq!(a.name(), serde_name(serde_json::json!(a)));
        }
    }

    /// The machine maps every field of the core's, with the same keys and values as the core's
    /// own serialization, plus the RAM left for the model.
    #[test]
    fn machine_matches_the_cores_serialization() {
        let sys = SystemSpec {
            gpus: vec![DeviceSpec {
                name: "GPU".into(),
                memory_bytes: 1 << 30,
                bandwidth_bytes_per_s: 1e11,
                memory_free_bytes: Some(1 << 29),
                pcie_gen: Some(4),
                pcie_width: Some(16),
                cores: Some(128),
                pci_id: Some("10de:2684".into()),
                vendor: Some(GpuVendor::Nvidia),
                ..DeviceSpec::default()
            }],
            cpu: CpuSpec {
                name: "CPU".into(),
                ram_bytes: 1 << 34,
                bandwidth_bytes_per_s: 5e10,
                flops: 1e11,
                cores: 8,
                threads: Some(16),
                simd: vec!["avx2".into()],
                ram_available_bytes: Some(1 << 33),
                memory_type: Some("DDR5".into()),
                memory_speed_mts: Some(5600),
                memory_channels: Some(2),
            },
            os: Some(Os::Linux),
            os_reserve_bytes: Some(1 << 30),
            gpu_wired_limit_bytes: Some(1 << 31),
            calibration: Some(llmrig_core::estimate::Calibration {
                date: "2026-12-02".into(),
                source: "bench.json".into(),
                rows: 4,
                error_before: 0.2,
                error_after: 0.03,
                backends: [(
                    "cuda-gddr".to_string(),
                    llmrig_core::estimate::SpeedParams::default().backends[0],
                )]
                .into(),
                class_factor: None,
                lpddr_bw: None,
                cpu: None,
            }),
        };
        let mut ours = serde_json::to_value(MachineJson::from(&sys)).unwrap();
        let usable = ours["cpu"]
            .as_object_mut()
            .and_then(|c| c.remove("ram_usable_bytes"));
        assert_eq!(usable, Some(serde_json::json!(15u64 << 30)));
        assert_eq!(Some(ours), serde_json::to_value(&sys).ok());
    }
}
