//! Errors of remote reads: one variant per way an HTTP exchange can fail, each naming what was
//! asked for (`what`: a repo file, an Ollama model, or the URL itself) and what to do about it.

use std::time::Duration;

/// A remote read or lookup failed.
///
/// `what` describes the thing asked for in words, including the URL (for example "`model.gguf` in
/// Hugging Face repo `org/repo` (revision `main`, `https://…`)"); `url` is the URL alone, for
/// programs. Error URLs are always the ones llmrig built, never a signed redirect target.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// HTTP 404 or 410.
    #[error("{what} was not found (HTTP {status}){detail}; check the name, the tag or revision, and the file path")]
    NotFound {
        /// What was asked for.
        what: String,
        /// The URL.
        url: String,
        /// 404 or 410.
        status: u16,
        /// What the server said, as `: server says "…"`, or empty.
        detail: String,
    },
    /// HTTP 401 or 403.
    #[error("{what}: access denied (HTTP {status}){detail}; {hint}")]
    Denied {
        /// What was asked for.
        what: String,
        /// The URL.
        url: String,
        /// 401 or 403.
        status: u16,
        /// What the server said, or empty.
        detail: String,
        /// How to get access.
        hint: String,
    },
    /// Any other HTTP error status (after retries for 5xx, 408 and 429).
    #[error("{what}: the server answered HTTP {status}{detail} (after {attempts} tries)")]
    Status {
        /// What was asked for.
        what: String,
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// What the server said, or empty.
        detail: String,
        /// Requests made.
        attempts: u32,
    },
    /// No answer within the time-out.
    #[error("{what}: no answer within {timeout:?} (after {attempts} tries): the server is slow or unreachable; try again later")]
    TimedOut {
        /// What was asked for.
        what: String,
        /// The URL.
        url: String,
        /// The time-out that fired.
        timeout: Duration,
        /// Requests made.
        attempts: u32,
    },
    /// The connection failed (DNS, refused, reset, TLS).
    #[error("{what}: cannot connect (after {attempts} tries): {message}")]
    Connection {
        /// What was asked for.
        what: String,
        /// The URL.
        url: String,
        /// The transport error.
        message: String,
        /// Requests made.
        attempts: u32,
    },
    /// The body ended before all the bytes asked for arrived.
    #[error("{what}: the server sent {got} of the {expected} bytes asked for at offset {offset} before the connection ended (after {attempts} tries); try again")]
    Truncated {
        /// What was asked for.
        what: String,
        /// The URL.
        url: String,
        /// Offset of the range asked for.
        offset: u64,
        /// Bytes asked for.
        expected: u64,
        /// Bytes received in the last try.
        got: u64,
        /// Requests made.
        attempts: u32,
    },
    /// The server ignores `Range` (answers 200 with the whole file) and the bytes needed lie too far
    /// in to read through.
    #[error("{what}: the server ignores HTTP range requests (it sends the whole file), and reading up to byte {needed_end} would download more than the limit of {limit} bytes; download the file and read it locally")]
    RangeIgnored {
        /// What was asked for.
        what: String,
        /// The URL.
        url: String,
        /// End (exclusive) of the bytes needed.
        needed_end: u64,
        /// The read-through limit ([`super::RemoteConfig::range_ignored_limit`]).
        limit: u64,
    },
    /// A 206 answer carried another range than the one asked for.
    #[error("{what}: asked for bytes {asked} but the server sent `Content-Range: {got}`")]
    WrongRange {
        /// What was asked for.
        what: String,
        /// The URL.
        url: String,
        /// The range asked for, `a-b`.
        asked: String,
        /// The `Content-Range` received.
        got: String,
    },
    /// The file changed on the server between two reads (new ETag or length).
    #[error("{what} changed on the server while it was being read ({reason}); run again")]
    Changed {
        /// What was asked for.
        what: String,
        /// The URL.
        url: String,
        /// Which check failed.
        reason: String,
    },
    /// More redirects than allowed.
    #[error("{what}: more than {max} redirects")]
    TooManyRedirects {
        /// What was asked for.
        what: String,
        /// The URL.
        url: String,
        /// The limit.
        max: u32,
    },
    /// An answer that makes no sense (bad header, bad JSON, missing length, bad redirect).
    #[error("{what}: unexpected answer from the server: {reason}")]
    BadResponse {
        /// What was asked for.
        what: String,
        /// The URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// A URL that cannot be requested.
    #[error("invalid URL `{url}`: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `hf:` or `ollama:` reference that does not parse.
    #[error("`{spec}` is not a valid model reference: expected {expected}")]
    BadSpec {
        /// The reference as given.
        spec: String,
        /// The accepted forms.
        expected: &'static str,
    },
}

impl RemoteError {
    /// The URL the error is about, where there is one.
    #[must_use]
    pub fn url(&self) -> Option<&str> {
        match self {
            RemoteError::NotFound { url, .. }
            | RemoteError::Denied { url, .. }
            | RemoteError::Status { url, .. }
            | RemoteError::TimedOut { url, .. }
            | RemoteError::Connection { url, .. }
            | RemoteError::Truncated { url, .. }
            | RemoteError::RangeIgnored { url, .. }
            | RemoteError::WrongRange { url, .. }
            | RemoteError::Changed { url, .. }
            | RemoteError::TooManyRedirects { url, .. }
            | RemoteError::BadResponse { url, .. }
            | RemoteError::BadUrl { url, .. } => Some(url),
            RemoteError::BadSpec { .. } => None,
        }
    }

    /// The HTTP status behind the error, where there is one.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            RemoteError::NotFound { status, .. }
            | RemoteError::Denied { status, .. }
            | RemoteError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn set_attempts(&mut self, n: u32) {
        match self {
            RemoteError::Status { attempts, .. }
            | RemoteError::TimedOut { attempts, .. }
            | RemoteError::Connection { attempts, .. }
            | RemoteError::Truncated { attempts, .. } => *attempts = n,
            _ => {}
        }
    }
}

/// Choosing GGUF files in a repo listing failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PickError {
    /// The repo has no `.gguf` file (other than projectors).
    #[error("the repo has no `.gguf` model file ({files} files in all); for safetensors repos read `config.json` instead")]
    NoGguf {
        /// How many files the repo has.
        files: usize,
    },
    /// No file matches the quant asked for.
    #[error("no `.gguf` file for quant `{asked}`; available: {}", .available.join(", "))]
    QuantNotFound {
        /// The quant asked for.
        asked: String,
        /// The quants found, with sizes.
        available: Vec<String>,
    },
    /// Several quants exist and none was asked for.
    #[error("the repo has several quants: {}; pick one with `-q QUANT`", .available.join(", "))]
    QuantNeeded {
        /// The quants found, with sizes.
        available: Vec<String>,
    },
    /// Several different files (not shards of one split set) match.
    #[error("several files match{}: {}; name the file, as in `hf:ORG/REPO/FILE.gguf`", .asked.as_ref().map(|q| format!(" quant `{q}`")).unwrap_or_default(), .candidates.join(", "))]
    Ambiguous {
        /// The quant asked for, if any.
        asked: Option<String>,
        /// The matching files (first shard of each set).
        candidates: Vec<String>,
    },
    /// A split set with shards missing from the listing.
    #[error("split GGUF `{first}` says {of} shards but the repo lists {have}")]
    IncompleteSplit {
        /// The set's first file found.
        first: String,
        /// Shards listed.
        have: usize,
        /// Shards the names announce.
        of: usize,
    },
}
