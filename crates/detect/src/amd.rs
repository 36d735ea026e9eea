//! AMD GPUs through amdgpu's sysfs files: `mem_info_vram_total`/`_used` (dedicated memory; on an
//! APU the BIOS carve-out), `mem_info_gtt_total`/`_used` (system RAM the GPU may map), and
//! `product_name` (read from the board's FRU EEPROM, present on few consumer cards). The name
//! otherwise comes from the PCI device id: a short table of cards llama.cpp users run, then the
//! system's pci.ids. An APU (integrated GPU) becomes `DeviceKind::Unified` with carve-out + GTT.

use std::path::Path;

use llmrig_core::system::{DeviceKind, DeviceSpec, GpuApi, GpuVendor};

use crate::drm::Card;

const GIB: u64 = 1 << 30;

/// Name and whether it is an APU, by PCI device id (the kernel's amdgpu_drv.c id table and
/// pci.ids). Navi 31 (0x744c) is the 7900 XTX, XT or GRE by its memory: 24, 20 or 16 GiB.
fn known(device: u32, vram: u64) -> Option<(&'static str, bool)> {
    Some(match device {
        0x744c if vram > 22 * GIB => ("AMD Radeon RX 7900 XTX", false),
        0x744c if vram > 18 * GIB => ("AMD Radeon RX 7900 XT", false),
        0x744c => ("AMD Radeon RX 7900 GRE", false),
        0x7480 => ("AMD Radeon RX 7600", false),
        // The 9070 shares the id (and the 640 GB/s); only its compute rate is lower.
        0x7550 => ("AMD Radeon RX 9070 XT", false),
        0x74a1 => ("AMD Instinct MI300X", false),
        0x74a5 => ("AMD Instinct MI325X", false),
        0x740c => ("AMD Instinct MI250X", false),
        0x740f => ("AMD Instinct MI210", false),
        0x73bf => ("AMD Radeon RX 6800/6900 XT", false),
        0x1586 => ("AMD Radeon 8060S (Strix Halo)", true),
        0x150e => ("AMD Radeon 890M (Strix Point)", true),
        0x15bf => ("AMD Radeon 780M (Phoenix)", true),
        0x15c8 => ("AMD Radeon 740M (Phoenix2)", true),
        0x1681 => ("AMD Radeon 680M (Rembrandt)", true),
        0x164e => ("AMD Radeon Graphics (Raphael)", true),
        0x13c0 => ("AMD Radeon Graphics (Granite Ridge)", true),
        0x1636 => ("AMD Radeon Graphics (Renoir)", true),
        0x1638 => ("AMD Radeon Graphics (Cezanne)", true),
        0x163f => ("AMD Custom GPU 0405 (Van Gogh, Steam Deck)", true),
        _ => return None,
    })
}

/// One AMD GPU, or None when amdgpu is not bound to it (no `mem_info_vram_total`: radeon driver,
/// vfio passthrough).
pub(crate) fn gpu(card: &Card, root: &Path, notes: &mut Vec<crate::Note>) -> Option<DeviceSpec> {
    let vram = card.read_u64("mem_info_vram_total")?;
    let vram_used = card.read_u64("mem_info_vram_used");
    let gtt = card.read_u64("mem_info_gtt_total").unwrap_or(0);
    let gtt_used = card.read_u64("mem_info_gtt_used");
    let table = known(card.device, vram);
    // amdgpu shows `mem_info_vram_vendor` only when the VBIOS names the memory maker, which dGPUs do
    // and APUs (no VRAM chips of their own) do not.
    let apu = table.map_or_else(
        || !card.has("mem_info_vram_vendor") && vram <= 8 * GIB && gtt > vram,
        |(_, apu)| apu,
    );
    let name = card
        .read_string("product_name")
        .or_else(|| table.map(|(n, _)| n.to_string()))
        .or_else(|| {
            crate::drm::pci_ids_name(root, card.vendor, card.device).map(|n| {
                if n.starts_with("AMD") {
                    n
                } else {
                    format!("AMD {n}")
                }
            })
        })
        .unwrap_or_else(|| format!("AMD GPU {}", card.pci_id()));
    let free = |total: u64, used: Option<u64>| used.map(|u| total.saturating_sub(u));
    let spec = if apu {
        notes.push(crate::Note::AmdIntegratedGpu {
            gpu: name.clone(),
            carve_out_bytes: vram,
            gtt_bytes: gtt,
        });
        DeviceSpec {
            name,
            kind: DeviceKind::Unified,
            memory_bytes: vram.saturating_add(gtt),
            memory_free_bytes: free(vram, vram_used)
                .zip(free(gtt, gtt_used))
                .map(|(a, b)| a.saturating_add(b)),
            api: GpuApi::Vulkan,
            pci_id: Some(card.pci_id()),
            vendor: Some(GpuVendor::Amd),
            ..DeviceSpec::default()
        }
    } else {
        let (pcie_gen, pcie_width) = card.pcie();
        DeviceSpec {
            name,
            kind: DeviceKind::Gpu,
            memory_bytes: vram,
            memory_free_bytes: free(vram, vram_used),
            api: GpuApi::Rocm,
            pcie_gen,
            pcie_width,
            pci_id: Some(card.pci_id()),
            vendor: Some(GpuVendor::Amd),
            ..DeviceSpec::default()
        }
    };
    Some(spec)
}
