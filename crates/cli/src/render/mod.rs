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
