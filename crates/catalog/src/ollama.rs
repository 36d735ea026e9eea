//! Ollama library names (`data/ollama.toml`): what `qwen3:30b`, `deepseek-r1` or
//! `llama3.1:8b-instruct-q8_0` mean in Ollama's library: which catalog model, in which quant.
//!
//! A size tag is an alias of one fully qualified tag (`qwen3:8b` = `qwen3:8b-q4_K_M`), a bare name
//! means its `latest` tag, and a quant suffix (`-q8_0`, `-fp16`) picks another quantization of the
//! same weights. Variant words Ollama puts between them (`-instruct`, `-it`, `-chat`) change nothing
//! here.

use std::sync::OnceLock;

use serde::Deserialize;

const OLLAMA_TOML: &str = include_str!("../data/ollama.toml");

/// One size tag of the library.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OllamaTag {
    /// `NAME:SIZE` (`qwen3:30b`).
    pub tag: String,
    /// Other spellings after the colon that mean the same weights (`30b-a3b`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The part before `-QUANT` in the library's quantized tags (`8b-instruct`), when it is not
    /// the size.
    #[serde(default)]
    pub quant_tag: Option<String>,
    /// The catalog model id.
    pub model: String,
    /// The quantization Ollama ships under this tag (`Q4_K_M`, `Q4_0`, `MXFP4_MOE`).
    pub quant: String,
    /// Size as ollama.com lists it, GB.
    pub size_gb: f64,
    /// The listed size includes a vision projector.
    #[serde(default)]
    pub vision: bool,
    /// The listed size is not the GGUF llmrig sizes (Ollama's own conversion), with why.
    #[serde(default)]
    pub size_differs: Option<String>,
    /// The library ships no other quantization of this model (no `SIZE-QUANT` tags): gpt-oss,
    /// Ollama's own conversion of the release.
    #[serde(default)]
    pub sole: bool,
    /// History or caveats.
    #[serde(default)]
    pub note: Option<String>,
}

/// A library name and its `latest` size tag.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OllamaLibrary {
    /// `qwen3`.
    pub name: String,
    /// The size `latest` points to (`8b`).
    pub latest: String,
    /// History.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    library: Vec<OllamaLibrary>,
    tag: Vec<OllamaTag>,
}

/// The library as llmrig knows it.
#[derive(Debug)]
pub struct OllamaCatalog {
    libraries: Vec<OllamaLibrary>,
    tags: Vec<OllamaTag>,
}

/// A name resolved through the library.
#[derive(Debug, Clone, PartialEq)]
pub struct OllamaName<'a> {
    /// The size tag it stands for.
    pub tag: &'a OllamaTag,
    /// The quant: the tag's own, or the one its quant suffix names (`Q8_0`).
    pub quant: String,
    /// Whether the name carried its own quant suffix.
    pub explicit_quant: bool,
}

/// `q4_K_M`, `q8_0`, `fp16`, `bf16` as Ollama writes quant suffixes → the ggml name.
fn quant_suffix(part: &str) -> Option<String> {
    let p = part.to_ascii_lowercase();
    match p.as_str() {
        "fp16" | "f16" => return Some("F16".into()),
        "bf16" => return Some("BF16".into()),
        "fp32" | "f32" => return Some("F32".into()),
        "mxfp4" => return Some("MXFP4_MOE".into()),
        // Google's quantization-aware builds are Q4_0 files.
        "qat" => return Some("Q4_0".into()),
        _ => {}
    }
    let rest = p.strip_prefix('q').or_else(|| p.strip_prefix("iq"))?;
    rest.starts_with(|c: char| c.is_ascii_digit())
        .then(|| part.to_ascii_uppercase())
}

impl OllamaCatalog {
    fn parse(text: &str) -> Result<OllamaCatalog, String> {
        let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
        for l in &f.library {
            let latest = format!("{}:{}", l.name, l.latest);
            if !f.tag.iter().any(|t| t.tag == latest) {
                return Err(format!(
                    "library {}: latest {latest} is not a listed tag",
                    l.name
                ));
            }
        }
        Ok(OllamaCatalog {
            libraries: f.library,
            tags: f.tag,
        })
    }

    /// Every tag.
    #[must_use]
    pub fn tags(&self) -> &[OllamaTag] {
        &self.tags
    }

    /// Every library name.
    #[must_use]
    pub fn libraries(&self) -> &[OllamaLibrary] {
        &self.libraries
    }

    /// The tag Ollama pulls for `name`: `NAME:TAG`, or a bare `NAME` (its `latest`). A bare name
    /// counts only as written in Ollama's lower case: `DeepSeek-R1` is the Hugging Face model,
    /// `deepseek-r1` Ollama's. `None` when the library has no such name.
    #[must_use]
    pub fn resolve(&self, name: &str) -> Option<OllamaName<'_>> {
        let name = name.trim();
        let name = name.strip_prefix("ollama:").unwrap_or(name);
        let name = name
            .strip_prefix("registry.ollama.ai/library/")
            .unwrap_or(name);
        let (lib, tag) = match name.split_once(':') {
            Some((l, t)) => (l.to_ascii_lowercase(), t.to_string()),
            None if name.chars().any(|c| c.is_ascii_uppercase()) => return None,
            None => (name.to_string(), "latest".to_string()),
        };
        let tag = if tag == "latest" {
            self.libraries
                .iter()
                .find(|l| l.name == lib)?
                .latest
                .clone()
        } else {
            tag
        };
        let find = |t: &str| {
            self.tags.iter().find(|x| {
                x.tag.split_once(':').is_some_and(|(l, s)| {
                    l == lib
                        && (s.eq_ignore_ascii_case(t)
                            || x.quant_tag
                                .as_deref()
                                .is_some_and(|q| q.eq_ignore_ascii_case(t))
                            || x.aliases.iter().any(|a| a.eq_ignore_ascii_case(t)))
                })
            })
        };
        if let Some(t) = find(&tag) {
            return Some(OllamaName {
                tag: t,
                quant: t.quant.clone(),
                explicit_quant: false,
            });
        }
        // `SIZE[-VARIANT]-QUANT`: the quant last, variant words in between.
        let parts: Vec<&str> = tag.split('-').collect();
        let (last, head) = parts.split_last()?;
        let quant = quant_suffix(last)?;
        const VARIANT: &[&str] = &["instruct", "it", "chat", "text"];
        let mut head: Vec<&str> = head.to_vec();
        while head.len() > 1 && head.last().is_some_and(|w| VARIANT.contains(w)) {
            head.pop();
        }
        let t = find(&head.join("-"))?;
        Some(OllamaName {
            tag: t,
            quant,
            explicit_quant: true,
        })
    }

    /// The only quant, and its tag, that the library ships of `model` (a `sole` tag), if so.
    #[must_use]
    pub fn sole_quant(&self, model: &str) -> Option<(&str, &str)> {
        self.tags
            .iter()
            .find(|t| t.model == model && t.sole)
            .map(|t| (t.quant.as_str(), t.tag.as_str()))
    }

    /// The tag to pull for `model` in `quant`: a size tag when it ships that quant, else
    /// `SIZE-QUANT` as Ollama names its quant tags. `None` when the library lacks the model, or
    /// ships only another quant of it.
    #[must_use]
    pub fn tag_for(&self, model: &str, quant: &str) -> Option<String> {
        let t = self.tags.iter().find(|t| t.model == model)?;
        if t.quant.eq_ignore_ascii_case(quant) {
            return Some(t.tag.clone());
        }
        if t.sole {
            return None;
        }
        let q = match quant.to_ascii_uppercase().as_str() {
            "F16" => "fp16".to_string(),
            "BF16" => "bf16".to_string(),
            // Ollama's quant tags keep the K-quant letters upper case (`q4_K_M`).
            q => {
                let mut s = q.to_ascii_lowercase();
                if let Some(i) = s.find("_k") {
                    s.replace_range(i..i + 2, "_K");
                    if s.len() > i + 3 {
                        let tail = s[i + 3..].to_ascii_uppercase();
                        s.replace_range(i + 3.., &tail);
                    }
                }
                s
            }
        };
        let (lib, size) = t.tag.split_once(':').unwrap_or((&t.tag, ""));
        Some(format!(
            "{lib}:{}-{q}",
            t.quant_tag.as_deref().unwrap_or(size)
        ))
    }
}

/// The embedded Ollama library, parsed on first use.
///
/// # Panics
/// If the embedded data is invalid, which the catalog tests rule out.
pub fn ollama() -> &'static OllamaCatalog {
    static CATALOG: OnceLock<OllamaCatalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        OllamaCatalog::parse(OLLAMA_TOML).unwrap_or_else(|e| panic!("embedded ollama.toml: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_mean_what_the_library_means() {
        let o = ollama();
        let r = o.resolve("qwen3:30b").unwrap();
        assert_eq!(
            (r.tag.model.as_str(), r.quant.as_str()),
            ("qwen3-30b-a3b", "Q4_K_M")
        );
        let r = o.resolve("qwen3").unwrap();
        assert_eq!(r.tag.tag, "qwen3:8b");
        let r = o.resolve("llama3.1:8b-instruct-q8_0").unwrap();
        assert_eq!(
            (r.tag.model.as_str(), r.quant.as_str(), r.explicit_quant),
            ("llama-3.1-8b", "Q8_0", true)
        );
        let r = o.resolve("gemma2:9b").unwrap();
        assert_eq!(r.quant, "Q4_0");
        let r = o.resolve("ollama:gemma3:27b-it-qat").unwrap();
        assert_eq!(
            (r.tag.model.as_str(), r.quant.as_str()),
            ("gemma-3-27b", "Q4_0")
        );
        let r = o.resolve("qwen2.5:7b-instruct-fp16").unwrap();
        assert_eq!(r.quant, "F16");
        // Hugging Face spelling is not Ollama's; unknown names and tags are not guessed.
        assert!(o.resolve("Qwen3").is_none());
        assert!(o.resolve("qwen3:9b").is_none());
        assert!(o.resolve("nosuchmodel").is_none());
    }

    #[test]
    fn tags_for_a_plan() {
        let o = ollama();
        assert_eq!(
            o.tag_for("qwen3-30b-a3b", "Q4_K_M").as_deref(),
            Some("qwen3:30b")
        );
        assert_eq!(
            o.tag_for("qwen3-30b-a3b", "Q8_0").as_deref(),
            Some("qwen3:30b-a3b-q8_0")
        );
        assert_eq!(
            o.tag_for("llama-3.1-8b", "Q5_K_M").as_deref(),
            Some("llama3.1:8b-instruct-q5_K_M")
        );
        assert_eq!(o.tag_for("nope", "Q4_K_M"), None);
        // gpt-oss ships as Ollama's own conversion only: no tag for ggml-org's MXFP4_MOE file.
        assert_eq!(
            o.tag_for("gpt-oss-20b", "BF16").as_deref(),
            Some("gpt-oss:20b")
        );
        assert_eq!(o.tag_for("gpt-oss-20b", "MXFP4_MOE"), None);
        assert_eq!(o.sole_quant("gpt-oss-120b"), Some(("BF16", "gpt-oss:120b")));
        assert_eq!(o.sole_quant("qwen3-30b-a3b"), None);
    }
}
