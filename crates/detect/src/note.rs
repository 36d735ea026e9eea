//! [`Note`]: what detection assumed, left out or could not read, one variant per case. `Display`
//! states the fact only; what the user can do about it (a flag, a command) is the front end's to
//! add, since this crate does not know its flags.

use std::fmt;

use crate::{gib, DEFAULT_RAM_BANDWIDTH};

/// A note on the detected machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// No memory-module tables: the RAM bandwidth is [`DEFAULT_RAM_BANDWIDTH`], assumed.
    BandwidthAssumed,
    /// The RAM bandwidth is the peak of the modules the firmware tables (SMBIOS) list, not measured.
    BandwidthFromFirmware {
        /// The peak, bytes/s.
        bytes_per_s: f64,
        /// Memory channels (0 when unknown).
        channels: u32,
        /// `DDR5`, `LPDDR5`, or `RAM` when unknown.
        memory_type: String,
        /// Transfers per second, millions (0 when unknown).
        speed_mts: u32,
    },
    /// The OS did not report the RAM size.
    RamSizeUnknown,
    /// No GPU llama.cpp would use was found.
    NoGpu,
    /// An integrated GPU set aside because there is a discrete one.
    IntegratedGpuLeftOut {
        /// The integrated GPU.
        gpu: String,
    },
    /// NVIDIA cards are on the PCI bus but neither NVML nor nvidia-smi described them.
    NvidiaUnanswered {
        /// Cards seen on the bus.
        cards: u32,
        /// Why NVML failed, when known.
        error: Option<String>,
    },
    /// This OS's detection sees NVIDIA GPUs only.
    OnlyNvidiaDetected,
    /// A CPU with performance and efficiency cores (Apple silicon).
    HybridCores {
        /// Performance cores.
        performance: u32,
        /// Efficiency cores.
        efficiency: u32,
    },
    /// An AMD integrated GPU: its carve-out plus the window of system RAM it may map (GTT).
    AmdIntegratedGpu {
        /// The GPU.
        gpu: String,
        /// VRAM carve-out, bytes.
        carve_out_bytes: u64,
        /// GTT window, bytes.
        gtt_bytes: u64,
    },
    /// An Intel integrated GPU, whose memory is the system RAM.
    IntelIntegratedGpu {
        /// The GPU.
        gpu: String,
        /// System RAM, bytes.
        ram_bytes: u64,
    },
}

impl Note {
    /// Whether the note is about the RAM bandwidth (superseded when the bandwidth is given).
    #[must_use]
    pub fn is_ram_bandwidth(&self) -> bool {
        matches!(
            self,
            Note::BandwidthAssumed | Note::BandwidthFromFirmware { .. }
        )
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::BandwidthAssumed => write!(
                f,
                "RAM bandwidth not measured; assuming {:.1} GB/s (dual-channel DDR5-5600)",
                DEFAULT_RAM_BANDWIDTH / 1e9
            ),
            Note::BandwidthFromFirmware {
                bytes_per_s,
                channels,
                memory_type,
                speed_mts,
            } => write!(
                f,
                "RAM bandwidth {:.1} GB/s: {channels} channel(s) of {memory_type} at {speed_mts} MT/s (firmware tables)",
                bytes_per_s / 1e9
            ),
            Note::RamSizeUnknown => f.write_str("RAM size not detected"),
            Note::NoGpu => f.write_str("no GPU found"),
            Note::IntegratedGpuLeftOut { gpu } => write!(
                f,
                "{gpu} (integrated) left out: llama.cpp uses the discrete GPU(s)"
            ),
            Note::NvidiaUnanswered { cards, error } => write!(
                f,
                "{cards} NVIDIA GPU(s) on the PCI bus, but neither NVML nor nvidia-smi answered{}",
                error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ),
            Note::OnlyNvidiaDetected => {
                f.write_str("only NVIDIA GPUs are detected on this system")
            }
            Note::HybridCores {
                performance,
                efficiency,
            } => write!(
                f,
                "{performance} performance and {efficiency} efficiency cores; llama.cpp runs on the performance cores"
            ),
            Note::AmdIntegratedGpu {
                gpu,
                carve_out_bytes,
                gtt_bytes,
            } => write!(
                f,
                "{gpu} is an integrated GPU: {} carve-out plus {} of system RAM it may map (GTT)",
                gib(*carve_out_bytes),
                gib(*gtt_bytes)
            ),
            Note::IntelIntegratedGpu { gpu, ram_bytes } => write!(
                f,
                "{gpu} is an integrated GPU sharing system RAM; its memory is the {} of RAM",
                gib(*ram_bytes)
            ),
        }
    }
}
