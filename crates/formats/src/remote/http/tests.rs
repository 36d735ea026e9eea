//! Unit tests of the HTTP helpers: `Content-Range` and `Link` parsing, URL descriptions.

use url::Url;

use super::client::{link_next, parse_content_range};
use super::source::describe_url;
use crate::remote::RemoteConfig;

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
