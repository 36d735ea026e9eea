//! Remote sources against real HTTP servers on 127.0.0.1, started here on random ports, serving
//! in-memory files. No test touches the internet or reads the machine's environment: every setting
//! goes through `RemoteConfig`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llmrig_formats::remote::{
    hf_list, hf_open, ollama_model, open_url, pick_gguf, Progress, RemoteConfig, RemoteError,
    Retries, Timeouts, Transfer,
};
use llmrig_formats::source::{Cursor, CHUNK};
use llmrig_formats::{ByteSource, SourceError};

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server: one thread per connection, one request per connection.

#[derive(Debug, Clone)]
struct Req {
    path: String,
    headers: Vec<(String, String)>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Wait before sending anything.
    delay: Duration,
    /// Send only this many body bytes (after a `Content-Length` for all of them)...
    send_only: Option<usize>,
    /// ...then wait this long before closing.
    then_sleep: Duration,
}

impl Reply {
    fn status(status: u16) -> Reply {
        Reply {
            status,
            ..Reply::default()
        }
    }
    fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
    fn json(body: &str) -> Reply {
        Reply {
            status: 200,
            body: body.as_bytes().to_vec(),
            ..Reply::default()
        }
        .header("Content-Type", "application/json")
    }
    fn redirect(status: u16, to: &str) -> Reply {
        Reply::status(status).header("Location", to)
    }
}

type Handler = dyn Fn(&Req, usize) -> Reply + Send + Sync;

struct Server {
    base: String,
    log: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    /// Starts a server; `handler` gets the request and how many requests came for its path before.
    fn start(handler: impl Fn(&Req, usize) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let counts = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (h, log, counts) =
                    (Arc::clone(&handler), Arc::clone(&log2), Arc::clone(&counts));
                std::thread::spawn(move || serve(stream, &*h, &log, &counts));
            }
        });
        Server { base, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

fn serve(
    mut s: TcpStream,
    handler: &Handler,
    log: &Mutex<Vec<Req>>,
    counts: &Mutex<HashMap<String, usize>>,
) {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) if head.len() < 65536 => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let req = Req { path, headers };
    let n = {
        let mut c = counts.lock().unwrap();
        let e = c.entry(req.path.clone()).or_default();
        *e += 1;
        *e - 1
    };
    log.lock().unwrap().push(req.clone());
    let reply = handler(&req, n);
    std::thread::sleep(reply.delay);
    let mut out = format!("HTTP/1.1 {} X\r\n", reply.status);
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !reply
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        out.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    out.push_str("Connection: close\r\n\r\n");
    let body = &reply.body[..reply
        .send_only
        .unwrap_or(reply.body.len())
        .min(reply.body.len())];
    let _ = s.write_all(out.as_bytes()).and_then(|()| s.write_all(body));
    let _ = s.flush();
    std::thread::sleep(reply.then_sleep);
    let _ = s.shutdown(std::net::Shutdown::Both);
}

/// Serves `data` honouring `Range: bytes=a-b` (206, or 416 past the end), with an ETag.
fn ranged(req: &Req, data: &[u8], etag: &str) -> Reply {
    let len = data.len() as u64;
    let Some(spec) = req.header("range").and_then(|r| r.strip_prefix("bytes=")) else {
        return Reply {
            status: 200,
            body: data.to_vec(),
            ..Reply::default()
        }
        .header("ETag", etag);
    };
    let (a, b) = spec.split_once('-').unwrap();
    let a: u64 = a.parse().unwrap();
    let b: u64 = if b.is_empty() {
        len - 1
    } else {
        b.parse().unwrap()
    };
    if a >= len {
        return Reply::status(416).header("Content-Range", &format!("bytes */{len}"));
    }
    let b = b.min(len - 1);
    Reply {
        status: 206,
        body: data[a as usize..=b as usize].to_vec(),
        ..Reply::default()
    }
    .header("Content-Range", &format!("bytes {a}-{b}/{len}"))
    .header("ETag", etag)
    .header("Accept-Ranges", "bytes")
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn data(n: u64) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(31) % 251) as u8).collect()
}

/// Fast settings: short time-outs, quick retries, no cache, no token, endpoint `endpoint`.
fn cfg(endpoint: &str) -> RemoteConfig {
    RemoteConfig {
        endpoint: endpoint.to_string(),
        ollama_registry: endpoint.to_string(),
        token: None,
        cache_dir: None,
        timeouts: Timeouts {
            connect: Duration::from_secs(2),
            read: Duration::from_secs(2),
        },
        retries: Retries {
            max_retries: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            budget: Duration::from_secs(2),
        },
        ..RemoteConfig::default()
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "llmrig-remote-{}-{name}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn http_err(e: SourceError) -> RemoteError {
    match e {
        SourceError::Http(e) => *e,
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

fn read_all_at(src: &mut dyn ByteSource, offset: u64, len: usize) -> Vec<u8> {
    src.read_at(offset, len).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Range reads.

#[derive(Default)]
struct Recorder(Mutex<Vec<(u64, u64, bool)>>);

impl Progress for Recorder {
    fn update(&self, t: &Transfer<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((t.done_bytes, t.total_bytes, t.finished));
    }
}

#[test]
fn range_reads_fetch_whole_aligned_chunks() {
    let file = data(3 * CHUNK + 5);
    let f2 = file.clone();
    let srv = Server::start(move |r, _| ranged(r, &f2, "\"e1\""));
    let progress = Arc::new(Recorder::default());
    let c = RemoteConfig {
        progress: Some(progress.clone()),
        ..cfg(&srv.base)
    };
    let mut src = open_url(&srv.url("/m.gguf"), &c).unwrap();
    assert_eq!(src.len(), 3 * CHUNK + 5);
    assert_eq!(src.etag(), Some("\"e1\""));
    {
        let mut cur = Cursor::new(&mut src);
        cur.skip(CHUNK - 3).unwrap();
        let got = cur.take(10, <[u8]>::to_vec).unwrap();
        assert_eq!(got, file[(CHUNK - 3) as usize..(CHUNK + 7) as usize]);
    }
    // Chunk 0 came with the open; chunk 1 needed one more request.
    assert_eq!(src.bytes_fetched(), 2 * CHUNK);
    let ranges: Vec<String> = srv
        .requests()
        .iter()
        .map(|r| r.header("range").unwrap().to_string())
        .collect();
    assert_eq!(ranges, ["bytes=0-1048575", "bytes=1048576-2097151"]);
    // The last, short chunk.
    assert_eq!(
        read_all_at(&mut src, 3 * CHUNK + 2, 100),
        file[(3 * CHUNK + 2) as usize..]
    );
    assert_eq!(
        srv.requests()[2].header("range"),
        Some("bytes=3145728-3145732")
    );
    assert!(read_all_at(&mut src, 3 * CHUNK + 5, 10).is_empty());
    let events = progress.0.lock().unwrap();
    assert!(events.contains(&(CHUNK, CHUNK, true)), "{:?}", &events[..3]);
    assert!(events.iter().all(|(d, t, _)| d <= t));
}

#[test]
fn small_and_empty_files() {
    let srv = Server::start(|r, _| match r.path.as_str() {
        "/small" => ranged(r, &data(100), "\"s\""),
        _ => ranged(r, &[], "\"e\""),
    });
    let c = cfg(&srv.base);
    let mut s = open_url(&srv.url("/small"), &c).unwrap();
    assert_eq!(s.len(), 100);
    assert_eq!(read_all_at(&mut s, 90, 50), data(100)[90..]);
    assert_eq!(s.bytes_fetched(), 100);
    let e = open_url(&srv.url("/empty"), &c).unwrap();
    assert_eq!(e.len(), 0);
    assert_eq!(srv.count(), 2);
}

// ---------------------------------------------------------------------------------------------
// Redirects and the token.

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

// ---------------------------------------------------------------------------------------------
// Failures.

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

// ---------------------------------------------------------------------------------------------
// Hugging Face listing and Ollama manifests.

const TREE_PAGE_1: &str = r#"[
  {"type":"file","oid":"a","size":1200,"path":"README.md"},
  {"type":"directory","oid":"b","size":0,"path":"Q8_0"},
  {"type":"file","oid":"c","size":135,"path":"Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
   "lfs":{"oid":"1111","size":491400032,"pointerSize":135}}
]"#;
const TREE_PAGE_2: &str = r#"[
  {"type":"file","oid":"d","size":135,"path":"Q8_0/Qwen2.5-0.5B-Instruct-Q8_0-00002-of-00002.gguf",
   "lfs":{"oid":"2222","size":300000000,"pointerSize":135}},
  {"type":"file","oid":"e","size":135,"path":"Q8_0/Qwen2.5-0.5B-Instruct-Q8_0-00001-of-00002.gguf",
   "lfs":{"oid":"3333","size":376000000,"pointerSize":135}}
]"#;

fn hub() -> Server {
    Server::start(|r, _| {
        match r.path.as_str() {
        "/api/models/Qwen/Qwen2.5-0.5B-Instruct-GGUF/tree/main?recursive=true" => {
            Reply::json(TREE_PAGE_1).header(
                "Link",
                "</api/models/Qwen/Qwen2.5-0.5B-Instruct-GGUF/tree/main?recursive=true&cursor=Mg>; rel=\"next\"",
            )
        }
        "/api/models/Qwen/Qwen2.5-0.5B-Instruct-GGUF/tree/main?recursive=true&cursor=Mg" => {
            Reply::json(TREE_PAGE_2)
        }
        p if p.starts_with("/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/") => {
            ranged(r, &data(2 * CHUNK), "\"gguf\"")
        }
        _ => Reply::status(404).header("X-Error-Message", "Repository not found"),
    }
    })
}

#[test]
fn hf_listing_follows_pages_and_picks_quant() {
    let srv = hub();
    let c = cfg(&srv.base);
    let files = hf_list("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "main", &c).unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "Q8_0/Qwen2.5-0.5B-Instruct-Q8_0-00001-of-00002.gguf",
            "Q8_0/Qwen2.5-0.5B-Instruct-Q8_0-00002-of-00002.gguf",
            "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
            "README.md"
        ]
    );
    assert_eq!(files[2].size, 491_400_032, "LFS size, not the pointer's");
    assert_eq!(files[2].lfs_sha256.as_deref(), Some("1111"));

    let q8 = pick_gguf(&files, Some("q8_0")).unwrap();
    assert_eq!(q8.len(), 2);
    assert!(q8[0].path.ends_with("-00001-of-00002.gguf"));
    let err = pick_gguf(&files, None).unwrap_err().to_string();
    assert!(
        err.contains("Q4_K_M (468.6 MiB)") && err.contains("Q8_0 (644.7 MiB)"),
        "{err}"
    );
    let err = pick_gguf(&files, Some("IQ2_XS")).unwrap_err().to_string();
    assert!(
        err.contains("no `.gguf` file for quant `IQ2_XS`; available: Q4_K_M"),
        "{err}"
    );

    let mut src = hf_open("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "main", &q8[0].path, &c).unwrap();
    assert_eq!(src.len(), 2 * CHUNK);
    assert_eq!(read_all_at(&mut src, 0, 4), data(4));
    assert_eq!(
        srv.requests().last().unwrap().path,
        "/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/Q8_0/Qwen2.5-0.5B-Instruct-Q8_0-00001-of-00002.gguf"
    );

    let err = hf_list("nobody/nothing", "main", &c).unwrap_err();
    assert!(matches!(err, RemoteError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("Hugging Face repo `nobody/nothing`"),
        "{err}"
    );
}

const DIGEST_M: &str = "sha256:6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa";
const DIGEST_P: &str = "sha256:ece5e659647a20a5c28ab9eea1c12a1ad430bc0f2a27021d00ad103b3bf5206f";

#[test]
fn ollama_manifest_to_model_blob() {
    let file = data(CHUNK + 1);
    let storage = Server::start(move |r, _| ranged(r, &file, "\"blob\""));
    let storage_url = storage.url("/r2/blob");
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
        "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:00","size":485}},
        "layers":[
          {{"mediaType":"application/vnd.ollama.image.model","digest":"{DIGEST_M}","size":1048577}},
          {{"mediaType":"application/vnd.ollama.image.projector","digest":"{DIGEST_P}","size":600}},
          {{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:11","size":9}}]}}"#
    );
    let registry = Server::start(move |r, _| match r.path.as_str() {
        "/v2/library/tinyllama/manifests/latest" => {
            assert_eq!(
                r.header("accept"),
                Some("application/vnd.docker.distribution.manifest.v2+json")
            );
            Reply::json(&manifest)
        }
        p if p.contains("/blobs/") => Reply::redirect(307, &storage_url),
        _ => Reply::status(404).header("Content-Type", "application/json"),
    });
    let c = cfg(&registry.base);
    let m = ollama_model("tinyllama", &c).unwrap();
    assert_eq!(m.name, "library/tinyllama:latest");
    assert_eq!(
        m.model.url,
        registry.url(&format!("/v2/library/tinyllama/blobs/{DIGEST_M}"))
    );
    assert_eq!(m.model.size, CHUNK + 1);
    let p = m.projector.as_ref().unwrap();
    assert_eq!((p.digest.as_str(), p.size), (DIGEST_P, 600));
    let mut src = m.open(&c).unwrap();
    assert_eq!(src.len(), CHUNK + 1);
    assert_eq!(
        read_all_at(&mut src, CHUNK, 1),
        [data(CHUNK + 1)[CHUNK as usize]]
    );

    let err = ollama_model("ollama:someone/missing:7b", &c).unwrap_err();
    assert!(matches!(err, RemoteError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("Ollama model `someone/missing:7b`"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// The cache.

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

// ---------------------------------------------------------------------------------------------
// Whole models over HTTP: what `llmrig inspect hf:…` / `ollama:…` does.

/// A GGUF whose header is about 1.6 MiB (a 150k-token vocabulary) followed by ~6 MiB of data.
fn big_header_gguf() -> (Vec<u8>, u64) {
    use llmrig_formats::gguf::build::{BuildValue, GgufBuilder};
    let mut b = GgufBuilder::tiny_llama();
    b.kv.push((
        "tokenizer.ggml.tokens".into(),
        BuildValue::ArrStr((0..150_000).map(|i| format!("tok{i}")).collect()),
    ));
    let header_len = b.header().len() as u64;
    let mut f = b.file();
    f.resize(f.len() + (6 << 20), 0);
    (f, header_len)
}

fn hf_repo_server(gguf: Vec<u8>) -> Server {
    let size = gguf.len();
    Server::start(move |req, _| {
        let p = req.path.split('?').next().unwrap_or("");
        match p {
            "/api/models/org/repo/tree/main" => Reply::json(&format!(
                r#"[{{"type":"file","path":"README.md","size":10}},
                    {{"type":"file","path":"model-Q4_K_M.gguf","size":{size},"lfs":{{"oid":"x","size":{size}}}}},
                    {{"type":"file","path":"model-Q8_0.gguf","size":{size},"lfs":{{"oid":"y","size":{size}}}}}]"#
            )),
            "/org/repo/resolve/main/model-Q4_K_M.gguf" | "/org/repo/resolve/main/model-Q8_0.gguf" => {
                ranged(req, &gguf, "\"e1\"")
            }
            "/v2/library/tiny/manifests/latest" => Reply::json(&format!(
                r#"{{"schemaVersion":2,"layers":[{{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":{size}}}]}}"#
            )),
            "/v2/library/tiny/blobs/sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" => ranged(req, &gguf, "\"e2\""),
            _ => Reply::status(404),
        }
    })
}

#[test]
fn hf_repo_gguf_reads_only_the_header_rounded_to_a_mib() {
    use llmrig_formats::open::{open_model, Opened};
    let (gguf, header_len) = big_header_gguf();
    let total = gguf.len() as u64;
    let s = hf_repo_server(gguf);
    let c = cfg(&s.base);
    let Some(Opened::Gguf(m)) = open_model("hf:org/repo", Some("q4_k_m"), &c).unwrap() else {
        panic!("expected a GGUF")
    };
    assert_eq!(m.model.spec.n_layer, 1);
    assert_eq!(m.facts.size_bytes, total);
    let limit = header_len.div_ceil(CHUNK) * CHUNK;
    assert!(header_len > CHUNK, "the test needs a header over 1 MiB");
    assert!(
        m.facts.bytes_read <= limit,
        "read {} > {limit}",
        m.facts.bytes_read
    );
    // The same file named directly, and through the Ollama registry.
    let Some(Opened::Gguf(m)) = open_model("hf:org/repo/model-Q8_0.gguf", None, &c).unwrap() else {
        panic!()
    };
    assert!(m.facts.bytes_read <= limit);
    let Some(Opened::Gguf(m)) = open_model("ollama:tiny", None, &c).unwrap() else {
        panic!()
    };
    assert_eq!(m.model.weights.tensors.len(), 11);
    assert!(m.facts.bytes_read <= limit);
    // Several quants and none asked: an error that lists them.
    let e = open_model("hf:org/repo", None, &c).unwrap_err().to_string();
    assert!(e.contains("Q4_K_M") && e.contains("Q8_0"), "{e}");
}

#[test]
fn hf_repo_with_config_and_safetensors() {
    use llmrig_formats::open::{open_model, Opened};
    let header = r#"{"model.embed_tokens.weight":{"dtype":"BF16","shape":[1000,256],"data_offsets":[0,512000]}}"#;
    let mut st = (header.len() as u64).to_le_bytes().to_vec();
    st.extend(header.as_bytes());
    st.resize(st.len() + 512_000, 0);
    let config = r#"{"model_type":"qwen2","hidden_size":256,"intermediate_size":512,"num_attention_heads":4,
        "num_hidden_layers":2,"num_key_value_heads":2,"vocab_size":1000,"max_position_embeddings":4096,
        "tie_word_embeddings":true,"torch_dtype":"bfloat16"}"#
        .to_string();
    let s = Server::start(
        move |req, _| match req.path.split('?').next().unwrap_or("") {
            "/api/models/org/st/tree/main" => Reply::json(
                r#"[{"type":"file","path":"config.json","size":300},{"type":"file","path":"model.safetensors","size":512100}]"#,
            ),
            "/org/st/resolve/main/config.json" => ranged(req, config.as_bytes(), "\"c\""),
            "/org/st/resolve/main/model.safetensors" => ranged(req, &st, "\"s\""),
            _ => Reply::status(404),
        },
    );
    let Some(Opened::Folder(f)) = open_model("hf:org/st", None, &cfg(&s.base)).unwrap() else {
        panic!("expected config + safetensors")
    };
    assert_eq!(f.config.spec.n_layer, 2);
    assert_eq!(f.tensor_count, 1);
    assert_eq!(f.dtypes[0], ("BF16".to_string(), 256_000, 512_000));
    assert!(f.bytes_read <= CHUNK);
}
