//! [`HttpSource`]: a remote file as a [`ByteSource`], read in whole aligned chunks with range
//! requests through the [`Client`], and kept in the cache and in memory.

use std::collections::VecDeque;

use url::Url;

use super::client::{Client, Ranged, Target};
use crate::remote::cache::{is_fresh, now_secs, Cache, Meta};
use crate::remote::{RemoteConfig, RemoteError};
use crate::source::{ByteSource, SourceError, CHUNK};

/// Chunks of the current session kept in memory, so a read without a cache does not fetch twice.
const RECENT_CHUNKS: usize = 4;

/// A remote file read with HTTP range requests, through the cache (see [`crate::remote`]).
///
/// Reads fetch whole aligned chunks of [`CHUNK`] bytes, one request per run of missing chunks, and
/// store each in the cache; the length, ETag and redirect target are cached too, so a second run
/// reading the same bytes makes no request. Later chunks go straight to the remembered redirect
/// target, falling back to the URL itself if that is refused (an expired signed link). A changed
/// length or ETag between two reads is [`RemoteError::Changed`]. Errors reach
/// [`ByteSource::read_at`] callers as [`SourceError::Http`].
pub struct HttpSource {
    client: Client,
    target: Target,
    len: u64,
    /// File identity (see [`Meta::etag`]); keys the cached chunks.
    identity: Option<String>,
    final_url: Option<Url>,
    final_etag: Option<String>,
    key: String,
    cache: Option<Cache>,
    recent: VecDeque<(u64, Vec<u8>)>,
    fetched: u64,
}

impl std::fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSource")
            .field("url", &self.target.url_str)
            .field("len", &self.len)
            .field("etag", &self.identity)
            .field("fetched", &self.fetched)
            .finish_non_exhaustive()
    }
}

/// Opens `url` for range reads: the length and chunk 0 come from the cache when fresh, else from one
/// ranged GET. Hugging Face `/resolve/` URLs under `cfg.endpoint` and Ollama blob URLs get messages
/// that name the repo file or blob, and content-addressed URLs (a Hub revision that is a commit hash,
/// a `sha256:` blob) never expire in the cache.
///
/// # Errors
/// [`RemoteError`] for a bad URL or a failed first read.
pub fn open_url(url: &str, cfg: &RemoteConfig) -> Result<HttpSource, RemoteError> {
    let (what, immutable) = describe_url(url, cfg);
    HttpSource::open(url, what, immutable, cfg)
}

/// A description of a URL for messages, and whether its content can never change.
pub(super) fn describe_url(url: &str, cfg: &RemoteConfig) -> (String, bool) {
    if let Some(rest) = url
        .strip_prefix(cfg.endpoint.as_str())
        .and_then(|r| r.strip_prefix('/'))
    {
        if let Some((repo, tail)) = rest.split_once("/resolve/") {
            if let Some((rev, path)) = tail.split_once('/') {
                let rev = rev.replace("%2F", "/").replace("%2f", "/");
                let immutable = rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit());
                let what = format!(
                    "`{}` in Hugging Face repo `{repo}` (revision `{rev}`, `{url}`)",
                    path.split('?').next().unwrap_or(path)
                );
                return (what, immutable);
            }
        }
    }
    if let Some((_, digest)) = url.split_once("/blobs/") {
        if digest.starts_with("sha256:") {
            return (format!("Ollama blob `{digest}` (`{url}`)"), true);
        }
    }
    (format!("`{url}`"), false)
}

impl HttpSource {
    pub(crate) fn open(
        url: &str,
        what: String,
        immutable: bool,
        cfg: &RemoteConfig,
    ) -> Result<HttpSource, RemoteError> {
        let target = Target::new(url, what)?;
        let mut src = HttpSource {
            client: Client::new(cfg),
            target,
            len: 0,
            identity: None,
            final_url: None,
            final_etag: None,
            key: String::new(),
            cache: cfg.cache_dir.as_deref().map(Cache::new),
            recent: VecDeque::new(),
            fetched: 0,
        };
        let old = src.cache.as_ref().and_then(|c| c.load_meta(url));
        if let (Some(c), Some(m)) = (&src.cache, &old) {
            if immutable || is_fresh(m.checked_at, cfg.cache_ttl) {
                let key = Cache::key(m.etag.as_deref(), m.len);
                let first = usize::try_from(m.len.min(CHUNK)).unwrap_or(0);
                if m.len == 0 || c.load_chunk(url, &key, 0, first).is_some() {
                    src.len = m.len;
                    src.identity.clone_from(&m.etag);
                    src.final_url = m.final_url.as_deref().and_then(|u| Url::parse(u).ok());
                    src.final_etag.clone_from(&m.final_etag);
                    src.key = key;
                    return Ok(src);
                }
            }
        }
        // Ask the server: this also revalidates an expired entry (same ETag keeps its chunks).
        let r = src
            .client
            .fetch_range(&src.target, &src.target.url, 0, CHUNK, &mut src.fetched)?;
        src.len = r.total;
        src.identity.clone_from(&r.identity);
        src.key = Cache::key(r.identity.as_deref(), r.total);
        src.keep(&r);
        src.final_url = Some(r.final_url);
        src.final_etag = r.final_etag;
        src.save_meta();
        if let Some(c) = &src.cache {
            c.remove_other_keys(url, &src.key);
        }
        Ok(src)
    }

    /// The ETag identifying the file's content (`X-Linked-Etag` on a Hub redirect, else `ETag`).
    #[must_use]
    pub fn etag(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// The URL as given (never a signed redirect target).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.target.url_str
    }

    fn save_meta(&self) {
        if let Some(c) = &self.cache {
            c.store_meta(&Meta {
                url: self.target.url_str.clone(),
                len: self.len,
                etag: self.identity.clone(),
                final_url: self.final_url.as_ref().map(ToString::to_string),
                final_etag: self.final_etag.clone(),
                checked_at: now_secs(),
            });
        }
    }

    fn chunk_len(&self, index: u64) -> u64 {
        self.len.saturating_sub(index * CHUNK).min(CHUNK)
    }

    /// The bytes of chunk `index` within a range answer, if it covers the whole chunk.
    fn chunk_of<'r>(&self, r: &'r Ranged, index: u64) -> Option<&'r [u8]> {
        let a = index.checked_mul(CHUNK)?.checked_sub(r.data_start)?;
        let b = a + self.chunk_len(index);
        r.data
            .get(usize::try_from(a).ok()?..usize::try_from(b).ok()?)
    }

    /// Stores every whole chunk of a range answer in the cache and in memory.
    fn keep(&mut self, r: &Ranged) {
        let first = r.data_start.div_ceil(CHUNK);
        let mut i = first;
        while i * CHUNK < self.len {
            let Some(bytes) = self.chunk_of(r, i) else {
                break;
            };
            if let Some(c) = &self.cache {
                c.store_chunk(&self.target.url_str, &self.key, i, bytes);
            }
            let bytes = bytes.to_vec();
            self.remember(i, bytes);
            i += 1;
        }
    }

    fn remember(&mut self, index: u64, bytes: Vec<u8>) {
        self.recent.retain(|(i, _)| *i != index);
        if self.recent.len() >= RECENT_CHUNKS {
            self.recent.pop_front();
        }
        self.recent.push_back((index, bytes));
    }

    fn lookup(&self, index: u64) -> Option<Vec<u8>> {
        if let Some((_, b)) = self.recent.iter().find(|(i, _)| *i == index) {
            return Some(b.clone());
        }
        let want = usize::try_from(self.chunk_len(index)).ok()?;
        self.cache
            .as_ref()?
            .load_chunk(&self.target.url_str, &self.key, index, want)
    }

    /// Bytes `start..end` from the remembered redirect target, or from the URL itself when there is
    /// none or it is refused (an expired signed link). Checks the file has not changed.
    fn fetch(&mut self, start: u64, end: u64) -> Result<Ranged, RemoteError> {
        if let Some(fu) = self.final_url.clone().filter(|u| *u != self.target.url) {
            match self
                .client
                .fetch_range(&self.target, &fu, start, end, &mut self.fetched)
            {
                Ok(r) => {
                    let changed = match (&self.final_etag, &r.final_etag) {
                        (Some(a), Some(b)) => a != b,
                        _ => false,
                    };
                    return self.check_same(r, changed, "its ETag");
                }
                Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => {}
                Err(e) => return Err(e),
            }
        }
        let r = self.client.fetch_range(
            &self.target,
            &self.target.url,
            start,
            end,
            &mut self.fetched,
        )?;
        let changed = match (&self.identity, &r.identity) {
            (Some(a), Some(b)) => a != b,
            (a, b) => a.is_some() != b.is_some(),
        };
        let r = self.check_same(r, changed, "its ETag")?;
        self.final_url = Some(r.final_url.clone());
        self.final_etag.clone_from(&r.final_etag);
        self.save_meta();
        Ok(r)
    }

    fn check_same(&self, r: Ranged, etag_changed: bool, what: &str) -> Result<Ranged, RemoteError> {
        let reason = if r.total != self.len {
            Some(format!(
                "its length was {} and is now {}",
                self.len, r.total
            ))
        } else if etag_changed {
            Some(format!("{what} changed"))
        } else {
            None
        };
        match reason {
            None => Ok(r),
            Some(reason) => {
                if let Some(c) = &self.cache {
                    c.forget(&self.target.url_str);
                }
                Err(RemoteError::Changed {
                    what: self.target.what.clone(),
                    url: self.target.url_str.clone(),
                    reason,
                })
            }
        }
    }

    fn read_range(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, RemoteError> {
        if offset >= self.len || len == 0 {
            return Ok(Vec::new());
        }
        let end = offset.saturating_add(len as u64).min(self.len);
        let first = offset / CHUNK;
        let last = (end - 1) / CHUNK;
        let mut chunks: Vec<Option<Vec<u8>>> = (first..=last).map(|i| self.lookup(i)).collect();
        let slot = |i: u64| usize::try_from(i - first).unwrap_or(usize::MAX);
        let mut i = first;
        while i <= last {
            if chunks[slot(i)].is_some() {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < last && chunks[slot(j + 1)].is_none() {
                j += 1;
            }
            let r = self.fetch(i * CHUNK, ((j + 1) * CHUNK).min(self.len))?;
            self.keep(&r);
            for k in i..=j {
                let bytes = self.chunk_of(&r, k).ok_or_else(|| {
                    self.target
                        .bad_response(format!("the answer does not cover chunk {k}"))
                })?;
                chunks[slot(k)] = Some(bytes.to_vec());
            }
            i = j + 1;
        }
        let mut out = Vec::with_capacity(usize::try_from(end - offset).unwrap_or(0));
        for (k, c) in (first..=last).zip(chunks) {
            let c = c.unwrap_or_default();
            let cs = k * CHUNK;
            let a = usize::try_from(offset.max(cs) - cs).unwrap_or(usize::MAX);
            let b = usize::try_from(end.min(cs + CHUNK) - cs).unwrap_or(usize::MAX);
            let part = c.get(a..b).ok_or_else(|| {
                self.target
                    .bad_response(format!("chunk {k} is shorter than the file length implies"))
            })?;
            out.extend_from_slice(part);
        }
        Ok(out)
    }
}

impl ByteSource for HttpSource {
    fn name(&self) -> String {
        self.target.url_str.clone()
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
        self.read_range(offset, len).map_err(SourceError::from)
    }
    /// Body bytes received over the network (0 when everything came from the cache).
    fn bytes_fetched(&self) -> u64 {
        self.fetched
    }
}
