//! The catalog's interconnect text (`NVLink4 900 GB/s total; PCIe 5.0 x16`) as core's structured
//! [`Interconnect`]: the catalog owns the wording of its data and the knowledge of device names,
//! so core never parses either.
//!
//! A segment naming NVLink with a rate (not a bridge, not NVLink-C2C to a CPU) or Infinity Fabric
//! (not a bridge) is a fabric joining every GPU of the node; `bridge` joins pairs, or four GPUs
//! when the text says `4-way`. The fabric's rate is the largest `N GB/s` (or `LxN GB/s`, links
//! times rate) in its segment, 400 GB/s when none is stated. PCIe is the generation named (4.0
//! when none is), x8 when the text says so and x16 otherwise (an x4 link is counted as x16), with
//! peer-to-peer unless the text says `no P2P` or the GPU is a GeForce card (NVIDIA's driver
//! reports no peer access between GeForce RTX 40 cards, `cudaDeviceCanAccessPeer` = 0, which
//! tinygrad's patched open-gpu-kernel-modules exists to work around).

use llmrig_core::serve::{Fabric, FabricKind, Interconnect, Pcie, PcieGen};

use crate::DeviceEntry;

/// `text`, a GPU's interconnect as the device catalog states it (`None`: unknown, PCIe 4.0 x16
/// assumed), for GPU `gpu_name` (which decides peer-to-peer for GeForce cards).
#[must_use]
pub fn interconnect(text: Option<&str>, gpu_name: &str) -> Interconnect {
    let text = text.unwrap_or("").to_ascii_lowercase();
    // The largest `N GB/s` (or `LxN GB/s`, links times rate) in the segment naming `key`.
    let gbs_after = |key: &str| -> Option<f64> {
        let seg = text
            .split(';')
            .find(|s| s.contains(key) && !s.contains("c2c"))?;
        let parts: Vec<&str> = seg.split("gb/s").collect();
        parts[..parts.len() - 1]
            .iter()
            .filter_map(|p| {
                let tok = p.split_whitespace().last()?.trim_matches(['(', ')']);
                match tok.split_once('x') {
                    Some((l, r)) => Some(l.parse::<f64>().ok()? * r.parse::<f64>().ok()?),
                    None => tok.parse().ok(),
                }
            })
            .reduce(f64::max)
    };
    let full_mesh = text.split(';').any(|s| {
        (s.contains("nvlink") && !s.contains("bridge") && !s.contains("c2c") && s.contains("gb/s"))
            || s.contains("infinity fabric") && !s.contains("bridge")
    });
    let bridge = text.contains("bridge");
    let fabric = (full_mesh || bridge).then(|| {
        let infinity = text.contains("infinity fabric");
        let key = if infinity {
            "infinity fabric"
        } else if bridge && !full_mesh {
            "bridge"
        } else {
            "nvlink"
        };
        Fabric {
            kind: if infinity {
                FabricKind::InfinityFabric
            } else {
                FabricKind::NvLink
            },
            // NVLink totals count both directions; a bridge's figure is per pair, both directions.
            bandwidth_bytes_per_s: gbs_after(key).unwrap_or(400.0) * 1e9,
            max_gpus: if full_mesh {
                None
            } else if text.contains("4-way") {
                Some(4)
            } else {
                Some(2)
            },
        }
    });
    let gen = ["pcie 5", "pcie 4", "pcie 3"]
        .iter()
        .position(|g| text.contains(g))
        .map_or(PcieGen::Gen4, |i| {
            [PcieGen::Gen5, PcieGen::Gen4, PcieGen::Gen3][i]
        });
    Interconnect {
        fabric,
        pcie: Pcie {
            gen,
            lanes: if text.contains(" x8") { 8 } else { 16 },
            peer_to_peer: !(text.contains("no p2p")
                || gpu_name.to_ascii_lowercase().contains("geforce")),
        },
    }
}

impl DeviceEntry {
    /// This GPU's interconnect (see [`interconnect`]).
    #[must_use]
    pub fn links(&self) -> Interconnect {
        interconnect(self.interconnect.as_deref(), &self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_from_catalog_text() {
        let nv = interconnect(Some("NVLink4 900 GB/s total; PCIe 5.0 x16"), "H100").link(8);
        assert!((nv.bandwidth_bytes_per_s - 315e9).abs() < 1e6);
        assert!((nv.latency_s - 25e-6).abs() < 1e-9);
        let bridge = Some("PCIe 4.0 x16; NVLink bridge 112.5 GB/s");
        let pair = interconnect(bridge, "RTX 3090").link(2);
        assert!((pair.latency_s - 10e-6).abs() < 1e-9);
        let four = interconnect(bridge, "NVIDIA GeForce RTX 3090").link(4);
        assert_eq!(four.name, "PCIe without P2P");
        let mi = interconnect(
            Some("Infinity Fabric 7x128 GB/s (896 GB/s); PCIe 5.0 x16"),
            "MI300X",
        )
        .link(8);
        assert!((mi.bandwidth_bytes_per_s - 313.6e9).abs() < 1e6);
        let gh = interconnect(
            Some("NVLink-C2C 900 GB/s to Grace; NVLink4 900 GB/s"),
            "GH200",
        );
        assert!((gh.link(4).latency_s - 17.5e-6).abs() < 1e-9);
        assert_eq!(gh.fabric.unwrap().bandwidth_bytes_per_s, 900e9);
        let l40 = interconnect(Some("PCIe 4.0 x16"), "NVIDIA L40S").link(4);
        assert!((l40.bandwidth_bytes_per_s - 25e9).abs() < 1.0);
    }

    #[test]
    fn structure_of_catalog_wordings() {
        let four_way = interconnect(
            Some("PCIe 5.0 x16; NVLink bridge 900 GB/s (2- or 4-way)"),
            "NVIDIA H200 NVL 141GB",
        );
        assert_eq!(four_way.fabric.as_ref().unwrap().max_gpus, Some(4));
        let mi210 = interconnect(
            Some("Infinity Fabric bridge up to 300 GB/s; PCIe 4.0 x16"),
            "AMD Instinct MI210",
        );
        let f = mi210.fabric.unwrap();
        assert_eq!(f.kind, FabricKind::InfinityFabric);
        assert_eq!((f.bandwidth_bytes_per_s, f.max_gpus), (300e9, Some(2)));
        let mi250 = interconnect(
            Some("Infinity Fabric up to 6x100 GB/s"),
            "AMD Instinct MI250",
        );
        assert_eq!(mi250.fabric.unwrap().bandwidth_bytes_per_s, 600e9);
        let unstated = interconnect(
            Some("Infinity Fabric (4th gen), 8-GPU OAM platform"),
            "MI355X",
        );
        assert_eq!(unstated.fabric.unwrap().bandwidth_bytes_per_s, 400e9);
        let no_p2p = interconnect(Some("PCIe 4.0 x16 (no NVLink; no P2P)"), "RTX 4090");
        assert_eq!(no_p2p.fabric, None);
        assert!(!no_p2p.pcie.peer_to_peer);
        let x8 = interconnect(Some("PCIe 5.0 x8"), "Intel Arc Pro B60").pcie;
        assert_eq!(
            (x8.gen, x8.lanes, x8.peer_to_peer),
            (PcieGen::Gen5, 8, true)
        );
        assert_eq!(interconnect(None, "Some GPU"), Interconnect::default());
        assert!(
            !interconnect(None, "NVIDIA GeForce RTX 5090")
                .pcie
                .peer_to_peer
        );
    }
}
