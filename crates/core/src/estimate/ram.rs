//! System RAM as one budget. A plan takes of it the CPU side's memory, every unified-memory GPU's
//! allocations (Apple silicon, DGX Spark, Jetson, AMD and Intel iGPUs allocate from the same RAM),
//! and on Windows the part of a discrete GPU's allocations beyond its dedicated memory, which the
//! driver places in shared system memory instead of failing. The machine leaves for it what
//! [`SystemSpec::ram_budget`] says: the RAM available when detected, else the total minus a reserve
//! for the OS. Here: whether the plan fits that budget, and whether it is close to the limit.

use crate::system::{DeviceKind, DeviceSpec, GpuApi, Os, RamBudget, SystemSpec};

use super::usage::MemoryBreakdown;

/// A plan that leaves less than this of its RAM budget free is "close to the limit": at best
/// usable, with a warning. 1 GiB, the memory llama.cpp's `--fit` keeps free on each GPU
/// (`-fitt`), so RAM gets the same room to breathe as VRAM.
pub const NEAR_LIMIT_BYTES: u64 = 1 << 30;

/// The plan's share of system RAM, against what the machine leaves for it.
#[derive(Debug, Clone, PartialEq)]
pub struct RamUse {
    /// What the machine leaves of its RAM for the model.
    pub budget: RamBudget,
    /// What the plan takes: the CPU side, unified GPUs and shared GPU memory, bytes.
    pub used_bytes: u64,
    /// Per GPU, bytes beyond its dedicated memory that the driver places in shared system memory
    /// (Windows, CUDA or ROCm); 0 everywhere else.
    pub shared_gpu_bytes: Vec<u64>,
}

impl RamUse {
    /// Whether the plan's RAM fits the budget.
    #[must_use]
    pub fn fits(&self) -> bool {
        self.used_bytes <= self.budget.usable_bytes
    }

    /// Whether it fits with less than [`NEAR_LIMIT_BYTES`] to spare.
    #[must_use]
    pub fn near_limit(&self) -> bool {
        self.fits() && self.budget.usable_bytes - self.used_bytes < NEAR_LIMIT_BYTES
    }

    /// Per GPU, the share of what it holds that spilled into shared memory, which the speed model
    /// reads over PCIe.
    #[must_use]
    pub fn shared_shares(&self, m: &MemoryBreakdown) -> Vec<f64> {
        #[allow(clippy::cast_precision_loss)]
        self.shared_gpu_bytes
            .iter()
            .zip(&m.devices)
            .map(|(&sh, d)| sh as f64 / d.total_bytes.max(1) as f64)
            .collect()
    }
}

/// Whether the driver backs a GPU's allocations beyond its dedicated memory with shared system
/// memory instead of failing them: on Windows only, for discrete GPUs under CUDA (NVIDIA's "CUDA -
/// Sysmem Fallback Policy", on by default since driver 536.40, which lets `cudaMalloc` succeed in
/// system memory once VRAM is full; NVIDIA support answer 5490, "System Memory Fallback for Stable
/// Diffusion") and ROCm (AMD: `hipMalloc` on Windows places what exceeds VRAM in shared memory,
/// ROCm/ROCm issue 4903). Linux drivers fail the allocation, and llama.cpp stops.
#[must_use]
pub fn spills_to_shared(sys: &SystemSpec, g: &DeviceSpec) -> bool {
    sys.os == Some(Os::Windows)
        && g.kind == DeviceKind::Gpu
        && matches!(g.api, GpuApi::Cuda | GpuApi::Rocm)
}

/// The shared GPU memory Windows lets one GPU map, bytes: half of the RAM (WDDM's shared system
/// memory segment, Task Manager's "Shared GPU memory").
#[must_use]
pub fn shared_limit_bytes(sys: &SystemSpec) -> u64 {
    sys.cpu.ram_bytes / 2
}

/// The plan's share of system RAM.
pub(super) fn ram_use(m: &MemoryBreakdown, sys: &SystemSpec) -> RamUse {
    let n_gpu = sys.gpus.len();
    let shared_gpu_bytes: Vec<u64> = sys
        .gpus
        .iter()
        .zip(&m.devices)
        .map(|(g, d)| {
            if spills_to_shared(sys, g) {
                d.total_bytes.saturating_sub(d.capacity_bytes)
            } else {
                0
            }
        })
        .collect();
    let unified: u64 = m.devices[..n_gpu]
        .iter()
        .filter(|d| d.kind == DeviceKind::Unified)
        .map(|d| d.total_bytes)
        .sum();
    RamUse {
        budget: sys.ram_budget(),
        used_bytes: m.devices[n_gpu].total_bytes + unified + shared_gpu_bytes.iter().sum::<u64>(),
        shared_gpu_bytes,
    }
}

/// Whether every device fits, a GPU that spills into shared memory counting as fitting while the
/// spill stays within Windows' limit and the RAM budget holds it.
pub(super) fn fits(m: &MemoryBreakdown, sys: &SystemSpec, ram: &RamUse) -> bool {
    let limit = shared_limit_bytes(sys);
    let gpus = m.devices[..sys.gpus.len()]
        .iter()
        .zip(&ram.shared_gpu_bytes)
        .all(|(d, &shared)| d.fits() || shared > 0 && shared <= limit);
    gpus && m.devices[sys.gpus.len()].fits() && ram.fits()
}

#[cfg(test)]
mod tests {
    use super::super::{estimate, GpuLayers, ModelWeights, Settings, Verdict, Warning};
    use super::*;
    use crate::model::{Arch, ModelSpec};
    use crate::quant::Quant;
    use crate::system::{CpuSpec, MemoryTech};

    const GIB: u64 = 1 << 30;

    /// A Llama-3-8B-shaped model at Q8_0 (about 8 GiB).
    fn weights() -> ModelWeights {
        let spec = ModelSpec {
            id: "llama-8b-like".into(),
            name: "Llama 8B-like".into(),
            arch: Arch::Llama,
            n_layer: 32,
            n_embd: 4096,
            n_ff: 14336,
            n_head: 32,
            n_head_kv: 8,
            head_dim: None,
            n_vocab: 128_256,
            tied_embeddings: false,
            context_length: 8192,
            ..ModelSpec::default()
        };
        ModelWeights::new(&spec, Quant::parse("Q8_0").unwrap())
    }

    fn machine(gpu_bytes: u64, ram_bytes: u64, os: Option<Os>) -> SystemSpec {
        SystemSpec {
            os,
            gpus: vec![DeviceSpec {
                name: "gpu".into(),
                kind: DeviceKind::Gpu,
                memory_bytes: gpu_bytes,
                bandwidth_bytes_per_s: 448e9,
                fp16_flops: 5e13,
                int8_ops: 1e14,
                api: GpuApi::Cuda,
                memory_tech: MemoryTech::Gddr,
                pcie_gen: Some(4),
                pcie_width: Some(16),
                ..DeviceSpec::default()
            }],
            cpu: CpuSpec {
                name: "cpu".into(),
                ram_bytes,
                bandwidth_bytes_per_s: 89.6e9,
                flops: 1e12,
                cores: 8,
                ..CpuSpec::default()
            },
            ..SystemSpec::default()
        }
    }

    fn all_layers(ctx: u64) -> Settings {
        Settings {
            ctx: Some(ctx),
            gpu_layers: GpuLayers::Count(u32::MAX),
            ..Settings::default()
        }
    }

    /// `-ngl all` beyond an 8 GiB card: Windows' driver spills the rest into shared memory and the
    /// model runs, much slower; Linux fails the allocation. `-ngl auto` keeps to VRAM either way.
    #[test]
    fn windows_spills_into_shared_gpu_memory() {
        let w = weights();
        let s = all_layers(4096);
        let win = estimate(&w, &machine(8 * GIB, 32 * GIB, Some(Os::Windows)), &s).unwrap();
        let linux = estimate(&w, &machine(8 * GIB, 32 * GIB, Some(Os::Linux)), &s).unwrap();
        let roomy = estimate(&w, &machine(16 * GIB, 32 * GIB, Some(Os::Windows)), &s).unwrap();
        assert_eq!(linux.verdict, Verdict::DoesNotFit);
        assert_ne!(win.verdict, Verdict::DoesNotFit, "{:?}", win.warnings);
        let shared = win.ram.shared_gpu_bytes[0];
        assert_eq!(shared, win.memory.devices[0].total_bytes - 8 * GIB);
        assert!(win.ram.used_bytes >= shared + win.memory.devices[1].total_bytes);
        assert!(win
            .warnings
            .iter()
            .any(|x| matches!(x, Warning::SharedGpuMemory { shared_bytes, .. } if *shared_bytes == shared)));
        assert!(!win.warnings.iter().any(|x| x.code() == "does-not-fit"));
        // The spilled eighth is read over PCIe 4.0 x16 (~25 GB/s) for every token: about half the
        // speed of the same model in VRAM (a floor: the driver's paging can make it worse).
        let (slow, fast) = (
            win.performance.decode_tokens_per_s,
            roomy.performance.decode_tokens_per_s,
        );
        assert!(slow < fast / 1.5, "{slow} vs {fast} tok/s");
        assert_eq!(linux.performance.decode_tokens_per_s, fast);
        // The fit itself stays in dedicated memory, as llama.cpp's --fit does.
        let auto = estimate(
            &w,
            &machine(8 * GIB, 32 * GIB, Some(Os::Windows)),
            &Settings {
                ctx: Some(4096),
                ..Settings::default()
            },
        )
        .unwrap();
        assert!(auto.offload.gpu_layers < auto.offload.total_layers);
        assert_eq!(auto.ram.shared_gpu_bytes, [0]);
        // Shared memory is half the RAM at most: 5 GiB beyond a 4 GiB card on an 8 GiB machine
        // does not fit.
        let small = estimate(&w, &machine(4 * GIB, 8 * GIB, Some(Os::Windows)), &s).unwrap();
        assert_eq!(small.verdict, Verdict::DoesNotFit);
        assert!(small.warnings.iter().any(|x| x.code() == "does-not-fit"));
    }

    /// A CPU-only plan that leaves less than 1 GiB of the RAM budget is at best usable.
    #[test]
    fn close_to_the_limit_is_at_best_usable() {
        let w = weights();
        let s = Settings {
            ctx: Some(4096),
            good_tps: 0.0,
            usable_tps: 0.0,
            ..Settings::default()
        };
        let mut sys = machine(0, 64 * GIB, Some(Os::Linux));
        sys.gpus.clear();
        let roomy = estimate(&w, &sys, &s).unwrap();
        assert_eq!(roomy.verdict, Verdict::WorksWell);
        let need = roomy.ram.used_bytes;
        // Available memory detected: half a GiB to spare.
        sys.cpu.ram_available_bytes = Some(need + GIB / 2);
        let tight = estimate(&w, &sys, &s).unwrap();
        assert_eq!(tight.verdict, Verdict::Usable);
        assert!(tight
            .warnings
            .iter()
            .any(|x| x.code() == "near-memory-limit"));
        sys.cpu.ram_available_bytes = Some(need - 1);
        assert_eq!(estimate(&w, &sys, &s).unwrap().verdict, Verdict::DoesNotFit);
    }

    /// Unified memory is one pool: a GPU that fits its share and a CPU side that fits the RAM still
    /// do not fit when together they exceed the RAM left for the model.
    #[test]
    fn unified_gpu_and_cpu_side_share_the_ram_budget() {
        let w = weights();
        let need = {
            let mut sys = machine(64 * GIB, 64 * GIB, None);
            sys.gpus[0].kind = DeviceKind::Unified;
            estimate(&w, &sys, &all_layers(4096))
                .unwrap()
                .ram
                .used_bytes
        };
        let mut sys = machine(need, need + 3 * GIB / 2, None);
        sys.gpus[0].kind = DeviceKind::Unified;
        // 4 GiB kept for an unknown OS: 2.5 GiB short, and the GPU sees no more than the budget.
        let e = estimate(&w, &sys, &all_layers(4096)).unwrap();
        assert_eq!(e.verdict, Verdict::DoesNotFit);
        assert_eq!(e.memory.devices[0].capacity_bytes, need - 5 * GIB / 2);
        assert!(e.warnings.iter().any(|x| x.code() == "does-not-fit"));
        // A server keeps 1 GiB: it fits, half a GiB from the limit.
        sys.os = Some(Os::LinuxServer);
        let e = estimate(&w, &sys, &all_layers(4096)).unwrap();
        assert_ne!(e.verdict, Verdict::DoesNotFit, "{:?}", e.warnings);
        assert!(e.ram.near_limit());
    }
}
