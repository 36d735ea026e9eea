//! Apple machines from the text of `sysctl` (`machdep.cpu.brand_string`, `hw.memsize`,
//! `hw.physicalcpu`, `hw.logicalcpu`, `hw.perflevel0.physicalcpu`, `hw.optional.*`),
//! `system_profiler SPDisplaysDataType SPMemoryDataType -json` (GPU cores, memory type), `ioreg -rc
//! AGXAccelerator -d1` (`gpu-core-count`, when system_profiler gives none) and `vm_stat` (free
//! pages); `iogpu.wired_limit_mb` (the GPU's wired-memory limit when raised or lowered with
//! `sudo sysctl`, 0 for macOS's default). The parsers take text, so they run on any OS; only `macos.rs` runs the commands.

use std::collections::BTreeMap;

use llmrig_core::system::{DeviceKind, DeviceSpec, GpuApi, GpuVendor, Os};

use crate::Facts;

/// The sysctl names read on macOS.
pub const SYSCTL_KEYS: &[&str] = &[
    "machdep.cpu.brand_string",
    "hw.memsize",
    "iogpu.wired_limit_mb",
    "hw.physicalcpu",
    "hw.logicalcpu",
    "hw.perflevel0.physicalcpu",
    "hw.perflevel1.physicalcpu",
    "hw.optional.arm64",
    "hw.optional.neon",
    "hw.optional.arm.FEAT_DotProd",
    "hw.optional.arm.FEAT_I8MM",
    "hw.optional.arm.FEAT_BF16",
    "hw.optional.arm.FEAT_FP16",
    "hw.optional.arm.FEAT_SME",
    "hw.optional.avx1_0",
    "hw.optional.avx2_0",
    "hw.optional.fma",
    "hw.optional.avx512f",
];

/// `name: value` lines of `sysctl NAME…` output.
#[must_use]
pub fn parse_sysctl(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// sysctl feature flags → /proc/cpuinfo names, in [`crate::cpu::SIMD_FLAGS`] order.
fn sysctl_simd(s: &BTreeMap<String, String>) -> Vec<String> {
    const MAP: &[(&str, &str)] = &[
        ("hw.optional.avx1_0", "avx"),
        ("hw.optional.avx2_0", "avx2"),
        ("hw.optional.fma", "fma"),
        ("hw.optional.avx512f", "avx512f"),
        ("hw.optional.neon", "asimd"),
        ("hw.optional.arm.FEAT_DotProd", "asimddp"),
        ("hw.optional.arm.FEAT_FP16", "asimdhp"),
        ("hw.optional.arm.FEAT_I8MM", "i8mm"),
        ("hw.optional.arm.FEAT_BF16", "bf16"),
        ("hw.optional.arm.FEAT_SME", "sme"),
    ];
    let on: Vec<&str> = MAP
        .iter()
        .filter(|(k, _)| s.get(*k).is_some_and(|v| v == "1"))
        .map(|(_, n)| *n)
        .collect();
    crate::cpu::SIMD_FLAGS
        .iter()
        .filter(|f| on.contains(f))
        .map(|f| (*f).to_string())
        .collect()
}

/// A display adapter as system_profiler lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfilerGpu {
    /// `Apple M2 Max`, `AMD Radeon Pro 5500M`.
    pub model: String,
    /// GPU cores (`sppci_cores`).
    pub cores: Option<u32>,
    /// Dedicated memory (`spdisplays_vram`, `8 GB`), bytes; None for Apple silicon and Intel iGPUs.
    pub vram_bytes: Option<u64>,
}

/// What `system_profiler SPDisplaysDataType SPMemoryDataType -json` says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profiler {
    /// Display adapters.
    pub gpus: Vec<ProfilerGpu>,
    /// `LPDDR5` (`dimm_type`).
    pub memory_type: Option<String>,
}

/// `8 GB` / `1536 MB` → bytes (macOS means GiB/MiB here).
fn profiler_size(s: &str) -> Option<u64> {
    let (n, unit) = s.trim().split_once(' ')?;
    let n: u64 = n.parse().ok()?;
    n.checked_mul(match unit {
        "GB" => 1 << 30,
        "MB" => 1 << 20,
        _ => return None,
    })
}

/// Parses system_profiler's JSON; None when it is not JSON.
#[must_use]
pub fn parse_system_profiler(json: &str) -> Option<Profiler> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let mut p = Profiler::default();
    for d in v["SPDisplaysDataType"].as_array().into_iter().flatten() {
        let Some(model) = d["sppci_model"].as_str().or(d["_name"].as_str()) else {
            continue;
        };
        p.gpus.push(ProfilerGpu {
            model: model.to_string(),
            cores: d["sppci_cores"]
                .as_str()
                .and_then(|c| c.parse().ok())
                .or_else(|| {
                    d["sppci_cores"]
                        .as_u64()
                        .and_then(|c| u32::try_from(c).ok())
                }),
            vram_bytes: d["spdisplays_vram"]
                .as_str()
                .or(d["_spdisplays_vram"].as_str())
                .and_then(profiler_size),
        });
    }
    p.memory_type = v["SPMemoryDataType"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|m| m["dimm_type"].as_str())
        .map(str::to_string);
    Some(p)
}

/// `"gpu-core-count" = 38` in `ioreg -rc AGXAccelerator -d1` output.
#[must_use]
pub fn parse_ioreg_gpu_cores(text: &str) -> Option<u32> {
    let at = text.find("\"gpu-core-count\"")?;
    let rest = text[at + "\"gpu-core-count\"".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Memory macOS can hand out without swapping, from `vm_stat`: free, inactive and speculative pages
/// times the page size in its first line.
#[must_use]
pub fn parse_vm_stat(text: &str) -> Option<u64> {
    let page: u64 = text
        .split_once("page size of ")?
        .1
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let pages = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches('.').parse().ok())
            .unwrap_or(0)
    };
    let n = pages("Pages free:") + pages("Pages inactive:") + pages("Pages speculative:");
    n.checked_mul(page)
}

/// The raw outputs of the commands macOS detection runs (each may be missing).
#[derive(Debug, Clone, Default)]
pub struct AppleOutputs {
    /// `sysctl` with [`SYSCTL_KEYS`].
    pub sysctl: String,
    /// `system_profiler SPDisplaysDataType SPMemoryDataType -json`.
    pub system_profiler: Option<String>,
    /// `ioreg -rc AGXAccelerator -d1`.
    pub ioreg: Option<String>,
    /// `vm_stat`.
    pub vm_stat: Option<String>,
}

/// A Mac's facts from the command outputs.
pub(crate) fn facts(out: &AppleOutputs) -> Facts {
    let s = parse_sysctl(&out.sysctl);
    let num = |k: &str| s.get(k).and_then(|v| v.parse::<u64>().ok());
    let u32_of = |k: &str| num(k).and_then(|v| u32::try_from(v).ok());
    let brand = s
        .get("machdep.cpu.brand_string")
        .cloned()
        .filter(|b| !b.is_empty());
    let ram = num("hw.memsize");
    let available = out.vm_stat.as_deref().and_then(parse_vm_stat);
    let profiler = out
        .system_profiler
        .as_deref()
        .and_then(parse_system_profiler)
        .unwrap_or_default();
    let mut notes = Vec::new();
    if let (Some(p), Some(e)) = (
        u32_of("hw.perflevel0.physicalcpu"),
        u32_of("hw.perflevel1.physicalcpu"),
    ) {
        notes.push(crate::Note::HybridCores {
            performance: p,
            efficiency: e,
        });
    }
    let apple_silicon = s.get("hw.optional.arm64").is_some_and(|v| v == "1")
        || brand.as_deref().is_some_and(|b| b.starts_with("Apple"));
    let ioreg_cores = out.ioreg.as_deref().and_then(parse_ioreg_gpu_cores);
    let mut gpus = Vec::new();
    for g in &profiler.gpus {
        if g.model.starts_with("Apple") {
            continue;
        }
        gpus.push(match g.vram_bytes {
            Some(vram) => DeviceSpec {
                name: g.model.clone(),
                kind: DeviceKind::Gpu,
                memory_bytes: vram,
                api: GpuApi::Metal,
                cores: g.cores,
                vendor: Some(GpuVendor::Apple),
                ..DeviceSpec::default()
            },
            None => DeviceSpec {
                name: g.model.clone(),
                kind: DeviceKind::Unified,
                memory_bytes: ram.unwrap_or(0),
                memory_free_bytes: available,
                api: GpuApi::Metal,
                cores: g.cores,
                vendor: Some(GpuVendor::Apple),
                ..DeviceSpec::default()
            },
        });
    }
    if apple_silicon {
        let gpu = profiler.gpus.iter().find(|g| g.model.starts_with("Apple"));
        gpus.insert(
            0,
            DeviceSpec {
                name: gpu
                    .map(|g| g.model.clone())
                    .or_else(|| brand.clone())
                    .unwrap_or_else(|| "Apple silicon".into()),
                kind: DeviceKind::Unified,
                memory_bytes: ram.unwrap_or(0),
                memory_free_bytes: available,
                api: GpuApi::Metal,
                cores: gpu.and_then(|g| g.cores).or(ioreg_cores),
                vendor: Some(GpuVendor::Apple),
                ..DeviceSpec::default()
            },
        );
    }
    Facts {
        cpu_name: brand,
        cores: u32_of("hw.physicalcpu"),
        threads: u32_of("hw.logicalcpu"),
        simd: sysctl_simd(&s),
        ram_total: ram,
        ram_available: available,
        memory: crate::memory::MemoryModules {
            memory_type: profiler.memory_type,
            ..Default::default()
        },
        gpus,
        notes,
        os: Some(Os::Macos),
        // 0 means macOS's default share (recommendedMaxWorkingSetSize); a value set with `sudo
        // sysctl iogpu.wired_limit_mb=N` is what Metal then reports as the working set.
        gpu_wired_limit: num("iogpu.wired_limit_mb")
            .filter(|&mb| mb > 0)
            .map(|mb| mb << 20),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_lines() {
        let s = parse_sysctl("hw.memsize: 34359738368\nmachdep.cpu.brand_string: Apple M1\n");
        assert_eq!(s["hw.memsize"], "34359738368");
        assert_eq!(s["machdep.cpu.brand_string"], "Apple M1");
    }

    #[test]
    fn ioreg_and_vm_stat() {
        assert_eq!(
            parse_ioreg_gpu_cores("  |   \"gpu-core-count\" = 10\n"),
            Some(10)
        );
        assert_eq!(parse_ioreg_gpu_cores("nothing"), None);
        let v = "Mach Virtual Memory Statistics: (page size of 16384 bytes)\nPages free:  2.\nPages inactive: 1.\nPages speculative: 1.\n";
        assert_eq!(parse_vm_stat(v), Some(4 * 16384));
        assert_eq!(parse_vm_stat("garbage"), None);
    }

    #[test]
    fn intel_mac_with_a_radeon() {
        let f = facts(&AppleOutputs {
            sysctl: "machdep.cpu.brand_string: Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz\nhw.memsize: 17179869184\nhw.optional.avx2_0: 1\nhw.optional.avx512f: 0\n".into(),
            system_profiler: Some(r#"{"SPDisplaysDataType":[{"sppci_model":"Intel UHD Graphics 630","spdisplays_vram_shared":"1536 MB"},{"sppci_model":"AMD Radeon Pro 5500M","spdisplays_vram":"8 GB"}]}"#.into()),
            ..AppleOutputs::default()
        });
        assert_eq!(f.simd, ["avx2"]);
        assert_eq!(f.gpus.len(), 2);
        assert_eq!(f.gpus[1].kind, DeviceKind::Gpu);
        assert_eq!(f.gpus[1].memory_bytes, 8 << 30);
        assert_eq!(f.gpus[0].kind, DeviceKind::Unified);
        assert_eq!(f.os, Some(Os::Macos));
        assert_eq!(f.gpu_wired_limit, None);
    }

    #[test]
    fn wired_limit_when_set() {
        let mac = |limit: &str| {
            facts(&AppleOutputs {
                sysctl: format!("machdep.cpu.brand_string: Apple M1\nhw.memsize: 17179869184\nhw.optional.arm64: 1\niogpu.wired_limit_mb: {limit}\n"),
                ..AppleOutputs::default()
            })
            .gpu_wired_limit
        };
        // 0 is macOS's default share.
        assert_eq!(mac("0"), None);
        assert_eq!(mac("14336"), Some(14 << 30));
    }
}
