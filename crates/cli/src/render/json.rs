//! JSON output. The contract itself (every field, documented) lives in `llmrig-contract`, shared
//! with the HTTP API and MCP; this module maps the core's warnings into it with the CLI's hints.

pub use llmrig_contract::to_string;
use llmrig_contract::WarningJson;
use llmrig_core::estimate::{Backend, Warning};

/// An estimate's warning as the CLI shows it: the core's fact, plus how to act on it with llmrig's
/// own commands and flags (the core names none).
pub fn warning(w: &Warning) -> WarningJson {
    let hint = match w {
        Warning::CpuSpeedUncalibrated => {
            Some("`llmrig calibrate` fits it to this machine's llama-bench results; `llmrig hw --measure` measures its RAM bandwidth")
        }
        Warning::BackendRules {
            backend: Backend::Vllm,
        } => Some("`llmrig plan` models it"),
        Warning::NonGgufMemoryModel => {
            Some("pass --backend exllamav2|exllamav3|mlx|transformers for that engine's")
        }
        Warning::NearMemoryLimit { .. } => {
            Some("--os-reserve SIZE sets what is kept for the OS and other programs")
        }
        Warning::SharedGpuMemory { .. } => {
            Some("leave -ngl at auto, or lower it, to keep to dedicated memory")
        }
        _ => None,
    };
    WarningJson::from_warning(w, hint)
}
