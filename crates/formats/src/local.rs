//! Opening a model on disk: a `.gguf` file (all shards of a split model) or, later, a Hugging Face
//! folder. Returns the model plus what `inspect` shows about the file itself.

use std::path::{Path, PathBuf};

use crate::gguf::{
    model_from_gguf, read_gguf, GgufError, GgufHeader, GgufModel, SpecFromGguf, Value,
};
use crate::source::{ByteSource, FileSource, SourceError};

/// Facts about the file(s) a model was read from.
#[derive(Debug, Clone)]
pub struct FileFacts {
    /// Every file read, in order.
    pub paths: Vec<String>,
    /// Their total size, bytes.
    pub size_bytes: u64,
    /// Bytes actually read (headers only).
    pub bytes_read: u64,
    /// A chat template is present.
    pub chat_template: bool,
    /// GGUF version of the first file.
    pub gguf_version: u32,
}

/// A model read from local files.
#[derive(Debug, Clone)]
pub struct LocalModel {
    /// The model (spec, tensors, file type, warnings).
    pub model: GgufModel,
    /// File facts.
    pub facts: FileFacts,
    /// The parsed headers (one per shard).
    pub headers: Vec<GgufHeader>,
    /// The `.llamafile` the GGUF was read from, when it was (its members and default arguments).
    pub llamafile: Option<crate::llamafile::Llamafile>,
}

/// Opening a model file failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Reading failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Not a readable GGUF header.
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// Not a readable `.llamafile`.
    #[error(transparent)]
    Llamafile(#[from] crate::llamafile::LlamafileError),
    /// The header does not describe a model.
    #[error(transparent)]
    Spec(#[from] SpecFromGguf),
    /// The file does not exist.
    #[error("`{path}`: no such file (expected a .gguf model file, a model folder, a catalog model or hf:ORG/REPO)")]
    Missing {
        /// The path given.
        path: String,
    },
    /// A shard of a split model is missing or does not belong.
    #[error("split model `{path}`: {what}")]
    Split {
        /// The first shard.
        path: String,
        /// What is wrong.
        what: String,
    },
}

/// `NAME-00001-of-00003.gguf` → (prefix `NAME`, index 1, count 3).
#[must_use]
pub fn split_parts(file_name: &str) -> Option<(&str, u32, u32)> {
    let stem = file_name.strip_suffix(".gguf")?;
    let (rest, count) = stem.rsplit_once("-of-")?;
    let (prefix, index) = rest.rsplit_once('-')?;
    if index.len() != 5 || count.len() != 5 {
        return None;
    }
    let index: u32 = index.parse().ok()?;
    let count: u32 = count.parse().ok()?;
    (index >= 1 && index <= count).then_some((prefix, index, count))
}

/// The shard paths of a split model given any one of them (just the path itself otherwise).
#[must_use]
pub fn shard_paths(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match split_parts(name) {
        Some((prefix, _, count)) => (1..=count)
            .map(|i| path.with_file_name(format!("{prefix}-{i:05}-of-{count:05}.gguf")))
            .collect(),
        None => vec![path.to_path_buf()],
    }
}

/// Reads the headers of a GGUF model on disk (every shard of a split model, given the first or any
/// shard) and builds its spec from them.
///
/// # Errors
/// [`OpenError`] naming the file and what is wrong.
pub fn open_gguf(path: &Path) -> Result<LocalModel, OpenError> {
    // The file itself first: a missing single file is not a missing shard.
    if !path.exists() {
        return Err(OpenError::Missing {
            path: path.display().to_string(),
        });
    }
    if is_llamafile(path) {
        let label = path.file_name().and_then(|n| n.to_str()).unwrap_or("model");
        return gguf_from_llamafile(label, Box::new(FileSource::open(path)?));
    }
    let paths = shard_paths(path);
    let mut sources: Vec<Box<dyn ByteSource>> = Vec::with_capacity(paths.len());
    for p in &paths {
        if !p.exists() {
            return Err(OpenError::Split {
                path: path.display().to_string(),
                what: format!("shard `{}` is missing", p.display()),
            });
        }
        sources.push(Box::new(FileSource::open(p)?));
    }
    let label = path.file_name().and_then(|n| n.to_str()).unwrap_or("model");
    gguf_from_sources(label, sources)
}

/// Reads the GGUF headers of a model given a source per shard (local files or HTTP ranges).
///
/// # Errors
/// [`OpenError`] naming the file and what is wrong.
pub fn gguf_from_sources(
    label: &str,
    mut sources: Vec<Box<dyn ByteSource>>,
) -> Result<LocalModel, OpenError> {
    let mut headers = Vec::with_capacity(sources.len());
    let (mut size, mut read) = (0, 0);
    let mut paths = Vec::with_capacity(sources.len());
    for src in &mut sources {
        let h = read_gguf(src.as_mut())?;
        size += src.len();
        read += src.bytes_fetched();
        paths.push(src.name());
        headers.push(h);
    }
    let Some(first) = headers.first() else {
        return Err(OpenError::Split {
            path: label.to_string(),
            what: "no file to read".into(),
        });
    };
    if let Some(n) = first.get("split.count").and_then(Value::as_u64) {
        if n != headers.len() as u64 {
            return Err(OpenError::Split {
                path: label.to_string(),
                what: format!("the file says {n} shards but {} were found", headers.len()),
            });
        }
    }
    let model = model_from_gguf(label, &headers)?;
    let facts = FileFacts {
        paths,
        size_bytes: size,
        bytes_read: read,
        chat_template: headers[0].get("tokenizer.chat_template").is_some(),
        gguf_version: headers[0].version,
    };
    Ok(LocalModel {
        model,
        facts,
        headers,
        llamafile: None,
    })
}

/// Reads the GGUF stored inside a `.llamafile` (a local file or an HTTP range source): the zip
/// directory at its end says where, and only that window's header is read.
///
/// # Errors
/// [`OpenError`] naming the file and what is wrong.
pub fn gguf_from_llamafile(
    label: &str,
    mut src: Box<dyn ByteSource>,
) -> Result<LocalModel, OpenError> {
    let lf = crate::llamafile::read(src.as_mut())?;
    let name = src.name();
    let window = crate::source::Slice::new(src, lf.gguf.offset, lf.gguf.size, name);
    let mut m = gguf_from_sources(label, vec![Box::new(window)])?;
    m.model.warnings.push(format!(
        "read the GGUF `{}` stored inside the llamafile ({:.2} GiB from byte {})",
        lf.gguf.name,
        lf.gguf.size as f64 / f64::from(1u32 << 30),
        lf.gguf.offset
    ));
    m.llamafile = Some(lf);
    Ok(m)
}

/// Whether the file at `path` is a llamafile: named `.llamafile` (or `.llamafile.exe`, as
/// Windows needs it), or an Actually Portable Executable (its first bytes `MZqFpD`, the magic
/// cosmopolitan's APE loader checks) rather than a GGUF.
fn is_llamafile(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if crate::llamafile::is_llamafile_name(name.trim_end_matches(".exe")) {
        return true;
    }
    let mut magic = [0u8; 6];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| &magic == b"MZqFpD")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names() {
        assert_eq!(
            split_parts("m-Q4_K_M-00001-of-00003.gguf"),
            Some(("m-Q4_K_M", 1, 3))
        );
        assert_eq!(split_parts("m.gguf"), None);
        assert_eq!(split_parts("m-00004-of-00003.gguf"), None);
        assert_eq!(split_parts("m-1-of-3.gguf"), None);
        let p = shard_paths(Path::new("/x/m-00002-of-00002.gguf"));
        assert_eq!(p[0], Path::new("/x/m-00001-of-00002.gguf"));
        assert_eq!(p.len(), 2);
    }
}

/// A Hugging Face model folder read from disk: `config.json` plus safetensors headers.
#[derive(Debug, Clone)]
pub struct HfFolder {
    /// What config.json says.
    pub config: crate::hf_config::HfConfig,
    /// Predicted tensors in the declared format (for placement and speed).
    pub weights: llmrig_core::estimate::ModelWeights,
    /// Safetensors files read, with their sizes.
    pub files: Vec<(String, u64)>,
    /// Elements and bytes per stored dtype, summed over all headers.
    pub dtypes: Vec<(String, u64, u64)>,
    /// Tensor bytes of all files (exact, from the headers).
    pub tensor_bytes: u64,
    /// Header bytes read.
    pub bytes_read: u64,
    /// Number of tensors stored.
    pub tensor_count: usize,
}

/// Opening a Hugging Face folder failed.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// A file could not be read.
    #[error("cannot read `{path}`")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// config.json is unusable.
    #[error(transparent)]
    Config(#[from] crate::hf_config::ConfigError),
    /// A safetensors header is unusable.
    #[error(transparent)]
    Safetensors(#[from] crate::safetensors::SafetensorsError),
    /// Reading bytes failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The index is invalid or names a missing shard.
    #[error("`{path}`: {what}")]
    Index {
        /// The index file.
        path: String,
        /// What is wrong.
        what: String,
    },
}

/// Reads `config.json` and every safetensors header of a model folder.
///
/// # Errors
/// [`FolderError`] naming the file that could not be used.
pub fn open_hf_folder(dir: &Path) -> Result<HfFolder, FolderError> {
    let io = |p: &Path| {
        let path = p.display().to_string();
        move |source| FolderError::Io { path, source }
    };
    let cfg_path = dir.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).map_err(io(&cfg_path))?;
    let index_path = dir.join("model.safetensors.index.json");
    let names: Vec<String> = if index_path.exists() {
        let t = std::fs::read_to_string(&index_path).map_err(io(&index_path))?;
        index_shards(&index_path.display().to_string(), &t)?
    } else {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.ends_with(".safetensors"))
            .collect();
        v.sort();
        v
    };
    let mut sources: Vec<Box<dyn ByteSource>> = Vec::with_capacity(names.len());
    for n in &names {
        sources.push(Box::new(FileSource::open(&dir.join(n))?));
    }
    folder_from_parts(&cfg_path.display().to_string(), &text, sources)
}

/// The shard file names of `model.safetensors.index.json`, which must be plain names in the same
/// folder.
///
/// # Errors
/// [`FolderError::Index`] for an unreadable index or a shard name with a path in it.
pub fn index_shards(path: &str, text: &str) -> Result<Vec<String>, FolderError> {
    let idx: crate::safetensors::StIndex =
        serde_json::from_str(text).map_err(|e| FolderError::Index {
            path: path.to_string(),
            what: format!("not a safetensors index: {e}"),
        })?;
    let shards = idx.shards();
    if let Some(bad) = shards
        .iter()
        .find(|s| s.contains('/') || s.contains('\\') || s.starts_with('.'))
    {
        return Err(FolderError::Index {
            path: path.to_string(),
            what: format!("shard name `{bad}` is not a plain file name"),
        });
    }
    Ok(shards)
}

/// Builds an [`HfFolder`] from `config.json` text and a source per safetensors file.
///
/// # Errors
/// [`FolderError`] naming the file that could not be used.
pub fn folder_from_parts(
    config_name: &str,
    config_text: &str,
    mut sources: Vec<Box<dyn ByteSource>>,
) -> Result<HfFolder, FolderError> {
    let config = crate::hf_config::parse_config(config_name, config_text)?;
    let mut files = Vec::new();
    let mut dtypes: Vec<(String, u64, u64)> = Vec::new();
    let (mut tensor_bytes, mut read, mut count) = (0, 0, 0);
    for src in &mut sources {
        let h = crate::safetensors::read_safetensors(src.as_mut())?;
        files.push((src.name(), src.len()));
        read += src.bytes_fetched();
        count += h.tensors.len();
        for t in &h.tensors {
            tensor_bytes += t.bytes;
            match dtypes.iter_mut().find(|d| d.0 == t.dtype) {
                Some(d) => {
                    d.1 += t.n_elements();
                    d.2 += t.bytes;
                }
                None => dtypes.push((t.dtype.clone(), t.n_elements(), t.bytes)),
            }
        }
    }
    let format = config.quant.unwrap_or(match config.dtype.as_deref() {
        Some("float16") => llmrig_core::quant::OtherFormat::Fp16,
        Some("float32") => llmrig_core::quant::OtherFormat::Fp32,
        _ => llmrig_core::quant::OtherFormat::Bf16,
    });
    let weights = llmrig_core::estimate::ModelWeights::new(
        &config.spec,
        llmrig_core::quant::Quant::Other(format),
    );
    Ok(HfFolder {
        config,
        weights,
        files,
        dtypes,
        tensor_bytes,
        bytes_read: read,
        tensor_count: count,
    })
}
