//! Remote model files: HTTP range reads with a local cache, Hugging Face Hub repos (`hf:`) and the
//! Ollama registry (`ollama:`).
//!
//! - [`open_url`] gives an [`HttpSource`], a [`ByteSource`](crate::ByteSource) that reads with
//!   `Range` requests, follows redirects (dropping `Authorization` when the host changes), retries
//!   5xx/429/connection failures with exponential backoff, and keeps every 1 MiB chunk it reads in
//!   the cache, so a second run reading the same bytes makes no request.
//! - [`parse_remote`] turns `hf:ORG/REPO[@REV][/PATH]` and `ollama:[NS/]NAME[:TAG]` into a
//!   [`RemoteSpec`]; [`hf_list`] lists a repo, [`pick_gguf`] chooses the files of a quant,
//!   [`hf_model_files`] finds `config.json` and safetensors; [`ollama_model`] resolves a tag to its
//!   model blob.
//!
//! Nothing here reads environment variables except [`RemoteConfig::from_env`], and nothing prints:
//! progress goes to a [`Progress`] hook the caller installs.
//!
//! ```no_run
//! use llmrig_formats::remote::{hf_list, hf_open, parse_remote, pick_gguf, RemoteConfig, RemoteSpec};
//! use llmrig_formats::source::Cursor;
//!
//! let cfg = RemoteConfig::from_env();
//! if let Some(RemoteSpec::Hf(h)) = parse_remote("hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF")? {
//!     let files = hf_list(&h.repo, &h.revision, &cfg)?;
//!     let shards = pick_gguf(&files, h.quant.as_deref().or(Some("Q4_K_M")))?;
//!     let mut src = hf_open(&h.repo, &h.revision, &shards[0].path, &cfg)?;
//!     let magic = Cursor::new(&mut src).take(4, <[u8]>::to_vec)?;
//!     assert_eq!(magic, b"GGUF");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod error;
mod hf;
mod http;
mod ollama;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use error::{PickError, RemoteError};
pub use hf::{hf_list, hf_model_files, hf_open, hf_url, pick_gguf, ModelFiles, RepoFile};
pub use http::{open_url, HttpSource};
pub use ollama::{ollama_model, OllamaBlob, OllamaModel};

/// The Hugging Face endpoint used when `HF_ENDPOINT` is not set.
pub const DEFAULT_HF_ENDPOINT: &str = "https://huggingface.co";
/// The Ollama registry used when `OLLAMA_REGISTRY` is not set.
pub const DEFAULT_OLLAMA_REGISTRY: &str = "https://registry.ollama.ai";

/// Connection and read time-outs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Time to open a connection (TCP and TLS).
    pub connect: Duration,
    /// Longest wait for the next bytes of an answer (headers or body).
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(30),
        }
    }
}

/// When to try a failed request again: on 5xx, 408, 429, time-outs, refused or cut connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    /// Tries after the first (0: no retry).
    pub max_retries: u32,
    /// Wait before the first retry; doubles each time.
    pub base_delay: Duration,
    /// Longest wait between two tries (also caps a server's `Retry-After`).
    pub max_delay: Duration,
    /// No retry starts once this much time has passed since the first try.
    pub budget: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Retries {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            budget: Duration::from_secs(60),
        }
    }
}

/// One transfer in progress, as reported to [`Progress::update`].
#[derive(Debug, Clone, Copy)]
pub struct Transfer<'a> {
    /// The URL asked for (not a redirect target).
    pub url: &'a str,
    /// Body bytes received so far in this request.
    pub done_bytes: u64,
    /// Body bytes this request will bring.
    pub total_bytes: u64,
    /// When the request started: show a bar only once this is more than a moment ago.
    pub started: Instant,
    /// The last report for this request (all bytes in, or the request failed).
    pub finished: bool,
}

/// Receives progress of remote reads; the library never prints. The CLI draws a bar on stderr.
pub trait Progress: Send + Sync {
    /// Called as body bytes arrive (about every 64 KiB) and once at the end of each request.
    fn update(&self, transfer: &Transfer<'_>);
}

/// Where and how remote reads go. Build it with [`RemoteConfig::from_env`] in a program, or with
/// struct update syntax over [`RemoteConfig::default`] in tests (which then touch no environment).
#[derive(Clone)]
pub struct RemoteConfig {
    /// Hugging Face endpoint, without trailing slash (`HF_ENDPOINT`).
    pub endpoint: String,
    /// Ollama registry, without trailing slash (`OLLAMA_REGISTRY`).
    pub ollama_registry: String,
    /// Hugging Face token (`HF_TOKEN`), sent as `Authorization: Bearer` only to the endpoint's own
    /// scheme, host and port, never to a redirect target elsewhere.
    pub token: Option<String>,
    /// Cache folder; `None` turns the cache off.
    pub cache_dir: Option<PathBuf>,
    /// How long a cached length, ETag, redirect target or listing is trusted without asking the
    /// server again. Content-addressed URLs (an Ollama blob, a Hub file at a commit hash) never
    /// expire. After expiry one request revalidates; cached chunks are kept if the ETag is the same.
    pub cache_ttl: Duration,
    /// Time-outs.
    pub timeouts: Timeouts,
    /// Retries.
    pub retries: Retries,
    /// A server that ignores `Range` is read from byte 0 through to the bytes needed, up to this
    /// many bytes; beyond, [`RemoteError::RangeIgnored`].
    pub range_ignored_limit: u64,
    /// Use `HTTPS_PROXY`/`ALL_PROXY`-style proxy variables (ureq's `try_proxy_from_env`).
    pub proxy_from_env: bool,
    /// Progress hook.
    pub progress: Option<Arc<dyn Progress>>,
}

impl Default for RemoteConfig {
    /// Public endpoints, no token, no cache, default time-outs and retries; reads no environment.
    fn default() -> Self {
        RemoteConfig {
            endpoint: DEFAULT_HF_ENDPOINT.to_string(),
            ollama_registry: DEFAULT_OLLAMA_REGISTRY.to_string(),
            token: None,
            cache_dir: None,
            cache_ttl: Duration::from_secs(24 * 3600),
            timeouts: Timeouts::default(),
            retries: Retries::default(),
            range_ignored_limit: 64 << 20,
            proxy_from_env: false,
            progress: None,
        }
    }
}

impl fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("endpoint", &self.endpoint)
            .field("ollama_registry", &self.ollama_registry)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("cache_dir", &self.cache_dir)
            .field("cache_ttl", &self.cache_ttl)
            .field("timeouts", &self.timeouts)
            .field("retries", &self.retries)
            .field("range_ignored_limit", &self.range_ignored_limit)
            .field("proxy_from_env", &self.proxy_from_env)
            .field("progress", &self.progress.as_ref().map(|_| "<hook>"))
            .finish()
    }
}

impl RemoteConfig {
    /// Reads `HF_ENDPOINT`, `HF_TOKEN` (else `HUGGING_FACE_HUB_TOKEN`), `OLLAMA_REGISTRY`, and the
    /// cache folder: `LLMRIG_CACHE_DIR`, else `$XDG_CACHE_HOME/llmrig`, else `~/.cache/llmrig`
    /// (`%LOCALAPPDATA%\llmrig` on Windows). `LLMRIG_CACHE_TTL` (seconds) sets the expiry. Empty
    /// variables count as unset. Proxy variables are honoured.
    #[must_use]
    pub fn from_env() -> RemoteConfig {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let defaults = RemoteConfig::default();
        let cache_dir = var("LLMRIG_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("llmrig")))
            .or_else(|| var("HOME").map(|d| PathBuf::from(d).join(".cache").join("llmrig")))
            .or_else(|| var("LOCALAPPDATA").map(|d| PathBuf::from(d).join("llmrig")));
        RemoteConfig {
            endpoint: var("HF_ENDPOINT").map_or(defaults.endpoint.clone(), |e| {
                e.trim_end_matches('/').to_string()
            }),
            ollama_registry: var("OLLAMA_REGISTRY").map_or(defaults.ollama_registry.clone(), |e| {
                e.trim_end_matches('/').to_string()
            }),
            token: var("HF_TOKEN")
                .or_else(|| var("HUGGING_FACE_HUB_TOKEN"))
                .map(|t| t.trim().to_string()),
            cache_dir,
            cache_ttl: var("LLMRIG_CACHE_TTL")
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map_or(defaults.cache_ttl, Duration::from_secs),
            proxy_from_env: true,
            ..defaults
        }
    }
}

/// A parsed `hf:` or `ollama:` model reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteSpec {
    /// `hf:ORG/REPO[@REVISION][/PATH][:QUANT]`.
    Hf(HfSpec),
    /// `ollama:[HOST/][NAMESPACE/]NAME[:TAG]`.
    Ollama(OllamaSpec),
}

/// A Hugging Face reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HfSpec {
    /// `ORG/REPO` (or a legacy single-name repo such as `gpt2`).
    pub repo: String,
    /// Branch, tag or commit; `main` when not given.
    pub revision: String,
    /// A file in the repo, when given (`hf:ORG/REPO/PATH/FILE.gguf`).
    pub path: Option<String>,
    /// A quant given llama.cpp-style as `hf:ORG/REPO:Q4_K_M` (the `-q` flag says the same).
    pub quant: Option<String>,
}

/// An Ollama reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaSpec {
    /// A registry host given in the name (`hf.co/ORG/REPO:Q4_K_M`), else `None` for the configured
    /// registry.
    pub host: Option<String>,
    /// `library` unless given.
    pub namespace: String,
    /// The model name.
    pub name: String,
    /// `latest` unless given.
    pub tag: String,
}

impl fmt::Display for OllamaSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(h) = &self.host {
            write!(f, "{h}/")?;
        }
        write!(f, "{}/{}:{}", self.namespace, self.name, self.tag)
    }
}

const HF_FORMS: &str =
    "`hf:ORG/REPO`, `hf:ORG/REPO@REVISION`, `hf:ORG/REPO/PATH/FILE.gguf` or `hf:ORG/REPO:QUANT`";
const OLLAMA_FORMS: &str = "`ollama:NAME`, `ollama:NAME:TAG` or `ollama:NAMESPACE/NAME:TAG`";

/// Parses a `hf:` or `ollama:` reference; `Ok(None)` when `spec` is neither (a path, a catalog id).
///
/// # Errors
/// [`RemoteError::BadSpec`] when the prefix is there but the rest does not parse.
pub fn parse_remote(spec: &str) -> Result<Option<RemoteSpec>, RemoteError> {
    if let Some(rest) = spec.strip_prefix("hf:") {
        parse_hf(spec, rest).map(|s| Some(RemoteSpec::Hf(s)))
    } else if let Some(rest) = spec.strip_prefix("ollama:") {
        parse_ollama(spec, rest).map(|s| Some(RemoteSpec::Ollama(s)))
    } else {
        Ok(None)
    }
}

/// A repo, namespace or model name part: letters, digits, `-`, `_`, `.`, not `.`/`..`.
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 96
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.chars().any(|ch| ch.is_control()))
}

fn parse_hf(spec: &str, rest: &str) -> Result<HfSpec, RemoteError> {
    let bad = || RemoteError::BadSpec {
        spec: spec.to_string(),
        expected: HF_FORMS,
    };
    let rest = rest.trim_start_matches("https://huggingface.co/");
    let parts: Vec<&str> = rest.split('/').collect();
    // The repo is `ORG/REPO`; a single part is a legacy repo (`gpt2`). Revision and quant hang on
    // the repo part: `ORG/REPO@REV`, `ORG/REPO:Q4_K_M`.
    let (org, repo_part, after): (Option<&str>, &str, &[&str]) = match parts.as_slice() {
        [one] => (None, one, &[]),
        [org, repo, more @ ..] => (Some(org), repo, more),
        [] => return Err(bad()),
    };
    let (repo_part, quant) = match repo_part.split_once(':') {
        Some((r, q)) if after.is_empty() && is_name(q) => (r, Some(q.to_string())),
        Some(_) => return Err(bad()),
        None => (repo_part, None),
    };
    let (name, revision, after) = match repo_part.split_once('@') {
        Some((n, rev)) if rev == "refs" && after.len() >= 2 && after[0] == "pr" => {
            (n, format!("refs/pr/{}", after[1]), &after[2..])
        }
        Some((n, rev)) if is_name(rev) => (n, rev.to_string(), after),
        Some(_) => return Err(bad()),
        None => (repo_part, "main".to_string(), after),
    };
    if !is_name(name) || org.is_some_and(|o| !is_name(o)) {
        return Err(bad());
    }
    let repo = match org {
        Some(o) => format!("{o}/{name}"),
        None => name.to_string(),
    };
    let path = if after.is_empty() {
        None
    } else {
        let p = after.join("/");
        if !is_path(&p) {
            return Err(bad());
        }
        Some(p)
    };
    Ok(HfSpec {
        repo,
        revision,
        path,
        quant,
    })
}

fn parse_ollama(spec: &str, rest: &str) -> Result<OllamaSpec, RemoteError> {
    let bad = || RemoteError::BadSpec {
        spec: spec.to_string(),
        expected: OLLAMA_FORMS,
    };
    let (name_part, tag) = match rest.rsplit_once(':') {
        // A colon before a slash is a host port, not a tag.
        Some((n, t)) if !t.contains('/') => (n, t),
        _ => (rest, "latest"),
    };
    if !is_name(tag) {
        return Err(bad());
    }
    let parts: Vec<&str> = name_part.split('/').collect();
    let (host, namespace, name) = match parts.as_slice() {
        [n] => (None, "library", *n),
        [h, ns, n] => (Some((*h).to_string()), *ns, *n),
        [ns, n] => (None, *ns, *n),
        _ => return Err(bad()),
    };
    let host_ok = host.as_deref().is_none_or(|h| {
        !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'))
    });
    if !host_ok || !is_name(namespace) || !is_name(name) {
        return Err(bad());
    }
    Ok(OllamaSpec {
        host,
        namespace: namespace.to_string(),
        name: name.to_string(),
        tag: tag.to_string(),
    })
}

/// Bytes as GiB/MiB for messages.
pub(crate) fn human_bytes(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n >= 1 << 30 {
        format!("{:.1} GiB", f / f64::from(1u32 << 30))
    } else {
        format!("{:.1} MiB", f / f64::from(1u32 << 20))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hf(s: &str) -> HfSpec {
        match parse_remote(s).unwrap().unwrap() {
            RemoteSpec::Hf(h) => h,
            RemoteSpec::Ollama(_) => panic!("not hf"),
        }
    }

    fn ol(s: &str) -> OllamaSpec {
        match parse_remote(s).unwrap().unwrap() {
            RemoteSpec::Ollama(o) => o,
            RemoteSpec::Hf(_) => panic!("not ollama"),
        }
    }

    #[test]
    fn hf_repo_only() {
        let h = hf("hf:Qwen/Qwen2.5-7B-Instruct-GGUF");
        assert_eq!(h.repo, "Qwen/Qwen2.5-7B-Instruct-GGUF");
        assert_eq!(h.revision, "main");
        assert_eq!(h.path, None);
        assert_eq!(h.quant, None);
    }

    #[test]
    fn hf_file_in_folder_with_revision() {
        let h = hf("hf:org/repo@v1.0/Q4_K_M/model-00001-of-00002.gguf");
        assert_eq!(h.repo, "org/repo");
        assert_eq!(h.revision, "v1.0");
        assert_eq!(h.path.as_deref(), Some("Q4_K_M/model-00001-of-00002.gguf"));
    }

    #[test]
    fn hf_pr_revision_and_quant_suffix() {
        let h = hf("hf:org/repo@refs/pr/3/a.gguf");
        assert_eq!(h.revision, "refs/pr/3");
        assert_eq!(h.path.as_deref(), Some("a.gguf"));
        let q = hf("hf:org/repo:q4_k_m");
        assert_eq!(q.quant.as_deref(), Some("q4_k_m"));
        assert_eq!(hf("hf:gpt2").repo, "gpt2");
    }

    #[test]
    fn hf_rejects_junk() {
        for s in [
            "hf:",
            "hf:org/",
            "hf:org/re po",
            "hf:org/repo/../x",
            "hf:org/repo/a//b",
            "hf:org/repo@/x",
            "hf:org/repo:Q4/x.gguf",
        ] {
            assert!(
                matches!(parse_remote(s), Err(RemoteError::BadSpec { .. })),
                "{s}"
            );
        }
    }

    #[test]
    fn ollama_defaults_and_forms() {
        let o = ol("ollama:llama3.2");
        assert_eq!(
            (o.namespace.as_str(), o.name.as_str(), o.tag.as_str()),
            ("library", "llama3.2", "latest")
        );
        let o = ol("ollama:qwen2.5:14b-instruct-q4_K_M");
        assert_eq!(o.tag, "14b-instruct-q4_K_M");
        let o = ol("ollama:user/model:tag");
        assert_eq!((o.namespace.as_str(), o.name.as_str()), ("user", "model"));
        let o = ol("ollama:hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M");
        assert_eq!(o.host.as_deref(), Some("hf.co"));
        assert_eq!(
            o.to_string(),
            "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"
        );
        assert!(parse_remote("ollama:").is_err());
        assert!(parse_remote("ollama:a/b/c/d").is_err());
        assert_eq!(parse_remote("llama-3.1-8b").unwrap(), None);
    }
}
