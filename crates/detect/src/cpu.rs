//! Parsers for Linux's `/proc/cpuinfo`, `/proc/meminfo` and CPU lists (`0-3,8`). They take text, so
//! they run on any OS against the fixtures in `tests/fixtures`.

use std::collections::BTreeSet;

/// The SIMD features detection reports (llmrig's vocabulary, [`llmrig_core::system::SIMD_FLAGS`]).
pub use llmrig_core::system::SIMD_FLAGS;

/// What /proc/cpuinfo says about the CPU.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuInfo {
    /// Model name (`AMD Ryzen 9 7950X 16-Core Processor`; on ARM the core type, with the board's
    /// model when the file names it).
    pub model: Option<String>,
    /// Logical processors listed.
    pub logical: u32,
    /// Physical cores: distinct (physical id, core id) pairs, or the logical count where the file
    /// has no topology (ARM).
    pub physical_cores: u32,
    /// The [`SIMD_FLAGS`] present on the first processor, in that order.
    pub simd: Vec<String>,
}

/// ARM core names by (implementer, part) as the kernel's `CPU implementer` and `CPU part` give them
/// (Arm's technical reference manuals, MIDR_EL1.PartNum).
fn arm_core(implementer: &str, part: &str) -> Option<&'static str> {
    let imp = u32::from_str_radix(implementer.trim().trim_start_matches("0x"), 16).ok()?;
    let part = u32::from_str_radix(part.trim().trim_start_matches("0x"), 16).ok()?;
    Some(match (imp, part) {
        (0x41, 0xd03) => "ARM Cortex-A53",
        (0x41, 0xd05) => "ARM Cortex-A55",
        (0x41, 0xd07) => "ARM Cortex-A57",
        (0x41, 0xd08) => "ARM Cortex-A72",
        (0x41, 0xd0b) => "ARM Cortex-A76",
        (0x41, 0xd0c) => "ARM Neoverse-N1",
        (0x41, 0xd40) => "ARM Neoverse-V1",
        (0x41, 0xd41) => "ARM Cortex-A78",
        (0x41, 0xd49) => "ARM Neoverse-N2",
        (0x41, 0xd4f) => "ARM Neoverse-V2",
        (0x41, 0xd80) => "ARM Cortex-A520",
        (0x41, 0xd81) => "ARM Cortex-A720",
        (0x41, 0xd87) => "ARM Cortex-A725",
        (0xc0, 0xac3) => "AmpereOne",
        (0x61, _) => "Apple",
        _ => return None,
    })
}

/// Parses /proc/cpuinfo (x86 or ARM).
#[must_use]
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut logical = 0u32;
    let mut cores = BTreeSet::new();
    let mut model = None;
    let mut board = None;
    let mut implementer = None;
    let mut part = None;
    let mut flags: Option<Vec<String>> = None;
    let mut physical_id = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" if value.parse::<u32>().is_ok() => logical += 1,
            "model name" | "cpu model" if model.is_none() && !value.is_empty() => {
                model = Some(value.to_string());
            }
            // Raspberry Pi and other boards add the board's name (`Model`) and SoC (`Hardware`).
            "Model" if !value.is_empty() => board = Some(value.to_string()),
            "Hardware" if board.is_none() && !value.is_empty() => {
                board = Some(value.to_string());
            }
            "CPU implementer" if implementer.is_none() => implementer = Some(value.to_string()),
            "CPU part" if part.is_none() => part = Some(value.to_string()),
            "physical id" => physical_id = Some(value.to_string()),
            "core id" => {
                cores.insert((physical_id.clone().unwrap_or_default(), value.to_string()));
            }
            "flags" | "Features" if flags.is_none() => {
                flags = Some(value.split_whitespace().map(str::to_string).collect());
            }
            _ => {}
        }
    }
    let core_name = match (&implementer, &part) {
        (Some(i), Some(p)) => arm_core(i, p).map(str::to_string),
        _ => None,
    };
    let model = match (model, board, core_name) {
        (Some(m), _, _) => Some(m),
        (None, Some(b), Some(c)) => Some(format!("{b} ({c})")),
        (None, b, c) => c.or(b),
    };
    let flags = flags.unwrap_or_default();
    let simd = SIMD_FLAGS
        .iter()
        .filter(|f| flags.iter().any(|g| g == *f))
        .map(|f| (*f).to_string())
        .collect();
    let physical_cores = if cores.is_empty() {
        logical
    } else {
        u32::try_from(cores.len()).unwrap_or(u32::MAX)
    };
    CpuInfo {
        model,
        logical,
        physical_cores,
        simd,
    }
}

/// What /proc/meminfo says about RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemInfo {
    /// MemTotal, bytes.
    pub total_bytes: Option<u64>,
    /// MemAvailable (the kernel's estimate of memory new programs can take without swapping), bytes.
    pub available_bytes: Option<u64>,
}

/// Parses /proc/meminfo (values in kB, which the kernel means as KiB).
#[must_use]
pub fn parse_meminfo(text: &str) -> MemInfo {
    let mut m = MemInfo::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let kib = value
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|k| k.checked_mul(1024));
        match key.trim() {
            "MemTotal" => m.total_bytes = kib,
            "MemAvailable" => m.available_bytes = kib,
            _ => {}
        }
    }
    m
}

/// Counts the CPUs in a kernel CPU list such as `0-3,8,10-11` (the `Cpus_allowed_list` line of
/// /proc/self/status, which is what `nproc` counts). None when the list is malformed.
#[must_use]
pub fn count_cpu_list(list: &str) -> Option<u32> {
    let mut n = 0u32;
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let count = match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                b.checked_sub(a)?.checked_add(1)?
            }
            None => {
                part.trim().parse::<u32>().ok()?;
                1
            }
        };
        n = n.checked_add(count)?;
    }
    (n > 0).then_some(n)
}

/// The CPUs this process may run on, from /proc/self/status's `Cpus_allowed_list`.
#[must_use]
pub fn allowed_cpus_from_status(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .and_then(count_cpu_list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0-3,8,10-11\n"), Some(7));
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list("3-1"), None);
        assert_eq!(count_cpu_list("x"), None);
        assert_eq!(
            allowed_cpus_from_status("Name:\tcat\nCpus_allowed_list:\t0-1\n"),
            Some(2)
        );
    }

    #[test]
    fn empty_cpuinfo_is_empty() {
        let c = parse_cpuinfo("");
        assert_eq!(c.logical, 0);
        assert_eq!(c.model, None);
        assert!(c.simd.is_empty());
    }

    #[test]
    fn meminfo_lines() {
        let m = parse_meminfo("MemTotal:  1000 kB\nMemFree: 5 kB\nMemAvailable: 600 kB\n");
        assert_eq!(m.total_bytes, Some(1_024_000));
        assert_eq!(m.available_bytes, Some(614_400));
    }
}
