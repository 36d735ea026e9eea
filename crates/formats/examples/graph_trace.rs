//! Prints the allocation events llmrig replays for a model's CPU compute graph, in the shape of a
//! `GGML_ALLOCATOR_DEBUG` trace of llama.cpp's ggml-alloc, to find where the two part ways.
//!
//! `cargo run -p llmrig-formats --example graph_trace -- FILE.gguf [-c N] [-b N] [-ub N] [-fa on|off]
//! [-np N] [-kvu] [--swa-full] [-ctk T] [-ctv T] [--llama-cpp YYYY-MM]`

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool: it prints

use llmrig_core::estimate::graph::{self, Event};
use llmrig_core::estimate::{ContextShape, FlashAttn, LlamaCppVersion, Settings};
use llmrig_core::quant::GgmlType;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: graph_trace FILE.gguf [-c N] [-b N] [-ub N] [-fa on|off] [-np N] [-kvu] [--swa-full]");
        std::process::exit(2);
    };
    let mut s = Settings::default();
    let mut ctx = 4096;
    let mut i = 1;
    let num = |v: Option<&String>| -> u64 { v.and_then(|x| x.parse().ok()).expect("a number") };
    while i < args.len() {
        let v = args.get(i + 1);
        match args[i].as_str() {
            "-c" => ctx = num(v),
            "-b" => s.batch = num(v),
            "-ub" => s.ubatch = num(v),
            "-np" => s.parallel = u32::try_from(num(v)).expect("-np"),
            "-fa" => {
                s.flash_attn = match v.map(String::as_str) {
                    Some("off") => FlashAttn::Off,
                    Some("on") => FlashAttn::On,
                    _ => FlashAttn::Auto,
                }
            }
            "-ctk" => s.cache_type_k = GgmlType::from_name(v.expect("-ctk")).expect("a cache type"),
            "-ctv" => s.cache_type_v = GgmlType::from_name(v.expect("-ctv")).expect("a cache type"),
            "--llama-cpp" => {
                s.llama_cpp =
                    LlamaCppVersion::parse(v.expect("--llama-cpp")).expect("current or YYYY-MM");
            }
            "-kvu" => {
                s.kv_unified = true;
                i += 1;
                continue;
            }
            "--swa-full" => {
                s.swa_full = true;
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    let m = llmrig_formats::local::open_gguf(std::path::Path::new(path)).expect("a readable GGUF");
    let spec = &m.model.spec;
    let shape = ContextShape::new(ctx, &s);
    let Some((g, ev, size)) = graph::trace(spec, &shape, &s) else {
        eprintln!("no graph for architecture {:?}", spec.arch);
        std::process::exit(1);
    };
    for e in ev {
        match e {
            Event::Alloc(id, b, off) => println!("A {b}@{off} {}", g.tensors[id].label()),
            Event::Reuse(id, p) => {
                println!("R {} <- {}", g.tensors[id].label(), g.tensors[p].label())
            }
            Event::Free(id, b, off) => println!("free {b}@{off} {}", g.tensors[id].label()),
        }
    }
    println!("MAX {size}");
}
