//! HTTP range reads ([`HttpSource`]) and JSON API requests, over blocking `ureq` with rustls.
//!
//! Every read asks for whole aligned chunks of [`CHUNK`](crate::source::CHUNK) bytes (the same
//! chunks [`crate::source::Cursor`] asks for), so each chunk is stored in and served from the
//! cache on its own. Opening a source reads chunk 0 (every header starts there) and learns the file
//! length from its `Content-Range`: no separate HEAD request. Redirects are followed here, not by
//! `ureq`, so that the token goes only to the Hugging Face endpoint's own origin and the final URL
//! can be remembered for the next chunk.
//!
//! [`client`] holds the requests (redirects, the token, retries, error messages, JSON pages) and
//! [`source`] the chunked, cached range reader built on them.

mod client;
mod source;
#[cfg(test)]
mod tests;

pub(crate) use client::{Client, Target};
pub use source::{open_url, HttpSource};
