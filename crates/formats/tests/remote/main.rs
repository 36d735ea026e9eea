//! Remote sources against real HTTP servers on 127.0.0.1, started here on random ports, serving
//! in-memory files. No test touches the internet or reads the machine's environment: every setting
//! goes through `RemoteConfig`.
//!
//! This file holds the server and the helpers every test uses; the tests are grouped by topic in
//! the modules below (one test binary).

mod cache;
mod failures;
mod listings;
mod models;
mod range_reads;
mod redirects;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmrig_formats::remote::{RemoteConfig, RemoteError, Retries, Timeouts};
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
