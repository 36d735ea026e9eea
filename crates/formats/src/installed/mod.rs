//! Models already on this machine, in the stores of the programs people run them with: Ollama,
//! LM Studio, GPT4All, Jan, text-generation-webui, Msty, AnythingLLM, koboldcpp's settings files,
//! llamafiles, the Hugging Face and llama.cpp caches, and the folders `LLMRIG_MODEL_DIRS` names.
//! Where each program keeps them, per operating system and with the source of each path, is in
//! [`places`]; how each store is laid out, in `layouts.rs`. Only directory listings and small
//! manifests are read, within fixed limits on depth, entries and file size.

mod layouts;
pub mod places;

use std::collections::HashSet;
use std::path::PathBuf;

pub use places::Os;

/// The program whose store holds a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Store {
    /// Ollama.
    Ollama,
    /// The Hugging Face cache (`huggingface-cli`, transformers, and llama.cpp's `-hf` downloads
    /// since llama.cpp moved them there).
    HuggingFace,
    /// LM Studio.
    LmStudio,
    /// llama.cpp's own download cache (`-hf` before it used the Hugging Face cache).
    LlamaCpp,
    /// GPT4All.
    Gpt4All,
    /// Jan.
    Jan,
    /// text-generation-webui (oobabooga).
    TextGen,
    /// Msty (its own Ollama service's store).
    Msty,
    /// AnythingLLM desktop.
    AnythingLlm,
    /// A model a koboldcpp settings file (`.kcpps`) loads.
    Koboldcpp,
    /// A `.llamafile` (the model inside an executable).
    Llamafile,
    /// A folder named in `LLMRIG_MODEL_DIRS`.
    Folder,
}

impl Store {
    /// The program's name as `models --installed` prints it.
    #[must_use]
    pub fn program(self) -> &'static str {
        match self {
            Store::Ollama => "ollama",
            Store::HuggingFace => "huggingface",
            Store::LmStudio => "lmstudio",
            Store::LlamaCpp => "llama.cpp",
            Store::Gpt4All => "gpt4all",
            Store::Jan => "jan",
            Store::TextGen => "text-generation-webui",
            Store::Msty => "msty",
            Store::AnythingLlm => "anythingllm",
            Store::Koboldcpp => "koboldcpp",
            Store::Llamafile => "llamafile",
            Store::Folder => "folder",
        }
    }
}

/// One installed model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The program whose store holds it.
    pub store: Store,
    /// The name people use there: an Ollama tag (`llama3.1:8b`), `ORG/REPO/FILE`, or a file name
    /// relative to the store.
    pub name: String,
    /// The model file (a GGUF, an Ollama blob, which is a GGUF, a `.llamafile`, or a model folder
    /// with `config.json`).
    pub path: PathBuf,
    /// Its size, bytes (a folder's: its files').
    pub size: u64,
}

impl Installed {
    /// The model's own name, without store folders or file extensions: an Ollama tag as it is
    /// (`llama3.1:8b`), a file's stem (`Qwen2.5-7B-Instruct-Q4_K_M`), a llamafile's without
    /// `.llamafile` (`Llama-3.2-1B-Instruct.Q6_K`), and for a file named `model.gguf` (Jan's
    /// layout) its folder's name.
    #[must_use]
    pub fn stem(&self) -> String {
        if self.name.contains(':') && !self.name.contains(" (") {
            return self.name.clone();
        }
        let file = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut stem = file.as_str();
        for ext in [".exe", ".llamafile", ".gguf"] {
            if stem.to_ascii_lowercase().ends_with(ext) {
                stem = &stem[..stem.len() - ext.len()];
            }
        }
        if stem.eq_ignore_ascii_case("model") {
            if let Some(dir) = self.path.parent().and_then(|p| p.file_name()) {
                return dir.to_string_lossy().to_string();
            }
        }
        stem.to_string()
    }
}

/// How a store lays out its models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `manifests/<registry>/<namespace>/<name>/<tag>` naming blobs `blobs/sha256-<hex>`
    /// (Ollama, and the Ollama services Msty and AnythingLLM run).
    Ollama,
    /// `models--ORG--REPO/snapshots/<rev>/…` (the Hugging Face hub cache).
    HfHub,
    /// GGUF files (and llamafiles) up to this many folders down.
    Files(u32),
    /// GGUF files and model folders (`config.json` beside weights) up to this many folders down.
    FilesAndFolders(u32),
    /// `.llamafile` files up to this many folders down, and nothing else.
    Llamafiles(u32),
    /// koboldcpp settings files (`*.kcpps`) up to this many folders down: the model each loads.
    Kcpps(u32),
}

/// One place to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// The program that owns what is found there.
    pub store: Store,
    /// The folder.
    pub path: PathBuf,
    /// How it is laid out.
    pub layout: Layout,
}

/// Every place to look, in order (a file found twice is listed under the first).
#[derive(Debug, Clone, Default)]
pub struct Roots {
    /// The places.
    pub roots: Vec<Root>,
}

impl Roots {
    /// The usual places on this machine's operating system, from its environment.
    #[must_use]
    pub fn from_env() -> Roots {
        let os = if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        };
        Roots::for_os(os, &|k| std::env::var_os(k).filter(|v| !v.is_empty()))
    }

    /// The usual places on `os`, reading environment variables through `env` (a test passes a
    /// fake home and variables for any operating system's layout).
    #[must_use]
    pub fn for_os(os: Os, env: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> Roots {
        Roots {
            roots: places::roots(os, env),
        }
    }
}

/// Every installed model found under `roots`, each file once.
#[must_use]
pub fn scan(roots: &Roots) -> Vec<Installed> {
    let mut out = Vec::new();
    let mut budget = layouts::Budget::default();
    for r in &roots.roots {
        layouts::scan_root(r, &mut budget, &mut out);
    }
    let mut seen = HashSet::new();
    out.retain(|i| seen.insert(std::fs::canonicalize(&i.path).unwrap_or_else(|_| i.path.clone())));
    out
}

#[cfg(test)]
mod tests;
