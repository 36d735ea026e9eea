//! Failures: missing and gated files, cut and slow answers, servers that ignore `Range`, 5xx
//! retries, wrong `Content-Range` and odd statuses.

use std::time::{Duration, Instant};

use llmrig_formats::remote::{
    hf_list, hf_open, open_url, RemoteConfig, RemoteError, Retries, Timeouts,
};
use llmrig_formats::source::CHUNK;
use llmrig_formats::ByteSource;

use crate::{cfg, data, http_err, ranged, read_all_at, Reply, Server};

#[test]
fn not_found_names_repo_and_file() {
    let srv = Server::start(|_, _| Reply::status(404).header("X-Error-Message", "Entry not found"));
    let err = hf_open("org/repo", "main", "dir/m-Q4_K_M.gguf", &cfg(&srv.base)).unwrap_err();
    assert!(
        matches!(err, RemoteError::NotFound { status: 404, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("`dir/m-Q4_K_M.gguf` in Hugging Face repo `org/repo`"),
        "{msg}"
    );
    assert!(msg.contains("Entry not found"), "{msg}");
    assert_eq!(srv.count(), 1, "no retry on 404");
}

#[test]
fn unauthorized_says_gated_and_hf_token() {
    let srv = Server::start(|r, _| {
        if r.header("authorization").is_some() {
            Reply::status(403)
        } else {
            Reply::status(401)
        }
    });
    let err = hf_open("meta/llama", "main", "m.gguf", &cfg(&srv.base)).unwrap_err();
    assert!(
        matches!(err, RemoteError::Denied { status: 401, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("gated or private") && msg.contains("set `HF_TOKEN`"),
        "{msg}"
    );

    let c = RemoteConfig {
        token: Some("hf_x".into()),
        ..cfg(&srv.base)
    };
    let err = hf_list("meta/llama", "main", &c).unwrap_err();
    assert!(
        matches!(err, RemoteError::Denied { status: 403, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("the token in `HF_TOKEN` gives no access"),
        "{err}"
    );
    assert_eq!(srv.count(), 2, "no retry on 401/403");
}

#[test]
fn truncated_body_is_retried_then_reported() {
    let file = data(CHUNK);
    let f2 = file.clone();
    let srv = Server::start(move |r, n| {
        let mut reply = ranged(r, &f2, "\"t\"");
        if r.path == "/always" || n == 0 {
            reply.send_only = Some(1000);
        }
        reply
    });
    let c = cfg(&srv.base);
    // Cut once, then whole: the retry reads it; both bodies count as fetched.
    let src = open_url(&srv.url("/once"), &c).unwrap();
    assert_eq!(src.len(), CHUNK);
    assert_eq!(src.bytes_fetched(), CHUNK + 1000);
    // Cut every time.
    let err = open_url(&srv.url("/always"), &c).unwrap_err();
    let RemoteError::Truncated {
        expected,
        got,
        attempts,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((expected, got, attempts), (CHUNK, 1000, 3));
}

#[test]
fn slow_server_times_out() {
    let srv = Server::start(|r, _| {
        let mut reply = ranged(r, &data(CHUNK), "\"s\"");
        if r.path == "/slow-headers" {
            reply.delay = Duration::from_secs(3);
        } else {
            reply.send_only = Some(4096);
            reply.then_sleep = Duration::from_secs(3);
        }
        reply
    });
    let c = RemoteConfig {
        timeouts: Timeouts {
            connect: Duration::from_millis(300),
            read: Duration::from_millis(200),
        },
        retries: Retries {
            max_retries: 1,
            ..cfg("").retries
        },
        ..cfg(&srv.base)
    };
    for path in ["/slow-headers", "/slow-body"] {
        let t0 = Instant::now();
        let err = open_url(&srv.url(path), &c).unwrap_err();
        assert!(
            matches!(err, RemoteError::TimedOut { attempts: 2, .. }),
            "{path}: {err:?}"
        );
        assert!(
            t0.elapsed() < Duration::from_millis(1500),
            "{path}: {:?}",
            t0.elapsed()
        );
        assert!(err.to_string().contains("no answer within 200ms"), "{err}");
    }
}

#[test]
fn server_ignoring_range_is_read_only_as_far_as_needed() {
    let file = data(4 * CHUNK);
    let f2 = file.clone();
    let srv = Server::start(move |_, _| Reply {
        status: 200,
        body: f2.clone(),
        ..Reply::default()
    });
    let c = RemoteConfig {
        range_ignored_limit: 3 * CHUNK,
        ..cfg(&srv.base)
    };
    let mut src = open_url(&srv.url("/whole"), &c).unwrap();
    assert_eq!(src.len(), 4 * CHUNK);
    assert_eq!(src.bytes_fetched(), CHUNK, "stopped after the first chunk");
    // Chunk 1 means reading from byte 0 again, through 2 MiB.
    assert_eq!(
        read_all_at(&mut src, CHUNK + 1, 3),
        file[(CHUNK + 1) as usize..][..3]
    );
    assert_eq!(src.bytes_fetched(), 3 * CHUNK);
    let err = http_err(src.read_at(3 * CHUNK, 10).unwrap_err());
    assert!(
        matches!(err, RemoteError::RangeIgnored { needed_end, .. } if needed_end == 4 * CHUNK),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("ignores HTTP range requests"),
        "{err}"
    );
}

#[test]
fn server_errors_are_retried_with_backoff() {
    let srv = Server::start(|r, n| match r.path.as_str() {
        "/flaky" if n < 2 => Reply::status(503),
        "/busy" if n == 0 => Reply::status(429).header("Retry-After", "0"),
        "/broken" => Reply::status(500).header("X-Error-Message", "boom"),
        _ => ranged(r, &data(10), "\"r\""),
    });
    let c = cfg(&srv.base);
    assert_eq!(open_url(&srv.url("/flaky"), &c).unwrap().len(), 10);
    assert_eq!(open_url(&srv.url("/busy"), &c).unwrap().len(), 10);
    let err = open_url(&srv.url("/broken"), &c).unwrap_err();
    assert!(
        matches!(
            err,
            RemoteError::Status {
                status: 500,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("boom"), "{err}");
    assert_eq!(srv.count(), 3 + 2 + 3);
}

#[test]
fn wrong_content_range_and_odd_statuses_are_errors() {
    let srv = Server::start(|r, _| match r.path.as_str() {
        "/shifted" => Reply::status(206).header("Content-Range", "bytes 5-14/100"),
        "/teapot" => Reply::status(418),
        _ => Reply::redirect(302, "/loop"),
    });
    let c = cfg(&srv.base);
    let err = open_url(&srv.url("/shifted"), &c).unwrap_err();
    assert!(matches!(err, RemoteError::WrongRange { .. }), "{err:?}");
    let err = open_url(&srv.url("/teapot"), &c).unwrap_err();
    assert!(
        matches!(
            err,
            RemoteError::Status {
                status: 418,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let err = open_url(&srv.url("/loop"), &c).unwrap_err();
    assert!(
        matches!(err, RemoteError::TooManyRedirects { .. }),
        "{err:?}"
    );
    let err = open_url("ftp://127.0.0.1/x", &c).unwrap_err();
    assert!(matches!(err, RemoteError::BadUrl { .. }), "{err:?}");
}
