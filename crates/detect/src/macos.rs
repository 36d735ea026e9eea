//! macOS: runs `sysctl`, `system_profiler`, `ioreg` and `vm_stat` and hands their text to the
//! parsers in `apple.rs`. Compiled everywhere (it only runs commands), used on macOS.

use std::process::Command;

use crate::apple::{AppleOutputs, SYSCTL_KEYS};
use crate::Facts;

/// stdout of a command, whatever its exit status (`sysctl` exits 1 when one of its names is
/// unknown on this Mac but still prints the others).
fn stdout_of(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    (!s.trim().is_empty()).then_some(s)
}

/// This Mac.
pub(crate) fn facts() -> Facts {
    let system_profiler = stdout_of(
        "system_profiler",
        &["SPDisplaysDataType", "SPMemoryDataType", "-json"],
    );
    let has_cores = system_profiler
        .as_deref()
        .and_then(crate::apple::parse_system_profiler)
        .is_some_and(|p| p.gpus.iter().any(|g| g.cores.is_some()));
    let ioreg = if has_cores {
        None
    } else {
        stdout_of("ioreg", &["-rc", "AGXAccelerator", "-d1"])
    };
    let out = AppleOutputs {
        sysctl: stdout_of("sysctl", SYSCTL_KEYS).unwrap_or_default(),
        system_profiler,
        ioreg,
        vm_stat: stdout_of("vm_stat", &[]),
    };
    crate::apple::facts(&out)
}
