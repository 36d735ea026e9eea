//! The cache: a second run makes no request, expiry revalidates, corrupt entries are ignored,
//! a changed file is reported, and expired or refused redirect targets fall back.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use llmrig_formats::remote::{hf_list, hf_open, open_url, RemoteConfig, RemoteError};
use llmrig_formats::source::CHUNK;
use llmrig_formats::ByteSource;

use crate::listings::TREE_PAGE_1;
use crate::{cfg, data, http_err, ranged, read_all_at, Reply, Server, TempDir};

#[test]
fn cache_second_run_makes_no_request() {
    let file = data(3 * CHUNK);
    let f2 = file.clone();
    let storage = Server::start(move |r, _| ranged(r, &f2, "\"cdn\""));
    let target = storage.url("/blob");
    let hub = Server::start(move |r, _| {
        if r.path.starts_with("/api/") {
            Reply::json(TREE_PAGE_1)
        } else {
            Reply::redirect(302, &target).header("X-Linked-Etag", "\"sha\"")
        }
    });
    let dir = TempDir::new("second-run");
    let c = RemoteConfig {
        cache_dir: Some(dir.0.clone()),
        ..cfg(&hub.base)
    };
    let run = || {
        let files = hf_list("org/repo", "main", &c).unwrap();
        assert_eq!(files.len(), 2);
        let mut src = hf_open("org/repo", "main", "m.gguf", &c).unwrap();
        let a = read_all_at(&mut src, 10, 20);
        let b = read_all_at(&mut src, 2 * CHUNK + 7, 9);
        (a, b, src.bytes_fetched())
    };
    let (a1, b1, fetched1) = run();
    assert_eq!(a1, file[10..30]);
    assert_eq!(b1, file[(2 * CHUNK + 7) as usize..][..9]);
    assert_eq!(fetched1, 2 * CHUNK);
    let (hub_n, storage_n) = (hub.count(), storage.count());
    assert_eq!(
        (hub_n, storage_n),
        (2, 2),
        "listing + resolve; chunk 0 and chunk 2"
    );

    let (a2, b2, fetched2) = run();
    assert_eq!((a2, b2), (a1, b1));
    assert_eq!(fetched2, 0);
    assert_eq!(
        (hub.count(), storage.count()),
        (hub_n, storage_n),
        "no request at all"
    );

    // A chunk not read before: one request, straight to the remembered redirect target.
    let mut src = hf_open("org/repo", "main", "m.gguf", &c).unwrap();
    assert_eq!(read_all_at(&mut src, CHUNK, 3), file[CHUNK as usize..][..3]);
    assert_eq!((hub.count(), storage.count()), (hub_n, storage_n + 1));
}

#[test]
fn expired_cache_revalidates_and_notices_a_new_etag() {
    let version = Arc::new(AtomicUsize::new(1));
    let v2 = Arc::clone(&version);
    let srv = Server::start(move |r, _| {
        let v = v2.load(Ordering::SeqCst);
        let file: Vec<u8> = data(2 * CHUNK)
            .iter()
            .map(|b| b.wrapping_add(v as u8))
            .collect();
        ranged(r, &file, &format!("\"v{v}\""))
    });
    let dir = TempDir::new("etag");
    let c = RemoteConfig {
        cache_dir: Some(dir.0.clone()),
        cache_ttl: Duration::ZERO,
        ..cfg(&srv.base)
    };
    let url = srv.url("/m.gguf");
    let read = || {
        let mut s = open_url(&url, &c).unwrap();
        (read_all_at(&mut s, CHUNK, 2), s.etag().map(str::to_string))
    };
    let first = read();
    assert_eq!(first.1.as_deref(), Some("\"v1\""));
    assert_eq!(srv.count(), 2);
    // Expired, same ETag: one request to revalidate (chunk 0); chunk 1 from the cache.
    assert_eq!(read(), first);
    assert_eq!(srv.count(), 3);
    // New content: noticed, nothing old served.
    version.store(2, Ordering::SeqCst);
    let second = read();
    assert_eq!(second.1.as_deref(), Some("\"v2\""));
    assert_ne!(second.0, first.0);
    assert_eq!(
        second.0,
        data(2 * CHUNK)[CHUNK as usize..][..2]
            .iter()
            .map(|b| b.wrapping_add(2))
            .collect::<Vec<_>>()
    );
    assert_eq!(srv.count(), 5);
}

#[test]
fn corrupt_cache_entries_are_ignored() {
    let file = data(2 * CHUNK);
    let f2 = file.clone();
    let srv = Server::start(move |r, _| ranged(r, &f2, "\"c\""));
    let dir = TempDir::new("corrupt");
    let c = RemoteConfig {
        cache_dir: Some(dir.0.clone()),
        ..cfg(&srv.base)
    };
    let url = srv.url("/m.gguf");
    let mut s = open_url(&url, &c).unwrap();
    read_all_at(&mut s, CHUNK, 1);
    assert_eq!(srv.count(), 2);
    // Damage every cached file: flip a byte in the chunks, cut meta.json in half.
    let mut stack = vec![dir.0.clone()];
    let mut damaged = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "chunk") {
                let mut raw = std::fs::read(&p).unwrap();
                let mid = raw.len() / 2;
                raw[mid] ^= 0xff;
                std::fs::write(&p, raw).unwrap();
                damaged += 1;
            } else if p.file_name().is_some_and(|n| n == "meta.json") {
                let raw = std::fs::read(&p).unwrap();
                std::fs::write(&p, &raw[..raw.len() / 2]).unwrap();
                damaged += 1;
            }
        }
    }
    assert_eq!(damaged, 3);
    let mut s = open_url(&url, &c).unwrap();
    assert_eq!(
        read_all_at(&mut s, CHUNK - 2, 4),
        file[(CHUNK - 2) as usize..][..4]
    );
    assert_eq!(srv.count(), 4, "both chunks fetched again");
}

#[test]
fn file_changed_between_reads_is_reported() {
    let version = Arc::new(AtomicUsize::new(1));
    let v2 = Arc::clone(&version);
    let srv = Server::start(move |r, _| {
        let v = v2.load(Ordering::SeqCst);
        ranged(r, &data(2 * CHUNK), &format!("\"v{v}\""))
    });
    let mut s = open_url(&srv.url("/m.gguf"), &cfg(&srv.base)).unwrap();
    version.store(2, Ordering::SeqCst);
    let err = http_err(s.read_at(CHUNK, 1).unwrap_err());
    assert!(matches!(err, RemoteError::Changed { .. }), "{err:?}");
    assert!(err.to_string().contains("run again"), "{err}");
}

#[test]
fn expired_redirect_target_falls_back_to_the_resolve_url() {
    let file = data(2 * CHUNK);
    let f2 = file.clone();
    let storage = Server::start(move |r, n| {
        if r.path == "/s?sig=old" && n > 0 {
            Reply::status(403).header("X-Error-Message", "Request has expired")
        } else {
            ranged(r, &f2, "\"cdn\"")
        }
    });
    let (old, new) = (storage.url("/s?sig=old"), storage.url("/s?sig=new"));
    let hub = Server::start(move |_, n| {
        Reply::redirect(302, if n == 0 { &old } else { &new }).header("X-Linked-Etag", "\"sha\"")
    });
    let mut src = hf_open("org/repo", "main", "m.gguf", &cfg(&hub.base)).unwrap();
    assert_eq!(read_all_at(&mut src, CHUNK, 5), file[CHUNK as usize..][..5]);
    let paths: Vec<String> = storage.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/s?sig=old", "/s?sig=old", "/s?sig=new"]);
    assert_eq!(hub.count(), 2);
}

#[test]
fn refused_connection_is_retried_and_hides_signed_urls() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/blob?sig=secret", closed.local_addr().unwrap());
    drop(closed);
    let c = cfg("http://127.0.0.1:1");
    let err = open_url(&dead, &c).unwrap_err();
    assert!(
        matches!(err, RemoteError::Connection { attempts: 3, .. }),
        "{err:?}"
    );
    let hub = Server::start(move |_, _| Reply::redirect(302, &dead));
    let err = hf_open("org/repo", "main", "m.gguf", &cfg(&hub.base)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("cannot connect") && msg.contains("where the server redirected"),
        "{msg}"
    );
    assert!(!msg.contains("secret"), "{msg}");
}
