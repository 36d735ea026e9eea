//! Windows and every system without its own module: CPU and RAM through `sysinfo`, SIMD through
//! the standard library's run-time feature detection, NVIDIA GPUs through NVML (nvml.dll ships with
//! the driver). AMD and Intel GPUs are not detected here; `--gpu` describes them.

use crate::Facts;

/// SIMD features of the running CPU, by their /proc/cpuinfo names.
fn simd() -> Vec<String> {
    #[allow(unused_mut)]
    let mut on: Vec<&str> = Vec::new();
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            on.push("avx");
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            on.push("avx2");
        }
        if std::arch::is_x86_feature_detected!("fma") {
            on.push("fma");
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            on.push("avx512f");
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            on.push("asimd");
        }
        if std::arch::is_aarch64_feature_detected!("dotprod") {
            on.push("asimddp");
        }
        if std::arch::is_aarch64_feature_detected!("i8mm") {
            on.push("i8mm");
        }
        if std::arch::is_aarch64_feature_detected!("sve") {
            on.push("sve");
        }
    }
    crate::cpu::SIMD_FLAGS
        .iter()
        .filter(|f| on.contains(f))
        .map(|f| (*f).to_string())
        .collect()
}

/// This machine.
pub(crate) fn facts() -> Facts {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    sys.refresh_cpu_all();
    let cpu_name = sys
        .cpus()
        .first()
        .map(|c| c.brand().trim().to_string())
        .filter(|s| !s.is_empty());
    let threads = std::thread::available_parallelism()
        .ok()
        .and_then(|n| u32::try_from(n.get()).ok());
    let (gpus, _) = crate::nvidia::gpus();
    Facts {
        cpu_name,
        cores: sys
            .physical_core_count()
            .and_then(|n| u32::try_from(n).ok()),
        threads,
        simd: simd(),
        ram_total: Some(sys.total_memory()).filter(|&m| m > 0),
        ram_available: Some(sys.available_memory()).filter(|&m| m > 0),
        memory: crate::memory::MemoryModules::default(),
        gpus,
        notes: vec![crate::Note::OnlyNvidiaDetected],
        os: cfg!(windows).then_some(llmrig_core::system::Os::Windows),
        gpu_wired_limit: None,
    }
}
