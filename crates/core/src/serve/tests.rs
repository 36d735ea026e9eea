//! Tests of the serving plans: hand-computed plans, published vLLM logs and timings, monotonicity,
//! engine flags, and the links inside a node.

use super::memory::pp_layer_counts;
use super::speed::experts_touched;
use super::*;
use crate::model::{Arch, ModelSpec};
use crate::quant::{OtherFormat, Quant};
use crate::system::{DeviceSpec, GpuApi};
use crate::units::GIB;

fn nvlink(gbs: f64, max_gpus: Option<u32>, gen: PcieGen) -> Interconnect {
    Interconnect {
        fabric: Some(Fabric {
            kind: FabricKind::NvLink,
            bandwidth_bytes_per_s: gbs * 1e9,
            max_gpus,
        }),
        pcie: Pcie {
            gen,
            lanes: 16,
            peer_to_peer: true,
        },
    }
}

fn pcie(gen: PcieGen, peer_to_peer: bool) -> Interconnect {
    Interconnect {
        fabric: None,
        pcie: Pcie {
            gen,
            lanes: 16,
            peer_to_peer,
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn llama(layers: u32, d: u64, ff: u64, heads: u32, kv: u32, vocab: u64) -> ModelSpec {
    ModelSpec {
        id: "t".into(),
        name: "test llama".into(),
        arch: Arch::Llama,
        n_layer: layers,
        n_embd: d,
        n_ff: ff,
        n_head: heads,
        n_head_kv: kv,
        head_dim: Some(128),
        n_vocab: vocab,
        context_length: 131_072,
        ..ModelSpec::default()
    }
}

fn bf16(spec: &ModelSpec) -> ModelWeights {
    ModelWeights::new(spec, Quant::Other(OtherFormat::Bf16))
}

fn gpu(name: &str, gib: u64, tbs: f64, tflops: f64) -> DeviceSpec {
    DeviceSpec {
        name: name.into(),
        memory_bytes: gib << 30,
        bandwidth_bytes_per_s: tbs * 1e12,
        fp16_flops: tflops * 1e12,
        api: GpuApi::Cuda,
        ..DeviceSpec::default()
    }
}

fn h100s(n: usize) -> Cluster {
    Cluster {
        gpus: vec![gpu("NVIDIA H100 SXM 80GB", 80, 3.35, 989.4); n],
        nodes: 1,
        // NVLink4 900 GB/s total; PCIe 5.0 x16.
        interconnect: nvlink(900.0, None, PcieGen::Gen5),
        fp8_flops: 1978.9e12,
        internode: InterNode::IbNdr,
    }
}

fn settings(users: u32, tp: Option<u32>) -> ServeSettings {
    ServeSettings {
        users,
        tp,
        max_model_len: 8192,
        ..ServeSettings::default()
    }
}

#[test]
fn llama_70b_on_8_h100_by_hand() {
    let w = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
    let p = plan_serving(&w, &h100s(8), &settings(64, Some(8))).unwrap();
    let b = &p.best;
    assert_eq!((b.plan.tp, b.plan.pp, b.plan.dp), (8, 1, 1));
    // Weights: 70.55e9 params × 2 B = 141.1 GB; / 8 = 17.64 GB (16.43 GiB) per GPU.
    let wt = b.memory_per_gpu.weights_bytes as f64;
    assert!((wt / 17.64e9 - 1.0).abs() < 0.002, "{wt}");
    // KV per token: 80 layers × 2 (K, V) × 8 KV heads × 128 × 2 B = 320 KiB; one head per GPU
    // at TP8 = 40 KiB.
    assert_eq!(b.kv_bytes_per_token_per_gpu, 40 << 10);
    // Budget 0.9 × 79.18 GiB = 71.26 GiB. Activations: the forward of 8192 tokens,
    // 8192 × (3·8192 + 3·28672/8) × 2 B = 0.539 GiB, beats the sampler's
    // 38.5 × 64 × 128256 B = 0.294 GiB. Non-torch 0.55 GiB. KV = 71.26 − 16.43 − 0.54 − 0.55
    // = 53.74 GiB = 88 050 blocks of 16 × 40 KiB → 1 408 800 tokens; 8192-token sequences
    // take 512 blocks: 171 of them fit.
    let kv = b.memory_per_gpu.kv_capacity_bytes as f64 / GIB;
    assert!((kv - 53.74).abs() < 0.02, "{kv}");
    assert!(
        b.kv_tokens_total.abs_diff(1_408_800) < 700,
        "{}",
        b.kv_tokens_total
    );
    assert_eq!(b.max_concurrent_seqs, 171);
    assert_eq!(b.fit, Fit::Fits);
    assert_eq!(b.max_num_seqs, 64);
    // Decode at 64 × 4096 tokens: weights read 17.37 GB (the input embedding is a lookup) + KV
    // 64·4096·40 KiB = 10.74 GB at 0.8 × 3.35 TB/s = 10.49 ms (compute: 2 ms); 160 all-reduces
    // of 64·8192·2 B = 1 MiB, each 25 µs + 1.75 MiB / 315 GB/s = 30.8 µs, = 4.93 ms; 1.5 ms
    // step: 16.9 ms, 59 tokens/s per user.
    let t = 1.0 / b.performance.per_user_decode_tokens_per_s;
    assert!((t - 0.0169).abs() < 0.0002, "{t}");
    assert!((b.performance.aggregate_tokens_per_s * t - 64.0).abs() < 1e-6);
    assert!(p.command(None, "meta-llama/Llama-3.1-70B-Instruct", None).starts_with(
        "vllm serve meta-llama/Llama-3.1-70B-Instruct --tensor-parallel-size 8 --pipeline-parallel-size 1 --max-model-len 8192 --max-num-seqs 64"
    ));
}

#[test]
fn llama_8b_kv_matches_vllm_log() {
    // vLLM v0.11.0, H100 (79.18 GiB), --max-model-len 16000 --block-size 128, default 1024
    // sequences: "Available KV cache memory: 51.38 GiB" after 14.99 GiB of weights, 4.76 GiB
    // of activations and 0.13 GiB non-torch.
    let w = bf16(&llama(32, 4096, 14336, 32, 8, 128_256));
    let s = ServeSettings {
        users: 1024,
        max_model_len: 16000,
        block_size: 128,
        tp: Some(1),
        ..ServeSettings::default()
    };
    let b = plan_serving(&w, &h100s(1), &s).unwrap().best;
    let kv = b.memory_per_gpu.kv_capacity_bytes as f64 / GIB;
    assert!((kv / 51.38 - 1.0).abs() < 0.01, "{kv}");
    let act = b.memory_per_gpu.activations_bytes as f64 / GIB;
    assert!((act / 4.76 - 1.0).abs() < 0.03, "{act}");
}

#[test]
fn tp4_decode_near_published_vllm() {
    // A published vLLM benchmark, TP4 Qwen2.5-7B at concurrency 1: TPOT 3.93 ms on 4×H100 NVL (NVLink bridges
    // join pairs, so the 4-way ring crosses PCIe), 5.49 ms on 4×A100.
    let w = bf16(&ModelSpec {
        n_ff: 18944,
        ..llama(28, 3584, 18944, 28, 4, 152_064)
    });
    let s = ServeSettings {
        users: 1,
        tp: Some(4),
        max_model_len: 2048,
        depth: Some(256),
        ..ServeSettings::default()
    };
    let nvl = Cluster {
        gpus: vec![gpu("NVIDIA H100 NVL 94GB", 94, 3.9, 835.5); 4],
        // PCIe 5.0 x16; NVLink bridge 600 GB/s.
        interconnect: nvlink(600.0, Some(2), PcieGen::Gen5),
        ..h100s(4)
    };
    let a100 = Cluster {
        gpus: vec![gpu("NVIDIA A100 SXM4 80GB", 80, 2.039, 312.0); 4],
        // NVLink3 600 GB/s total; PCIe 4.0 x16.
        interconnect: nvlink(600.0, None, PcieGen::Gen4),
        ..h100s(4)
    };
    for (c, ms) in [(nvl, 3.93), (a100, 5.49)] {
        let b = plan_serving(&w, &c, &s).unwrap().best;
        let t = 1e3 / b.performance.per_user_decode_tokens_per_s;
        assert!(
            (t / ms - 1.0).abs() < 0.25,
            "{}: {t:.2} ms vs {ms}",
            c.gpus[0].name
        );
    }
}

#[test]
fn more_gpus_never_reduce_kv_capacity() {
    let w = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
    let mut last = 0;
    for n in [2u32, 4, 8] {
        let p = plan_serving(&w, &h100s(n as usize), &settings(16, Some(n))).unwrap();
        assert!(p.best.kv_tokens_total >= last, "{n} GPUs");
        last = p.best.kv_tokens_total;
    }
    // With the planner's choice too, over every plan it considered.
    let most = |n: usize| {
        let p = plan_serving(&w, &h100s(n), &settings(16, None)).unwrap();
        std::iter::once(&p.best)
            .chain(&p.alternatives)
            .map(|c| c.kv_tokens_total)
            .max()
            .unwrap()
    };
    assert!(most(8) >= most(4) && most(4) >= most(2));
}

#[test]
fn more_users_never_raise_per_user_speed() {
    let w = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
    let mut last = f64::INFINITY;
    for users in [1, 2, 8, 32, 64, 128, 256, 1024] {
        let b = plan_serving(&w, &h100s(8), &settings(users, Some(8)))
            .unwrap()
            .best;
        let v = b.performance.per_user_decode_tokens_per_s;
        assert!(v <= last + 1e-9, "{users} users: {v} > {last}");
        last = v;
    }
}

#[test]
fn llama_405b_bf16_on_two_4090s_does_not_fit() {
    let w = bf16(&ModelSpec {
        n_layer: 126,
        ..llama(126, 16384, 53248, 128, 8, 128_256)
    });
    let c = Cluster {
        gpus: vec![gpu("NVIDIA GeForce RTX 4090", 24, 1.008, 165.2); 2],
        // PCIe 4.0 x16 (no NVLink; no P2P).
        interconnect: pcie(PcieGen::Gen4, false),
        fp8_flops: 0.0,
        ..h100s(2)
    };
    let p = plan_serving(&w, &c, &settings(1, None)).unwrap();
    assert_eq!(p.best.fit, Fit::DoesNotFit);
    let msg = &p
        .warnings
        .iter()
        .find(|w| w.code() == "does-not-fit")
        .unwrap()
        .to_string();
    assert!(
        msg.contains("does not fit 2 × NVIDIA GeForce RTX 4090"),
        "{msg}"
    );
    assert!(msg.contains("such GPUs are needed"), "{msg}");
    assert!(p.alternatives.is_empty());
}

#[test]
fn planner_prefers_replicas_for_small_models_and_tp_for_large() {
    let small = bf16(&llama(32, 4096, 14336, 32, 8, 128_256));
    let p = plan_serving(&small, &h100s(8), &settings(256, None)).unwrap();
    assert!(p.best.plan.dp > 1, "{:?}", p.best.plan);
    assert!(p.best.meets_min_tps);
    let big = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
    let p = plan_serving(&big, &h100s(8), &settings(64, None)).unwrap();
    assert_eq!(p.best.fit, Fit::Fits);
    assert!(p.best.plan.tp >= 4, "{:?}", p.best.plan);
    assert!(p
        .command(None, "m", None)
        .contains("--tensor-parallel-size"));
}

#[test]
fn pipeline_across_nodes_and_sglang_flags() {
    let w = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
    let c = Cluster {
        nodes: 2,
        ..h100s(8)
    };
    let s = ServeSettings {
        engine: Engine::Sglang,
        tp: Some(8),
        pp: Some(2),
        kv_dtype: KvDtype::Fp8,
        ..settings(64, Some(8))
    };
    let p = plan_serving(&w, &c, &s).unwrap();
    assert_eq!((p.best.plan.tp, p.best.plan.pp, p.best.plan.dp), (8, 2, 1));
    // 40 layers per stage × 1 head × 128 × 2 × 1 B (fp8).
    assert_eq!(p.best.kv_bytes_per_token_per_gpu, 40 * 2 * 128);
    assert!((p.best.memory_utilization - 0.79).abs() < 1e-9);
    let cmd = p.command(None, "m", None);
    assert!(cmd.contains("--tp 8 --pp-size 2"), "{cmd}");
    assert!(
        cmd.contains("--kv-cache-dtype fp8_e4m3 --nnodes 2"),
        "{cmd}"
    );
    assert!(p.warnings.iter().any(|w| w.code() == "multi-node-launch"));
}

#[test]
fn layers_split_like_vllm() {
    assert_eq!(pp_layer_counts(80, 3), vec![27, 27, 26]);
    assert_eq!(pp_layer_counts(61, 4), vec![15, 15, 16, 15]);
    assert_eq!(pp_layer_counts(32, 1), vec![32]);
}

#[test]
fn links_inside_a_node() {
    let nv = nvlink(900.0, None, PcieGen::Gen5).link(8);
    assert!((nv.bandwidth_bytes_per_s - 315e9).abs() < 1e6);
    assert!((nv.latency_s - 25e-6).abs() < 1e-9);
    let gh = nvlink(900.0, None, PcieGen::Gen5).link(4);
    assert!((gh.latency_s - 17.5e-6).abs() < 1e-9);
    let bridge = Interconnect {
        pcie: Pcie {
            peer_to_peer: false,
            ..nvlink(112.5, Some(2), PcieGen::Gen4).pcie
        },
        ..nvlink(112.5, Some(2), PcieGen::Gen4)
    };
    let pair = bridge.link(2);
    assert!((pair.latency_s - 10e-6).abs() < 1e-9);
    assert!((pair.bandwidth_bytes_per_s - 39.375e9).abs() < 1e3);
    let four = bridge.link(4);
    assert_eq!(four.name, "PCIe without P2P");
    assert!((four.bandwidth_bytes_per_s - 12.5e9).abs() < 1.0);
    assert!((four.latency_s - 50e-6).abs() < 1e-9);
    let four_way = nvlink(900.0, Some(4), PcieGen::Gen5);
    assert!((four_way.link(4).latency_s - 17.5e-6).abs() < 1e-9);
    assert_eq!(four_way.link(8).name, "PCIe");
    let mi = Interconnect {
        fabric: Some(Fabric {
            kind: FabricKind::InfinityFabric,
            bandwidth_bytes_per_s: 896e9,
            max_gpus: None,
        }),
        ..pcie(PcieGen::Gen5, true)
    };
    assert!((mi.link(8).bandwidth_bytes_per_s - 313.6e9).abs() < 1e6);
    let l40 = Interconnect::default().link(4);
    assert!((l40.bandwidth_bytes_per_s - 25e9).abs() < 1.0);
    let x8 = Interconnect {
        pcie: Pcie {
            lanes: 8,
            ..pcie(PcieGen::Gen5, true).pcie
        },
        fabric: None,
    };
    assert!((x8.link(2).bandwidth_bytes_per_s - 25e9).abs() < 1.0);
}

#[test]
fn bad_sizes_are_errors() {
    let w = bf16(&llama(80, 8192, 28672, 64, 8, 128_256));
    let e = plan_serving(&w, &h100s(8), &settings(1, Some(3))).unwrap_err();
    assert!(e.to_string().contains("attention heads"), "{e}");
    let mut s = settings(1, None);
    s.memory_utilization = Some(1.5);
    assert!(plan_serving(&w, &h100s(8), &s).is_err());
    let none = Cluster {
        gpus: vec![],
        ..h100s(1)
    };
    assert_eq!(plan_serving(&w, &none, &s), Err(PlanError::NoGpu));
}

#[test]
fn moe_reads_more_experts_with_batch() {
    let spec = ModelSpec {
        n_expert: 8,
        n_expert_used: 2,
        ..llama(32, 4096, 14336, 32, 8, 32000)
    };
    assert!((experts_touched(&spec, 1.0) - 2.0).abs() < 1e-9);
    assert!((experts_touched(&spec, 4.0) - 5.47).abs() < 0.01);
}
