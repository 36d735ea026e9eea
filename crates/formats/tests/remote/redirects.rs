//! Redirects and the token: a Hub redirect on the same host keeps it, another host drops it.

use llmrig_formats::remote::{hf_open, open_url, RemoteConfig};
use llmrig_formats::source::CHUNK;
use llmrig_formats::ByteSource;

use crate::{cfg, data, ranged, read_all_at, Reply, Server};

#[test]
fn hub_resolve_redirect_on_same_host_keeps_token() {
    let file = data(CHUNK + 10);
    let srv = Server::start(move |r, _| {
        if r.path == "/org/repo/resolve/main/dir/m.gguf" {
            Reply::redirect(302, "/cdn/blob-1").header("X-Linked-Etag", "\"sha-1\"")
        } else {
            ranged(r, &file, "\"cdn-etag\"")
        }
    });
    let c = RemoteConfig {
        token: Some("hf_secret".into()),
        ..cfg(&srv.base)
    };
    let mut src = hf_open("org/repo", "main", "dir/m.gguf", &c).unwrap();
    assert_eq!(src.len(), CHUNK + 10);
    assert_eq!(
        src.etag(),
        Some("\"sha-1\""),
        "the Hub's X-Linked-Etag names the file"
    );
    assert_eq!(
        read_all_at(&mut src, CHUNK, 10),
        data(CHUNK + 10)[CHUNK as usize..]
    );
    let reqs = srv.requests();
    assert_eq!(
        reqs.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        [
            "/org/repo/resolve/main/dir/m.gguf",
            "/cdn/blob-1",
            "/cdn/blob-1"
        ],
        "the second chunk goes straight to the redirect target"
    );
    assert!(reqs
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer hf_secret")));
}

#[test]
fn redirect_to_another_host_drops_token() {
    let file = data(2 * CHUNK);
    let storage = Server::start(move |r, _| ranged(r, &file, "\"x\""));
    let target = storage.url("/signed?sig=abc");
    let hub = Server::start(move |_, _| Reply::redirect(302, &target));
    let c = RemoteConfig {
        token: Some("hf_secret".into()),
        ..cfg(&hub.base)
    };
    let mut src = hf_open("org/repo", "main", "m.gguf", &c).unwrap();
    assert_eq!(
        read_all_at(&mut src, CHUNK, 4),
        data(2 * CHUNK)[CHUNK as usize..][..4]
    );
    assert_eq!(
        hub.requests()[0].header("authorization"),
        Some("Bearer hf_secret")
    );
    assert_eq!(hub.count(), 1);
    assert_eq!(storage.count(), 2);
    assert!(storage
        .requests()
        .iter()
        .all(|r| r.header("authorization").is_none()));
    // A URL on another host than the endpoint never gets the token.
    open_url(&storage.url("/direct"), &c).unwrap();
    assert!(storage.requests()[2].header("authorization").is_none());
}
