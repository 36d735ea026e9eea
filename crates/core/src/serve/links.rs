//! The links collectives use: inside a node, the GPU's [`Interconnect`] (an NVLink or Infinity
//! Fabric fabric, else PCIe), as the device catalog describes it; between nodes, the network
//! ([`InterNode`]). Each becomes a [`Link`]: the bandwidth a collective achieves and its latency.

use serde::Serialize;

/// Achieved share of an NVLink/Infinity Fabric direction in a ring all-reduce: Vidur's 64 MB
/// all-reduce profiles (Agrawal et al., MLSys 2024) reach a bus bandwidth of 365 of 450 GB/s on
/// 8×H100 and 174 of 300 on 8×A100.
const FABRIC_EFFICIENCY: f64 = 0.7;
/// Achieved share of a network link's line rate.
const NIC_EFFICIENCY: f64 = 0.8;

/// The network between nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterNode {
    /// InfiniBand NDR, 400 Gb/s per GPU's NIC.
    IbNdr,
    /// InfiniBand HDR, 200 Gb/s.
    IbHdr,
    /// RoCE at 100 Gb/s.
    Roce100,
    /// 25 Gb/s Ethernet (NCCL over TCP sockets).
    Ethernet25,
}

impl InterNode {
    /// Every kind with its flag name.
    pub const ALL: [(&'static str, InterNode); 4] = [
        ("ib-ndr", InterNode::IbNdr),
        ("ib-hdr", InterNode::IbHdr),
        ("roce-100", InterNode::Roce100),
        ("ethernet-25", InterNode::Ethernet25),
    ];

    /// Line rate and latency: InfiniBand NDR 400 Gb/s (50 GB/s) and HDR 200 Gb/s (25 GB/s) per NIC
    /// (InfiniBand Trade Association roadmap), RoCE and Ethernet from their line rates. The
    /// latencies (20–50 µs, TCP sockets slower than RDMA) are assumptions no measurement here
    /// has checked.
    #[must_use]
    pub fn link(self) -> Link {
        let (name, gbit, us) = match self {
            InterNode::IbNdr => ("InfiniBand NDR", 400.0, 20.0),
            InterNode::IbHdr => ("InfiniBand HDR", 200.0, 25.0),
            InterNode::Roce100 => ("RoCE 100 Gb/s", 100.0, 30.0),
            InterNode::Ethernet25 => ("Ethernet 25 Gb/s", 25.0, 50.0),
        };
        Link {
            name: name.into(),
            bandwidth_bytes_per_s: gbit / 8.0 * 1e9 * NIC_EFFICIENCY,
            latency_s: us * 1e-6,
        }
    }
}

/// A link as a collective sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// What it is.
    pub name: String,
    /// Achieved bandwidth per direction, bytes/s.
    pub bandwidth_bytes_per_s: f64,
    /// Latency of one small collective or send, seconds.
    pub latency_s: f64,
}

/// What joins the GPUs inside a node: a GPU-to-GPU fabric where there is one, and PCIe, which
/// every GPU has and which TP groups the fabric does not join use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interconnect {
    /// NVLink or Infinity Fabric, if the GPU has it.
    pub fabric: Option<Fabric>,
    /// The GPU's PCIe link.
    pub pcie: Pcie,
}

/// A GPU-to-GPU fabric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fabric {
    /// NVLink or Infinity Fabric.
    pub kind: FabricKind,
    /// Bandwidth of one GPU over both directions, bytes/s, as vendors state it (`NVLink4 900 GB/s
    /// total`); for a bridge, the pair's figure.
    pub bandwidth_bytes_per_s: f64,
    /// Most GPUs it joins: `None` for a switch or full mesh (every GPU of the node), `Some(2)` for
    /// a bridge between pairs, `Some(4)` for a 4-way bridge.
    pub max_gpus: Option<u32>,
}

/// The kind of a GPU-to-GPU fabric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FabricKind {
    /// NVIDIA NVLink (SXM switch or mesh, or an NVLink bridge).
    NvLink,
    /// AMD Infinity Fabric (mesh, or an Infinity Fabric bridge).
    InfinityFabric,
}

impl FabricKind {
    /// The name people use.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            FabricKind::NvLink => "NVLink",
            FabricKind::InfinityFabric => "Infinity Fabric",
        }
    }
}

/// A GPU's PCIe link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pcie {
    /// Generation.
    pub gen: PcieGen,
    /// Lanes (8 or 16; fewer than 16 lanes scale the x16 rate down).
    pub lanes: u32,
    /// Whether GPUs copy to each other directly; without it copies bounce through host memory
    /// (GeForce cards, whose driver disables peer-to-peer).
    pub peer_to_peer: bool,
}

/// PCIe generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PcieGen {
    /// PCIe 3.0.
    Gen3,
    /// PCIe 4.0.
    Gen4,
    /// PCIe 5.0.
    Gen5,
}

impl PcieGen {
    /// What an x16 link achieves per direction, GB/s: 12/25/50 for gen 3/4/5, about 80% of the
    /// PCI-SIG peaks (16/32/64), an assumption no measurement here has checked.
    #[must_use]
    pub fn x16_gbs(self) -> f64 {
        match self {
            PcieGen::Gen3 => 12.0,
            PcieGen::Gen4 => 25.0,
            PcieGen::Gen5 => 50.0,
        }
    }
}

impl Default for Interconnect {
    /// What is assumed when the GPU's interconnect is unknown: PCIe 4.0 x16 with peer-to-peer and
    /// no fabric.
    fn default() -> Self {
        Interconnect {
            fabric: None,
            pcie: Pcie {
                gen: PcieGen::Gen4,
                lanes: 16,
                peer_to_peer: true,
            },
        }
    }
}

impl Interconnect {
    /// The link a TP group of `tp` GPUs uses inside a node. α: 10 µs for an NVLink pair growing to
    /// 25 µs for 8 GPUs, from the NCCL all-reduce medians Vidur measured (Agrawal et al., MLSys
    /// 2024: 7–10 µs for 2 GPUs, 20–60 µs for 4–8, flat up to ~1 MB); 25 µs for PCIe with
    /// peer-to-peer and 50 µs without (GeForce cards, whose collectives bounce through host
    /// memory), both assumed. PCIe peaks at 16/32/64 GB/s per x16 direction for gen 3/4/5 (PCI-SIG
    /// base specifications), of which about 80% (12/25/50 GB/s) is assumed reachable, halved when
    /// copies bounce through host memory. A bridge joins pairs only (or four GPUs when it is
    /// 4-way); larger groups cross PCIe.
    #[must_use]
    pub fn link(&self, tp: u32) -> Link {
        if let Some(f) = self
            .fabric
            .as_ref()
            .filter(|f| f.max_gpus.is_none_or(|n| tp <= n))
        {
            let fabric_alpha = (10.0 + 7.5 * (f64::from(tp.max(2)) / 2.0).log2()) * 1e-6;
            // Fabric figures count both directions (a bridge's is per pair, both directions).
            return Link {
                name: match f.max_gpus {
                    None => f.kind.name().into(),
                    Some(_) => format!("{} bridge", f.kind.name()),
                },
                bandwidth_bytes_per_s: f.bandwidth_bytes_per_s / 2.0 * FABRIC_EFFICIENCY,
                latency_s: fabric_alpha,
            };
        }
        let p = &self.pcie;
        let lanes = f64::from(p.lanes.min(16)) / 16.0;
        Link {
            name: if p.peer_to_peer {
                "PCIe"
            } else {
                "PCIe without P2P"
            }
            .into(),
            bandwidth_bytes_per_s: p.gen.x16_gbs()
                * lanes
                * 1e9
                * if p.peer_to_peer { 1.0 } else { 0.5 },
            latency_s: if p.peer_to_peer { 25e-6 } else { 50e-6 },
        }
    }
}
