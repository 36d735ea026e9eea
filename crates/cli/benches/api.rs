//! The HTTP API's speed (issue 16): `llmrig serve` started on 127.0.0.1, then `GET
//! /api/v1/estimate` for Llama 3.1 8B on an RTX 4090 over one keep-alive connection per client.
//! Criterion measures one request's latency; a second pass of 2,000 requests from 2 clients
//! prints the throughput and the p50/p99 latency that the README quotes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

const TARGET: &str = "/api/v1/estimate?model=llama-3.1-8b&gpu=rtx-4090&ram=64GiB&ctx-size=8192";

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmrig"))
        .args(["serve", "--port", "0"])
        .env("LLMRIG_NO_PROBE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("llmrig serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address line");
    let addr = line
        .trim()
        .trim_start_matches("llmrig serve: http://")
        .trim_end_matches("/api/v1/")
        .to_string();
    Server(child, addr)
}

/// One request on a kept-alive connection; reads exactly the body's Content-Length.
fn request(c: &mut BufReader<TcpStream>, addr: &str) -> usize {
    write!(c.get_mut(), "GET {TARGET} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("write");
    let mut len = 0;
    loop {
        let mut line = String::new();
        c.read_line(&mut line).expect("head");
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().expect("length");
        }
    }
    let mut body = vec![0; len];
    c.read_exact(&mut body).expect("body");
    len
}

fn connect(addr: &str) -> BufReader<TcpStream> {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    BufReader::new(s)
}

#[allow(clippy::print_stdout)]
fn bench(c: &mut Criterion) {
    let s = start();
    let mut conn = connect(&s.1);
    c.bench_function("GET /api/v1/estimate llama-3.1-8b on an RTX 4090", |b| {
        b.iter(|| request(&mut conn, &s.1));
    });
    // Throughput and tail latency: 2 clients × 1,000 requests.
    let t = Instant::now();
    let lat: Vec<Duration> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                sc.spawn(|| {
                    let mut c = connect(&s.1);
                    (0..1000)
                        .map(|_| {
                            let t = Instant::now();
                            request(&mut c, &s.1);
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter()
            .flat_map(|h| h.join().expect("client"))
            .collect()
    });
    let wall = t.elapsed();
    let mut l = lat;
    l.sort();
    let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)];
    println!(
        "API: {} estimates in {:.2} s = {:.0} per second (2 clients); latency p50 {:.2} ms, p99 {:.2} ms",
        l.len(),
        wall.as_secs_f64(),
        l.len() as f64 / wall.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
