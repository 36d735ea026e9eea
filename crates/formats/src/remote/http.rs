//! HTTP range reads ([`HttpSource`]) and JSON API requests, over blocking `ureq` with rustls.
//!
//! Every read asks for whole aligned chunks of [`CHUNK`] bytes (the same chunks [`crate::source::Cursor`]
//! asks for), so each chunk is stored in and served from the cache on its own. Opening a source reads
//! chunk 0 (every header starts there) and learns the file length from its `Content-Range`: no
//! separate HEAD request. Redirects are followed here, not by `ureq`, so that the token goes only to
//! the Hugging Face endpoint's own origin and the final URL can be remembered for the next chunk.

use std::collections::VecDeque;
use std::io::Read;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use url::Url;

use super::cache::{is_fresh, now_secs, Cache, Meta};
use super::{RemoteConfig, RemoteError, Transfer};
use crate::source::{ByteSource, SourceError, CHUNK};

/// Redirects followed for one request (the Hub needs one or two).
const MAX_REDIRECTS: u32 = 10;
/// Largest JSON answer read (a listing of a huge repo is a few MiB).
const MAX_API_BYTES: u64 = 64 << 20;
/// Chunks of the current session kept in memory, so a read without a cache does not fetch twice.
const RECENT_CHUNKS: usize = 4;
/// Body bytes read between two progress reports.
const BLOCK: usize = 64 << 10;

/// What a request is for: the URL built by llmrig and a description for messages.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub url: Url,
    pub url_str: String,
    pub what: String,
}

impl Target {
    pub(crate) fn new(url_str: &str, what: String) -> Result<Target, RemoteError> {
        let bad = |reason: String| RemoteError::BadUrl {
            url: url_str.to_string(),
            reason,
        };
        let url = Url::parse(url_str).map_err(|e| bad(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad(format!(
                "scheme `{}` is not supported; expected `https://` or `http://`",
                url.scheme()
            )));
        }
        Ok(Target {
            url,
            url_str: url_str.to_string(),
            what,
        })
    }

    fn bad_response(&self, reason: impl Into<String>) -> RemoteError {
        RemoteError::BadResponse {
            what: self.what.clone(),
            url: self.url_str.clone(),
            reason: reason.into(),
        }
    }
}

/// How one try failed: worth another try, or not.
enum Fail {
    Retry {
        err: RemoteError,
        after: Option<Duration>,
    },
    Fatal(RemoteError),
}

impl From<RemoteError> for Fail {
    fn from(e: RemoteError) -> Fail {
        Fail::Fatal(e)
    }
}

/// An answer with a success status, after redirects.
struct Sent {
    resp: ureq::Response,
    /// The URL that answered.
    url: Url,
    /// `X-Linked-Etag` of the first redirect that had one (the Hub's file identity).
    linked_etag: Option<String>,
}

/// Bytes from a range request.
pub(crate) struct Ranged {
    data: Vec<u8>,
    /// Offset of `data[0]` in the file (0 when the server ignored `Range`).
    data_start: u64,
    total: u64,
    final_url: Url,
    final_etag: Option<String>,
    identity: Option<String>,
}

/// An HTTP client set up from a [`RemoteConfig`].
pub(crate) struct Client {
    agent: ureq::Agent,
    cfg: RemoteConfig,
    auth_origin: Option<url::Origin>,
}

impl Client {
    pub(crate) fn new(cfg: &RemoteConfig) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(cfg.timeouts.connect)
            .timeout_read(cfg.timeouts.read)
            .timeout_write(cfg.timeouts.read)
            .redirects(0)
            .try_proxy_from_env(cfg.proxy_from_env)
            .user_agent(concat!("llmrig/", env!("CARGO_PKG_VERSION")))
            .build();
        let auth_origin = cfg
            .token
            .as_ref()
            .and_then(|_| Url::parse(&cfg.endpoint).ok())
            .map(|u| u.origin());
        Client {
            agent,
            cfg: cfg.clone(),
            auth_origin,
        }
    }

    /// The token goes to the endpoint's scheme, host and port only.
    fn sends_token(&self, url: &Url) -> bool {
        self.cfg.token.is_some() && self.auth_origin.as_ref() == Some(&url.origin())
    }

    fn is_hub(&self, url: &Url) -> bool {
        Url::parse(&self.cfg.endpoint).is_ok_and(|e| e.origin() == url.origin())
    }

    /// One GET, following redirects. Statuses >= 400 (but 416) become failures.
    fn send(&self, t: &Target, start: &Url, headers: &[(&str, &str)]) -> Result<Sent, Fail> {
        let mut url = start.clone();
        let mut linked_etag = None;
        for _ in 0..=MAX_REDIRECTS {
            let mut req = self.agent.request_url("GET", &url);
            for (k, v) in headers {
                req = req.set(k, v);
            }
            if self.sends_token(&url) {
                if let Some(tok) = &self.cfg.token {
                    req = req.set("Authorization", &format!("Bearer {tok}"));
                }
            }
            let resp = match req.call() {
                Ok(r) | Err(ureq::Error::Status(_, r)) => r,
                Err(ureq::Error::Transport(tr)) => return Err(self.transport_fail(t, &url, &tr)),
            };
            let status = resp.status();
            if linked_etag.is_none() {
                linked_etag = resp.header("x-linked-etag").map(str::to_string);
            }
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let loc = resp.header("location").ok_or_else(|| {
                    t.bad_response(format!(
                        "HTTP {status} redirect without a `Location` header"
                    ))
                })?;
                let next = url.join(loc).map_err(|e| {
                    t.bad_response(format!("redirect to an invalid URL `{loc}`: {e}"))
                })?;
                if !matches!(next.scheme(), "http" | "https") {
                    return Err(t
                        .bad_response(format!("redirect to an unsupported URL scheme `{loc}`"))
                        .into());
                }
                url = next;
                continue;
            }
            if status >= 400 && status != 416 {
                return Err(self.status_fail(t, &url, resp));
            }
            return Ok(Sent {
                resp,
                url,
                linked_etag,
            });
        }
        Err(Fail::Fatal(RemoteError::TooManyRedirects {
            what: t.what.clone(),
            url: t.url_str.clone(),
            max: MAX_REDIRECTS,
        }))
    }

    fn status_fail(&self, t: &Target, url: &Url, resp: ureq::Response) -> Fail {
        let status = resp.status();
        let after = resp
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let detail = server_detail(resp);
        let what = t.what.clone();
        let url_str = t.url_str.clone();
        match status {
            404 | 410 => Fail::Fatal(RemoteError::NotFound {
                what,
                url: url_str,
                status,
                detail,
            }),
            401 | 403 => Fail::Fatal(RemoteError::Denied {
                what,
                url: url_str,
                status,
                detail,
                hint: self.denied_hint(t, url),
            }),
            408 | 429 | 500..=599 => Fail::Retry {
                err: RemoteError::Status {
                    what,
                    url: url_str,
                    status,
                    detail,
                    attempts: 1,
                },
                after,
            },
            _ => Fail::Fatal(RemoteError::Status {
                what,
                url: url_str,
                status,
                detail,
                attempts: 1,
            }),
        }
    }

    fn denied_hint(&self, t: &Target, url: &Url) -> String {
        if self.is_hub(url) {
            if self.sends_token(url) {
                "the token in `HF_TOKEN` gives no access to it: for a gated repo, accept its \
                 terms on the repo page with the token's account; a fine-grained token needs read \
                 access to this repo"
                    .to_string()
            } else {
                "the repo may be gated or private (or may not exist): set `HF_TOKEN` to a Hugging \
                 Face token with access to it (https://huggingface.co/settings/tokens) and, for a \
                 gated repo, accept its terms on the repo page"
                    .to_string()
            }
        } else if *url != t.url {
            "the download link the server redirected to was refused (it may have expired); run again"
                .to_string()
        } else {
            "the server refused access to it".to_string()
        }
    }

    /// A transport failure. The message leaves out ureq's URL, which may be a signed redirect
    /// target, and names the host instead when it is not the one asked.
    fn transport_fail(&self, t: &Target, url: &Url, tr: &ureq::Transport) -> Fail {
        let connect = tr.kind() == ureq::ErrorKind::ConnectionFailed;
        let err = if is_timeout(tr) {
            RemoteError::TimedOut {
                what: t.what.clone(),
                url: t.url_str.clone(),
                timeout: if connect {
                    self.cfg.timeouts.connect
                } else {
                    self.cfg.timeouts.read
                },
                attempts: 1,
            }
        } else {
            let mut message = tr.kind().to_string();
            if let Some(m) = tr.message() {
                message = format!("{message}: {m}");
            }
            if let Some(src) = std::error::Error::source(tr) {
                message = format!("{message}: {src}");
            }
            if url.origin() != t.url.origin() {
                let host = url.host_str().unwrap_or("?");
                let at = url
                    .port()
                    .map_or(host.to_string(), |p| format!("{host}:{p}"));
                message = format!("{message} (at `{at}`, where the server redirected)");
            }
            RemoteError::Connection {
                what: t.what.clone(),
                url: t.url_str.clone(),
                message,
                attempts: 1,
            }
        };
        match tr.kind() {
            ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => Fail::Fatal(err),
            _ => Fail::Retry { err, after: None },
        }
    }

    fn io_fail(
        &self,
        t: &Target,
        e: &std::io::Error,
        offset: u64,
        expected: u64,
        got: u64,
    ) -> Fail {
        let err = match e.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                RemoteError::TimedOut {
                    what: t.what.clone(),
                    url: t.url_str.clone(),
                    timeout: self.cfg.timeouts.read,
                    attempts: 1,
                }
            }
            std::io::ErrorKind::UnexpectedEof => RemoteError::Truncated {
                what: t.what.clone(),
                url: t.url_str.clone(),
                offset,
                expected,
                got,
                attempts: 1,
            },
            _ => RemoteError::Connection {
                what: t.what.clone(),
                url: t.url_str.clone(),
                message: e.to_string(),
                attempts: 1,
            },
        };
        Fail::Retry { err, after: None }
    }

    /// Runs `op` until it succeeds, fails for good, or the retries or their time are spent.
    fn retrying<T>(&self, mut op: impl FnMut() -> Result<T, Fail>) -> Result<T, RemoteError> {
        let r = self.cfg.retries;
        let t0 = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match op() {
                Ok(v) => return Ok(v),
                Err(Fail::Fatal(mut e)) => {
                    e.set_attempts(attempt);
                    return Err(e);
                }
                Err(Fail::Retry { mut err, after }) => {
                    err.set_attempts(attempt);
                    if attempt > r.max_retries {
                        return Err(err);
                    }
                    let backoff = r.base_delay.saturating_mul(1u32 << (attempt - 1).min(16));
                    let delay = after.unwrap_or(backoff).min(r.max_delay);
                    if t0.elapsed() + delay > r.budget {
                        return Err(err);
                    }
                    std::thread::sleep(delay);
                }
            }
        }
    }

    /// Reads exactly `n` body bytes, counting them into `fetched` and reporting progress.
    fn read_body(
        &self,
        t: &Target,
        reader: &mut dyn Read,
        n: u64,
        offset: u64,
        fetched: &mut u64,
    ) -> Result<Vec<u8>, Fail> {
        let started = Instant::now();
        let report = |done: u64, finished: bool| {
            if let Some(p) = &self.cfg.progress {
                p.update(&Transfer {
                    url: &t.url_str,
                    done_bytes: done,
                    total_bytes: n,
                    started,
                    finished,
                });
            }
        };
        let mut buf = Vec::with_capacity(usize::try_from(n.min(MAX_API_BYTES)).unwrap_or(0));
        let mut block = vec![0u8; BLOCK];
        while (buf.len() as u64) < n {
            let want = usize::try_from(n - buf.len() as u64).map_or(BLOCK, |w| w.min(BLOCK));
            match reader.read(&mut block[..want]) {
                Ok(0) => {
                    report(buf.len() as u64, true);
                    let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
                    return Err(self.io_fail(t, &eof, offset, n, buf.len() as u64));
                }
                Ok(k) => {
                    buf.extend_from_slice(&block[..k]);
                    *fetched += k as u64;
                    report(buf.len() as u64, false);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    report(buf.len() as u64, true);
                    return Err(self.io_fail(t, &e, offset, n, buf.len() as u64));
                }
            }
        }
        report(n, true);
        Ok(buf)
    }

    /// One try at bytes `start..end` (`end` may pass the end of the file).
    fn try_range(
        &self,
        t: &Target,
        from: &Url,
        start: u64,
        end: u64,
        fetched: &mut u64,
    ) -> Result<Ranged, Fail> {
        let asked = format!("{start}-{}", end - 1);
        let range = format!("bytes={asked}");
        let sent = self.send(
            t,
            from,
            &[("Range", &range), ("Accept-Encoding", "identity")],
        )?;
        let status = sent.resp.status();
        let final_etag = sent.resp.header("etag").map(str::to_string);
        let identity = sent.linked_etag.clone().or_else(|| final_etag.clone());
        let content_range = sent.resp.header("content-range").map(str::to_string);
        let content_length = sent
            .resp
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let final_url = sent.url;
        let mut reader = sent.resp.into_reader();
        let (data, data_start, total) = match status {
            206 => {
                let cr = content_range
                    .ok_or_else(|| t.bad_response("HTTP 206 without a `Content-Range` header"))?;
                let Some((a, b, Some(total))) = parse_content_range(&cr) else {
                    return Err(t
                        .bad_response(format!(
                            "`Content-Range: {cr}` does not give a byte range and the file length"
                        ))
                        .into());
                };
                if a != start || b.checked_add(1) != Some(end.min(total)) {
                    return Err(Fail::Fatal(RemoteError::WrongRange {
                        what: t.what.clone(),
                        url: t.url_str.clone(),
                        asked,
                        got: cr,
                    }));
                }
                let data = self.read_body(t, &mut reader, b + 1 - a, start, fetched)?;
                (data, start, total)
            }
            200 => {
                // The server ignored `Range` and sends the whole file: read from byte 0 through the
                // bytes needed (they get cached), unless that is too far.
                let total = content_length.ok_or_else(|| {
                    t.bad_response("the server ignored `Range` and sent no `Content-Length`")
                })?;
                let needed_end = end.min(total);
                if needed_end > self.cfg.range_ignored_limit {
                    return Err(Fail::Fatal(RemoteError::RangeIgnored {
                        what: t.what.clone(),
                        url: t.url_str.clone(),
                        needed_end,
                        limit: self.cfg.range_ignored_limit,
                    }));
                }
                let data = self.read_body(t, &mut reader, needed_end, 0, fetched)?;
                (data, 0, total)
            }
            416 => {
                // Only a read at or past the end gets here: the length is after `*/`.
                let total = content_range
                    .as_deref()
                    .and_then(parse_content_range)
                    .and_then(|(_, _, total)| total)
                    .or_else(|| {
                        content_range
                            .as_deref()
                            .and_then(|c| c.trim().strip_prefix("bytes */"))
                            .and_then(|n| n.trim().parse().ok())
                    })
                    .filter(|total| start >= *total)
                    .ok_or_else(|| {
                        t.bad_response(format!("HTTP 416 to a request for bytes {asked}"))
                    })?;
                (Vec::new(), start, total)
            }
            s => {
                return Err(t
                    .bad_response(format!("HTTP {s} to a request for bytes {asked}"))
                    .into())
            }
        };
        Ok(Ranged {
            data,
            data_start,
            total,
            final_url,
            final_etag,
            identity,
        })
    }

    fn fetch_range(
        &self,
        t: &Target,
        from: &Url,
        start: u64,
        end: u64,
        fetched: &mut u64,
    ) -> Result<Ranged, RemoteError> {
        self.retrying(|| self.try_range(t, from, start, end, fetched))
    }

    /// GETs JSON (one page): from the cache when fresh, else from the server, then cached.
    /// Returns the value and the next page's URL from a `Link: <…>; rel="next"` header.
    pub(crate) fn get_json<T: DeserializeOwned>(
        &self,
        t: &Target,
        accept: &str,
        ttl: Duration,
    ) -> Result<(T, Option<String>), RemoteError> {
        let cache = self.cfg.cache_dir.as_deref().map(Cache::new);
        if let Some((body, next)) = cache.as_ref().and_then(|c| c.load_page(&t.url_str, ttl)) {
            if let Ok(v) = serde_json::from_str(&body) {
                return Ok((v, next));
            }
        }
        let (body, next) = self.retrying(|| {
            let sent = self.send(
                t,
                &t.url,
                &[("Accept", accept), ("Accept-Encoding", "identity")],
            )?;
            if sent.resp.status() != 200 {
                return Err(t
                    .bad_response(format!(
                        "HTTP {} where 200 was expected",
                        sent.resp.status()
                    ))
                    .into());
            }
            let next = sent
                .resp
                .header("link")
                .and_then(|l| link_next(l, &sent.url));
            let mut body = Vec::new();
            let mut reader = sent.resp.into_reader().take(MAX_API_BYTES + 1);
            if let Err(e) = reader.read_to_end(&mut body) {
                return Err(self.io_fail(t, &e, 0, 0, body.len() as u64));
            }
            if body.len() as u64 > MAX_API_BYTES {
                return Err(t.bad_response("the answer is larger than 64 MiB").into());
            }
            Ok((body, next))
        })?;
        let value: T = serde_json::from_slice(&body)
            .map_err(|e| t.bad_response(format!("invalid JSON: {e}")))?;
        if let Some(c) = &cache {
            if let Ok(text) = std::str::from_utf8(&body) {
                c.store_page(&t.url_str, text, next.as_deref());
            }
        }
        Ok((value, next))
    }
}

/// `bytes a-b/total` (total may be `*`).
fn parse_content_range(v: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let a: u64 = a.trim().parse().ok()?;
    let b: u64 = b.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        n => Some(n.parse::<u64>().ok()?),
    };
    (a <= b && total.is_none_or(|t| b < t)).then_some((a, b, total))
}

/// The `rel="next"` URL of a `Link` header, resolved against `base` and kept on the same origin.
fn link_next(v: &str, base: &Url) -> Option<String> {
    v.split(',').find_map(|part| {
        let (target, params) = part.trim().strip_prefix('<')?.split_once('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let url = base.join(target).ok()?;
        (is_next && url.origin() == base.origin()).then(|| url.to_string())
    })
}

fn is_timeout(tr: &ureq::Transport) -> bool {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(tr);
    while let Some(e) = src {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) {
                return true;
            }
        }
        src = e.source();
    }
    false
}

/// What an error answer says: the Hub's `X-Error-Message`, else a JSON `error`/`errors[0].message`
/// from the first 4 KiB of the body; as `: server says "…"`, or empty.
fn server_detail(resp: ureq::Response) -> String {
    let header = resp.header("x-error-message").map(str::to_string);
    let msg = header.or_else(|| {
        let mut body = Vec::new();
        resp.into_reader().take(4096).read_to_end(&mut body).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
        v.get("error")
            .and_then(|e| e.as_str().map(str::to_string))
            .or_else(|| {
                v.get("errors")?
                    .get(0)?
                    .get("message")?
                    .as_str()
                    .map(str::to_string)
            })
    });
    match msg {
        Some(m) if !m.trim().is_empty() => {
            let m: String = m.trim().chars().take(300).collect();
            format!(": server says \"{m}\"")
        }
        _ => String::new(),
    }
}

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
fn describe_url(url: &str, cfg: &RemoteConfig) -> (String, bool) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parses_and_rejects() {
        assert_eq!(
            parse_content_range("bytes 0-99/1000"),
            Some((0, 99, Some(1000)))
        );
        assert_eq!(parse_content_range("bytes 5-5/*"), Some((5, 5, None)));
        assert_eq!(parse_content_range("bytes 9-3/1000"), None);
        assert_eq!(parse_content_range("bytes 0-1000/1000"), None);
        assert_eq!(parse_content_range("bytes */1000"), None);
    }

    #[test]
    fn link_next_same_origin_only() {
        let base = Url::parse("https://h.co/api/x?a=1").unwrap();
        assert_eq!(
            link_next("<https://h.co/api/x?cursor=2>; rel=\"next\"", &base).as_deref(),
            Some("https://h.co/api/x?cursor=2")
        );
        assert_eq!(
            link_next("</api/x?c=3>; rel=next", &base).as_deref(),
            Some("https://h.co/api/x?c=3")
        );
        assert_eq!(
            link_next("<https://evil.example/x>; rel=\"next\"", &base),
            None
        );
        assert_eq!(link_next("<https://h.co/p>; rel=\"prev\"", &base), None);
    }

    #[test]
    fn describe_hub_and_blob_urls() {
        let cfg = RemoteConfig::default();
        let (what, imm) = describe_url(
            "https://huggingface.co/org/repo/resolve/main/m-Q4_K_M.gguf",
            &cfg,
        );
        assert!(
            what.contains("`m-Q4_K_M.gguf` in Hugging Face repo `org/repo`"),
            "{what}"
        );
        assert!(!imm);
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert!(
            describe_url(
                &format!("https://huggingface.co/o/r/resolve/{sha}/a.gguf"),
                &cfg
            )
            .1
        );
        assert!(
            describe_url(
                "https://registry.ollama.ai/v2/library/x/blobs/sha256:ab",
                &cfg
            )
            .1
        );
        assert!(!describe_url("https://example.com/a.gguf", &cfg).1);
    }
}
