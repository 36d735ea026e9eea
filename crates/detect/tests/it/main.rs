//! Detection against captured machine outputs (`tests/fixtures`, see its README for where each
//! format comes from), and against the machine the tests run on.

use std::path::{Path, PathBuf};

use llmrig_core::system::{DeviceKind, GpuApi};
use llmrig_detect::{
    detect_apple, detect_linux_root, parse_cpuinfo, parse_nvidia_smi, parse_smbios,
    parse_system_profiler, read_drm_gpus, AppleOutputs, HostMemory, Note, Probe,
};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn text(path: &str) -> String {
    std::fs::read_to_string(fixture(path)).unwrap()
}

const GIB: u64 = 1 << 30;

// --- /proc/cpuinfo and /proc/meminfo ---

#[test]
fn xeon_cpuinfo_has_avx512_and_amx() {
    let c = parse_cpuinfo(&text("xeon-two-nvidia/proc/cpuinfo"));
    assert_eq!(c.model.as_deref(), Some("Intel(R) Xeon(R) w5-3435X"));
    assert_eq!((c.logical, c.physical_cores), (32, 16));
    for f in ["avx2", "avx512f", "avx512_bf16", "avx_vnni", "amx_tile"] {
        assert!(c.simd.iter().any(|s| s == f), "{f} in {:?}", c.simd);
    }
    // `vmx flags` is not `flags`.
    assert!(!c.simd.iter().any(|s| s == "ept"));
}

#[test]
fn ryzen_cpuinfo_has_avx512_without_vnni_or_amx() {
    let c = parse_cpuinfo(&text("ryzen-7900xtx-igpu/proc/cpuinfo"));
    assert_eq!(
        c.model.as_deref(),
        Some("AMD Ryzen 9 7950X 16-Core Processor")
    );
    assert_eq!((c.logical, c.physical_cores), (32, 16));
    assert!(c.simd.contains(&"avx512_bf16".to_string()));
    assert!(!c.simd.contains(&"avx_vnni".to_string()));
    assert!(!c.simd.contains(&"amx_tile".to_string()));
}

#[test]
fn hybrid_laptop_counts_p_and_e_cores() {
    let c = parse_cpuinfo(&text("intel-igpu/proc/cpuinfo"));
    // 4 P-cores with two threads each, 8 E-cores with one.
    assert_eq!((c.logical, c.physical_cores), (16, 12));
    assert!(c.simd.contains(&"avx_vnni".to_string()));
    assert!(!c.simd.contains(&"avx512f".to_string()));
}

#[test]
fn raspberry_pi_5_cpuinfo() {
    let c = parse_cpuinfo(&text("rpi5/proc/cpuinfo"));
    assert_eq!(
        c.model.as_deref(),
        Some("Raspberry Pi 5 Model B Rev 1.0 (ARM Cortex-A76)")
    );
    assert_eq!((c.logical, c.physical_cores), (4, 4));
    assert_eq!(c.simd, ["asimd", "asimddp", "asimdhp"]);
}

#[test]
fn arm_server_features() {
    let c = parse_cpuinfo(
        "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm svebf16 i8mm bf16 dgh rng bti\nCPU implementer\t: 0x41\nCPU part\t: 0xd4f\n",
    );
    assert_eq!(c.model.as_deref(), Some("ARM Neoverse-V2"));
    assert_eq!(
        c.simd,
        ["asimd", "asimddp", "asimdhp", "i8mm", "bf16", "sve", "sve2"]
    );
}

// --- whole Linux machines from fixture trees ---

#[test]
fn two_different_nvidia_gpus_and_a_bmc_display() {
    let d = detect_linux_root(
        &fixture("xeon-two-nvidia"),
        Some(&text("xeon-two-nvidia/nvidia-smi.csv")),
    );
    let s = &d.system;
    assert_eq!(s.gpus.len(), 2, "the ASPEED BMC display is not a GPU");
    assert_eq!(s.gpus[0].name, "NVIDIA GeForce RTX 4090");
    assert_eq!(s.gpus[1].name, "NVIDIA GeForce RTX 3090");
    assert_eq!(s.gpus[0].memory_bytes, 24564 << 20);
    assert_eq!(s.gpus[0].memory_free_bytes, Some(23925 << 20));
    assert_eq!(s.gpus[1].pci_id.as_deref(), Some("10de:2204"));
    assert_eq!(
        (s.gpus[0].pcie_gen, s.gpus[0].pcie_width),
        (Some(4), Some(16))
    );
    assert!(s.gpus.iter().all(|g| g.api == GpuApi::Cuda));
    assert_eq!(s.cpu.ram_bytes, 131_622_916 * 1024);
    assert_eq!(s.cpu.ram_available_bytes, Some(127_946_372 * 1024));
    assert_eq!((s.cpu.cores, s.cpu.threads), (16, Some(32)));
    assert_eq!(s.cpu.memory_type, None);
    assert!(d.notes.contains(&Note::BandwidthAssumed));
}

#[test]
fn nvidia_cards_without_nvml_are_noted() {
    let d = detect_linux_root(&fixture("xeon-two-nvidia"), None);
    assert!(d.system.gpus.is_empty());
    assert!(
        d.notes
            .iter()
            .any(|n| matches!(n, Note::NvidiaUnanswered { cards: 2, .. })),
        "{:?}",
        d.notes
    );
    let text = d.notes.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert!(
        text.contains(
            &"2 NVIDIA GPU(s) on the PCI bus, but neither NVML nor nvidia-smi answered".to_string()
        ),
        "{text:?}"
    );
}

#[test]
fn amd_dgpu_and_igpu_in_sysfs() {
    let g = read_drm_gpus(
        &fixture("ryzen-7900xtx-igpu"),
        HostMemory {
            total_bytes: 64 * GIB,
            available_bytes: None,
        },
    );
    assert_eq!(g.gpus.len(), 2);
    let (d, i) = (&g.gpus[0], &g.gpus[1]);
    assert_eq!(d.name, "AMD Radeon RX 7900 XTX");
    assert_eq!(d.kind, DeviceKind::Gpu);
    assert_eq!(d.api, GpuApi::Rocm);
    assert_eq!(d.memory_bytes, 25_753_026_560);
    assert_eq!(d.memory_free_bytes, Some(25_753_026_560 - 1_478_057_984));
    assert_eq!((d.pcie_gen, d.pcie_width), (Some(4), Some(16)));
    assert_eq!(i.name, "AMD Radeon Graphics (Raphael)");
    assert_eq!(i.kind, DeviceKind::Unified);
    // 512 MiB carve-out plus the GTT window into system RAM.
    assert_eq!(i.memory_bytes, 536_870_912 + 33_274_998_784);
    assert_eq!(i.pcie_gen, None);
    assert_eq!(g.nvidia_cards, 0);
}

#[test]
fn ryzen_machine_keeps_the_discrete_gpu_and_reads_smbios() {
    let d = detect_linux_root(&fixture("ryzen-7900xtx-igpu"), None);
    let s = &d.system;
    assert_eq!(s.gpus.len(), 1);
    assert_eq!(s.gpus[0].name, "AMD Radeon RX 7900 XTX");
    assert!(d.notes.contains(&Note::IntegratedGpuLeftOut {
        gpu: "AMD Radeon Graphics (Raphael)".into()
    }));
    // The firmware's modules give the bandwidth, and the note says so.
    assert!(d.notes.iter().any(|n| n.to_string()
        == "RAM bandwidth 96.0 GB/s: 2 channel(s) of DDR5 at 6000 MT/s (firmware tables)"));
    assert_eq!(s.cpu.memory_type.as_deref(), Some("DDR5"));
    assert_eq!(s.cpu.memory_speed_mts, Some(6000));
    assert_eq!(s.cpu.memory_channels, Some(2));
    // 2 channels × 8 B × 6000 MT/s.
    assert!((s.cpu.bandwidth_bytes_per_s - 96e9).abs() < 1.0);
    // No /proc/self/status in the tree: threads from cpuinfo.
    assert_eq!(s.cpu.threads, Some(32));
}

#[test]
fn smbios_fixture_modules() {
    let m = parse_smbios(
        &std::fs::read(fixture("ryzen-7900xtx-igpu/sys/firmware/dmi/tables/DMI")).unwrap(),
    );
    assert_eq!(m.modules, 2);
}

#[test]
fn intel_igpu_shares_system_ram() {
    let d = detect_linux_root(&fixture("intel-igpu"), None);
    let s = &d.system;
    assert_eq!(s.gpus.len(), 1);
    let g = &s.gpus[0];
    assert_eq!(g.name, "Intel Iris Xe Graphics (Raptor Lake-P)");
    assert_eq!(g.kind, DeviceKind::Unified);
    assert_eq!(g.memory_bytes, 32_521_180 * 1024);
    assert_eq!(g.memory_free_bytes, Some(26_410_336 * 1024));
    assert_eq!(g.pci_id.as_deref(), Some("8086:a7a0"));
    assert!(s.is_unified());
    assert_eq!((s.cpu.cores, s.cpu.threads), (12, Some(16)));
}

#[test]
fn raspberry_pi_has_no_gpu() {
    let d = detect_linux_root(&fixture("rpi5"), Some(&text("rpi5/nvidia-smi.txt")));
    assert!(d.system.gpus.is_empty());
    assert!(d.notes.contains(&Note::NoGpu));
    assert_eq!(d.system.cpu.ram_bytes, 8_245_056 * 1024);
    assert_eq!(d.system.cpu.threads, Some(4));
    assert!(parse_nvidia_smi(&text("rpi5/nvidia-smi.txt")).is_empty());
}

#[test]
fn empty_root_is_not_a_panic() {
    let d = detect_linux_root(&fixture("does-not-exist"), None);
    assert_eq!(d.system.cpu.ram_bytes, 0);
    assert!(d.notes.contains(&Note::RamSizeUnknown));
}

// --- Apple silicon ---

fn m2_max() -> AppleOutputs {
    AppleOutputs {
        sysctl: text("m2-max/sysctl.txt"),
        system_profiler: Some(text("m2-max/system_profiler.json")),
        ioreg: Some(text("m2-max/ioreg.txt")),
        vm_stat: Some(text("m2-max/vm_stat.txt")),
    }
}

#[test]
fn m2_max_is_one_unified_gpu() {
    let d = detect_apple(&m2_max());
    let s = &d.system;
    assert_eq!(s.cpu.name, "Apple M2 Max");
    assert_eq!((s.cpu.cores, s.cpu.threads), (12, Some(12)));
    assert_eq!(s.cpu.ram_bytes, 64 * GIB);
    assert_eq!(s.cpu.memory_type.as_deref(), Some("LPDDR5"));
    assert_eq!(s.cpu.simd, ["asimd", "asimddp", "asimdhp", "i8mm", "bf16"]);
    // free + inactive + speculative pages of 16 KiB.
    assert_eq!(
        s.cpu.ram_available_bytes,
        Some((91_357 + 1_290_101 + 24_512) * 16384)
    );
    assert_eq!(s.gpus.len(), 1);
    let g = &s.gpus[0];
    assert_eq!(g.name, "Apple M2 Max");
    assert_eq!(g.kind, DeviceKind::Unified);
    assert_eq!(g.api, GpuApi::Metal);
    assert_eq!(g.cores, Some(38));
    assert_eq!(g.memory_bytes, 64 * GIB);
    assert!(d.notes.contains(&Note::HybridCores {
        performance: 8,
        efficiency: 4
    }));
}

#[test]
fn gpu_cores_from_ioreg_when_system_profiler_is_missing() {
    let d = detect_apple(&AppleOutputs {
        system_profiler: None,
        ..m2_max()
    });
    assert_eq!(d.system.gpus[0].cores, Some(38));
    assert_eq!(d.system.gpus[0].name, "Apple M2 Max");
    assert_eq!(d.system.cpu.memory_type, None);
}

#[test]
fn system_profiler_fixture() {
    let p = parse_system_profiler(&text("m2-max/system_profiler.json")).unwrap();
    assert_eq!(p.gpus.len(), 1);
    assert_eq!(p.gpus[0].cores, Some(38));
    assert!(parse_system_profiler("not json").is_none());
}

// --- this machine ---

/// `nproc`'s answer, or None where the command is missing.
fn nproc() -> Option<u32> {
    let out = std::process::Command::new("nproc").output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[test]
fn this_machine_matches_proc_and_nproc() {
    let d = llmrig_detect::HostProbe.detect().unwrap();
    assert!(d.system.cpu.ram_bytes > 0);
    if cfg!(target_os = "linux") {
        let mem = llmrig_detect::parse_meminfo(&std::fs::read_to_string("/proc/meminfo").unwrap());
        let total = mem.total_bytes.unwrap();
        #[allow(clippy::cast_precision_loss)]
        let diff = (d.system.cpu.ram_bytes as f64 - total as f64).abs() / total as f64;
        assert!(diff < 0.01, "{} vs {total}", d.system.cpu.ram_bytes);
        if std::env::var_os("OMP_NUM_THREADS").is_none() {
            if let Some(n) = nproc() {
                assert_eq!(d.system.cpu.threads, Some(n));
            }
        }
    }
}
