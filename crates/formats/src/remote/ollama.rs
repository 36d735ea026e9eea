//! The Ollama registry: a `NAME:TAG` to its manifest (`/v2/{ns}/{name}/manifests/{tag}`) to the
//! blob of the model layer (`/v2/{ns}/{name}/blobs/{digest}`), a plain GGUF file.

use serde::Deserialize;

use super::http::{open_url, Client, HttpSource, Target};
use super::{parse_remote, RemoteConfig, RemoteError, RemoteSpec};

/// The media type of the GGUF model layer.
pub const MODEL_MEDIA_TYPE: &str = "application/vnd.ollama.image.model";
/// The media type of a vision projector layer (a GGUF too).
pub const PROJECTOR_MEDIA_TYPE: &str = "application/vnd.ollama.image.projector";
const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// One blob in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaBlob {
    /// Download URL (the registry redirects it to storage elsewhere).
    pub url: String,
    /// `sha256:…`.
    pub digest: String,
    /// Size in bytes, as the manifest says.
    pub size: u64,
}

/// An Ollama model resolved through its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaModel {
    /// `[host/]namespace/name:tag`.
    pub name: String,
    /// The manifest URL.
    pub manifest_url: String,
    /// The GGUF model layer (the first one, should a manifest list several).
    pub model: OllamaBlob,
    /// The vision projector layer, if any.
    pub projector: Option<OllamaBlob>,
}

impl OllamaModel {
    /// Opens the model blob for range reads.
    ///
    /// # Errors
    /// [`RemoteError`] from the first read.
    pub fn open(&self, cfg: &RemoteConfig) -> Result<HttpSource, RemoteError> {
        open_url(&self.model.url, cfg)
    }
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Layer>,
}

#[derive(Deserialize)]
struct Layer {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: u64,
}

fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Resolves `[ollama:][HOST/][NAMESPACE/]NAME[:TAG]` (namespace `library`, tag `latest` by
/// default) through the registry (`cfg.ollama_registry`, or `https://HOST` when the name has one)
/// to its model blob and projector.
///
/// # Errors
/// [`RemoteError`]: a bad name, 404 for an unknown model or tag, network failures, or a manifest
/// without a model layer.
pub fn ollama_model(name_tag: &str, cfg: &RemoteConfig) -> Result<OllamaModel, RemoteError> {
    let spec = if name_tag.starts_with("ollama:") {
        name_tag.to_string()
    } else {
        format!("ollama:{name_tag}")
    };
    let Ok(Some(RemoteSpec::Ollama(o))) = parse_remote(&spec) else {
        return Err(parse_remote(&spec).err().unwrap_or(RemoteError::BadSpec {
            spec: name_tag.to_string(),
            expected: "`NAME`, `NAME:TAG` or `NAMESPACE/NAME:TAG`",
        }));
    };
    let registry = o
        .host
        .as_ref()
        .map_or_else(|| cfg.ollama_registry.clone(), |h| format!("https://{h}"));
    let registry = registry.trim_end_matches('/');
    let base = format!("{registry}/v2/{}/{}", o.namespace, o.name);
    let manifest_url = format!("{base}/manifests/{}", o.tag);
    let target = Target::new(
        &manifest_url,
        format!("Ollama model `{o}` (`{manifest_url}`)"),
    )?;
    let client = Client::new(cfg);
    let (manifest, _): (Manifest, _) = client.get_json(&target, MANIFEST_ACCEPT, cfg.cache_ttl)?;
    let bad = |reason: String| RemoteError::BadResponse {
        what: target.what.clone(),
        url: manifest_url.clone(),
        reason,
    };
    let blob = |media: &str| -> Result<Option<OllamaBlob>, RemoteError> {
        let Some(l) = manifest.layers.iter().find(|l| l.media_type == media) else {
            return Ok(None);
        };
        if !is_digest(&l.digest) {
            return Err(bad(format!(
                "layer digest `{}` is not `sha256:` and 64 hex digits",
                l.digest
            )));
        }
        Ok(Some(OllamaBlob {
            url: format!("{base}/blobs/{}", l.digest),
            digest: l.digest.clone(),
            size: l.size,
        }))
    };
    let model = blob(MODEL_MEDIA_TYPE)?
        .ok_or_else(|| bad(format!("the manifest has no `{MODEL_MEDIA_TYPE}` layer")))?;
    let projector = blob(PROJECTOR_MEDIA_TYPE)?;
    Ok(OllamaModel {
        name: o.to_string(),
        manifest_url,
        model,
        projector,
    })
}
