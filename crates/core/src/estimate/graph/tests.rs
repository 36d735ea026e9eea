//! The replay against buffer sizes llama.cpp itself reserved (commit 0c1e57098, CPU backend, read
//! from a `GGML_ALLOCATOR_DEBUG` trace of `ggml_gallocr` and matching the `~llama_context` log line
//! to its 4 decimals), for the small synthetic models of `validation/synth.py`; and the allocator's
//! rules on hand-made graphs.

use super::alloc::simulate;
use super::cpu_compute_bytes;
use super::ir::{Graph, Kind, Op, Tensor, NONE};
use crate::estimate::{ContextShape, FlashAttn, LlamaCppVersion, Settings};
use crate::model::{Arch, ModelSpec};
use crate::quant::GgmlType;

fn base(arch: Arch, n_layer: u32, n_vocab: u64) -> ModelSpec {
    ModelSpec {
        id: format!("synthetic-{arch:?}"),
        arch,
        n_layer,
        n_embd: 256,
        n_ff: 768,
        n_head: 4,
        n_head_kv: 2,
        n_vocab,
        context_length: 32768,
        ..ModelSpec::default()
    }
}

fn qwen3() -> ModelSpec {
    ModelSpec {
        head_dim: Some(128),
        qk_norm: true,
        ..base(Arch::Qwen3, 4, 32256)
    }
}

fn deepseek2() -> ModelSpec {
    ModelSpec {
        n_head_kv: 4,
        q_lora_rank: Some(256),
        kv_lora_rank: Some(256),
        qk_rope_head_dim: Some(64),
        qk_nope_head_dim: Some(128),
        v_head_dim: Some(128),
        leading_dense_layers: 1,
        n_expert: 16,
        n_expert_used: 4,
        n_expert_shared: 1,
        expert_ff: Some(256),
        ..base(Arch::Deepseek2, 3, 102_400)
    }
}

fn gpt_oss() -> ModelSpec {
    ModelSpec {
        n_head: 8,
        head_dim: Some(64),
        sliding_window: Some(128),
        swa_period: Some(2),
        n_expert: 16,
        n_expert_used: 4,
        expert_ff: Some(256),
        ..base(Arch::GptOss, 4, 49_152)
    }
}

fn cohere2() -> ModelSpec {
    ModelSpec {
        n_head_kv: 1,
        head_dim: Some(64),
        sliding_window: Some(4096),
        swa_period: Some(4),
        tied_embeddings: true,
        ..base(Arch::Cohere2, 4, 256_000)
    }
}

fn settings(fa: bool, kv: GgmlType, version: &str) -> Settings {
    Settings {
        flash_attn: if fa { FlashAttn::On } else { FlashAttn::Off },
        cache_type_k: kv,
        cache_type_v: if fa { kv } else { GgmlType::F16 },
        llama_cpp: LlamaCppVersion::parse(version).unwrap(),
        ..Settings::default()
    }
}

fn replay(spec: &ModelSpec, ctx: u64, s: &Settings) -> u64 {
    spec.validate().unwrap();
    cpu_compute_bytes(spec, &ContextShape::new(ctx, s), s).unwrap()
}

#[test]
fn matches_llama_cpp_reservations() {
    let f16 = GgmlType::F16;
    let q8 = GgmlType::Q8_0;
    // (model, context, flash attention, cache type, rules, bytes llama.cpp reserved)
    let cases: [(ModelSpec, u64, bool, GgmlType, &str, u64); 7] = [
        // The logits (63 MiB) land above a 6 MiB gap the last block's activations left.
        (qwen3(), 4096, true, f16, "current", 72_353_792),
        // Quantized K: Q and K pass through a Hadamard rotation.
        (qwen3(), 8192, false, q8, "current", 87_631_872),
        (deepseek2(), 4096, true, f16, "current", 213_985_280),
        (deepseek2(), 4096, false, f16, "current", 213_460_992),
        (gpt_oss(), 4096, true, f16, "current", 106_715_136),
        // Before PR #21277 the sliding-window cache is quantized and rotated too.
        (gpt_oss(), 8192, true, q8, "2026-03", 110_102_528),
        (cohere2(), 8192, true, q8, "2026-03", 525_862_912),
    ];
    for (spec, ctx, fa, kv, version, want) in cases {
        let got = replay(&spec, ctx, &settings(fa, kv, version));
        assert_eq!(
            got, want,
            "{:?} -c {ctx} fa {fa} {kv:?} ({version})",
            spec.arch
        );
    }
}

#[test]
fn architectures_without_a_graph_fall_back() {
    let s = Settings::default();
    let shape = ContextShape::new(4096, &s);
    let generic = ModelSpec {
        head_dim: Some(64),
        ..base(Arch::Generic, 2, 1000)
    };
    assert_eq!(cpu_compute_bytes(&generic, &shape, &s), None);
    let legacy_mla = ModelSpec {
        mla_legacy_kv: true,
        ..deepseek2()
    };
    assert_eq!(cpu_compute_bytes(&legacy_mla, &shape, &s), None);
}

/// The CPU compute buffer is not monotonic in the context: llama.cpp reserves 69.0 MiB for the
/// synthetic Qwen3 at `-c 4096 -fa on` but 64.0 MiB at `-c 512` and at `-c 32768`
/// (validation/report.md), because where the logits land depends on the holes earlier
/// activations left. It never drops below the logits and one embedding row per token.
#[test]
fn not_monotonic_in_context_but_never_below_the_logits() {
    let s = settings(true, GgmlType::F16, "current");
    let q = qwen3();
    assert_eq!(replay(&q, 512, &s), 67_110_912);
    assert_eq!(replay(&q, 32768, &s), 67_110_912);
    for spec in [qwen3(), deepseek2(), gpt_oss(), cohere2()] {
        for fa in [true, false] {
            let s = settings(fa, GgmlType::F16, "current");
            for ctx in (256..=16384).step_by(768) {
                let t = ContextShape::new(ctx, &s).n_tokens;
                let floor = (spec.n_vocab + spec.n_embd) * t * 4;
                let b = replay(&spec, ctx, &s);
                assert!(
                    b >= floor,
                    "{:?} fa {fa} -c {ctx}: {b} < {floor}",
                    spec.arch
                );
            }
        }
    }
}

fn tensor(bytes: u64, kind: Kind, srcs: &[usize], inplace: bool) -> Tensor {
    let mut sv = [NONE; 4];
    sv[..srcs.len()].copy_from_slice(srcs);
    Tensor {
        name: "t",
        layer: -1,
        ne: [bytes / 4, 1, 1, 1],
        esize: 4,
        kind,
        srcs: sv,
        inplace,
        output: false,
        op: Op::Other,
        weight: None,
        reads_kv: false,
    }
}

fn graph(ts: Vec<Tensor>) -> Graph {
    let leafs = (0..ts.len())
        .filter(|&i| ts[i].kind == Kind::Input)
        .collect();
    let nodes = (0..ts.len())
        .filter(|&i| ts[i].kind != Kind::Input)
        .collect();
    Graph {
        tensors: ts,
        leafs,
        nodes,
    }
}

#[test]
fn in_place_only_for_the_last_consumer() {
    // a → b (in place) while a has another consumer c: b gets its own memory.
    let g = graph(vec![
        tensor(1024, Kind::Input, &[], false),
        tensor(1024, Kind::Op, &[0], true),
        tensor(1024, Kind::Op, &[0, 1], false),
    ]);
    assert_eq!(simulate(&g, None), 3 * 1024);
    // Without the second consumer b reuses a, and c gets a fresh block.
    let g = graph(vec![
        tensor(1024, Kind::Input, &[], false),
        tensor(1024, Kind::Op, &[0], true),
        tensor(1024, Kind::Op, &[1], false),
    ]);
    assert_eq!(simulate(&g, None), 2 * 1024);
}

#[test]
fn a_view_keeps_its_source_alive_and_outputs_stay() {
    // a, view v of a, op b of v, op c of b: a is freed only after b ran, so c reuses it.
    let mut ts = vec![
        tensor(4096, Kind::Op, &[], false),
        tensor(4096, Kind::View(0), &[0], false),
        tensor(4096, Kind::Op, &[1], false),
        tensor(4096, Kind::Op, &[2], false),
    ];
    assert_eq!(simulate(&graph(ts.clone()), None), 2 * 4096);
    // Marking a as an output keeps it: c needs a third block.
    ts[0].output = true;
    assert_eq!(simulate(&graph(ts.clone()), None), 3 * 4096);
    ts[0].output = false;
    // An input nobody consumes is never freed.
    ts.insert(0, tensor(4096, Kind::Input, &[], false));
    for t in &mut ts[1..] {
        for s in &mut t.srcs {
            if *s != NONE {
                *s += 1;
            }
        }
        if let Kind::View(r) = t.kind {
            t.kind = Kind::View(r + 1);
        }
    }
    assert_eq!(simulate(&graph(ts), None), 3 * 4096);
}

#[test]
fn best_fit_takes_the_smallest_hole() {
    // Holes of 2 KiB and 1 KiB open up; a 1 KiB tensor goes into the 1 KiB hole, so a following
    // 2 KiB tensor still fits below the end.
    let g = graph(vec![
        tensor(2048, Kind::Input, &[], false), // 0: freed after 3
        tensor(1024, Kind::Input, &[], false), // 1: kept
        tensor(1024, Kind::Input, &[], false), // 2: freed after 3
        tensor(1024, Kind::Input, &[], false), // 3: kept to the end
        tensor(64, Kind::Op, &[0, 2], false),  // 4: last use of 0 and 2
        tensor(1024, Kind::Op, &[4], false),   // 5: takes the 1 KiB hole
        tensor(2048, Kind::Op, &[5, 1, 3], false),
    ]);
    assert_eq!(simulate(&g, None), 2048 + 3 * 1024 + 64);
}
