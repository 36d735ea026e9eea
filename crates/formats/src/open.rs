//! One entry point for every way to name a model file: a local `.gguf` (any shard), a local Hugging
//! Face folder, `hf:ORG/REPO[...]` (a GGUF picked by quant, or config.json + safetensors headers) and
//! `ollama:NAME:TAG`. Remote reads fetch only header bytes, in 1 MiB chunks.

use std::path::Path;

use crate::local::{
    folder_from_parts, gguf_from_llamafile, gguf_from_sources, index_shards, open_gguf,
    open_hf_folder, FolderError, HfFolder, LocalModel, OpenError,
};
use crate::remote::{
    hf_list, hf_model_files, hf_open, ollama_model, parse_remote, pick_gguf, PickError,
    RemoteConfig, RemoteError, RemoteSpec,
};
use crate::source::{ByteSource, SourceError};

/// What a model reference opened to.
#[derive(Debug, Clone)]
pub enum Opened {
    /// GGUF headers (one per shard).
    Gguf(LocalModel),
    /// A Hugging Face model: config.json and safetensors headers.
    Folder(HfFolder),
}

/// Opening a model reference failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenModelError {
    /// A GGUF could not be read.
    #[error(transparent)]
    Gguf(#[from] OpenError),
    /// A folder could not be read.
    #[error(transparent)]
    Folder(#[from] FolderError),
    /// A remote request failed.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// No file of the asked quant (or no quant asked among several).
    #[error("{repo}: {source}")]
    Pick {
        /// The repository.
        repo: String,
        /// Why.
        #[source]
        source: PickError,
    },
    /// The repository has neither GGUF files, llamafiles nor config.json.
    #[error("{0}: no .gguf or .llamafile files and no config.json: not a model repository llmrig can read")]
    NotAModel(String),
    /// A small JSON file is larger than any real one.
    #[error("`{0}` is larger than 16 MiB; not a config file")]
    TooLarge(String),
}

impl OpenModelError {
    /// Whether the server could not be reached at all (no network, a name that does not resolve,
    /// no answer), as opposed to an answer that says something about the model.
    #[must_use]
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            OpenModelError::Remote(RemoteError::Connection { .. } | RemoteError::TimedOut { .. })
        )
    }
}

impl From<SourceError> for OpenModelError {
    fn from(e: SourceError) -> Self {
        OpenModelError::Gguf(OpenError::Source(e))
    }
}

/// Reads a whole small remote file (config.json, an index), refusing anything over 16 MiB.
fn read_small(src: &mut dyn ByteSource) -> Result<String, OpenModelError> {
    const LIMIT: u64 = 16 << 20;
    if src.len() > LIMIT {
        return Err(OpenModelError::TooLarge(src.name()));
    }
    let bytes = src.read_at(0, usize::try_from(src.len()).unwrap_or(0))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Opens MODEL if it names a file, folder or remote repository; `Ok(None)` otherwise (a catalog id,
/// a size). `quant` picks the GGUF of a repository.
///
/// # Errors
/// [`OpenModelError`] naming the file, URL or repository and what went wrong.
pub fn open_model(
    spec: &str,
    quant: Option<&str>,
    cfg: &RemoteConfig,
) -> Result<Option<Opened>, OpenModelError> {
    match parse_remote(spec)? {
        Some(RemoteSpec::Hf(h)) => {
            let quant = h.quant.as_deref().or(quant);
            if let Some(path) = &h.path {
                if crate::llamafile::is_llamafile_name(path) {
                    let src: Box<dyn ByteSource> =
                        Box::new(hf_open(&h.repo, &h.revision, path, cfg)?);
                    return Ok(Some(Opened::Gguf(gguf_from_llamafile(path, src)?)));
                }
                if path.to_ascii_lowercase().ends_with(".gguf") {
                    let src: Box<dyn ByteSource> =
                        Box::new(hf_open(&h.repo, &h.revision, path, cfg)?);
                    return Ok(Some(Opened::Gguf(gguf_from_sources(path, vec![src])?)));
                }
            }
            let files = hf_list(&h.repo, &h.revision, cfg)?;
            let m = hf_model_files(&files);
            if !m.gguf.is_empty() {
                let picked = pick_gguf(&files, quant).map_err(|source| OpenModelError::Pick {
                    repo: format!("hf:{}", h.repo),
                    source,
                })?;
                let mut sources: Vec<Box<dyn ByteSource>> = Vec::with_capacity(picked.len());
                for f in &picked {
                    sources.push(Box::new(hf_open(&h.repo, &h.revision, &f.path, cfg)?));
                }
                let label = picked
                    .first()
                    .map_or(h.repo.as_str(), |f| f.path.as_str())
                    .to_string();
                return Ok(Some(Opened::Gguf(gguf_from_sources(&label, sources)?)));
            }
            let Some(config) = m.config else {
                // A repository of llamafiles (Mozilla's `*-llamafile` repos): one picked by
                // quant like a GGUF, and the GGUF inside it read.
                let llamafiles: Vec<_> = files
                    .iter()
                    .filter(|f| crate::llamafile::is_llamafile_name(&f.path))
                    .map(|f| {
                        let mut g = f.clone();
                        g.path = format!("{}.gguf", &f.path[..f.path.len() - ".llamafile".len()]);
                        g
                    })
                    .collect();
                if llamafiles.is_empty() {
                    return Err(OpenModelError::NotAModel(format!("hf:{}", h.repo)));
                }
                let picked =
                    pick_gguf(&llamafiles, quant).map_err(|source| OpenModelError::Pick {
                        repo: format!("hf:{}", h.repo),
                        source,
                    })?;
                let path = format!("{}.llamafile", picked[0].path.trim_end_matches(".gguf"));
                let src: Box<dyn ByteSource> = Box::new(hf_open(&h.repo, &h.revision, &path, cfg)?);
                return Ok(Some(Opened::Gguf(gguf_from_llamafile(&path, src)?)));
            };
            let text = read_small(&mut hf_open(&h.repo, &h.revision, &config, cfg)?)?;
            let shards = match &m.safetensors_index {
                Some(idx) => {
                    let t = read_small(&mut hf_open(&h.repo, &h.revision, idx, cfg)?)?;
                    index_shards(idx, &t)?
                }
                None => m.safetensors.clone(),
            };
            let mut sources: Vec<Box<dyn ByteSource>> = Vec::with_capacity(shards.len());
            for s in &shards {
                sources.push(Box::new(hf_open(&h.repo, &h.revision, s, cfg)?));
            }
            Ok(Some(Opened::Folder(folder_from_parts(
                &format!("hf:{}/config.json", h.repo),
                &text,
                sources,
            )?)))
        }
        Some(RemoteSpec::Ollama(o)) => {
            let model = ollama_model(&o.to_string(), cfg)?;
            let src: Box<dyn ByteSource> = Box::new(model.open(cfg)?);
            Ok(Some(Opened::Gguf(gguf_from_sources(
                &format!("ollama:{o}"),
                vec![src],
            )?)))
        }
        None => {
            let path = Path::new(spec);
            if path.is_dir() {
                return Ok(Some(Opened::Folder(open_hf_folder(path)?)));
            }
            let lower = spec.to_ascii_lowercase();
            if lower.ends_with(".gguf")
                || crate::llamafile::is_llamafile_name(&lower)
                || path.is_file()
            {
                return Ok(Some(Opened::Gguf(open_gguf(path)?)));
            }
            Ok(None)
        }
    }
}
