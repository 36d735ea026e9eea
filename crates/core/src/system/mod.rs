//! `SystemSpec`: the machine an estimate is for — GPUs, CPU and system RAM, with the numbers that
//! decide fit and speed (memory size, bandwidth, compute rate, GPU API) — and the OS, which decides
//! how much of the RAM a model may take (`os`).

mod amd;
mod nvidia;
mod os;

use serde::{Deserialize, Serialize};

mod calibration;
pub use amd::{amd_arch_of, AmdArch};
pub use calibration::{BackendParams, Calibration, CpuKernels};
pub use nvidia::{nvidia_arch_of, NvidiaArch};

pub use os::{ram_budget, Os, RamBasis, RamBudget, UNKNOWN_OS_RESERVE_BYTES};

/// Where a device's memory lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A discrete GPU with its own memory.
    Gpu,
    /// The CPU and system RAM.
    Cpu,
    /// A GPU sharing system memory (Apple silicon, Strix Halo, DGX Spark).
    Unified,
}

/// The GPU API llama.cpp was built with; decides the runtime overhead and buffer padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuApi {
    Cuda,
    Rocm,
    Vulkan,
    Metal,
    Sycl,
    Cpu,
}

impl GpuApi {
    /// Memory the backend takes on each GPU before llama.cpp allocates anything (driver context,
    /// library workspaces), in bytes. llama.cpp never logs it; Ollama budgets 457 MiB for CUDA/ROCm
    /// and 512 MiB for Metal (`MinimumMemory`: Ollama's `cudaMinimumMemory`/`rocmMinimumMemory` in
    /// `gpu/gpu.go`, later `discover/`, and `metalMinimumMemory` in `discover/gpu_darwin.go`).
    #[must_use]
    pub fn runtime_overhead_bytes(self) -> u64 {
        const MIB: u64 = 1 << 20;
        match self {
            GpuApi::Cuda | GpuApi::Rocm | GpuApi::Vulkan | GpuApi::Sycl => 457 * MIB,
            GpuApi::Metal => 512 * MIB,
            GpuApi::Cpu => 0,
        }
    }

    /// The name users type (`cuda`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            GpuApi::Cuda => "cuda",
            GpuApi::Rocm => "rocm",
            GpuApi::Vulkan => "vulkan",
            GpuApi::Metal => "metal",
            GpuApi::Sycl => "sycl",
            GpuApi::Cpu => "cpu",
        }
    }
}

/// The memory technology of a device; llama.cpp's kernels reach different shares of its peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryTech {
    /// GDDR on consumer and workstation GPUs.
    #[default]
    Gddr,
    /// HBM on datacenter GPUs.
    Hbm,
    /// LPDDR shared by CPU and GPU (Apple silicon, Strix Halo, DGX Spark).
    Lpddr,
    /// DDR system memory.
    Ddr,
}

/// Who made a GPU: decides kernel families that the API alone does not (Intel's Vulkan and SYCL
/// paths have their own efficiencies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuVendor {
    /// NVIDIA.
    Nvidia,
    /// AMD.
    Amd,
    /// Intel (Arc, Iris Xe, Data Center GPU).
    Intel,
    /// Apple silicon.
    Apple,
    /// Anyone else (Qualcomm, Arm Mali, …).
    Other,
}

/// One GPU (or unified-memory accelerator) as the estimator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSpec {
    /// Display name (`NVIDIA GeForce RTX 4090`).
    pub name: String,
    /// Discrete or unified memory.
    pub kind: DeviceKind,
    /// Memory llama.cpp may use, in bytes (total, or free when the user says so).
    pub memory_bytes: u64,
    /// Peak memory bandwidth, bytes/s.
    pub bandwidth_bytes_per_s: f64,
    /// Dense FP16 tensor rate with FP32 accumulate, FLOP/s (0 when unknown).
    pub fp16_flops: f64,
    /// Dense INT8 tensor rate, OP/s (0 when unknown); llama.cpp's MMQ prefill runs on it.
    pub int8_ops: f64,
    /// Dense FP16 rate with FP16 accumulate, FLOP/s, which llama.cpp's cuBLAS path for F16 weights
    /// uses; twice `fp16_flops` on GeForce cards, equal elsewhere (0: same as `fp16_flops`).
    #[serde(default)]
    pub fp16_acc16_flops: f64,
    /// FP32 vector (non-tensor) rate, FLOP/s (0 when unknown): bounds the decode kernels that
    /// unpack quantized weights one token at a time.
    #[serde(default)]
    pub fp32_flops: f64,
    /// The API llama.cpp uses for it.
    pub api: GpuApi,
    /// Memory technology (GDDR when unknown).
    #[serde(default)]
    pub memory_tech: MemoryTech,
    /// Free memory when the machine was detected, bytes (None when not detected or not reported).
    #[serde(default)]
    pub memory_free_bytes: Option<u64>,
    /// PCIe generation of the link (the most the GPU and slot support), when reported.
    #[serde(default)]
    pub pcie_gen: Option<u32>,
    /// PCIe lanes of the link (the most the GPU and slot support), when reported.
    #[serde(default)]
    pub pcie_width: Option<u32>,
    /// GPU cores (Apple GPU cores, NVIDIA CUDA cores), when reported.
    #[serde(default)]
    pub cores: Option<u32>,
    /// PCI vendor and device id (`10de:2684`), when detected on a PCI bus.
    #[serde(default)]
    pub pci_id: Option<String>,
    /// The maker, when known (the device catalog and detection say; a machine file may).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<GpuVendor>,
}

impl Default for DeviceSpec {
    /// An unnamed discrete Vulkan GPU with no memory and unknown rates; a base for `..Default::default()`.
    fn default() -> Self {
        DeviceSpec {
            name: String::new(),
            kind: DeviceKind::Gpu,
            memory_bytes: 0,
            bandwidth_bytes_per_s: 0.0,
            fp16_flops: 0.0,
            int8_ops: 0.0,
            fp16_acc16_flops: 0.0,
            fp32_flops: 0.0,
            api: GpuApi::Vulkan,
            memory_tech: MemoryTech::Gddr,
            memory_free_bytes: None,
            pcie_gen: None,
            pcie_width: None,
            cores: None,
            pci_id: None,
            vendor: None,
        }
    }
}

impl DeviceSpec {
    /// Whether this is an NVIDIA Hopper GPU (H100, H200, H800, H20, GH200), told by a whole word
    /// of its name: the catalog's names and the driver's (`NVIDIA H100 80GB HBM3`) both carry it.
    #[must_use]
    pub fn is_hopper(&self) -> bool {
        self.name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| matches!(w, "H100" | "H200" | "H800" | "H20" | "GH200"))
    }

    /// The AMD architecture, told from the name or a `gfxNNNN` target in it ([`amd_arch_of`]);
    /// `None` for other makers and names it cannot place.
    #[must_use]
    pub fn amd_arch(&self) -> Option<AmdArch> {
        if self.vendor.is_some_and(|v| v != GpuVendor::Amd) {
            return None;
        }
        amd_arch_of(&self.name)
    }

    /// The NVIDIA architecture, told from the name ([`nvidia_arch_of`]); `None` for other makers
    /// and names it cannot place.
    #[must_use]
    pub fn nvidia_arch(&self) -> Option<NvidiaArch> {
        if self.vendor.is_some_and(|v| v != GpuVendor::Nvidia) {
            return None;
        }
        nvidia_arch_of(&self.name)
    }

    /// The INT8 rate llama.cpp's quantized matrix kernels (MMQ) can issue, OP/s (0 when unknown).
    /// They use the warp-level `mma.sync` instructions; Hopper's listed peak needs the
    /// warpgroup-level `wgmma`, and `mma.sync` reaches about half of it there (Luo et al.,
    /// "Dissecting the NVIDIA Hopper Architecture through Microbenchmarking", arXiv 2501.12084,
    /// 2025: the full rate only through wgmma). The published rows agree: llama.cpp prompt speed
    /// of the same Q4_K_M models is 1.3× higher on an H100 PCIe than on an A100 PCIe
    /// (XiongjieDai/GPU-Benchmarks-on-LLM-Inference), the ratio of SMs × clock (114 × 1.755 GHz
    /// against 108 × 1.41 GHz), not the 2.4× of the listed peaks. cuBLAS, which runs F16
    /// weights, uses wgmma and keeps the full rate.
    #[must_use]
    pub fn mmq_int8_ops(&self) -> f64 {
        if self.api == GpuApi::Cuda && self.is_hopper() {
            self.int8_ops / 2.0
        } else {
            self.int8_ops
        }
    }
}

/// SIMD features llama.cpp's CPU kernels use, by their /proc/cpuinfo names (x86 `flags`, ARM
/// `Features`): the names [`CpuSpec::simd`] holds, whether detection read them or a catalog CPU
/// lists them, so that a CPU reads the same either way. `neon` is the 32-bit ARM name; 64-bit ARM
/// calls it `asimd`.
pub const SIMD_FLAGS: &[&str] = &[
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "neon",
    "asimd",
    "asimddp",
    "asimdhp",
    "i8mm",
    "bf16",
    "sve",
    "sve2",
    "sme",
];

/// The host: CPU and system RAM.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CpuSpec {
    /// Display name.
    pub name: String,
    /// Physical system RAM, bytes (a model may take what [`SystemSpec::ram_budget`] leaves of it).
    pub ram_bytes: u64,
    /// Peak RAM bandwidth, bytes/s.
    pub bandwidth_bytes_per_s: f64,
    /// Usable SIMD compute rate for prompt processing, FLOP/s.
    pub flops: f64,
    /// Physical cores.
    pub cores: u32,
    /// Logical CPUs this process may run on (what `nproc` prints), when detected.
    #[serde(default)]
    pub threads: Option<u32>,
    /// SIMD features that matter to llama.cpp's CPU kernels, as Linux names them in /proc/cpuinfo
    /// (`avx2`, `avx512f`, `avx512_bf16`, `avx_vnni`, `amx_tile`; `asimd`, `asimddp`, `i8mm`, `sve`, `sve2`).
    #[serde(default)]
    pub simd: Vec<String>,
    /// RAM available to new programs when detected (MemAvailable on Linux), bytes; estimates fit
    /// against it ([`SystemSpec::ram_budget`]).
    #[serde(default)]
    pub ram_available_bytes: Option<u64>,
    /// Memory type (`DDR5`, `LPDDR5`), when the OS tells it without root.
    #[serde(default)]
    pub memory_type: Option<String>,
    /// Configured memory speed, MT/s, when the OS tells it without root.
    #[serde(default)]
    pub memory_speed_mts: Option<u32>,
    /// Populated memory channels, when the OS tells them without root.
    #[serde(default)]
    pub memory_channels: Option<u32>,
}

/// A whole machine.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SystemSpec {
    /// The operating system, when known (detected, a machine file or `--os`); a Metal GPU
    /// implies macOS ([`SystemSpec::os_or_implied`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
    /// RAM kept for the OS and other programs, bytes, when given (`--os-reserve`, a machine
    /// file): the model may take the rest, even where the RAM available was detected. `None`:
    /// the RAM available when detected, else the OS's default ([`Os::reserve_bytes`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_reserve_bytes: Option<u64>,
    /// macOS: the GPU's wired-memory limit, bytes, when set with `sudo sysctl
    /// iogpu.wired_limit_mb=N` (N > 0) or `--wired-limit`: Metal's working set follows it
    /// instead of its default share of the RAM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_wired_limit_bytes: Option<u64>,
    /// GPUs in llama.cpp's device order (empty for CPU-only; may be left out of a system file).
    #[serde(default)]
    pub gpus: Vec<DeviceSpec>,
    /// The host.
    pub cpu: CpuSpec,
    /// This machine's own speed efficiencies, fitted by `llmrig calibrate` to its llama-bench
    /// results; they replace the shipped constants of their device classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

impl SystemSpec {
    /// Whether any GPU shares memory with the CPU (then GPU and RAM use draw on one pool).
    #[must_use]
    pub fn is_unified(&self) -> bool {
        self.gpus.iter().any(|g| g.kind == DeviceKind::Unified)
    }

    /// The OS, as given or detected, else the one a Metal GPU implies (Metal exists only on
    /// Apple's systems).
    #[must_use]
    pub fn os_or_implied(&self) -> Option<Os> {
        self.os.or_else(|| {
            self.gpus
                .iter()
                .any(|g| g.api == GpuApi::Metal)
                .then_some(Os::Macos)
        })
    }

    /// What the machine leaves of its RAM for a model ([`ram_budget`]): the total less
    /// `os_reserve_bytes` when given; else the RAM available when detected; else the total less
    /// the OS's reserve.
    #[must_use]
    pub fn ram_budget(&self) -> RamBudget {
        ram_budget(
            self.cpu.ram_bytes,
            self.cpu.ram_available_bytes,
            self.os_reserve_bytes,
            self.os_or_implied(),
        )
    }
}
