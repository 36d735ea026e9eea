//! Models already on this machine: Ollama's store, the Hugging Face cache, LM Studio's folders and
//! llama.cpp's download cache. Only directory listings and small manifests are read.

use std::path::{Path, PathBuf};

/// Where an installed model was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// Ollama (`~/.ollama/models`, or `OLLAMA_MODELS`).
    Ollama,
    /// The Hugging Face cache (`~/.cache/huggingface/hub`, or `HF_HOME`/`HF_HUB_CACHE`).
    HuggingFace,
    /// LM Studio (`~/.lmstudio/models`, `~/.cache/lm-studio/models`).
    LmStudio,
    /// llama.cpp's `-hf` download cache (`~/.cache/llama.cpp`, or `LLAMA_CACHE`).
    LlamaCpp,
}

/// One installed model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The store.
    pub store: Store,
    /// The name people use there: an Ollama tag (`llama3.1:8b`), `ORG/REPO`, or a file name.
    pub name: String,
    /// The model file (a GGUF, or the Ollama blob, which is a GGUF).
    pub path: PathBuf,
    /// Its size, bytes.
    pub size: u64,
}

/// The folders to scan, from the environment and the home directory.
#[derive(Debug, Clone, Default)]
pub struct Roots {
    /// Ollama models folder.
    pub ollama: Option<PathBuf>,
    /// Hugging Face hub cache.
    pub hf_hub: Option<PathBuf>,
    /// LM Studio model folders.
    pub lmstudio: Vec<PathBuf>,
    /// llama.cpp cache.
    pub llama_cpp: Option<PathBuf>,
}

impl Roots {
    /// The usual locations, honouring `OLLAMA_MODELS`, `HF_HUB_CACHE`, `HF_HOME`, `LLAMA_CACHE`.
    #[must_use]
    pub fn from_env() -> Roots {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let env = |k: &str| std::env::var_os(k).map(PathBuf::from);
        let cache = env("XDG_CACHE_HOME").or_else(|| home.as_ref().map(|h| h.join(".cache")));
        Roots {
            ollama: env("OLLAMA_MODELS")
                .or_else(|| home.as_ref().map(|h| h.join(".ollama/models"))),
            hf_hub: env("HF_HUB_CACHE")
                .or_else(|| env("HF_HOME").map(|h| h.join("hub")))
                .or_else(|| cache.as_ref().map(|c| c.join("huggingface/hub"))),
            lmstudio: home
                .iter()
                .map(|h| h.join(".lmstudio/models"))
                .chain(cache.iter().map(|c| c.join("lm-studio/models")))
                .collect(),
            llama_cpp: env("LLAMA_CACHE").or_else(|| cache.as_ref().map(|c| c.join("llama.cpp"))),
        }
    }
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// GGUF files under `dir`, at most `depth` folders down, skipping projector files.
fn ggufs(dir: &Path, depth: u32, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() && depth > 0 {
            ggufs(&p, depth - 1, out);
        } else if p
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
            && !p.to_string_lossy().to_ascii_lowercase().contains("mmproj")
        {
            out.push(p);
        }
    }
}

/// Ollama: `manifests/<registry>/<namespace>/<name>/<tag>` JSON files whose model layer's digest
/// names a blob `blobs/sha256-<hex>`.
fn ollama(root: &Path, out: &mut Vec<Installed>) {
    let manifests = root.join("manifests");
    let Ok(registries) = std::fs::read_dir(&manifests) else {
        return;
    };
    for reg in registries.flatten() {
        let Ok(namespaces) = std::fs::read_dir(reg.path()) else {
            continue;
        };
        for ns in namespaces.flatten() {
            let Ok(names) = std::fs::read_dir(ns.path()) else {
                continue;
            };
            for name in names.flatten() {
                let Ok(tags) = std::fs::read_dir(name.path()) else {
                    continue;
                };
                for tag in tags.flatten() {
                    let Ok(text) = std::fs::read_to_string(tag.path()) else {
                        continue;
                    };
                    if text.len() > 1 << 20 {
                        continue;
                    }
                    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
                        continue;
                    };
                    let Some(layers) = v.get("layers").and_then(|l| l.as_array()) else {
                        continue;
                    };
                    let Some(digest) = layers
                        .iter()
                        .find(|l| {
                            l.get("mediaType").and_then(|m| m.as_str())
                                == Some("application/vnd.ollama.image.model")
                        })
                        .and_then(|l| l.get("digest"))
                        .and_then(|d| d.as_str())
                    else {
                        continue;
                    };
                    let blob = root.join("blobs").join(digest.replace(':', "-"));
                    if !blob.is_file() {
                        continue;
                    }
                    let ns_name = ns.file_name().to_string_lossy().to_string();
                    let model = name.file_name().to_string_lossy().to_string();
                    let tag = tag.file_name().to_string_lossy().to_string();
                    let label = if ns_name == "library" {
                        format!("{model}:{tag}")
                    } else {
                        format!("{ns_name}/{model}:{tag}")
                    };
                    out.push(Installed {
                        store: Store::Ollama,
                        name: label,
                        size: size(&blob),
                        path: blob,
                    });
                }
            }
        }
    }
}

/// Every installed model found under `roots`.
#[must_use]
pub fn scan(roots: &Roots) -> Vec<Installed> {
    let mut out = Vec::new();
    if let Some(r) = &roots.ollama {
        ollama(r, &mut out);
    }
    if let Some(hub) = &roots.hf_hub {
        if let Ok(rd) = std::fs::read_dir(hub) {
            for e in rd.flatten() {
                let dir = e.file_name().to_string_lossy().to_string();
                let Some(repo) = dir.strip_prefix("models--") else {
                    continue;
                };
                let repo = repo.replacen("--", "/", 1);
                let mut files = Vec::new();
                ggufs(&e.path().join("snapshots"), 3, &mut files);
                for f in files {
                    out.push(Installed {
                        store: Store::HuggingFace,
                        name: format!(
                            "{repo}/{}",
                            f.file_name()
                                .map(|n| n.to_string_lossy().to_string())
                                .unwrap_or_default()
                        ),
                        size: size(&f),
                        path: f,
                    });
                }
            }
        }
    }
    for r in &roots.lmstudio {
        let mut files = Vec::new();
        ggufs(r, 3, &mut files);
        out.extend(files.into_iter().map(|f| {
            Installed {
                store: Store::LmStudio,
                name: f
                    .strip_prefix(r)
                    .unwrap_or(&f)
                    .to_string_lossy()
                    .to_string(),
                size: size(&f),
                path: f,
            }
        }));
    }
    if let Some(r) = &roots.llama_cpp {
        let mut files = Vec::new();
        ggufs(r, 1, &mut files);
        out.extend(files.into_iter().map(|f| {
            Installed {
                store: Store::LlamaCpp,
                name: f
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                size: size(&f),
                path: f,
            }
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ollama_hf_and_lmstudio_models() {
        let root = std::env::temp_dir().join(format!("llmrig-installed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        // Ollama store with one model.
        let o = root.join("ollama");
        let digest = format!("sha256:{}", "b".repeat(64));
        std::fs::create_dir_all(o.join("manifests/registry.ollama.ai/library/llama3.1")).unwrap();
        std::fs::create_dir_all(o.join("blobs")).unwrap();
        std::fs::write(
            o.join("manifests/registry.ollama.ai/library/llama3.1/8b"),
            format!(r#"{{"layers":[{{"mediaType":"application/vnd.ollama.image.model","digest":"{digest}","size":4}}]}}"#),
        )
        .unwrap();
        std::fs::write(o.join("blobs").join(digest.replace(':', "-")), b"GGUF").unwrap();
        // HF cache with one GGUF and an mmproj that is skipped.
        let snap = root.join("hub/models--bartowski--Qwen2.5-7B-Instruct-GGUF/snapshots/abc");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(snap.join("Qwen2.5-7B-Instruct-Q4_K_M.gguf"), b"GGUF").unwrap();
        std::fs::write(snap.join("mmproj-f16.gguf"), b"GGUF").unwrap();
        // LM Studio.
        let lms = root.join("lms/lmstudio-community/gemma-3-4b-it-GGUF");
        std::fs::create_dir_all(&lms).unwrap();
        std::fs::write(lms.join("gemma-3-4b-it-Q4_K_M.gguf"), b"GGUF").unwrap();
        let found = scan(&Roots {
            ollama: Some(o),
            hf_hub: Some(root.join("hub")),
            lmstudio: vec![root.join("lms")],
            llama_cpp: Some(root.join("nothing-here")),
        });
        let names: Vec<&str> = found.iter().map(|i| i.name.as_str()).collect();
        assert!(names.contains(&"llama3.1:8b"), "{names:?}");
        assert!(
            names.contains(&"bartowski/Qwen2.5-7B-Instruct-GGUF/Qwen2.5-7B-Instruct-Q4_K_M.gguf"),
            "{names:?}"
        );
        assert!(
            names
                .iter()
                .any(|n| n.ends_with("gemma-3-4b-it-Q4_K_M.gguf")),
            "{names:?}"
        );
        assert_eq!(found.len(), 3);
        let _ = std::fs::remove_dir_all(&root);
    }
}
