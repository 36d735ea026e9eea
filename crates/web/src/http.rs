//! The HTTP server: `GET /api/v1/{command}?flags` runs the command in-process and answers with its
//! `--json` output; `/` is the page (`assets/`: one HTML file, its script and its style, embedded),
//! which draws what the API answers.
//!
//! Safe by default, because a page on any website can make the browser send requests to
//! 127.0.0.1:
//! - only the names this server was reached by are accepted in `Host` (a DNS-rebinding page
//!   reaches 127.0.0.1 under its own name) and in `Origin` when a browser sends one;
//! - no local path and no remote model is read unless the server was started with
//!   `--allow-files` / `--allow-remote` ([`crate::request`]); nothing is ever written;
//! - a request's head must arrive within a few seconds and fit in 16 KiB, its arguments in 8 KiB;
//!   at most a few commands run at once (one per core), each cut off after a limit; at most 64
//!   connections are open.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST, ORIGIN};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

use crate::request::{argv, query_pairs, RequestError, MAX_REQUEST_BYTES};
use crate::{CommandSpec, Failure, Policy, Runner};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on (127.0.0.1 unless told otherwise).
    pub host: IpAddr,
    /// Port (0: any free one).
    pub port: u16,
    /// What requests may make it do.
    pub policy: Policy,
    /// Commands running at once.
    pub max_running: usize,
    /// How long a command may run before the request is answered 503.
    pub command_timeout: Duration,
    /// How long a client may take to send a request's head.
    pub header_timeout: Duration,
}

/// Open connections at most.
const MAX_CONNECTIONS: usize = 64;
/// A request head (request line and headers) at most, bytes (hyper's smallest buffer is 8 KiB).
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long a connection may stay open, idle keep-alive included.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);

struct State {
    commands: Vec<CommandSpec>,
    runner: Runner,
    policy: Policy,
    hosts: Vec<String>,
    running: Arc<Semaphore>,
    command_timeout: Duration,
}

/// Binds the listening socket (so the caller can print the address before serving).
///
/// # Errors
/// The address is taken or not this machine's.
pub fn bind(cfg: &ServeConfig) -> io::Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind((cfg.host, cfg.port))?;
    let addr = l.local_addr()?;
    Ok((l, addr))
}

/// The `Host` values a request may carry: the loopback names with the port, and the address the
/// server was bound to.
#[must_use]
pub fn allowed_hosts(addr: SocketAddr) -> Vec<String> {
    let p = addr.port();
    let mut h = vec![
        format!("127.0.0.1:{p}"),
        format!("localhost:{p}"),
        format!("[::1]:{p}"),
    ];
    let own = match addr.ip() {
        IpAddr::V4(ip) => format!("{ip}:{p}"),
        IpAddr::V6(ip) => format!("[{ip}]:{p}"),
    };
    if !h.contains(&own) && !addr.ip().is_unspecified() {
        h.push(own);
    }
    h
}

/// Serves until the process ends.
///
/// # Errors
/// The runtime could not start or the socket failed.
pub fn serve(
    listener: TcpListener,
    cfg: &ServeConfig,
    commands: Vec<CommandSpec>,
    runner: Runner,
) -> io::Result<()> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let state = Arc::new(State {
        commands,
        runner,
        policy: cfg.policy,
        hosts: allowed_hosts(addr),
        running: Arc::new(Semaphore::new(cfg.max_running.max(1))),
        command_timeout: cfg.command_timeout,
    });
    let header_timeout = cfg.header_timeout;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            // Over the limit: the connection is closed at once.
            let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
                continue;
            };
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, Infallible>(handle(&state, req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .max_buf_size(MAX_HEAD_BYTES)
                    .serve_connection(TokioIo::new(stream), svc);
                let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
                drop(permit);
            });
        }
    })
}

fn response(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    r
}

/// The page's files, embedded: the binary serves them with no network and no files at run time.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../assets/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
];

/// What the page may load and run: only this server's own files and API.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn asset(path: &str) -> Option<Response<Full<Bytes>>> {
    let (_, kind, body) = ASSETS.iter().find(|(p, _, _)| *p == path)?;
    let mut r = response(200, (*body).to_string());
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    Some(r)
}

fn refuse(e: &RequestError) -> Response<Full<Bytes>> {
    response(e.status, e.body())
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !state.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return refuse(&RequestError::new(
            403,
            "unknown Host (a page on another site may not use this server)",
            host,
            &format!("one of: {}", state.hosts.join(", ")),
        ));
    }
    if let Some(origin) = req.headers().get(ORIGIN) {
        let o = origin.to_str().unwrap_or("");
        if !state
            .hosts
            .iter()
            .any(|h| o.eq_ignore_ascii_case(&format!("http://{h}")))
        {
            return refuse(&RequestError::new(
                403,
                "requests from another site's page are refused",
                o,
                &format!("no Origin, or http://{}", state.hosts[0]),
            ));
        }
    }
    if req.method() != Method::GET {
        return refuse(&RequestError::new(
            405,
            "only GET",
            req.method().as_str(),
            "GET",
        ));
    }
    if let Some(page) = asset(req.uri().path()) {
        return page;
    }
    let path = req.uri().path().trim_end_matches('/');
    let query = req.uri().query().unwrap_or("");
    if query.len() > MAX_REQUEST_BYTES {
        return refuse(&RequestError::new(
            414,
            "query string too long",
            &format!("{} bytes", query.len()),
            &format!("at most {MAX_REQUEST_BYTES} bytes"),
        ));
    }
    if path == "/api/v1" {
        return response(200, index(state));
    }
    let Some(cmd) = path
        .strip_prefix("/api/v1/")
        .and_then(|name| state.commands.iter().find(|c| c.name == name))
    else {
        let names: Vec<&str> = state.commands.iter().map(|c| c.name.as_str()).collect();
        return refuse(&RequestError::new(
            404,
            "no such endpoint",
            path,
            &format!("/api/v1/{{{}}}", names.join(",")),
        ));
    };
    let args = match argv(cmd, &query_pairs(query), state.policy) {
        Ok(a) => a,
        Err(e) => return refuse(&e),
    };
    run(state, &cmd.name, args, query).await
}

/// Runs the command on a blocking thread, at most `max_running` at once; a permit is held until
/// the command ends, even when the request was answered 503 before.
async fn run(state: &State, name: &str, args: Vec<String>, query: &str) -> Response<Full<Bytes>> {
    let busy = || {
        refuse(&RequestError::new(
            503,
            "busy or too slow: the command did not finish in time",
            query,
            &format!(
                "a command that finishes within {} s; try again",
                state.command_timeout.as_secs()
            ),
        ))
    };
    let Ok(Ok(permit)) = tokio::time::timeout(
        state.command_timeout,
        Arc::clone(&state.running).acquire_owned(),
    )
    .await
    else {
        return busy();
    };
    let runner = Arc::clone(&state.runner);
    let task = tokio::task::spawn_blocking(move || {
        let out = runner(args);
        drop(permit);
        out
    });
    match tokio::time::timeout(state.command_timeout, task).await {
        Ok(Ok(Ok(body))) => response(200, body),
        Ok(Ok(Err(Failure::Usage(msg)))) => refuse(&RequestError::new(
            400,
            msg.trim(),
            query,
            &format!("arguments `llmrig {name} --help` lists"),
        )),
        Ok(Ok(Err(Failure::Input(msg)))) => refuse(&RequestError::new(
            422,
            msg.trim(),
            query,
            "an input the message above accepts",
        )),
        Ok(Err(_)) => refuse(&RequestError::new(
            500,
            "the command failed unexpectedly",
            query,
            "a report of this request",
        )),
        Err(_) => busy(),
    }
}

/// `GET /api/v1`: the endpoints and their keys.
fn index(state: &State) -> String {
    let endpoints: Vec<serde_json::Value> = state
        .commands
        .iter()
        .map(|c| {
            serde_json::json!({
                "path": format!("/api/v1/{}", c.name),
                "about": c.about,
                "keys": c.args.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "schema_version": 1,
        "endpoints": endpoints,
        "allow_files": state.policy.allow_files,
        "allow_remote": state.policy.allow_remote,
    })
    .to_string()
}
