//! Output formats. Renderers return strings; only `main` prints.

pub mod json;
pub mod table;

/// Bytes as GiB with two decimals (tables only; JSON carries bytes).
#[allow(clippy::cast_precision_loss)]
pub fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / 1073741824.0)
}

/// Bytes as MiB with two decimals.
#[allow(clippy::cast_precision_loss)]
pub fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / 1048576.0)
}

/// Bytes in the unit that reads best.
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        gib(bytes)
    } else {
        mib(bytes)
    }
}

/// A device name for a table column: without the vendor's brand words and trademark marks
/// (`NVIDIA GeForce RTX 4090` → `RTX 4090`, `Intel(R) Xeon(R) Gold 6330` → `Xeon Gold 6330`).
#[must_use]
pub fn short_device_name(name: &str) -> String {
    let mut s = name
        .replace("(R)", "")
        .replace("(TM)", "")
        .replace("(tm)", "");
    for prefix in [
        "NVIDIA GeForce ",
        "NVIDIA ",
        "AMD Radeon ",
        "AMD ",
        "Intel ",
        "Apple ",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
            break;
        }
    }
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    // A column, not a description: 26 characters keep a table of sizes within 100 columns.
    if s.chars().count() > 26 {
        format!("{}…", s.chars().take(25).collect::<String>())
    } else {
        s
    }
}

/// A verdict as the text output prints it.
#[must_use]
pub fn verdict(v: llmrig_core::estimate::Verdict) -> &'static str {
    use llmrig_core::estimate::Verdict;
    match v {
        Verdict::WorksWell => "works well",
        Verdict::Usable => "usable",
        Verdict::Slow => "slow",
        Verdict::DoesNotFit => "does not fit",
    }
}
