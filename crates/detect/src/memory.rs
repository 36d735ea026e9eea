//! Memory type, speed and channels from what Linux shows without asking for root: the raw SMBIOS
//! table (`/sys/firmware/dmi/tables/DMI`, which dmidecode reads; mode 0400, so only readable when
//! running as root) and EDAC (`/sys/devices/system/edac/mc/mc*/dimm*/dimm_mem_type`, world-readable
//! on servers with ECC). Anything unreadable is simply unknown.

use std::collections::BTreeSet;
use std::path::Path;

/// Memory modules as the firmware or the EDAC driver describes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemoryModules {
    /// `DDR5`, `LPDDR5`, `DDR4`.
    pub memory_type: Option<String>,
    /// Configured speed of the slowest populated module, MT/s.
    pub speed_mts: Option<u32>,
    /// Populated modules.
    pub modules: u32,
    /// Distinct channels named in the modules' locators (`P0 CHANNEL A`, `Controller0-ChannelA-DIMM0`).
    pub channels: Option<u32>,
}

impl MemoryModules {
    /// Peak bandwidth, bytes/s: channels × 8 bytes × MT/s (a DDR5 module's two 32-bit subchannels
    /// make one 64-bit channel), when channels and speed are known.
    #[must_use]
    pub fn peak_bytes_per_s(&self) -> Option<f64> {
        let (c, s) = (self.channels?, self.speed_mts?);
        Some(f64::from(c) * 8.0 * f64::from(s) * 1e6)
    }
}

/// SMBIOS memory type byte (DSP0134 §7.18.2) → name.
fn smbios_memory_type(t: u8) -> Option<&'static str> {
    Some(match t {
        0x12 => "DDR",
        0x13 => "DDR2",
        0x18 => "DDR3",
        0x1A => "DDR4",
        0x1B => "LPDDR",
        0x1C => "LPDDR2",
        0x1D => "LPDDR3",
        0x1E => "LPDDR4",
        0x20 => "HBM",
        0x21 => "HBM2",
        0x22 => "DDR5",
        0x23 => "LPDDR5",
        0x24 => "HBM3",
        _ => return None,
    })
}

/// The channel a module sits on, from its locator strings: the text up to and including the token
/// after `channel` (case-insensitive), so `P0 CHANNEL A` and `P1 CHANNEL A` are two channels.
fn channel_key(locators: &[&str]) -> Option<String> {
    for l in locators {
        let lower = l.to_ascii_lowercase();
        let Some(at) = lower.find("channel") else {
            continue;
        };
        let rest = &lower[at + "channel".len()..];
        let rest_trim = rest.trim_start_matches([' ', '_', '-']);
        let skipped = rest.len() - rest_trim.len();
        let id_len = rest_trim
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest_trim.len());
        if id_len == 0 {
            continue;
        }
        return Some(lower[..at + "channel".len() + skipped + id_len].to_string());
    }
    None
}

/// The strings of one SMBIOS structure (1-based indices), after its formatted area.
fn smbios_strings(bytes: &[u8]) -> (Vec<&str>, usize) {
    let mut strings = Vec::new();
    let mut i = 0;
    // An empty string set is two NULs.
    if bytes.len() >= 2 && bytes[0] == 0 && bytes[1] == 0 {
        return (strings, 2);
    }
    while i < bytes.len() {
        let end = bytes[i..]
            .iter()
            .position(|&b| b == 0)
            .map_or(bytes.len(), |p| i + p);
        strings.push(std::str::from_utf8(&bytes[i..end]).unwrap_or("").trim());
        i = end + 1;
        if bytes.get(i) == Some(&0) {
            return (strings, i + 1);
        }
    }
    (strings, bytes.len())
}

/// Parses the raw SMBIOS structure table (the bytes of `/sys/firmware/dmi/tables/DMI`) for Memory
/// Device structures (type 17, DSP0134 §7.18): size at 0x0C, locators at 0x10/0x11, type at 0x12,
/// speed at 0x15 and configured speed at 0x20.
#[must_use]
pub fn parse_smbios(table: &[u8]) -> MemoryModules {
    let mut m = MemoryModules::default();
    let mut channels = BTreeSet::new();
    let mut all_have_channel = true;
    let mut i = 0usize;
    while i + 4 <= table.len() {
        let kind = table[i];
        let len = usize::from(table[i + 1]);
        if len < 4 || i + len > table.len() {
            break;
        }
        let formatted = &table[i..i + len];
        let (strings, strings_len) = smbios_strings(&table[i + len..]);
        let word = |off: usize| {
            formatted
                .get(off..off + 2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
        };
        let string = |off: usize| {
            formatted
                .get(off)
                .and_then(|&n| usize::from(n).checked_sub(1))
                .and_then(|n| strings.get(n).copied())
                .unwrap_or("")
        };
        if kind == 17 {
            let size = word(0x0C).unwrap_or(0);
            if size != 0 && size != 0xFFFF {
                m.modules += 1;
                if let Some(t) = formatted.get(0x12).copied().and_then(smbios_memory_type) {
                    m.memory_type.get_or_insert_with(|| t.to_string());
                }
                let speed = word(0x20)
                    .filter(|&s| s != 0 && s != 0xFFFF)
                    .or(word(0x15).filter(|&s| s != 0 && s != 0xFFFF));
                if let Some(s) = speed {
                    let s = u32::from(s);
                    m.speed_mts = Some(m.speed_mts.map_or(s, |x| x.min(s)));
                }
                match channel_key(&[string(0x11), string(0x10)]) {
                    Some(k) => {
                        channels.insert(k);
                    }
                    None => all_have_channel = false,
                }
            }
        }
        if kind == 127 {
            break;
        }
        i += len + strings_len;
    }
    if all_have_channel && !channels.is_empty() {
        m.channels = u32::try_from(channels.len()).ok();
    }
    m
}

/// Reads EDAC's DIMM descriptions under `root` (`sys/devices/system/edac/mc/mc*/dimm*/`, or the
/// older `csrow*` layout is ignored): memory type from `dimm_mem_type` (`Registered-DDR4` → `DDR4`),
/// populated modules from `dimm_size` (MiB, 0 when empty).
#[must_use]
pub fn read_edac(root: &Path) -> MemoryModules {
    let mut m = MemoryModules::default();
    let Ok(mcs) = std::fs::read_dir(root.join("sys/devices/system/edac/mc")) else {
        return m;
    };
    let mut mcs: Vec<_> = mcs.filter_map(Result::ok).map(|e| e.path()).collect();
    mcs.sort();
    for mc in mcs {
        let Ok(dimms) = std::fs::read_dir(&mc) else {
            continue;
        };
        for d in dimms.filter_map(Result::ok) {
            let p = d.path();
            let is_dimm = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("dimm") || n.starts_with("rank"));
            if !is_dimm {
                continue;
            }
            let size: u64 = std::fs::read_to_string(p.join("size"))
                .or_else(|_| std::fs::read_to_string(p.join("dimm_size")))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            if size == 0 {
                continue;
            }
            m.modules += 1;
            if let Ok(t) = std::fs::read_to_string(p.join("dimm_mem_type")) {
                let t = t.trim();
                let name = t.rsplit('-').next().unwrap_or(t);
                if !name.is_empty() && !name.eq_ignore_ascii_case("unknown") {
                    m.memory_type.get_or_insert_with(|| name.to_string());
                }
            }
        }
    }
    m
}

/// Memory modules under `root`: SMBIOS when readable, else EDAC.
#[must_use]
pub fn read_memory_modules(root: &Path) -> MemoryModules {
    if let Ok(table) = std::fs::read(root.join("sys/firmware/dmi/tables/DMI")) {
        let m = parse_smbios(&table);
        if m.modules > 0 {
            return m;
        }
    }
    read_edac(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One SMBIOS type 17 structure of SMBIOS 3.x length (0x28 bytes here) with its strings.
    pub(crate) fn type17(size_mib: u16, kind: u8, speed: u16, dev: &str, bank: &str) -> Vec<u8> {
        let mut f = vec![0u8; 0x28];
        f[0] = 17;
        f[1] = 0x28;
        f[0x0C..0x0E].copy_from_slice(&size_mib.to_le_bytes());
        f[0x10] = 1;
        f[0x11] = 2;
        f[0x12] = kind;
        f[0x15..0x17].copy_from_slice(&speed.to_le_bytes());
        f[0x20..0x22].copy_from_slice(&speed.to_le_bytes());
        f.extend_from_slice(dev.as_bytes());
        f.push(0);
        f.extend_from_slice(bank.as_bytes());
        f.extend_from_slice(&[0, 0]);
        f
    }

    #[test]
    fn smbios_two_channels_of_ddr5() {
        let mut t = vec![0u8, 4, 0, 0, 0, 0]; // a type 0 stub with no strings
        t.extend(type17(32768, 0x22, 6000, "DIMM 0", "P0 CHANNEL A"));
        t.extend(type17(0, 0x02, 0, "DIMM 1", "P0 CHANNEL A")); // empty slot
        t.extend(type17(32768, 0x22, 5600, "DIMM 0", "P0 CHANNEL B"));
        t.extend([127, 4, 0, 0, 0, 0]);
        let m = parse_smbios(&t);
        assert_eq!(m.modules, 2);
        assert_eq!(m.memory_type.as_deref(), Some("DDR5"));
        assert_eq!(m.speed_mts, Some(5600));
        assert_eq!(m.channels, Some(2));
        assert_eq!(m.peak_bytes_per_s(), Some(89.6e9));
    }

    #[test]
    fn smbios_without_channel_names_has_no_channels() {
        let t = type17(16384, 0x1A, 3200, "ChannelA-DIMM0", "BANK 0");
        let m = parse_smbios(&[t, type17(16384, 0x1A, 3200, "DIMM_B1", "BANK 1")].concat());
        assert_eq!(m.modules, 2);
        assert_eq!(m.channels, None);
        assert_eq!(m.peak_bytes_per_s(), None);
    }

    #[test]
    fn smbios_truncated_is_not_a_panic() {
        let t = type17(16384, 0x1A, 3200, "A", "B");
        for n in 0..t.len() {
            let _ = parse_smbios(&t[..n]);
        }
    }

    #[test]
    fn channel_keys() {
        assert_eq!(
            channel_key(&["Controller0-ChannelA-DIMM0"]).as_deref(),
            Some("controller0-channela")
        );
        assert_eq!(
            channel_key(&["P1 CHANNEL B"]).as_deref(),
            Some("p1 channel b")
        );
        assert_eq!(channel_key(&["BANK 0", "DIMM_A1"]), None);
    }
}
