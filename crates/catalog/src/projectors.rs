//! The vision projector published with a catalog model (`--mmproj auto`): the model's own
//! encoder, projecting to its text width.

use llmrig_core::model::{ModelSpec, ProjectorSpec};

/// The projector `--mmproj auto` loads for `spec`, if the model has one llmrig sizes: Gemma 3 4B,
/// 12B and 27B share one SigLIP tower (the 1B and 270M are text-only); Qwen2.5-VL 3B and 7B one
/// windowed ViT.
#[must_use]
pub fn projector_for(spec: &ModelSpec) -> Option<ProjectorSpec> {
    match spec.id.as_str() {
        "gemma-3-4b" | "gemma-3-12b" | "gemma-3-27b" => Some(ProjectorSpec::gemma3(spec.n_embd)),
        "qwen2.5-vl-3b" | "qwen2.5-vl-7b" => Some(ProjectorSpec::qwen25vl(spec.n_embd)),
        _ => None,
    }
}

/// Catalog models with a vision tower llmrig does not size yet (their `--mmproj auto` is refused
/// by name rather than guessed).
#[must_use]
pub fn unsized_vision(spec: &ModelSpec) -> bool {
    spec.id.starts_with("mistral-small-3.")
        || spec.id.starts_with("llama-4-")
        || spec.id.starts_with("qwen3.5-")
        || spec.id.starts_with("gemma-3n-")
}
