//! The HTTP client: one GET with redirects followed by hand (the token only goes to the endpoint's
//! origin), retries with backoff, range requests with their `Content-Range` checks, paged JSON API
//! requests, and the [`RemoteError`]s that say what went wrong.

use std::io::Read;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use url::Url;

use crate::remote::cache::Cache;
use crate::remote::{RemoteConfig, RemoteError, Transfer};

/// Redirects followed for one request (the Hub needs one or two).
const MAX_REDIRECTS: u32 = 10;
/// Largest JSON answer read (a listing of a huge repo is a few MiB).
const MAX_API_BYTES: u64 = 64 << 20;
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

    pub(super) fn bad_response(&self, reason: impl Into<String>) -> RemoteError {
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
    pub(super) data: Vec<u8>,
    /// Offset of `data[0]` in the file (0 when the server ignored `Range`).
    pub(super) data_start: u64,
    pub(super) total: u64,
    pub(super) final_url: Url,
    pub(super) final_etag: Option<String>,
    pub(super) identity: Option<String>,
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
            // A name that does not resolve will not resolve a second later: offline, or a typo.
            // Retrying only spends the user's time (seconds of backoff before the same error).
            ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme | ureq::ErrorKind::Dns => {
                Fail::Fatal(err)
            }
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

    pub(super) fn fetch_range(
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
pub(super) fn parse_content_range(v: &str) -> Option<(u64, u64, Option<u64>)> {
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
pub(super) fn link_next(v: &str, base: &Url) -> Option<String> {
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
