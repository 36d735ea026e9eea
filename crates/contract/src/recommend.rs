//! `llmrig recommend --json` ([`RecommendJson`]) and bare `llmrig --json` ([`OverviewJson`]): the
//! best catalog models this machine runs well. Keys are in alphabetical order, as the first contract
//! printed them.
//!
//! ```text
//! recommend --json
//!   machine          the machine, as in `hw --json` (crate::machine)
//!   notes            [text], what the machine's description assumed or left out
//!   recommendations  [{ctx, decode_tokens_per_s, gpu_layers, installed, launch, memory_bytes,
//!                    model, n_cpu_moe, name, prefill_tokens_per_s, quant, score, verdict, why}],
//!                    best first
//!   schema_version   1
//!   use              chat | code | reasoning | long-context | vision | embedding
//!
//! llmrig --json
//!   by_use           [{recommendations: [a recommendation without installed and launch], use}]
//!                    for chat, code and reasoning
//!   installed        [name], models found installed (Ollama tags, GGUF files)
//!   machine          the machine, as in `hw --json`
//!   notes            [text]
//!   schema_version   1
//! ```

use serde::{Deserialize, Serialize};

use llmrig_catalog::recommend::{Recommendation, Use};
use llmrig_core::system::SystemSpec;

use crate::estimate::verdict_name;
use crate::machine::MachineJson;

/// `recommend --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendJson {
    /// The machine recommended for.
    pub machine: MachineJson,
    /// What the machine's description assumed or left out, as text.
    pub notes: Vec<String>,
    /// The picks, best first (empty when nothing suits).
    pub recommendations: Vec<RecommendationJson>,
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The use ranked for: `chat`, `code`, `reasoning`, `long-context`, `vision` or `embedding`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// One recommended model, quant and context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationJson {
    /// What runs with it, each counted in `memory_bytes`: a vision model's projector, RAG's
    /// embedder and reranker.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<RecComponentJson>,
    /// Context it was planned with, tokens.
    pub ctx: u64,
    /// Generation speed, tokens/s.
    pub decode_tokens_per_s: f64,
    /// Layers on the GPUs (the output layer counts as one).
    pub gpu_layers: u32,
    /// An installed copy (Ollama tag or file name), null when none was found.
    pub installed: Option<String>,
    /// The command that starts it, null unless `--launch` asked for one.
    pub launch: Option<String>,
    /// Memory in all, bytes.
    pub memory_bytes: u64,
    /// Catalog id.
    pub model: String,
    /// Leading layers whose routed experts stay in RAM.
    pub n_cpu_moe: u32,
    /// Display name.
    pub name: String,
    /// Prompt processing speed, tokens/s.
    pub prefill_tokens_per_s: f64,
    /// llama.cpp quant (`Q4_K_M`).
    pub quant: String,
    /// Quality after the quant's loss: the published score it starts from × (1 − loss).
    pub score: f64,
    /// `works-well`, `usable`, `slow` or `does-not-fit`.
    pub verdict: String,
    /// Why it ranks here, for people.
    pub why: String,
}

/// A part of a recommended plan beside the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecComponentJson {
    /// Its memory, bytes.
    pub memory_bytes: u64,
    /// Catalog id (a projector: the model's id and ` projector`).
    pub model: String,
    /// Its type or quant.
    pub quant: String,
    /// `mmproj`, `embedding` or `reranker`.
    pub role: String,
}

/// Bare `llmrig --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverviewJson {
    /// The top picks per use.
    pub by_use: Vec<UsePicksJson>,
    /// Models found installed (Ollama tags, GGUF files).
    pub installed: Vec<String>,
    /// This machine.
    pub machine: MachineJson,
    /// What the machine's description assumed or left out, as text.
    pub notes: Vec<String>,
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
}

/// The top picks for one use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsePicksJson {
    /// The picks, best first.
    pub recommendations: Vec<PickJson>,
    /// The use: `chat`, `code` or `reasoning`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// A [`RecommendationJson`] without `installed` and `launch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PickJson {
    /// Context it was planned with, tokens.
    pub ctx: u64,
    /// Generation speed, tokens/s.
    pub decode_tokens_per_s: f64,
    /// Layers on the GPUs (the output layer counts as one).
    pub gpu_layers: u32,
    /// Memory in all, bytes.
    pub memory_bytes: u64,
    /// Catalog id.
    pub model: String,
    /// Leading layers whose routed experts stay in RAM.
    pub n_cpu_moe: u32,
    /// Display name.
    pub name: String,
    /// Prompt processing speed, tokens/s.
    pub prefill_tokens_per_s: f64,
    /// llama.cpp quant (`Q4_K_M`).
    pub quant: String,
    /// Quality after the quant's loss: the published score it starts from × (1 − loss).
    pub score: f64,
    /// `works-well`, `usable`, `slow` or `does-not-fit`.
    pub verdict: String,
    /// Why it ranks here, for people.
    pub why: String,
}

impl RecommendJson {
    /// The wire form of `recommendations` for `use_` on `sys`, with the machine's `notes`.
    #[must_use]
    pub fn new(
        sys: &SystemSpec,
        use_: Use,
        recommendations: Vec<RecommendationJson>,
        notes: Vec<String>,
    ) -> RecommendJson {
        RecommendJson {
            machine: MachineJson::from(sys),
            notes,
            recommendations,
            schema_version: crate::SCHEMA_VERSION,
            use_: use_.name().to_string(),
        }
    }
}

impl RecommendationJson {
    /// Recommendation `r`, with the `installed` copy found and the `launch` command asked for.
    #[must_use]
    pub fn new(
        r: &Recommendation,
        installed: Option<String>,
        launch: Option<String>,
    ) -> RecommendationJson {
        RecommendationJson {
            components: r
                .components
                .iter()
                .map(|c| RecComponentJson {
                    memory_bytes: c.memory_bytes,
                    model: c.model.clone(),
                    quant: c.quant.clone(),
                    role: c.role.clone(),
                })
                .collect(),
            ctx: r.ctx,
            decode_tokens_per_s: r.decode_tokens_per_s,
            gpu_layers: r.gpu_layers,
            installed,
            launch,
            memory_bytes: r.memory_bytes,
            model: r.model.clone(),
            n_cpu_moe: r.n_cpu_moe,
            name: r.name.clone(),
            prefill_tokens_per_s: r.prefill_tokens_per_s,
            quant: r.quant.clone(),
            score: r.score,
            verdict: verdict_name(r.verdict).to_string(),
            why: r.why.clone(),
        }
    }
}

impl OverviewJson {
    /// The wire form of the top picks `by_use` on `sys`, with the `installed` models' names and
    /// the machine's `notes`.
    #[must_use]
    pub fn new(
        sys: &SystemSpec,
        by_use: &[(Use, Vec<Recommendation>)],
        installed: Vec<String>,
        notes: Vec<String>,
    ) -> OverviewJson {
        OverviewJson {
            by_use: by_use
                .iter()
                .map(|(u, recs)| UsePicksJson {
                    recommendations: recs.iter().map(PickJson::from).collect(),
                    use_: u.name().to_string(),
                })
                .collect(),
            installed,
            machine: MachineJson::from(sys),
            notes,
            schema_version: crate::SCHEMA_VERSION,
        }
    }
}

impl From<&Recommendation> for PickJson {
    fn from(r: &Recommendation) -> PickJson {
        PickJson {
            ctx: r.ctx,
            decode_tokens_per_s: r.decode_tokens_per_s,
            gpu_layers: r.gpu_layers,
            memory_bytes: r.memory_bytes,
            model: r.model.clone(),
            n_cpu_moe: r.n_cpu_moe,
            name: r.name.clone(),
            prefill_tokens_per_s: r.prefill_tokens_per_s,
            quant: r.quant.clone(),
            score: r.score,
            verdict: verdict_name(r.verdict).to_string(),
            why: r.why.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmrig_core::estimate::Verdict;

    fn rec() -> Recommendation {
        Recommendation {
            model: "qwen2.5-7b".into(),
            name: "Qwen2.5 7B".into(),
            quant: "Q4_K_M".into(),
            ctx: 8192,
            gpu_layers: 29,
            n_cpu_moe: 0,
            memory_bytes: 5 << 30,
            decode_tokens_per_s: 100.5,
            prefill_tokens_per_s: 3000.25,
            verdict: Verdict::Usable,
            score: 30.0,
            why: "because".into(),
            components: Vec::new(),
        }
    }

    /// A recommendation carries the catalog's fields with the same keys and values as the
    /// catalog's own serialization, plus `installed` and `launch`.
    #[test]
    fn recommendation_matches_the_catalogs_serialization() {
        let r = rec();
        let mut theirs = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(
            serde_json::to_value(PickJson::from(&r)).ok(),
            Some(theirs.clone())
        );
        theirs["installed"] = serde_json::json!("qwen2.5:7b");
        theirs["launch"] = serde_json::Value::Null;
        let ours = RecommendationJson::new(&r, Some("qwen2.5:7b".into()), None);
        assert_eq!(serde_json::to_value(ours).ok(), Some(theirs));
    }

    /// Each use's name is the one the catalog's `Serialize` derive printed.
    #[test]
    fn use_names_are_the_first_contracts() {
        for u in Use::ALL {
            assert_eq!(serde_json::json!(u.name()), serde_json::json!(u));
        }
    }
}
