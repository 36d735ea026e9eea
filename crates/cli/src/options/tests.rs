//! Machine and model resolution; the flag parsers' own tests are in `args::values`.

use llmrig_core::estimate::ModelWeights;
use llmrig_core::quant::Quant;
use llmrig_core::system::{Os, RamBasis, RamBudget, SystemSpec};
use llmrig_detect::Note;

use super::machine::{catalog_match, complete_detected_gpu, detected_unified};
use super::model::generic_spec;
use super::MachineNote;
use crate::args::values::{gpu, trailing_gb};

#[test]
fn memory_sizes_in_gpu_names() {
    assert_eq!(trailing_gb("apple-m2-16gb"), Some(16.0));
    assert_eq!(trailing_gb("RTX 4090 24GB"), Some(24.0));
    assert_eq!(trailing_gb("rtx-4090"), None);
    assert_eq!(trailing_gb("×gb"), None);
}

#[test]
fn gpu_specs() {
    let g = gpu("2x rtx-3090").unwrap();
    assert_eq!((g.count, g.entry.id.as_str()), (2, "rtx-3090"));
    let g = gpu("rtx-4090:20GiB").unwrap();
    assert_eq!(g.memory_bytes, Some(20 << 30));
    assert!(gpu("rtx-9999").is_err());
    let e = gpu("rtx-4090:lots").unwrap_err();
    assert_eq!(
        e,
        "--gpu `lots`: expected a size such as 64GiB, 24GB or 512MiB"
    );
}

#[test]
fn detected_names_match_the_catalog() {
    let id = |n: &str| catalog_match(n).map(|(e, exact)| (e.id.clone(), exact));
    assert_eq!(
        id("NVIDIA GeForce RTX 4090"),
        Some(("rtx-4090".into(), true))
    );
    assert_eq!(id("Apple M2 Max"), Some(("m2-max".into(), true)));
    assert_eq!(
        id("NVIDIA H100 80GB HBM3"),
        Some(("h100-sxm-80gb".into(), true))
    );
    assert_eq!(
        id("NVIDIA H100 PCIe"),
        Some(("h100-pcie-80gb".into(), true))
    );
    assert_eq!(id("Tesla T4"), Some(("t4".into(), true)));
    assert_eq!(
        id("NVIDIA A100-SXM4-80GB"),
        Some(("a100-80gb-sxm".into(), true))
    );
    assert_eq!(
        id("AMD Radeon 8060S (Strix Halo)"),
        Some(("ryzen-ai-max-395".into(), false))
    );
    // The laptop part is its own entry, never the desktop card.
    assert_eq!(
        id("NVIDIA GeForce RTX 4090 Laptop GPU"),
        Some(("rtx-4090-laptop".into(), true))
    );
    assert_eq!(
        id("NVIDIA GeForce RTX 2060"),
        Some(("rtx-2060".into(), true))
    );
    assert_eq!(id("AMD Radeon Graphics (Raphael)"), None);
}

/// A detected fixture machine completed as `machine()` completes the host.
fn completed(d: llmrig_detect::Detected) -> (SystemSpec, Vec<MachineNote>) {
    let mut sys = d.system;
    let mut notes: Vec<MachineNote> = d.notes.into_iter().map(MachineNote::Detected).collect();
    for g in &mut sys.gpus {
        complete_detected_gpu(g, None, &mut notes);
    }
    detected_unified(&mut sys, false, &mut notes);
    (sys, notes)
}

fn fixture(p: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../detect/tests/fixtures")
        .join(p)
}

#[test]
fn detected_m2_max_gets_catalog_bandwidth_and_working_set() {
    let read = |f: &str| std::fs::read_to_string(fixture(f)).unwrap();
    let d = llmrig_detect::detect_apple(&llmrig_detect::AppleOutputs {
        sysctl: read("m2-max/sysctl.txt"),
        system_profiler: Some(read("m2-max/system_profiler.json")),
        ioreg: None,
        vm_stat: Some(read("m2-max/vm_stat.txt")),
    });
    let (sys, notes) = completed(d);
    let g = &sys.gpus[0];
    assert_eq!(g.bandwidth_bytes_per_s, 400e9);
    assert!(g.fp16_flops > 0.0);
    assert_eq!(g.memory_bytes, 48 << 30);
    assert_eq!(sys.cpu.bandwidth_bytes_per_s, 400e9);
    assert!(!notes.contains(&MachineNote::Detected(Note::BandwidthAssumed)));
    assert!(notes.contains(&MachineNote::BandwidthUnified {
        bytes_per_s: 400e9,
        gpu: "Apple M2 Max".into()
    }));
}

#[test]
fn detected_linux_gpus_get_catalog_rates() {
    let (sys, _) = completed(llmrig_detect::detect_linux_root(
        &fixture("ryzen-7900xtx-igpu"),
        None,
    ));
    assert_eq!(sys.gpus[0].bandwidth_bytes_per_s, 960e9);
    assert_eq!(sys.gpus[0].memory_bytes, 25_753_026_560);
    // An iGPU the catalog does not know reads RAM at the RAM's bandwidth.
    let (sys, notes) = completed(llmrig_detect::detect_linux_root(
        &fixture("intel-igpu"),
        None,
    ));
    assert_eq!(
        sys.gpus[0].bandwidth_bytes_per_s,
        sys.cpu.bandwidth_bytes_per_s
    );
    assert!(notes
        .iter()
        .any(|n| matches!(n, MachineNote::IntegratedAtRamBandwidth { .. })));
}

#[test]
fn generic_70b_is_about_70b() {
    let w = ModelWeights::new(&generic_spec("70b", 70e9), Quant::parse("Q4_K_M").unwrap());
    #[allow(clippy::cast_precision_loss)]
    let p = w.params() as f64;
    assert!((p - 70e9).abs() / 70e9 < 0.05, "{p}");
}

/// Detection states facts; the CLI adds the flag or command, and the text is what it always was.
#[test]
fn detection_notes_read_as_before() {
    let text = |n: Note| MachineNote::Detected(n).to_string();
    assert_eq!(
        text(Note::BandwidthAssumed),
        "RAM bandwidth not measured; assuming 89.6 GB/s (dual-channel DDR5-5600); run `llmrig hw --measure` or pass --ram-bw"
    );
    assert_eq!(
        text(Note::BandwidthFromFirmware {
            bytes_per_s: 96e9,
            channels: 2,
            memory_type: "DDR5".into(),
            speed_mts: 6000
        }),
        "RAM bandwidth 96.0 GB/s: 2 channel(s) of DDR5 at 6000 MT/s (firmware tables); `llmrig hw --measure` measures it"
    );
    assert_eq!(
        text(Note::RamSizeUnknown),
        "RAM size not detected; pass --ram"
    );
    assert_eq!(
        text(Note::NoGpu),
        "no GPU found; pass --gpu to describe one"
    );
    assert_eq!(
        text(Note::IntegratedGpuLeftOut {
            gpu: "AMD Radeon Graphics (Raphael)".into()
        }),
        "AMD Radeon Graphics (Raphael) (integrated) left out: llama.cpp uses the discrete GPU(s)"
    );
    assert_eq!(
        text(Note::NvidiaUnanswered {
            cards: 2,
            error: Some("libnvidia-ml.so.1 not found".into())
        }),
        "2 NVIDIA GPU(s) on the PCI bus, but neither NVML nor nvidia-smi answered (libnvidia-ml.so.1 not found); pass --gpu to describe them"
    );
    assert_eq!(
        text(Note::NvidiaUnanswered {
            cards: 1,
            error: None
        }),
        "1 NVIDIA GPU(s) on the PCI bus, but neither NVML nor nvidia-smi answered; pass --gpu to describe them"
    );
    assert_eq!(
        text(Note::OnlyNvidiaDetected),
        "only NVIDIA GPUs are detected on this system; pass --gpu to describe others"
    );
    assert_eq!(
        text(Note::HybridCores {
            performance: 8,
            efficiency: 4
        }),
        "8 performance and 4 efficiency cores; llama.cpp runs on the performance cores"
    );
    assert_eq!(
        text(Note::AmdIntegratedGpu {
            gpu: "AMD Radeon Graphics (Raphael)".into(),
            carve_out_bytes: 512 << 20,
            gtt_bytes: 31 << 30
        }),
        "AMD Radeon Graphics (Raphael) is an integrated GPU: 0.5 GiB carve-out plus 31.0 GiB of system RAM it may map (GTT)"
    );
    assert_eq!(
        text(Note::IntelIntegratedGpu {
            gpu: "Intel Iris Xe Graphics".into(),
            ram_bytes: 32 << 30
        }),
        "Intel Iris Xe Graphics is an integrated GPU sharing system RAM; its memory is the 32.0 GiB of RAM"
    );
}

#[test]
fn working_set_note_text() {
    let n = MachineNote::WorkingSet {
        usable: 32 << 30,
        total: 48 << 30,
        given: true,
        wired: false,
    };
    assert_eq!(
        n.to_string(),
        "unified memory: 32.00 GiB of 48.00 GiB usable by the GPU (macOS working-set limit; `sudo sysctl iogpu.wired_limit_mb=N` raises it, --wired-limit tells llmrig); pass e.g. `--gpu m2-max:32GiB` for your configuration"
    );
    let n = MachineNote::WorkingSet {
        usable: 40 << 30,
        total: 48 << 30,
        given: false,
        wired: true,
    };
    assert_eq!(
        n.to_string(),
        "unified memory: 40.00 GiB of 48.00 GiB usable by the GPU (the wired limit set with iogpu.wired_limit_mb)"
    );
}

#[test]
fn ram_note_says_where_the_budget_comes_from() {
    let total = 16 << 30;
    let n = MachineNote::Ram(RamBudget {
        total_bytes: total,
        usable_bytes: 13 << 30,
        basis: RamBasis::Reserve {
            os: Some(Os::Macos),
            reserve_bytes: 3 << 30,
            given: false,
        },
    });
    assert_eq!(
        n.to_string(),
        "system RAM: 3.00 GiB of 16.00 GiB kept for macOS and other programs, 13.00 GiB left for the model (--os-reserve changes it)"
    );
    let n = MachineNote::Ram(RamBudget {
        total_bytes: total,
        usable_bytes: 15 << 30,
        basis: RamBasis::Available,
    });
    assert_eq!(
        n.to_string(),
        "system RAM: estimates fit in the 15.00 GiB available now, of 16.00 GiB (pass --os-reserve SIZE to plan for the total less SIZE instead)"
    );
}

#[test]
fn unsloth_dynamic_quants_are_sized_by_their_nearest_preset() {
    use super::model::unsloth_dynamic;
    assert_eq!(unsloth_dynamic("UD-Q4_K_XL").0, "Q4_K_M");
    assert_eq!(unsloth_dynamic("Q4_K_XL").0, "Q4_K_M");
    assert_eq!(unsloth_dynamic("UD-Q2_K_XL").0, "Q2_K");
    assert_eq!(unsloth_dynamic("UD-IQ2_XXS").0, "IQ2_XXS");
    assert!(unsloth_dynamic("UD-Q4_K_XL").1.is_some());
    assert_eq!(unsloth_dynamic("Q4_K_M"), ("Q4_K_M", None));
}
