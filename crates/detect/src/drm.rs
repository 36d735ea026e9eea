//! GPUs from Linux's DRM class in sysfs (`sys/class/drm/card<N>/device/`): AMD (vendor 0x1002)
//! through amdgpu's `mem_info_*` files, Intel (0x8086) through the PCI ids; NVIDIA cards (0x10de) are
//! only counted, since NVML or nvidia-smi reports them. Everything takes the root of a file tree, so
//! tests read fixture trees on any OS.

use std::path::{Path, PathBuf};

use llmrig_core::system::DeviceSpec;

/// Facts about the host that sysfs GPU readers need (integrated GPUs share its RAM).
#[derive(Debug, Clone, Copy, Default)]
pub struct HostMemory {
    /// System RAM, bytes.
    pub total_bytes: u64,
    /// RAM available to new programs, bytes.
    pub available_bytes: Option<u64>,
}

/// One DRM card's PCI device folder.
pub(crate) struct Card {
    pub dir: PathBuf,
    pub vendor: u32,
    pub device: u32,
}

impl Card {
    pub fn read_u64(&self, file: &str) -> Option<u64> {
        std::fs::read_to_string(self.dir.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn read_string(&self, file: &str) -> Option<String> {
        let s = std::fs::read_to_string(self.dir.join(file)).ok()?;
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    }

    pub fn has(&self, file: &str) -> bool {
        self.dir.join(file).exists()
    }

    pub fn pci_id(&self) -> String {
        format!("{:04x}:{:04x}", self.vendor, self.device)
    }

    /// The most the link supports (`max_link_speed` `16.0 GT/s PCIe`, `max_link_width` `16`).
    pub fn pcie(&self) -> (Option<u32>, Option<u32>) {
        let gen = self.read_string("max_link_speed").and_then(|s| {
            let gts: f64 = s.split_whitespace().next()?.parse().ok()?;
            // PCIe 1.0 … 6.0 run at 2.5, 5, 8, 16, 32, 64 GT/s per lane.
            [2.5, 5.0, 8.0, 16.0, 32.0, 64.0]
                .iter()
                .position(|&r| (r - gts).abs() < 0.01)
                .and_then(|p| u32::try_from(p + 1).ok())
        });
        let width = self
            .read_string("max_link_width")
            .and_then(|s| s.parse().ok())
            .filter(|&w: &u32| w > 0);
        (gen, width)
    }
}

fn read_hex(path: &Path) -> Option<u32> {
    let s = std::fs::read_to_string(path).ok()?;
    u32::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

/// The PCI cards under `root/sys/class/drm` (`card0`, `card1`; connectors like `card0-DP-1` and
/// render nodes are skipped), in card order.
pub(crate) fn cards(root: &Path) -> Vec<Card> {
    let Ok(entries) = std::fs::read_dir(root.join("sys/class/drm")) else {
        return Vec::new();
    };
    let mut numbered: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n: u32 = name.strip_prefix("card")?.parse().ok()?;
            Some((n, e.path().join("device")))
        })
        .collect();
    numbered.sort();
    numbered
        .into_iter()
        .filter_map(|(_, dir)| {
            // Platform GPUs (Raspberry Pi's vc4/v3d) have no PCI ids: not ones llama.cpp offloads to.
            let vendor = read_hex(&dir.join("vendor"))?;
            let device = read_hex(&dir.join("device"))?;
            Some(Card {
                dir,
                vendor,
                device,
            })
        })
        .collect()
}

/// PCI vendor ids.
pub(crate) const AMD: u32 = 0x1002;
pub(crate) const INTEL: u32 = 0x8086;
pub(crate) const NVIDIA: u32 = 0x10de;

/// GPUs found in sysfs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrmGpus {
    /// AMD and Intel GPUs, in card order.
    pub gpus: Vec<DeviceSpec>,
    /// NVIDIA cards seen on the PCI bus (NVML or nvidia-smi describes them).
    pub nvidia_cards: u32,
    /// What was assumed.
    pub notes: Vec<crate::Note>,
}

/// AMD and Intel GPUs under `root` (`/` on a real machine).
#[must_use]
pub fn read_drm_gpus(root: &Path, host: HostMemory) -> DrmGpus {
    let mut out = DrmGpus::default();
    for card in cards(root) {
        match card.vendor {
            AMD => {
                if let Some(g) = crate::amd::gpu(&card, root, &mut out.notes) {
                    out.gpus.push(g);
                }
            }
            INTEL => out
                .gpus
                .push(crate::intel::gpu(&card, root, host, &mut out.notes)),
            NVIDIA => out.nvidia_cards += 1,
            // BMC and virtual display adapters (ASPEED, Matrox, QEMU, virtio, VMware).
            _ => {}
        }
    }
    out
}

/// A device's name from the pci.ids database when the system has one (`usr/share/hwdata/pci.ids`
/// or `usr/share/misc/pci.ids` under `root`): the marketing name in brackets when there is one.
pub(crate) fn pci_ids_name(root: &Path, vendor: u32, device: u32) -> Option<String> {
    let text = [
        "usr/share/hwdata/pci.ids",
        "usr/share/misc/pci.ids",
        "usr/share/pci.ids",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(root.join(p)).ok())?;
    let vendor_prefix = format!("{vendor:04x}  ");
    let device_prefix = format!("\t{device:04x}  ");
    let mut in_vendor = false;
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if !line.starts_with('\t') {
            if in_vendor {
                return None;
            }
            in_vendor = line.starts_with(&vendor_prefix);
        } else if in_vendor {
            if let Some(name) = line.strip_prefix(&device_prefix) {
                let name = name.trim();
                let marketing = name
                    .split_once('[')
                    .and_then(|(_, r)| r.split_once(']'))
                    .map_or(name, |(m, _)| m);
                return Some(marketing.trim().to_string());
            }
        }
    }
    None
}
