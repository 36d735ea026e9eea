//! The local cache of remote reads. Layout under the cache folder:
//!
//! ```text
//! http-v1/<sha256(url)[..32]>/meta.json          url, length, ETag, redirect target, time checked
//! http-v1/<sha256(url)[..32]>/<key>/<index>.chunk one aligned 1 MiB chunk; <key> = hash of the ETag
//! api-v1/<sha256(url)[..32]>.json                 a JSON API answer (tree listing, manifest)
//! ```
//!
//! Chunk files start with a magic and the SHA-256 of their data, and must have the exact length the
//! file's size implies; anything else (a partial write, a corrupt or foreign file, a meta file for
//! another URL) is ignored and removed. Writes go to a temporary file renamed into place, so readers
//! never see half a file. Every cache failure is silent: the cache only ever saves requests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"LLMRIGC1";
const HASH_LEN: usize = 32;

/// What is known about one URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Meta {
    /// The URL (checked against the one asked for: the folder name is only a hash).
    pub url: String,
    /// File length.
    pub len: u64,
    /// The file's identity: `X-Linked-Etag` seen on a redirect, else the final `ETag`.
    pub etag: Option<String>,
    /// Where the URL redirected to, and the `ETag` there.
    pub final_url: Option<String>,
    /// `ETag` of the final answer.
    pub final_etag: Option<String>,
    /// Unix seconds of the last answer from the server.
    pub checked_at: u64,
}

/// A cached API answer.
#[derive(Debug, Serialize, Deserialize)]
struct Page {
    url: String,
    fetched_at: u64,
    body: String,
    next: Option<String>,
}

/// Hex SHA-256 of `s`, first `n` hex digits.
pub(crate) fn hash_hex(s: &[u8], n: usize) -> String {
    use std::fmt::Write;
    let d = Sha256::digest(s);
    let mut out = String::with_capacity(64);
    for b in d {
        let _ = write!(out, "{b:02x}");
    }
    out.truncate(n);
    out
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether a time checked is recent enough (a time in the future, from a skewed clock, is not).
pub(crate) fn is_fresh(checked_at: u64, ttl: Duration) -> bool {
    let now = now_secs();
    checked_at <= now && now - checked_at < ttl.as_secs()
}

/// The cache folder.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    root: PathBuf,
}

impl Cache {
    pub(crate) fn new(root: &Path) -> Cache {
        Cache {
            root: root.to_path_buf(),
        }
    }

    fn entry(&self, url: &str) -> PathBuf {
        self.root.join("http-v1").join(hash_hex(url.as_bytes(), 32))
    }

    /// The chunk folder name for a file identity.
    pub(crate) fn key(etag: Option<&str>, len: u64) -> String {
        match etag {
            Some(e) => hash_hex(format!("etag:{e}").as_bytes(), 16),
            None => hash_hex(format!("len:{len}").as_bytes(), 16),
        }
    }

    pub(crate) fn load_meta(&self, url: &str) -> Option<Meta> {
        let text = std::fs::read(self.entry(url).join("meta.json")).ok()?;
        let meta: Meta = serde_json::from_slice(&text).ok()?;
        (meta.url == url).then_some(meta)
    }

    pub(crate) fn store_meta(&self, meta: &Meta) {
        if let Ok(text) = serde_json::to_vec_pretty(meta) {
            write_atomic(&self.entry(&meta.url).join("meta.json"), &text);
        }
    }

    /// Forgets what is known about `url` (its chunks stay until their key is replaced).
    pub(crate) fn forget(&self, url: &str) {
        let _ = std::fs::remove_file(self.entry(url).join("meta.json"));
    }

    /// Removes the chunk folders of `url` other than `keep`.
    pub(crate) fn remove_other_keys(&self, url: &str, keep: &str) {
        let Ok(dir) = std::fs::read_dir(self.entry(url)) else {
            return;
        };
        for e in dir.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name() != keep {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    fn chunk_path(&self, url: &str, key: &str, index: u64) -> PathBuf {
        self.entry(url).join(key).join(format!("{index}.chunk"))
    }

    /// A chunk, if it is there whole: `expected_len` bytes whose hash matches.
    pub(crate) fn load_chunk(
        &self,
        url: &str,
        key: &str,
        index: u64,
        expected_len: usize,
    ) -> Option<Vec<u8>> {
        let path = self.chunk_path(url, key, index);
        let raw = std::fs::read(&path).ok()?;
        let ok = raw.len() == MAGIC.len() + HASH_LEN + expected_len
            && raw.starts_with(MAGIC)
            && raw[MAGIC.len()..MAGIC.len() + HASH_LEN]
                == Sha256::digest(&raw[MAGIC.len() + HASH_LEN..])[..];
        if ok {
            Some(raw[MAGIC.len() + HASH_LEN..].to_vec())
        } else {
            let _ = std::fs::remove_file(&path);
            None
        }
    }

    pub(crate) fn store_chunk(&self, url: &str, key: &str, index: u64, data: &[u8]) {
        let mut raw = Vec::with_capacity(MAGIC.len() + HASH_LEN + data.len());
        raw.extend_from_slice(MAGIC);
        raw.extend_from_slice(&Sha256::digest(data));
        raw.extend_from_slice(data);
        write_atomic(&self.chunk_path(url, key, index), &raw);
    }

    fn page_path(&self, url: &str) -> PathBuf {
        self.root
            .join("api-v1")
            .join(format!("{}.json", hash_hex(url.as_bytes(), 32)))
    }

    /// A cached API answer younger than `ttl`: (body, next page URL).
    pub(crate) fn load_page(&self, url: &str, ttl: Duration) -> Option<(String, Option<String>)> {
        let text = std::fs::read(self.page_path(url)).ok()?;
        let page: Page = serde_json::from_slice(&text).ok()?;
        (page.url == url && is_fresh(page.fetched_at, ttl)).then_some((page.body, page.next))
    }

    pub(crate) fn store_page(&self, url: &str, body: &str, next: Option<&str>) {
        let page = Page {
            url: url.to_string(),
            fetched_at: now_secs(),
            body: body.to_string(),
            next: next.map(str::to_string),
        };
        if let Ok(text) = serde_json::to_vec(&page) {
            write_atomic(&self.page_path(url), &text);
        }
    }
}

/// Writes `data` to a temporary file beside `path` and renames it over `path`; errors are ignored.
fn write_atomic(path: &Path, data: &[u8]) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::write(&tmp, data).is_ok() && std::fs::rename(&tmp, path).is_ok() {
        return;
    }
    let _ = std::fs::remove_file(&tmp);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "llmrig-cache-unit-{}-{name}-{}",
            std::process::id(),
            now_secs()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn chunk_round_trip_and_corruption_ignored() {
        let root = tmp("chunk");
        let c = Cache::new(&root);
        c.store_chunk("u", "k", 3, b"hello");
        assert_eq!(c.load_chunk("u", "k", 3, 5).as_deref(), Some(&b"hello"[..]));
        assert_eq!(
            c.load_chunk("u", "k", 3, 6),
            None,
            "wrong length is not trusted"
        );
        c.store_chunk("u", "k", 4, b"world");
        let p = c.chunk_path("u", "k", 4);
        let mut raw = std::fs::read(&p).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        std::fs::write(&p, raw).unwrap();
        assert_eq!(
            c.load_chunk("u", "k", 4, 5),
            None,
            "flipped bit is not trusted"
        );
        assert!(!p.exists(), "corrupt chunk removed");
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn meta_for_another_url_or_garbage_ignored() {
        let root = tmp("meta");
        let c = Cache::new(&root);
        let m = Meta {
            url: "a".into(),
            len: 9,
            etag: Some("\"e\"".into()),
            final_url: None,
            final_etag: None,
            checked_at: now_secs(),
        };
        c.store_meta(&m);
        assert_eq!(c.load_meta("a"), Some(m));
        std::fs::write(c.entry("a").join("meta.json"), b"{not json").unwrap();
        assert_eq!(c.load_meta("a"), None);
        assert!(!is_fresh(now_secs() + 1000, Duration::from_secs(60)));
        let _ = std::fs::remove_dir_all(root);
    }
}
