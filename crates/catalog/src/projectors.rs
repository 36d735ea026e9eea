//! The vision projector published with a catalog model (`--mmproj auto`): the model's own
//! encoder, projecting to its text width.

use llmrig_core::model::{ModelSpec, ProjectorSpec};

/// The projector `--mmproj auto` loads for `spec`, if the model has one llmrig sizes: the
/// published tower of each vision family, projecting to the model's text width. Gemma 3 4B, 12B
/// and 27B share one SigLIP tower (the 1B and 270M are text-only); Mistral Small 3.1/3.2 and
/// Magistral Small 1.2 (2509) one Pixtral; Llama 4 Scout and Maverick one ViT; InternVL3 1B-14B
/// InternViT-300M; LLaVA 1.5 and 1.6 CLIP ViT-L/14-336.
#[must_use]
pub fn projector_for(spec: &ModelSpec) -> Option<ProjectorSpec> {
    let d = spec.n_embd;
    Some(match spec.id.as_str() {
        "gemma-3-4b" | "gemma-3-12b" | "gemma-3-27b" => ProjectorSpec::gemma3(d),
        "qwen2.5-vl-3b" | "qwen2.5-vl-7b" => ProjectorSpec::qwen25vl(d),
        "qwen3-vl-2b" | "qwen3-vl-4b" => ProjectorSpec::qwen3vl(d, false),
        "qwen3-vl-8b" | "qwen3-vl-32b" | "qwen3-vl-30b-a3b" => ProjectorSpec::qwen3vl(d, true),
        "mistral-small-3.1-24b" | "mistral-small-3.2-24b" | "magistral-small-24b" => {
            ProjectorSpec::pixtral(d)
        }
        "llama-4-scout" | "llama-4-maverick" => ProjectorSpec::llama4(d),
        "smolvlm-256m" | "smolvlm-500m" => ProjectorSpec::idefics3_base(d),
        "smolvlm2-2.2b" => ProjectorSpec::idefics3_so400m(d),
        "internvl3-1b" | "internvl3-2b" | "internvl3-8b" | "internvl3-14b" => {
            ProjectorSpec::internvit_300m(d)
        }
        "llava-1.5-7b" | "llava-1.5-13b" => ProjectorSpec::llava(d, false),
        "llava-1.6-mistral-7b" => ProjectorSpec::llava(d, true),
        // Every Qwen3.5 is multimodal; its tower grows with the model (see `ProjectorSpec::qwen35`).
        "qwen3.5-0.8b" => ProjectorSpec::qwen35(d, 12),
        "qwen3.5-2b" | "qwen3.5-4b" => ProjectorSpec::qwen35(d, 24),
        id if id.starts_with("qwen3.5-") => ProjectorSpec::qwen35(d, 27),
        _ => return None,
    })
}

/// Catalog models with a vision tower llmrig does not size yet (their `--mmproj auto` is refused
/// by name rather than guessed).
#[must_use]
pub fn unsized_vision(spec: &ModelSpec) -> bool {
    spec.id.starts_with("gemma-3n-")
}
