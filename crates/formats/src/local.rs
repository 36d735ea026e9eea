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
    /// The header does not describe a model.
    #[error(transparent)]
    Spec(#[from] SpecFromGguf),
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
    let paths = shard_paths(path);
    let mut headers = Vec::with_capacity(paths.len());
    let mut size = 0;
    let mut read = 0;
    for p in &paths {
        if !p.exists() {
            return Err(OpenError::Split {
                path: path.display().to_string(),
                what: format!("shard `{}` is missing", p.display()),
            });
        }
        let mut src = FileSource::open(p)?;
        let h = read_gguf(&mut src)?;
        size += src.len();
        read += src.bytes_fetched();
        headers.push(h);
    }
    if let Some(n) = headers[0].get("split.count").and_then(Value::as_u64) {
        if n != paths.len() as u64 {
            return Err(OpenError::Split {
                path: path.display().to_string(),
                what: format!("the file says {n} shards but its name says {}", paths.len()),
            });
        }
    }
    let label = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model")
        .to_string();
    let model = model_from_gguf(&label, &headers)?;
    let facts = FileFacts {
        paths: paths.iter().map(|p| p.display().to_string()).collect(),
        size_bytes: size,
        bytes_read: read,
        chat_template: headers[0].get("tokenizer.chat_template").is_some(),
        gguf_version: headers[0].version,
    };
    Ok(LocalModel {
        model,
        facts,
        headers,
    })
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
