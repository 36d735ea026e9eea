//! The model catalog: architecture numbers of popular models, each with its source.

use std::collections::HashMap;
use std::sync::OnceLock;

use llmrig_core::model::ModelSpec;
use serde::Deserialize;

use crate::normalize;

const MODELS_TOML: &str = include_str!("../data/models.toml");

/// One catalog model: its architecture plus what people call it and where the numbers come from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelEntry {
    /// Architecture numbers (id, name, arch, sizes).
    #[serde(flatten)]
    pub spec: ModelSpec,
    /// Family for grouping (`llama`, `qwen`).
    pub family: String,
    /// The Hugging Face repository the numbers describe.
    pub hf_repo: String,
    /// Other names: repo names, Ollama tags.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// What it is good at: chat, code, reasoning, long-context, vision, embedding.
    #[serde(default)]
    pub use_cases: Vec<String>,
    /// Release month (`2024-07`).
    pub released: String,
    /// Every number checked against the official config.json or a verbatim copy.
    pub verified: bool,
    /// Where the numbers come from.
    pub source: String,
    /// What is unverified or special.
    #[serde(default)]
    pub notes: String,
    /// The format the weights are released in when it is not bf16 (`fp8-block` for DeepSeek V3
    /// and R1, `mxfp4` for gpt-oss): what a serving plan starts from when no quant is asked.
    #[serde(default)]
    pub release_format: Option<String>,
}

#[derive(Deserialize)]
struct File {
    model: Vec<ModelEntry>,
}

/// All catalog models with an index of their names.
#[derive(Debug)]
pub struct ModelCatalog {
    entries: Vec<ModelEntry>,
    index: HashMap<String, usize>,
}

/// A model name that matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown model `{input}`: expected a catalog id (see `llmrig models`), a Hugging Face or Ollama name, a .gguf path or a size like 70b{}", llmrig_core::did_you_mean(.closest))]
pub struct ModelError {
    /// What the user typed.
    pub input: String,
    /// The closest known names.
    pub closest: Vec<String>,
}

/// Suffixes that name a fine-tune of the same architecture.
const VARIANT_SUFFIXES: &[&str] = &[
    "-instruct",
    "-it",
    "-chat",
    "-base",
    "-hf",
    "-2407",
    "-2501",
    // Quantization-aware-trained checkpoints (`gemma-3-4b-it-qat`): the base model's architecture
    // with weights trained for a 4-bit quant; the quant itself is the file's.
    "-qat",
];

/// Ollama's default tags: `llama3.1` means `llama3.1:latest`, `qwen2.5:14b-instruct-q4_K_M` carries
/// a quant after the size.
fn ollama_variants(name: &str) -> Vec<String> {
    let mut v = Vec::new();
    if let Some((base, tag)) = name.split_once(':') {
        // `qwen2.5:14b-instruct-q4_k_m` → `qwen2.5:14b`
        let size = tag.split('-').next().unwrap_or(tag);
        v.push(format!("{base}:{size}"));
        if tag == "latest" {
            v.push(base.to_string());
        }
    }
    v
}

impl ModelCatalog {
    fn parse(text: &str) -> Result<ModelCatalog, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, e) in file.model.iter().enumerate() {
            e.spec.validate().map_err(|e| e.to_string())?;
            let mut names = vec![e.spec.id.clone(), e.hf_repo.clone()];
            names.extend(e.aliases.iter().cloned());
            for n in names {
                let key = normalize(&n);
                if let Some(&j) = index.get(&key) {
                    if j != i {
                        return Err(format!(
                            "name `{n}` belongs to both {} and {}",
                            file.model[j].spec.id, e.spec.id
                        ));
                    }
                }
                index.insert(key, i);
            }
        }
        Ok(ModelCatalog {
            entries: file.model,
            index,
        })
    }

    /// Every model, sorted by id.
    #[must_use]
    pub fn all(&self) -> &[ModelEntry] {
        &self.entries
    }

    /// Looks a model up by id, alias, Hugging Face repo (with or without org) or Ollama tag, ignoring
    /// case and `-instruct`/`-it`/`-chat` suffixes.
    ///
    /// # Errors
    /// [`ModelError`] with the closest names.
    pub fn find(&self, name: &str) -> Result<&ModelEntry, ModelError> {
        let key = normalize(name);
        let mut tries = vec![key.clone()];
        tries.extend(ollama_variants(&key));
        let mut stripped = key.clone();
        // Strip variant suffixes repeatedly (`-instruct-2407`, `-it-gguf`).
        for _ in 0..3 {
            stripped = stripped.trim_end_matches("-gguf").to_string();
            for s in VARIANT_SUFFIXES {
                if let Some(x) = stripped.strip_suffix(s) {
                    stripped = x.to_string();
                }
            }
            tries.push(stripped.clone());
        }
        for t in &tries {
            if let Some(&i) = self.index.get(t) {
                return Ok(&self.entries[i]);
            }
        }
        Err(ModelError {
            input: name.to_string(),
            closest: llmrig_core::closest(&key, self.entries.iter().map(|e| e.spec.id.as_str()), 3),
        })
    }
}

/// The embedded model catalog, parsed on first use.
///
/// # Panics
/// If the embedded data is invalid, which the catalog tests rule out.
pub fn models() -> &'static ModelCatalog {
    static CATALOG: OnceLock<ModelCatalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        ModelCatalog::parse(MODELS_TOML).unwrap_or_else(|e| panic!("embedded models.toml: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_parses_and_is_sorted_and_unique() {
        let c = ModelCatalog::parse(MODELS_TOML).unwrap();
        assert!(c.all().len() >= 60, "{} models", c.all().len());
        let ids: Vec<&str> = c.all().iter().map(|e| e.spec.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted, "ids must be unique and sorted");
        for e in c.all() {
            assert!(!e.source.is_empty(), "{} has no source", e.spec.id);
        }
    }

    #[test]
    fn no_unknown_keys_in_the_data() {
        // serde's flatten cannot deny unknown fields, so check the keys here.
        const KNOWN: &[&str] = &[
            "id",
            "name",
            "family",
            "arch",
            "hf_repo",
            "aliases",
            "use_cases",
            "released",
            "n_layer",
            "n_embd",
            "n_ff",
            "n_head",
            "n_head_kv",
            "head_dim",
            "n_vocab",
            "tied_embeddings",
            "context_length",
            "rope_theta",
            "rope_scaling",
            "attn_bias",
            "qk_norm",
            "sliding_window",
            "swa_period",
            "n_expert",
            "n_expert_used",
            "n_expert_shared",
            "expert_ff",
            "leading_dense_layers",
            "q_lora_rank",
            "kv_lora_rank",
            "qk_nope_head_dim",
            "qk_rope_head_dim",
            "v_head_dim",
            "verified",
            "release_format",
            "moe_layer_step",
            "shared_expert_ff",
            "recurrent",
            "kv_layers",
            "swa_head_dim",
            "swa_n_head_kv",
            "global_k_eq_v",
            "kv_shared_n_ff",
            "per_layer_embd",
            "pooling",
            "max_seq_length",
            "n_cls_out",
            "n_token_types",
            "n_deepstack",
            "mrope",
            "source",
            "notes",
        ];
        let v: toml::Table = toml::from_str(MODELS_TOML).unwrap();
        for m in v["model"].as_array().unwrap() {
            for k in m.as_table().unwrap().keys() {
                assert!(
                    KNOWN.contains(&k.as_str()),
                    "unknown key `{k}` in {}",
                    m["id"]
                );
            }
        }
    }

    #[test]
    fn the_issue_list_is_covered() {
        let c = models();
        for id in [
            "llama-2-7b",
            "llama-2-13b",
            "llama-2-70b",
            "open-llama-7b-v2",
            "llama-3-8b",
            "llama-3-70b",
            "llama-3.1-8b",
            "llama-3.1-70b",
            "llama-3.1-405b",
            "llama-3.2-1b",
            "llama-3.2-3b",
            "llama-3.3-70b",
            "mistral-7b-v0.3",
            "mistral-nemo-12b",
            "mistral-small-24b",
            "mixtral-8x7b",
            "mixtral-8x22b",
            "qwen2.5-0.5b",
            "qwen2.5-1.5b",
            "qwen2.5-3b",
            "qwen2.5-7b",
            "qwen2.5-14b",
            "qwen2.5-32b",
            "qwen2.5-72b",
            "qwen2.5-coder-7b",
            "qwen2.5-coder-32b",
            "qwq-32b",
            "qwen3-0.6b",
            "qwen3-1.7b",
            "qwen3-4b",
            "qwen3-8b",
            "qwen3-14b",
            "qwen3-32b",
            "qwen3-30b-a3b",
            "qwen3-coder-30b-a3b",
            "qwen3-235b-a22b",
            "gemma-2-2b",
            "gemma-2-9b",
            "gemma-2-27b",
            "gemma-3-270m",
            "gemma-3-1b",
            "gemma-3-4b",
            "gemma-3-12b",
            "gemma-3-27b",
            "phi-3-mini",
            "phi-3.5-mini",
            "phi-4",
            "deepseek-r1-distill-qwen-1.5b",
            "deepseek-r1-distill-qwen-7b",
            "deepseek-r1-distill-qwen-14b",
            "deepseek-r1-distill-qwen-32b",
            "deepseek-r1-distill-llama-8b",
            "deepseek-r1-distill-llama-70b",
            "deepseek-v3",
            "deepseek-r1-671b",
            "gpt-oss-20b",
            "gpt-oss-120b",
            "command-r7b",
            "smollm2-1.7b",
            "tinyllama-1.1b",
        ] {
            assert_eq!(c.find(id).map(|e| e.spec.id.as_str()), Ok(id));
        }
    }

    #[test]
    fn names_people_use_resolve() {
        let c = models();
        let id = |n: &str| {
            c.find(n)
                .map(|e| e.spec.id.clone())
                .unwrap_or_else(|e| e.to_string())
        };
        assert_eq!(id("Meta-Llama-3.1-8B-Instruct"), "llama-3.1-8b");
        assert_eq!(id("Qwen/Qwen2.5-14B-Instruct"), "qwen2.5-14b");
        assert_eq!(id("llama3.1:8b"), "llama-3.1-8b");
        assert_eq!(id("qwen2.5:14b"), "qwen2.5-14b");
        assert_eq!(id("qwen2.5:14b-instruct-q4_K_M"), "qwen2.5-14b");
        assert_eq!(id("gemma-3-27b-it"), "gemma-3-27b");
        assert_eq!(id("gemma-3-4b-it-qat"), "gemma-3-4b");
        assert_eq!(id("gemma-4-26B-A4B-it-qat"), "gemma-4-26b-a4b");
        assert_eq!(id("LLAMA-3.1-8B"), "llama-3.1-8b");
    }

    #[test]
    fn unknown_model_suggests() {
        let err = models().find("llama-3.1-9b").unwrap_err();
        assert!(err.closest.iter().any(|c| c == "llama-3.1-8b"), "{err}");
    }
}
