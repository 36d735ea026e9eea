//! The operating system a machine runs and what it leaves of the RAM for a model: the RAM
//! available to new programs when the machine was detected, else the total minus a reserve for
//! the OS and everything else running beside the model (per OS, documented below; `--os-reserve`
//! replaces it). A unified-memory GPU draws on the same budget (docs/memory-model.md, "Unified
//! memory and the OS reserve").

use serde::{Deserialize, Serialize};

const GIB: u64 = 1 << 30;

/// The operating system: it decides what is kept of the RAM and whether a GPU driver spills into
/// shared system memory instead of failing (Windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Os {
    /// Linux with a desktop session (what a Linux box is taken for unless it is known headless).
    #[serde(rename = "linux")]
    Linux,
    /// Linux without a desktop (a server, reached over the network).
    #[serde(rename = "linux-server")]
    LinuxServer,
    /// macOS.
    #[serde(rename = "macos")]
    Macos,
    /// Windows.
    #[serde(rename = "windows")]
    Windows,
}

/// What is kept for the OS and other programs when the OS is not known: a desktop's, as on
/// Linux and Windows ([`Os::reserve_bytes`]).
pub const UNKNOWN_OS_RESERVE_BYTES: u64 = 4 * GIB;

impl Os {
    /// Every OS, in the order `--help` lists them.
    pub const ALL: [Os; 4] = [Os::Linux, Os::LinuxServer, Os::Macos, Os::Windows];

    /// The name users type (`linux-server`), as machine files spell it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::LinuxServer => "linux-server",
            Os::Macos => "macos",
            Os::Windows => "windows",
        }
    }

    /// The name people read (`macOS`).
    #[must_use]
    pub fn display_name(self) -> &'static str {
        match self {
            Os::Linux => "Linux",
            Os::LinuxServer => "a headless Linux",
            Os::Macos => "macOS",
            Os::Windows => "Windows",
        }
    }

    /// Parses a name, any case: `linux`, `linux-server` (`server`, `headless`), `macos` (`mac`,
    /// `darwin`, `osx`), `windows` (`win`).
    #[must_use]
    pub fn parse(s: &str) -> Option<Os> {
        Some(
            match s.to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
                "linux" | "linux-desktop" => Os::Linux,
                "linux-server" | "server" | "headless" | "linux-headless" => Os::LinuxServer,
                "macos" | "mac" | "darwin" | "osx" | "mac-os" => Os::Macos,
                "windows" | "win" | "win32" | "win64" => Os::Windows,
                _ => return None,
            },
        )
    }

    /// RAM this OS and the programs usually running beside a model keep, bytes, where the RAM
    /// available is not known (a machine described by flags, the catalog or a file without it):
    ///
    /// - Windows: 4 GiB, Microsoft's minimum RAM for Windows 11 ("Windows 11 specifications and
    ///   system requirements", microsoft.com): what the OS needs to run with its usual programs.
    /// - Linux with a desktop: 4 GiB, Canonical's stated minimum system memory for Ubuntu Desktop
    ///   (ubuntu.com/download/desktop, 20.04 and later).
    /// - macOS: 3 GiB, an assumption: Apple publishes no figure. The kernel's wired memory,
    ///   WindowServer and the system daemons take 2–3 GiB on Apple silicon and macOS compresses
    ///   what idle programs hold, so it gets by with less than the other desktops (gpt-oss-20b,
    ///   which OpenAI says runs in 16 GB, then fits a 16 GB Mac, close to the limit). Apple's own
    ///   default keeps more from the GPU alone: `recommendedMaxWorkingSetSize` is about two
    ///   thirds of RAM up to 36 GiB.
    /// - Linux without a desktop: 1 GiB, an assumption (no distributor publishes one): the kernel,
    ///   systemd, sshd and the page cache of running binaries take a few hundred MiB on a server.
    #[must_use]
    pub fn reserve_bytes(self) -> u64 {
        match self {
            Os::Linux | Os::Windows => 4 * GIB,
            Os::Macos => 3 * GIB,
            Os::LinuxServer => GIB,
        }
    }
}

/// Where a [`RamBudget`]'s usable figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamBasis {
    /// The RAM available to new programs when the machine was detected (MemAvailable on Linux,
    /// free + inactive + speculative pages on macOS, the available memory on Windows).
    Available,
    /// The total minus a reserve for the OS and other programs.
    Reserve {
        /// The OS, when known (given, detected or implied by a Metal GPU).
        os: Option<Os>,
        /// Bytes kept.
        reserve_bytes: u64,
        /// Whether the reserve was given (`--os-reserve`, a machine file) rather than the OS's
        /// default.
        given: bool,
    },
}

/// How much system RAM a plan may take, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamBudget {
    /// Physical RAM, bytes.
    pub total_bytes: u64,
    /// What the model may take: the CPU side, unified GPUs and memory spilled into shared GPU
    /// memory together, bytes.
    pub usable_bytes: u64,
    /// Where `usable_bytes` comes from.
    pub basis: RamBasis,
}

impl RamBudget {
    /// RAM the model may not take, bytes.
    #[must_use]
    pub fn reserved_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.usable_bytes)
    }
}

/// What a machine leaves of its `total` RAM for a model: the total less `given_reserve` when
/// given; else `available` when detected; else the total less the OS's reserve
/// ([`Os::reserve_bytes`], [`UNKNOWN_OS_RESERVE_BYTES`] when the OS is not known).
#[must_use]
pub fn ram_budget(
    total: u64,
    available: Option<u64>,
    given_reserve: Option<u64>,
    os: Option<Os>,
) -> RamBudget {
    let reserve = |reserve_bytes: u64, given: bool| RamBudget {
        total_bytes: total,
        usable_bytes: total.saturating_sub(reserve_bytes),
        basis: RamBasis::Reserve {
            os,
            reserve_bytes: reserve_bytes.min(total),
            given,
        },
    };
    match (given_reserve, available) {
        (Some(r), _) => reserve(r, true),
        (None, Some(avail)) => RamBudget {
            total_bytes: total,
            usable_bytes: avail.min(total),
            basis: RamBasis::Available,
        },
        (None, None) => reserve(
            os.map_or(UNKNOWN_OS_RESERVE_BYTES, Os::reserve_bytes),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::{CpuSpec, DeviceKind, DeviceSpec, GpuApi, SystemSpec};

    fn machine(ram: u64) -> SystemSpec {
        SystemSpec {
            cpu: CpuSpec {
                ram_bytes: ram,
                ..CpuSpec::default()
            },
            ..SystemSpec::default()
        }
    }

    #[test]
    fn names_round_trip() {
        for os in Os::ALL {
            assert_eq!(Os::parse(os.name()), Some(os));
            let json = serde_json::to_string(&os).unwrap();
            assert_eq!(json, format!("\"{}\"", os.name()));
        }
        assert_eq!(Os::parse("Darwin"), Some(Os::Macos));
        assert_eq!(Os::parse("linux_server"), Some(Os::LinuxServer));
        assert_eq!(Os::parse("beos"), None);
    }

    #[test]
    fn available_ram_wins_when_detected() {
        let mut sys = machine(24 << 30);
        sys.cpu.ram_available_bytes = Some(22 << 30);
        let b = sys.ram_budget();
        assert_eq!(b.usable_bytes, 22 << 30);
        assert_eq!(b.basis, RamBasis::Available);
        assert_eq!(b.reserved_bytes(), 2 << 30);
    }

    #[test]
    fn a_given_reserve_wins_over_detection() {
        let mut sys = machine(24 << 30);
        sys.cpu.ram_available_bytes = Some(10 << 30);
        sys.os_reserve_bytes = Some(1 << 30);
        assert_eq!(sys.ram_budget().usable_bytes, 23 << 30);
        // A reserve larger than the RAM leaves nothing.
        sys.os_reserve_bytes = Some(99 << 30);
        assert_eq!(sys.ram_budget().usable_bytes, 0);
    }

    #[test]
    fn described_machines_keep_the_os_reserve() {
        let mut sys = machine(16 << 30);
        assert_eq!(sys.ram_budget().usable_bytes, 12 << 30);
        sys.os = Some(Os::LinuxServer);
        assert_eq!(sys.ram_budget().usable_bytes, 15 << 30);
        // A Metal GPU means macOS.
        sys.os = None;
        sys.gpus.push(DeviceSpec {
            kind: DeviceKind::Unified,
            api: GpuApi::Metal,
            ..DeviceSpec::default()
        });
        assert_eq!(sys.os_or_implied(), Some(Os::Macos));
        assert_eq!(
            sys.ram_budget().basis,
            RamBasis::Reserve {
                os: Some(Os::Macos),
                reserve_bytes: 3 << 30,
                given: false
            }
        );
    }
}
