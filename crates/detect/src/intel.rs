//! Intel GPUs through sysfs (vendor 0x8086). i915 and xe show no memory sizes for integrated GPUs,
//! which use system RAM: they become `DeviceKind::Unified` with the host's RAM. A discrete Arc card
//! is known by its PCI id or by a `mem_info_vram_total` file; when its memory is not shown it is
//! left at 0 for the device catalog to fill.

use std::path::Path;

use llmrig_core::system::{DeviceKind, DeviceSpec, GpuApi, GpuVendor};

use crate::drm::{Card, HostMemory};

/// Name and whether it is discrete, by PCI device id (the kernel's i915_pciids.h / xe_pciids.h).
fn known(device: u32) -> Option<(&'static str, bool)> {
    Some(match device {
        0x56a0 => ("Intel Arc A770", true),
        0x56a1 => ("Intel Arc A750", true),
        0x56a5 => ("Intel Arc A380", true),
        0xe20b => ("Intel Arc B580", true),
        0xe20c => ("Intel Arc B570", true),
        0x64a0 => ("Intel Arc 140V (Lunar Lake)", false),
        0x7d55 => ("Intel Arc Graphics (Meteor Lake)", false),
        0xa7a0 => ("Intel Iris Xe Graphics (Raptor Lake-P)", false),
        0x46a6 => ("Intel Iris Xe Graphics (Alder Lake-P)", false),
        0x9a49 => ("Intel Iris Xe Graphics (Tiger Lake)", false),
        0xa780 => ("Intel UHD Graphics 770 (Raptor Lake-S)", false),
        0x4680 => ("Intel UHD Graphics 770 (Alder Lake-S)", false),
        0x3e92 => ("Intel UHD Graphics 630 (Coffee Lake)", false),
        _ => return None,
    })
}

/// One Intel GPU.
pub(crate) fn gpu(
    card: &Card,
    root: &Path,
    host: HostMemory,
    notes: &mut Vec<crate::Note>,
) -> DeviceSpec {
    let vram = card.read_u64("mem_info_vram_total");
    let table = known(card.device);
    let discrete = vram.is_some() || table.is_some_and(|(_, d)| d);
    let name = table
        .map(|(n, _)| n.to_string())
        .or_else(|| {
            crate::drm::pci_ids_name(root, card.vendor, card.device).map(|n| {
                if n.starts_with("Intel") {
                    n
                } else {
                    format!("Intel {n}")
                }
            })
        })
        .unwrap_or_else(|| format!("Intel GPU {}", card.pci_id()));
    if discrete {
        let (pcie_gen, pcie_width) = card.pcie();
        let used = card.read_u64("mem_info_vram_used");
        DeviceSpec {
            name,
            kind: DeviceKind::Gpu,
            memory_bytes: vram.unwrap_or(0),
            memory_free_bytes: vram.zip(used).map(|(t, u)| t.saturating_sub(u)),
            api: GpuApi::Sycl,
            pcie_gen,
            pcie_width,
            pci_id: Some(card.pci_id()),
            vendor: Some(GpuVendor::Intel),
            ..DeviceSpec::default()
        }
    } else {
        notes.push(crate::Note::IntelIntegratedGpu {
            gpu: name.clone(),
            ram_bytes: host.total_bytes,
        });
        DeviceSpec {
            name,
            kind: DeviceKind::Unified,
            memory_bytes: host.total_bytes,
            memory_free_bytes: host.available_bytes,
            api: GpuApi::Vulkan,
            pci_id: Some(card.pci_id()),
            vendor: Some(GpuVendor::Intel),
            ..DeviceSpec::default()
        }
    }
}
