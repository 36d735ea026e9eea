//! `llmrig serve` and `llmrig mcp` (issue 16): a real server on 127.0.0.1 and a real MCP session
//! over pipes, each answer compared with the CLI's own `--json` on the same fixed machine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use super::llmrig;

/// A running `llmrig serve --port 0`, killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> Command {
    // The same fixed machine and empty config as the CLI tests (`llmrig()` in main.rs).
    let cli = llmrig();
    let mut c = Command::new(cli.get_program());
    for (k, v) in cli.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

pub(crate) fn start(extra: &[&str]) -> Server {
    let mut child = binary()
        .args(["serve", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("llmrig serve: http://")
        .and_then(|s| s.strip_suffix("/api/v1/"))
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_string();
    Server { child, addr }
}

/// One request over a fresh connection: (status, body). `head` is sent as is after the request
/// line; the Host header is the server's unless `head` has one.
fn get(s: &Server, target: &str, head: &str) -> (u16, String) {
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let host = if head.to_ascii_lowercase().contains("host:") {
        String::new()
    } else {
        format!("Host: {}\r\n", s.addr)
    };
    // The server may answer and close before the whole request is written (an oversized head is
    // cut at its limit), so a failed write is not the test's failure: the answer read below is.
    let _ = write!(
        c,
        "GET {target} HTTP/1.1\r\n{host}{head}Connection: close\r\n\r\n"
    );
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    (status, body)
}

pub(crate) fn cli_json(args: &[&str]) -> String {
    let out = llmrig().args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_endpoint_answers_exactly_what_the_command_prints() {
    let s = start(&[]);
    let cases: [(&str, &[&str]); 9] = [
        (
            "estimate?model=llama-3.1-8b&gpu=rtx-4090&ctx-size=8192&quant=Q4_K_M",
            &[
                "estimate",
                "llama-3.1-8b",
                "--gpu",
                "rtx-4090",
                "-c",
                "8192",
                "-q",
                "Q4_K_M",
            ],
        ),
        (
            "recommend?gpu=rtx-3090&ram=64GiB&use=chat&top=3",
            &[
                "recommend",
                "--gpu",
                "rtx-3090",
                "--ram",
                "64GiB",
                "--use",
                "chat",
                "--top",
                "3",
            ],
        ),
        (
            "plan?model=llama-3.1-70b&gpu=8x+h100-sxm-80gb",
            &["plan", "llama-3.1-70b", "--gpu", "8x h100-sxm-80gb"],
        ),
        (
            "need?model=qwen3-8b&tps=30",
            &["need", "qwen3-8b", "--tps", "30"],
        ),
        ("inspect?model=qwen3-8b", &["inspect", "qwen3-8b"]),
        ("models", &["models"]),
        ("devices", &["devices"]),
        ("quants", &["quants"]),
        (
            "hw?gpu=rtx-4090&ram=64GiB",
            &["hw", "--gpu", "rtx-4090", "--ram", "64GiB"],
        ),
    ];
    for (target, args) in cases {
        let (status, body) = get(&s, &format!("/api/v1/{target}"), "");
        assert_eq!(status, 200, "{target}: {body}");
        assert!(
            body == cli_json(args),
            "{target}: the body differs from `llmrig {}`",
            args.join(" ")
        );
    }
    let (status, index) = get(&s, "/api/v1/", "");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&index).unwrap();
    assert_eq!(v["endpoints"].as_array().unwrap().len(), 9);
}

#[test]
fn foreign_hosts_origins_paths_and_bad_input_are_refused_with_json() {
    let s = start(&[]);
    let refused = |target: &str, head: &str, status: u16, input: &str| {
        let (st, body) = get(&s, target, head);
        assert_eq!(st, status, "{target} {head}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"));
        assert!(
            v["error"].is_string() && v["expected"].is_string(),
            "{body}"
        );
        assert_eq!(v["input"], input, "{body}");
    };
    // DNS rebinding: a page under another name that resolves to 127.0.0.1.
    refused(
        "/api/v1/models",
        "Host: attacker.example:80\r\n",
        403,
        "attacker.example:80",
    );
    refused(
        "/api/v1/models",
        "Origin: http://attacker.example\r\n",
        403,
        "http://attacker.example",
    );
    refused(
        "/api/v1/estimate?model=/etc/passwd",
        "",
        403,
        "model=/etc/passwd",
    );
    refused(
        "/api/v1/estimate?model=hf:meta-llama/Llama-3.1-8B",
        "",
        403,
        "model=hf:meta-llama/Llama-3.1-8B",
    );
    refused("/api/v1/hw?save=x", "", 403, "save");
    refused("/api/v1/models?installed", "", 403, "installed");
    refused(
        "/api/v1/estimate?model=llama-3.1-8b&gpus-typo=2",
        "",
        400,
        "gpus-typo",
    );
    refused("/api/v1/calibrate", "", 404, "/api/v1/calibrate");
    refused(
        "/api/v1/estimate?model=no-such-model-x",
        "",
        422,
        "model=no-such-model-x",
    );
    // Same-origin page requests are fine.
    let (st, _) = get(
        &s,
        "/api/v1/quants",
        &format!("Origin: http://{}\r\n", s.addr),
    );
    assert_eq!(st, 200);
}

#[test]
fn with_allow_files_a_path_reaches_the_command() {
    let s = start(&["--allow-files"]);
    let (st, body) = get(&s, "/api/v1/estimate?model=/etc/passwd", "");
    // The command itself reads it and says what it is not.
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("/etc/passwd"), "{body}");
}

#[test]
fn oversized_and_slow_requests_are_cut() {
    let s = start(&["--header-timeout-ms", "500"]);
    let long = format!("/api/v1/models?x={}", "a".repeat(10_000));
    let (st, _) = get(&s, &long, "");
    assert_eq!(st, 414);
    // A head over 16 KiB: hyper answers 431 or closes.
    let (st, _) = get(
        &s,
        "/api/v1/models",
        &format!("X-Pad: {}\r\n", "b".repeat(20_000)),
    );
    assert!(st == 431 || st == 0, "{st}");
    // A client that never finishes its head is dropped after the header timeout.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(c, "GET /api/v1/models HTTP/1.1\r\nHost: {}\r\n", s.addr).unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "held {:?}",
        t.elapsed()
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

/// An MCP client over the server's stdin and stdout (newline-delimited JSON-RPC).
struct Mcp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Mcp {
    fn send(&mut self, v: &serde_json::Value) {
        writeln!(self.stdin, "{v}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn reply(&mut self, id: u64) -> serde_json::Value {
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "mcp closed");
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["id"] == id {
                return v;
            }
        }
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn mcp_lists_the_commands_and_a_call_returns_the_cli_json() {
    let mut child = binary()
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut m = Mcp {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
        child,
    };
    m.send(
        &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "llmrig-test", "version": "0"}}}),
    );
    let init = m.reply(1);
    assert_eq!(init["result"]["serverInfo"]["name"], "llmrig", "{init}");
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init}"
    );
    m.send(&serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    m.send(&serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let list = m.reply(2);
    let tools = list["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    for n in ["estimate", "recommend", "plan", "need", "inspect", "models"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let est = tools.iter().find(|t| t["name"] == "estimate").unwrap();
    assert_eq!(est["inputSchema"]["required"][0], "model");
    assert_eq!(est["inputSchema"]["properties"]["gpu"]["type"], "array");
    m.send(
        &serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "estimate",
        "arguments": {"model": "qwen3-8b", "gpu": ["rtx-3060-12gb"], "ctx-size": 16384}}}),
    );
    let call = m.reply(3);
    let text = call["result"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(call["result"]["isError"], false, "{call}");
    assert!(
        text == cli_json(&[
            "estimate",
            "qwen3-8b",
            "--gpu",
            "rtx-3060-12gb",
            "-c",
            "16384"
        ]),
        "the tool's text differs from the CLI's JSON"
    );
    assert_eq!(
        call["result"]["structuredContent"]["model"]["id"],
        "qwen3-8b"
    );
    // A refused path is a tool error the agent can read, not a protocol error.
    m.send(
        &serde_json::json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
        "name": "estimate", "arguments": {"model": "/etc/passwd"}}}),
    );
    let refused = m.reply(4);
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert!(refused["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("--allow-files"));
}
