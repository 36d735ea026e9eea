//! stable-diffusion.cpp's transformer denoisers, FLUX.1 and SD 3.5's MMDiT, and its T5-XXL text
//! encoder: their graphs rebuilt op by op (`flux.rs`, `mmdit.rs`, `t5.rs`, on the few ggml ops in
//! `ggml.rs`) and ggml-alloc replayed over them (`estimate::graph::cpu_buffer_bytes`), which is the
//! compute buffer sd.cpp reserves.
//!
//! Why a replay and not a formula: where the peak falls depends on which freed holes the
//! best-fit allocator can reuse, and that changes with the sequence length. A closed form for
//! FLUX is exact only past 640 joint tokens (2,650 with flash attention), and SD 3.5 with flash
//! attention has at least four regimes (the position table's crop, the contiguous V, the
//! 256-padding mask that grows with L², the MLP) that take turns. The replay was checked byte for
//! byte against sd-cli 0.4.7 (48 runs over FLUX dev/schnell and SD 3.5 Medium/Large shapes, flash
//! attention on and off, 264×200 to 1216×832; docs/research/image-engines.md), and the
//! validation harness checks it against sd-cli on every run.

use crate::estimate::graph::cpu_buffer_bytes;
use crate::model::diffusion::{FluxConfig, Latent, MmditConfig, T5Config};

mod flux;
mod ggml;
mod mmdit;
mod t5;

/// FLUX.1's compute buffer in sd.cpp, bytes. Past 2 double and 1 single block the buffer no longer
/// depends on depth (every single block repeats the same layout), so deeper models are replayed
/// at that depth: about 300 graph nodes instead of 5,700.
#[must_use]
pub fn flux_compute(f: &FluxConfig, lat: Latent, fa: bool) -> u64 {
    let f = FluxConfig {
        double_blocks: f.double_blocks.min(2),
        single_blocks: f.single_blocks.min(1),
        ..f.clone()
    };
    cpu_buffer_bytes(&flux::graph(&f, lat.w, lat.h, lat.text_tokens, fa))
}

/// SD 3.5's MMDiT compute buffer in sd.cpp, bytes (the whole graph: the last block's pre-only
/// context stream and the MMDiT-X blocks differ from the rest).
#[must_use]
pub fn mmdit_compute(m: &MmditConfig, lat: Latent, fa: bool) -> u64 {
    cpu_buffer_bytes(&mmdit::graph(m, lat.w, lat.h, lat.text_tokens, fa))
}

/// T5-XXL's compute buffer in sd.cpp for one chunk of `tokens` (FLUX 256, SD 3.5 77), bytes.
#[must_use]
pub fn t5_compute(c: &T5Config, tokens: u64) -> u64 {
    cpu_buffer_bytes(&t5::graph(c, tokens))
}

#[cfg(test)]
mod tests;
