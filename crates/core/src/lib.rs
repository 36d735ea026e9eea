//! llmrig-core: the pure domain of llmrig — quant formats, model architectures, machines and the
//! estimator that turns them into llama.cpp's memory use, placement, context and speed; `serve`
//! plans vLLM/SGLang servers on GPU nodes. No I/O.
//!
//! ```
//! use llmrig_core::estimate::{estimate, ModelWeights, Settings};
//! use llmrig_core::model::{Arch, ModelSpec};
//! use llmrig_core::quant::Quant;
//! use llmrig_core::system::{CpuSpec, SystemSpec};
//!
//! let spec = ModelSpec {
//!     id: "tiny".into(), name: "Tiny".into(), arch: Arch::Llama, n_layer: 2, n_embd: 256,
//!     n_ff: 512, n_head: 4, n_head_kv: 4, head_dim: None, n_vocab: 1000, tied_embeddings: false,
//!     context_length: 2048, ..ModelSpec::default()
//! };
//! let weights = ModelWeights::new(&spec, Quant::parse("Q8_0").unwrap());
//! let cpu = CpuSpec { name: "cpu".into(), ram_bytes: 8 << 30, bandwidth_bytes_per_s: 50e9,
//!                     flops: 1e12, cores: 8, ..CpuSpec::default() };
//! let est = estimate(&weights, &SystemSpec { cpu, ..SystemSpec::default() }, &Settings::default()).unwrap();
//! assert_eq!(est.max_context, 2048);
//! ```

pub mod estimate;
pub mod model;
pub mod quant;
pub mod serve;
pub mod stack;
pub mod system;
pub mod units;

/// Up to `n` candidates closest to `input` by case-insensitive edit distance, best first; only
/// candidates within a third of the longer length are suggested.
#[must_use]
pub fn closest<'a>(
    input: &str,
    candidates: impl Iterator<Item = &'a str>,
    n: usize,
) -> Vec<String> {
    let needle = input.to_ascii_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .map(|c| (strsim::levenshtein(&needle, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= needle.len().max(c.len()) / 3 + 1)
        .collect();
    scored.sort_by_key(|(d, c)| (*d, c.len()));
    scored.dedup_by(|a, b| a.1.eq_ignore_ascii_case(b.1));
    scored
        .into_iter()
        .take(n)
        .map(|(_, c)| c.to_string())
        .collect()
}

/// ` (did you mean a, b?)` for error messages, or nothing when there is no suggestion.
#[must_use]
pub fn did_you_mean(closest: &[String]) -> String {
    if closest.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", closest.join(", "))
    }
}
