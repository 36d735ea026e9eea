//! Linux: /proc/cpuinfo, /proc/meminfo, /proc/self/status (the CPUs this process may use, which
//! `nproc` counts), SMBIOS or EDAC for memory modules, the DRM class in sysfs for AMD and Intel GPUs,
//! NVML or nvidia-smi for NVIDIA. [`facts_from_root`] reads any root, so tests run on fixture trees.

use std::path::Path;

use llmrig_core::system::{DeviceSpec, Os};

use crate::cpu::{allowed_cpus_from_status, parse_cpuinfo, parse_meminfo};
use crate::drm::{read_drm_gpus, HostMemory};
use crate::Facts;

/// This machine.
pub(crate) fn facts() -> Facts {
    let (nvidia, why) = crate::nvidia::gpus();
    facts_from_root(Path::new("/"), nvidia, why)
}

/// The machine whose files lie under `root` (`proc/…`, `sys/…`), with the NVIDIA GPUs that NVML or
/// nvidia-smi reported (and why there are none, when they could not be asked).
pub(crate) fn facts_from_root(
    root: &Path,
    nvidia: Vec<DeviceSpec>,
    nvidia_error: Option<String>,
) -> Facts {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
    let cpu = read("proc/cpuinfo")
        .map(|t| parse_cpuinfo(&t))
        .unwrap_or_default();
    let mem = read("proc/meminfo")
        .map(|t| parse_meminfo(&t))
        .unwrap_or_default();
    let threads = read("proc/self/status")
        .as_deref()
        .and_then(allowed_cpus_from_status)
        .or((cpu.logical > 0).then_some(cpu.logical));
    let mut notes = Vec::new();
    let host = HostMemory {
        total_bytes: mem.total_bytes.unwrap_or(0),
        available_bytes: mem.available_bytes,
    };
    let drm = read_drm_gpus(root, host);
    notes.extend(drm.notes);
    if drm.nvidia_cards > 0 && nvidia.is_empty() {
        notes.push(crate::Note::NvidiaUnanswered {
            cards: drm.nvidia_cards,
            error: nvidia_error,
        });
    }
    let mut gpus = nvidia;
    gpus.extend(drm.gpus);
    Facts {
        cpu_name: cpu.model,
        cores: (cpu.physical_cores > 0).then_some(cpu.physical_cores),
        threads,
        simd: cpu.simd,
        ram_total: mem.total_bytes,
        ram_available: mem.available_bytes,
        memory: crate::memory::read_memory_modules(root),
        gpus,
        notes,
        os: Some(linux_flavour(root)),
        gpu_wired_limit: None,
    }
}

/// A Linux box boots to a desktop unless systemd's default target says it does not
/// (`/etc/systemd/system/default.target` → `multi-user.target`, a server; `systemctl
/// set-default` writes that link). Only the reserve for a machine whose RAM was given
/// (`--ram`) depends on it; a detected machine fits against the RAM available.
fn linux_flavour(root: &Path) -> Os {
    match std::fs::read_link(root.join("etc/systemd/system/default.target")) {
        Ok(t) if t.to_string_lossy().contains("multi-user") => Os::LinuxServer,
        _ => Os::Linux,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headless_linux_is_a_server() {
        let root = std::env::temp_dir().join(format!("llmrig-linux-os-{}", std::process::id()));
        let dir = root.join("etc/systemd/system");
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(linux_flavour(&root), Os::Linux);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                "/usr/lib/systemd/system/multi-user.target",
                dir.join("default.target"),
            )
            .unwrap();
            assert_eq!(linux_flavour(&root), Os::LinuxServer);
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
