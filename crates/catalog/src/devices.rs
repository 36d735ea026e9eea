//! The device catalog: GPUs, unified-memory chips and RAM configurations with vendor specs.

use std::collections::HashMap;
use std::sync::OnceLock;

use llmrig_core::system::{CpuSpec, DeviceKind, DeviceSpec, GpuApi, GpuVendor, MemoryTech};
use serde::Deserialize;

/// Lower-cases and unifies separators (device names contain `/`, so no org prefix is dropped).
fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace(['_', ' '], "-")
}

/// Vendor and series words people leave out or run together (`rtx4090`, `7900xtx`, `m4max`).
const SERIES_PREFIXES: &[&str] = &[
    "nvidiageforce",
    "nvidia",
    "geforce",
    "amdradeonpro",
    "amdradeon",
    "amd",
    "radeon",
    "rtx",
    "gtx",
    "rx",
    "intelarc",
    "intel",
    "arc",
    "apple",
];

/// A name without separators, with `mobile`/`notebook` read as `laptop`, and the forms with a
/// leading vendor or series word taken off: the keys of the loose index.
fn compact_keys(name: &str) -> Vec<String> {
    let c = normalize(name)
        .replace(['-', '.', '(', ')'], "")
        .replace("mobile", "laptop")
        .replace("notebook", "laptop");
    let mut out = vec![c.clone()];
    let mut rest = c.as_str();
    // Strip repeatedly: `nvidiageforcertx4090` → `rtx4090` → `4090`.
    for _ in 0..3 {
        match SERIES_PREFIXES.iter().find_map(|p| rest.strip_prefix(p)) {
            Some(r) if !r.is_empty() => {
                out.push(r.to_string());
                rest = r;
            }
            _ => break,
        }
    }
    out
}

const DEVICES_TOML: &str = include_str!("../data/devices.toml");

/// What a catalog entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A discrete GPU or accelerator with its own memory.
    Gpu,
    /// A GPU that shares system memory (Apple silicon, Strix Halo, iGPUs, DGX Spark).
    Unified,
    /// A CPU model.
    Cpu,
    /// A system-memory configuration (type, speed, channels).
    Memory,
}

/// One device as the catalog describes it (vendor units: GiB for GPU memory, GB/s, TFLOP/s).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceEntry {
    /// Short id (`rtx-4090`).
    pub id: String,
    /// Full name.
    pub name: String,
    /// NVIDIA, AMD, Apple, Intel, generic.
    pub vendor: String,
    /// gpu, unified, cpu or memory.
    pub kind: EntryKind,
    /// Other names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Memory as vendors state it, which for GPU and unified memory means GiB ("24 GB" on an RTX 4090
    /// is 24576 MiB; nvidia-smi shows 24564 MiB of it); the largest configuration for unified chips.
    #[serde(default)]
    pub memory_gb: Option<f64>,
    /// Unified chips: every memory size sold, GiB.
    #[serde(default)]
    pub memory_options_gb: Vec<f64>,
    /// Peak memory bandwidth, GB/s.
    pub bandwidth_gbs: f64,
    /// Dense FP16/BF16 tensor rate with FP32 accumulate, TFLOP/s.
    #[serde(default)]
    pub fp16_tflops: Option<f64>,
    /// FP32 (non-tensor) rate, TFLOP/s.
    #[serde(default)]
    pub fp32_tflops: Option<f64>,
    /// Dense INT8 rate, TOP/s.
    #[serde(default)]
    pub int8_tops: Option<f64>,
    /// Dense FP8 rate, TFLOP/s.
    #[serde(default)]
    pub fp8_tflops: Option<f64>,
    /// Dense FP4 rate, TFLOP/s.
    #[serde(default)]
    pub fp4_tflops: Option<f64>,
    /// Links (PCIe, NVLink, Infinity Fabric, Thunderbolt).
    #[serde(default)]
    pub interconnect: Option<String>,
    /// Memory technology: `hbm` for HBM parts; GDDR for other GPUs, LPDDR for unified chips by default.
    #[serde(default)]
    pub memory_tech: Option<MemoryTech>,
    /// Board power, W.
    #[serde(default)]
    pub tdp_w: Option<f64>,
    /// The backend llama.cpp normally uses on it.
    #[serde(default)]
    pub api: Option<GpuApi>,
    /// GPU cores (Apple) or SMs/CUs.
    #[serde(default)]
    pub gpu_cores: Option<u32>,
    /// Unified memory: share the GPU may allocate by default.
    #[serde(default)]
    pub gpu_working_set: Option<f64>,
    /// CPU: physical cores.
    #[serde(default)]
    pub cores: Option<u32>,
    /// CPU: hardware threads.
    #[serde(default)]
    pub threads: Option<u32>,
    /// CPU: SIMD extensions (avx2, avx512, amx, neon, sve…).
    #[serde(default)]
    pub simd: Vec<String>,
    /// CPU: fastest supported memory; memory: the configuration (`DDR5-5600`).
    #[serde(default)]
    pub memory_type: Option<String>,
    /// CPU and memory: channels.
    #[serde(default)]
    pub memory_channels: Option<u32>,
    /// Where the numbers come from.
    pub source: String,
}

impl DeviceEntry {
    /// The API llama.cpp normally uses on this device.
    #[must_use]
    pub fn usual_api(&self) -> GpuApi {
        if let Some(api) = self.api {
            return api;
        }
        match (self.kind, self.vendor.as_str()) {
            (EntryKind::Cpu | EntryKind::Memory, _) => GpuApi::Cpu,
            (_, "Apple") => GpuApi::Metal,
            (_, "NVIDIA") => GpuApi::Cuda,
            (_, "AMD") => GpuApi::Rocm,
            (_, "Intel") => GpuApi::Sycl,
            _ => GpuApi::Vulkan,
        }
    }

    /// Catalog memory in bytes (GiB, see `memory_gb`).
    #[must_use]
    pub fn memory_bytes(&self) -> Option<u64> {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.memory_gb.map(|g| (g * 1_073_741_824.0) as u64)
    }

    /// The dense FP16 rate in TFLOP/s: the catalog value, else derived from what the vendor does
    /// publish, by the fixed ratios of the hardware: FP8 = 2× and FP4 = 4× FP16 on tensor cores
    /// (Hopper/Blackwell/CDNA3 datasheets), INT8 = 2× FP16, FP32 for GPUs without packed FP16
    /// rates; an Apple GPU without a published rate is taken at 128 FP32 lanes × 2 FLOP per core at
    /// 1.4 GHz (the M3 generation's clock), four times that from the M5 on, whose GPU cores carry
    /// Neural Accelerators (Apple newsroom, October 2025: "over 4x the peak GPU compute for AI
    /// compared to M4"), which llama.cpp's Metal matrix kernels use through the Metal 4 tensor API
    /// (llama.cpp PR #16634; the #4167 rows of an M5 Pro prompt 3.4× faster than an M4 Pro's at
    /// the same core count). `None` when nothing is known. The second value says whether the rate
    /// was derived.
    #[must_use]
    pub fn fp16_rate(&self) -> Option<(f64, bool)> {
        if let Some(r) = self.fp16_tflops {
            return Some((r, false));
        }
        let derived = self
            .fp8_tflops
            .map(|r| r / 2.0)
            .or(self.fp4_tflops.map(|r| r / 4.0))
            .or(self.int8_tops.map(|r| r / 2.0))
            .or(self.fp32_tflops)
            .or_else(|| {
                (self.vendor == "Apple")
                    .then_some(self.gpu_cores)
                    .flatten()
                    .map(|c| {
                        f64::from(c) * 128.0 * 2.0 * 1.4e9 / 1e12
                            * if self.apple_neural_accelerators() {
                                4.0
                            } else {
                                1.0
                            }
                    })
            });
        derived.map(|r| (r, true))
    }

    /// Whether this is an Apple GPU with Neural Accelerators in its cores (M5 and later).
    fn apple_neural_accelerators(&self) -> bool {
        self.vendor == "Apple"
            && self
                .name
                .strip_prefix("Apple M")
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|g| g.parse::<u32>().ok())
                .is_some_and(|g| g >= 5)
    }

    /// Whether this is a GPU (discrete or unified) rather than a CPU or memory configuration.
    #[must_use]
    pub fn is_gpu(&self) -> bool {
        matches!(self.kind, EntryKind::Gpu | EntryKind::Unified)
    }

    /// A [`DeviceSpec`] with the catalog memory, or `memory_bytes` when given.
    #[must_use]
    pub fn to_spec(&self, memory_bytes: Option<u64>, api: Option<GpuApi>) -> DeviceSpec {
        let catalog_bytes = self.memory_bytes().unwrap_or(0);
        DeviceSpec {
            name: self.name.clone(),
            kind: if self.kind == EntryKind::Unified {
                DeviceKind::Unified
            } else {
                DeviceKind::Gpu
            },
            memory_bytes: memory_bytes.unwrap_or(catalog_bytes),
            bandwidth_bytes_per_s: self.bandwidth_gbs * 1e9,
            fp16_flops: self.fp16_rate().map_or(0.0, |r| r.0) * 1e12,
            int8_ops: self
                .int8_tops
                .or(self.fp16_rate().map(|r| r.0))
                .unwrap_or(0.0)
                * 1e12,
            // GeForce tensor cores run FP16 with FP32 accumulate at half the FP16-accumulate rate
            // (Ampere/Ada/Blackwell GeForce whitepapers); professional and datacenter parts do not.
            fp16_acc16_flops: self.fp16_rate().map_or(0.0, |r| r.0)
                * if self.vendor == "NVIDIA" && self.name.contains("GeForce") {
                    2.0
                } else {
                    1.0
                }
                * 1e12,
            fp32_flops: self.fp32_tflops.unwrap_or(0.0) * 1e12,
            api: api.unwrap_or_else(|| self.usual_api()),
            vendor: Some(gpu_vendor(&self.vendor)),
            memory_tech: self.memory_tech.unwrap_or(match self.kind {
                EntryKind::Unified => MemoryTech::Lpddr,
                EntryKind::Cpu | EntryKind::Memory => MemoryTech::Ddr,
                EntryKind::Gpu => MemoryTech::Gddr,
            }),
            ..DeviceSpec::default()
        }
    }
}

#[derive(Deserialize)]
struct File {
    device: Vec<DeviceEntry>,
}

/// All catalog devices with an index of their names.
#[derive(Debug)]
pub struct DeviceCatalog {
    entries: Vec<DeviceEntry>,
    index: HashMap<String, usize>,
    /// [`compact_keys`] of every name: `None` where two devices share one (then it names neither).
    loose: HashMap<String, Option<usize>>,
}

/// A device name that matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device `{input}`: expected a catalog id such as rtx-4090, h100 or m2-max (see `llmrig devices`){}", llmrig_core::did_you_mean(.closest))]
pub struct DeviceError {
    /// What the user typed.
    pub input: String,
    /// The closest known names.
    pub closest: Vec<String>,
}

impl DeviceCatalog {
    pub(crate) fn parse(text: &str) -> Result<DeviceCatalog, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut index = HashMap::new();
        let mut loose = HashMap::new();
        for (i, e) in file.device.iter().enumerate() {
            if !e.bandwidth_gbs.is_finite() || e.bandwidth_gbs <= 0.0 {
                return Err(format!("{}: bandwidth must be positive", e.id));
            }
            let mut names = vec![e.id.clone(), e.name.clone()];
            names.extend(e.aliases.iter().cloned());
            for n in names {
                if index.insert(normalize(&n), i).is_some_and(|j| j != i) {
                    return Err(format!("device name `{n}` is used twice"));
                }
                for k in compact_keys(&n) {
                    loose
                        .entry(k)
                        .and_modify(|v: &mut Option<usize>| {
                            if *v != Some(i) {
                                *v = None;
                            }
                        })
                        .or_insert(Some(i));
                }
            }
        }
        Ok(DeviceCatalog {
            entries: file.device,
            index,
            loose,
        })
    }

    /// Every device.
    #[must_use]
    pub fn all(&self) -> &[DeviceEntry] {
        &self.entries
    }

    /// Looks a device up by id, name or alias, as people write them: case and separators do not
    /// matter, a leading vendor word is optional (`NVIDIA GeForce RTX 4090`), a trailing memory size
    /// is optional (`RTX 4090 24GB`), and Apple GPU variants may be written `M2 Ultra (76-core GPU)`,
    /// `M2 Ultra 76-Core GPU` or `m2-ultra-76c`.
    ///
    /// # Errors
    /// [`DeviceError`] with the closest names.
    pub fn find(&self, name: &str) -> Result<&DeviceEntry, DeviceError> {
        let key = normalize(&name.replace(['(', ')'], " "));
        let key = key
            .split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let mut tries = vec![key.clone()];
        // Apple: "76-core-gpu" → "76c".
        if let Some(pos) = key.find("-core-gpu") {
            let head = &key[..pos];
            if let Some((pre, n)) = head.rsplit_once('-') {
                tries.push(format!("{pre}-{n}c{}", &key[pos + "-core-gpu".len()..]));
            }
        }
        let mut more = Vec::new();
        for t in &tries {
            for prefix in [
                "nvidia-geforce-",
                "nvidia-",
                "geforce-",
                "amd-radeon-pro-",
                "amd-radeon-",
                "radeon-",
                "amd-instinct-",
                "amd-",
                "apple-",
                "intel-arc-",
                "intel-",
            ] {
                if let Some(k) = t.strip_prefix(prefix) {
                    more.push(k.to_string());
                }
            }
        }
        tries.extend(more);
        // A trailing memory size ("-24gb", "-192gb") when the name without it is known.
        let mut sized = Vec::new();
        for t in &tries {
            if let Some((head, last)) = t.rsplit_once('-') {
                if last.ends_with("gb")
                    && last[..last.len() - 2].chars().all(|c| c.is_ascii_digit())
                {
                    sized.push(head.to_string());
                }
            }
        }
        tries.extend(sized);
        for t in &tries {
            if let Some(&i) = self.index.get(t) {
                return Ok(&self.entries[i]);
            }
        }
        // Loosely: without separators or the series word, when that names one device only.
        for t in &tries {
            for k in compact_keys(t) {
                if let Some(&Some(i)) = self.loose.get(&k) {
                    return Ok(&self.entries[i]);
                }
            }
        }
        Err(DeviceError {
            input: name.to_string(),
            closest: llmrig_core::closest(&key, self.entries.iter().map(|e| e.id.as_str()), 3),
        })
    }
}

/// The embedded device catalog, parsed on first use.
///
/// # Panics
/// If the embedded data is invalid, which the catalog tests rule out.
pub fn devices() -> &'static DeviceCatalog {
    static CATALOG: OnceLock<DeviceCatalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        DeviceCatalog::parse(DEVICES_TOML).unwrap_or_else(|e| panic!("embedded devices.toml: {e}"))
    })
}

/// Prompt-processing f32 rate of one core by its SIMD, FLOP/s: x86 with AVX2 (or AVX-512, which
/// Zen 4 and client cores run as two 256-bit halves) has two 8-wide f32 FMA pipes, at ~3 GHz 96
/// GFLOP/s (the detection default, `llmrig_detect::DEFAULT_FLOPS_PER_CORE`); an Arm core with
/// NEON has two 128-bit FMA pipes (Cortex-A76 and later Cortex-A cores), at ~2.4 GHz 38.4 GFLOP/s.
/// Clocks differ by part: a rough rate, which the int8 dot-product factor of the speed model
/// scales for quantized weights.
#[must_use]
pub fn flops_per_core(simd: &[String]) -> f64 {
    let arm = simd
        .iter()
        .any(|s| s.eq_ignore_ascii_case("neon") || s.eq_ignore_ascii_case("asimd"));
    if arm {
        2.0 * 4.0 * 2.0 * 2.4e9
    } else {
        2.0 * 8.0 * 2.0 * 3.0e9
    }
}

impl DeviceEntry {
    /// Puts this catalog CPU or RAM configuration into `cpu`: the RAM bandwidth and name always;
    /// for a CPU also its cores, threads, SIMD and prompt rate (`--cpu epyc-9654` is a whole CPU,
    /// not only a bandwidth), and the memory it takes.
    pub fn apply_to_cpu(&self, cpu: &mut CpuSpec) {
        cpu.bandwidth_bytes_per_s = self.bandwidth_gbs * 1e9;
        cpu.name = self.name.clone();
        if self.memory_type.is_some() {
            cpu.memory_type.clone_from(&self.memory_type);
        }
        if self.memory_channels.is_some() {
            cpu.memory_channels = self.memory_channels;
        }
        if self.kind == EntryKind::Cpu {
            if let Some(cores) = self.cores {
                cpu.cores = cores;
                cpu.threads = self.threads.or(Some(cores));
                cpu.simd.clone_from(&self.simd);
                cpu.flops = f64::from(cores) * flops_per_core(&self.simd);
            }
        }
    }
}

/// The maker of a catalog entry, from its `vendor` field.
fn gpu_vendor(vendor: &str) -> GpuVendor {
    match vendor {
        "NVIDIA" => GpuVendor::Nvidia,
        "AMD" => GpuVendor::Amd,
        "Intel" => GpuVendor::Intel,
        "Apple" => GpuVendor::Apple,
        _ => GpuVendor::Other,
    }
}

/// The maker of a GPU known only by the name a driver or a machine file gives it (`NVIDIA GeForce
/// RTX 4090`, `Intel(R) Arc(TM) A770 Graphics`, `AMD Radeon RX 7900 XTX`, `Apple M2 Max`); `None`
/// when the name does not say. The catalog owns this knowledge so that the estimator never reads
/// names.
#[must_use]
pub fn vendor_from_name(name: &str) -> Option<GpuVendor> {
    let n = name.to_ascii_lowercase();
    let has = |w: &str| n.contains(w);
    if has("intel") || n.starts_with("arc ") || has(" arc ") {
        Some(GpuVendor::Intel)
    } else if has("nvidia") || has("geforce") || has("quadro") || has("tesla") {
        Some(GpuVendor::Nvidia)
    } else if has("amd") || has("radeon") || has("instinct") {
        Some(GpuVendor::Amd)
    } else if n.starts_with("apple") {
        Some(GpuVendor::Apple)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_people_type_them() {
        let c = devices();
        for (typed, id) in [
            ("rtx4090", "rtx-4090"),
            ("RTX4090", "rtx-4090"),
            ("GeForce RTX4090", "rtx-4090"),
            ("7900xtx", "rx-7900-xtx"),
            ("rx7900xtx", "rx-7900-xtx"),
            ("3090ti", "rtx-3090-ti"),
            ("m4max", "m4-max"),
        ] {
            assert_eq!(c.find(typed).map(|e| e.id.as_str()), Ok(id), "{typed}");
        }
        // A loose key two devices share names neither.
        assert!(c.find("xyz").is_err());
    }

    #[test]
    fn embedded_devices_parse_with_sources_and_unique_names() {
        let c = DeviceCatalog::parse(DEVICES_TOML).unwrap();
        assert!(c.all().len() >= 120, "{} devices", c.all().len());
        let mut ids: Vec<&str> = c.all().iter().map(|e| e.id.as_str()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate ids");
        for e in c.all() {
            assert!(!e.source.trim().is_empty(), "{} has no source", e.id);
            // Every name and alias finds this very entry.
            for name in std::iter::once(&e.id)
                .chain(std::iter::once(&e.name))
                .chain(&e.aliases)
            {
                assert_eq!(
                    c.find(name).map(|f| f.id.as_str()),
                    Ok(e.id.as_str()),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn apple_m5_matrix_rate_counts_its_neural_accelerators() {
        let c = DeviceCatalog::parse(DEVICES_TOML).unwrap();
        let rate = |id: &str| {
            let e = c.find(id).unwrap();
            e.fp16_rate().unwrap().0 / f64::from(e.gpu_cores.unwrap())
        };
        // Per GPU core, the M5's is four times the M4's.
        assert!((rate("m5") / rate("m4-max-40c") - 4.0).abs() < 1e-9);
    }

    #[test]
    fn rates_are_plausible() {
        for e in devices().all() {
            assert!(
                e.bandwidth_gbs > 0.0 && e.bandwidth_gbs < 10_000.0,
                "{}: bandwidth",
                e.id
            );
            if e.is_gpu() {
                assert!(e.memory_gb.unwrap_or(0.0) > 0.0, "{} has no memory", e.id);
            }
            if let (Some(t), Some(f)) = (e.fp16_tflops, e.fp32_tflops) {
                // The FP16 tensor (or packed FP16) rate is at least the FP32 rate.
                assert!(t >= 0.99 * f, "{}: fp16 {t} < fp32 {f}", e.id);
            }
            if let (Some(i), Some(t)) = (e.int8_tops, e.fp16_tflops) {
                assert!(i >= 0.5 * t, "{}: int8 {i} vs fp16 {t}", e.id);
            }
            if e.kind == EntryKind::Memory {
                // Peak bandwidth of a memory configuration is channels × 8 bytes × transfers/s.
                let mts: f64 = e
                    .memory_type
                    .as_deref()
                    .and_then(|t| t.rsplit('-').next())
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0.0);
                let ch = f64::from(e.memory_channels.unwrap_or(0));
                if mts > 0.0
                    && ch > 0.0
                    && !e.memory_type.as_deref().unwrap_or("").starts_with("LPDDR")
                {
                    let peak = ch * 8.0 * mts / 1000.0;
                    assert!(
                        (e.bandwidth_gbs - peak).abs() / peak < 0.02,
                        "{}: {} vs {peak}",
                        e.id,
                        e.bandwidth_gbs
                    );
                }
            }
        }
    }

    /// Every NVIDIA GPU in the catalog places its architecture, which picks its prompt kernels
    /// (`llmrig_core::system::nvidia_arch_of`).
    #[test]
    fn nvidia_gpus_place_their_architecture() {
        for e in devices().all() {
            if e.vendor.eq_ignore_ascii_case("nvidia") && e.is_gpu() {
                assert!(
                    llmrig_core::system::nvidia_arch_of(&e.name).is_some(),
                    "{}: {}",
                    e.id,
                    e.name
                );
            }
        }
    }

    #[test]
    fn names_as_people_write_them() {
        let c = devices();
        for name in [
            "rtx-4090",
            "RTX 4090",
            "NVIDIA GeForce RTX 4090 24GB",
            "4090",
            "nvidia-geforce-rtx-4090",
        ] {
            assert_eq!(
                c.find(name).map(|e| e.id.as_str()),
                Ok("rtx-4090"),
                "{name}"
            );
        }
        let ultra = c.find("Apple M2 Ultra (76-core GPU)").unwrap();
        assert_eq!(c.find("m2-ultra-76c").unwrap().id, ultra.id);
        assert_eq!(
            c.find("Apple M2 Ultra 76-Core GPU 192GB").unwrap().id,
            ultra.id
        );
        assert_eq!(c.find("h100").unwrap().id, "h100-sxm-80gb");
        assert_eq!(c.find("m2-max").unwrap().kind, EntryKind::Unified);
        assert!(c
            .find("rtx-4091")
            .unwrap_err()
            .closest
            .contains(&"rtx-4090".to_string()));
    }
}
