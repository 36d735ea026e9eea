//! NVIDIA GPUs: NVML loaded at run time (`nvml-wrapper` dlopens libnvidia-ml.so.1 or nvml.dll, so
//! a machine without the driver just has no NVIDIA GPU), else `nvidia-smi`'s CSV. Peak memory
//! bandwidth comes from NVML's bus width and memory clock (bytes per transfer × 2 transfers per
//! clock, which holds for GDDR6/6X/7 and HBM as NVML reports their clocks); the device catalog
//! supplies compute rates.

use std::process::Command;

use llmrig_core::system::{DeviceKind, DeviceSpec, GpuApi, GpuVendor};

/// The columns asked of `nvidia-smi --query-gpu=… --format=csv,noheader,nounits`, in the order
/// [`parse_nvidia_smi`] reads them.
pub const NVIDIA_SMI_QUERY: &str =
    "name,memory.total,memory.free,pcie.link.gen.max,pcie.link.width.max,pci.device_id";

/// NVIDIA GPUs through NVML, else nvidia-smi; empty with a reason when neither answers.
pub(crate) fn gpus() -> (Vec<DeviceSpec>, Option<String>) {
    // NVML is C behind a dlopen: a panic in the wrapper must not take detection down.
    let nvml = std::panic::catch_unwind(nvml_gpus).unwrap_or_else(|_| Err("NVML panicked".into()));
    match nvml {
        Ok(g) if !g.is_empty() => (g, None),
        Ok(_) => (Vec::new(), None),
        Err(nvml_err) => match nvidia_smi() {
            Some(g) => (g, None),
            None => (Vec::new(), Some(nvml_err)),
        },
    }
}

fn nvml_gpus() -> Result<Vec<DeviceSpec>, String> {
    use nvml_wrapper::enum_wrappers::device::Clock;
    let nvml = nvml_wrapper::Nvml::init().map_err(|e| format!("NVML unavailable: {e}"))?;
    let n = nvml.device_count().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for i in 0..n {
        let d = nvml.device_by_index(i).map_err(|e| e.to_string())?;
        let name = d.name().map_err(|e| e.to_string())?;
        let mem = d.memory_info().map_err(|e| e.to_string())?;
        let bandwidth = match (d.memory_bus_width(), d.max_clock_info(Clock::Memory)) {
            (Ok(bits), Ok(mhz)) => nvml_bandwidth(bits, mhz),
            _ => 0.0,
        };
        out.push(DeviceSpec {
            name,
            kind: DeviceKind::Gpu,
            memory_bytes: mem.total,
            memory_free_bytes: Some(mem.free),
            bandwidth_bytes_per_s: bandwidth,
            api: GpuApi::Cuda,
            pcie_gen: d.max_pcie_link_gen().ok(),
            pcie_width: d.max_pcie_link_width().ok(),
            cores: d.num_cores().ok(),
            pci_id: d.pci_info().ok().map(|p| pci_id(p.pci_device_id)),
            vendor: Some(GpuVendor::Nvidia),
            ..DeviceSpec::default()
        });
    }
    Ok(out)
}

/// Peak bandwidth from NVML's memory bus width (bits) and maximum memory clock (MHz): an RTX 4090
/// reports 384 bits and 10501 MHz, 48 B × 21 GT/s = 1008 GB/s; an H100 SXM 5120 bits and 2619 MHz,
/// 3.35 TB/s.
#[must_use]
pub fn nvml_bandwidth(bus_bits: u32, mem_clock_mhz: u32) -> f64 {
    f64::from(bus_bits) / 8.0 * f64::from(mem_clock_mhz) * 1e6 * 2.0
}

/// `0x268410DE` (device in the high half, vendor in the low half, as NVML and nvidia-smi give it)
/// → `10de:2684`.
fn pci_id(combined: u32) -> String {
    format!("{:04x}:{:04x}", combined & 0xffff, combined >> 16)
}

fn nvidia_smi() -> Option<Vec<DeviceSpec>> {
    let out = Command::new("nvidia-smi")
        .args([
            &format!("--query-gpu={NVIDIA_SMI_QUERY}"),
            "--format=csv,noheader,nounits",
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| parse_nvidia_smi(&String::from_utf8_lossy(&out.stdout)))
}

/// Parses `nvidia-smi --query-gpu=`[`NVIDIA_SMI_QUERY`]` --format=csv,noheader,nounits` (memory in
/// MiB; `[N/A]` and `[Not Supported]` are unknown). Lines with fewer columns (name and total memory
/// at least) are read as far as they go; other lines (a header, `No devices were found`) are skipped.
#[must_use]
pub fn parse_nvidia_smi(text: &str) -> Vec<DeviceSpec> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() < 2 {
                return None;
            }
            // A name with a comma in it would split: the numeric columns are read from the right.
            let numeric = (fields.len() - 1).min(5);
            let name = fields[..fields.len() - numeric].join(", ");
            let col = |i: usize| -> Option<&str> {
                let v = *fields.get(fields.len() - numeric + i)?;
                (!v.starts_with('[') && !v.is_empty()).then_some(v)
            };
            let mib = |i: usize| {
                col(i)?
                    .parse::<u64>()
                    .ok()
                    .and_then(|m| m.checked_mul(1 << 20))
            };
            let total = mib(0)?;
            Some(DeviceSpec {
                name,
                kind: DeviceKind::Gpu,
                memory_bytes: total,
                memory_free_bytes: mib(1),
                api: GpuApi::Cuda,
                pcie_gen: col(2).and_then(|v| v.parse().ok()),
                pcie_width: col(3).and_then(|v| v.parse().ok()),
                pci_id: col(4)
                    .and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok())
                    .map(pci_id),
                vendor: Some(GpuVendor::Nvidia),
                ..DeviceSpec::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_column_lines_and_garbage() {
        let g = parse_nvidia_smi(
            "NVIDIA GeForce RTX 4090, 24564\nNVIDIA H100 80GB HBM3, 81559\ngarbage\nNo devices were found\n",
        );
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].name, "NVIDIA GeForce RTX 4090");
        assert_eq!(g[0].memory_bytes, 24564 << 20);
        assert_eq!(g[0].memory_free_bytes, None);
    }

    #[test]
    fn not_available_columns_are_none() {
        let g = parse_nvidia_smi("Tesla T4, 15360, [N/A], [Not Supported], 16, 0x1EB810DE\n");
        assert_eq!(g[0].memory_free_bytes, None);
        assert_eq!(g[0].pcie_gen, None);
        assert_eq!(g[0].pcie_width, Some(16));
        assert_eq!(g[0].pci_id.as_deref(), Some("10de:1eb8"));
    }

    #[test]
    fn bandwidth_from_bus_and_clock() {
        assert!((nvml_bandwidth(384, 10501) - 1008.1e9).abs() < 1e9);
        assert!((nvml_bandwidth(5120, 2619) - 3352e9).abs() < 1e9);
    }
}
