//! Unit helpers shared by the estimator and the serving planner.

/// One GiB, bytes, as a float for sizes computed in floating point.
pub const GIB: f64 = 1_073_741_824.0;

/// Bytes as GiB, for messages.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn gib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}

/// `x` rounded up to a multiple of `to` (llama.cpp's `GGML_PAD`).
#[must_use]
pub fn pad(x: u64, to: u64) -> u64 {
    x.div_ceil(to) * to
}
