//! Which catalog model and which weights a calibration row of throughput.csv names.

use crate::{models, ModelEntry};

/// The catalog model a row names. Rows name models as their authors wrote them: `Llama 2 7B`,
/// `LLaMA 7B (llama 7B v2)`, `Meta-Llama-3-8B`, `Llama-3.1-8B (shisa-v2 fine-tune)`,
/// `Qwen2.5-14B-Instruct`. A fine-tune has its base model's architecture, so the part before a
/// parenthesis is what is looked up.
pub(crate) fn model_for(name: &str) -> Option<&'static ModelEntry> {
    let n = name.to_ascii_lowercase();
    let starts = |p: &[&str]| p.iter().any(|p| n.starts_with(p));
    let id = if starts(&["meta-llama-3-70b"]) {
        Some("llama-3-70b")
    } else if starts(&["meta-llama-3-8b", "llama 3 8b", "llama 3.x 8b"]) {
        Some("llama-3-8b")
    } else if starts(&["llama 2 7b", "llama 7b", "llama-2-7b"]) {
        // LLaMA 1 7B has Llama 2 7B's architecture (only the context differs).
        Some("llama-2-7b")
    } else if starts(&["llama 13b", "llama 2 13b"]) {
        Some("llama-2-13b")
    } else if starts(&["llama 3.2 1b"]) {
        Some("llama-3.2-1b")
    } else {
        None
    };
    if let Some(id) = id {
        return models().find(id).ok();
    }
    let base = name.split('(').next().unwrap_or(name).trim();
    models().find(base).ok()
}

/// Unsloth's dynamic mixes (`UD-Q4_K_XL`) choose each tensor's type by their own rules, which
/// llmrig does not know: a row of one is scored as the nearest preset
/// ([`llmrig_core::quant::unsloth_base`]) scaled to the size llama-bench reports, and skipped
/// where the row states no size. Other publishers' private mixes (`_P`, APEX) are skipped.
pub(crate) fn private_mix(quant: &str) -> bool {
    let q = quant.to_ascii_uppercase();
    q.ends_with("_P") || q.starts_with("APEX")
}

/// How far a dynamic mix's stated size may lie from its nearest preset's before the row is taken
/// for another model: Unsloth's `_XL` files run 0–25% above their `_M` preset (Q8_K_XL keeps
/// some tensors in BF16).
pub(crate) const DYNAMIC_SIZE_RANGE: (f64, f64) = (0.9, 1.35);
