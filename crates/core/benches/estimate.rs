//! Speed targets of the estimator (issue: `estimate` for a 70B model under 1 ms, `max_context` under
//! 10 ms). The model's weights are built once, as the CLI does; `estimate` then resolves `-ngl auto`
//! and the largest context.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use llmrig_core::estimate::{estimate, max_context, GpuLayers, ModelWeights, Settings};
use llmrig_core::model::{Arch, ModelSpec};
use llmrig_core::quant::Quant;
use llmrig_core::system::{CpuSpec, DeviceKind, DeviceSpec, GpuApi, SystemSpec};

/// Llama 3.1 70B's architecture (meta-llama/Llama-3.1-70B config.json, as in the catalog).
fn llama_70b() -> ModelSpec {
    ModelSpec {
        id: "llama-3.1-70b".into(),
        name: "Llama 3.1 70B".into(),
        arch: Arch::Llama,
        n_layer: 80,
        n_embd: 8192,
        n_ff: 28672,
        n_head: 64,
        n_head_kv: 8,
        head_dim: Some(128),
        n_vocab: 128_256,
        tied_embeddings: false,
        context_length: 131_072,
        rope_theta: Some(500_000.0),
        rope_scaling: Some("llama3 factor 8".into()),
        ..ModelSpec::default()
    }
}

fn rtx_4090_box() -> SystemSpec {
    SystemSpec {
        gpus: vec![DeviceSpec {
            name: "NVIDIA GeForce RTX 4090".into(),
            kind: DeviceKind::Gpu,
            memory_bytes: 24 << 30,
            bandwidth_bytes_per_s: 1008e9,
            fp16_flops: 165.2e12,
            int8_ops: 660.6e12,
            fp16_acc16_flops: 0.0,
            api: GpuApi::Cuda,
            memory_tech: llmrig_core::system::MemoryTech::Gddr,
            ..DeviceSpec::default()
        }],
        cpu: CpuSpec {
            name: "desktop".into(),
            ram_bytes: 64 << 30,
            bandwidth_bytes_per_s: 89.6e9,
            flops: 1e12,
            cores: 8,
            ..CpuSpec::default()
        },
        ..SystemSpec::default()
    }
}

fn bench(c: &mut Criterion) {
    let spec = llama_70b();
    let sys = rtx_4090_box();
    let w = ModelWeights::new(&spec, Quant::parse("Q4_K_M").unwrap());
    let fixed = Settings {
        ctx: Some(8192),
        gpu_layers: GpuLayers::Count(40),
        ..Settings::default()
    };
    let auto = Settings {
        ctx: Some(8192),
        ..Settings::default()
    };
    c.bench_function("estimate 70b Q4_K_M -c 8192 -ngl 40", |b| {
        b.iter(|| estimate(black_box(&w), &sys, &fixed).unwrap());
    });
    c.bench_function("estimate 70b Q4_K_M -c 8192 -ngl auto", |b| {
        b.iter(|| estimate(black_box(&w), &sys, &auto).unwrap());
    });
    c.bench_function("max_context 70b Q4_K_M -ngl auto", |b| {
        b.iter(|| max_context(black_box(&w), &sys, &auto).unwrap());
    });
    // CPU only: the compute buffer comes from replaying ggml-alloc over the 80-layer graph.
    let cpu_only = SystemSpec {
        gpus: Vec::new(),
        ..sys.clone()
    };
    c.bench_function("estimate 70b Q4_K_M -c 8192 CPU only (graph replay)", |b| {
        b.iter(|| estimate(black_box(&w), &cpu_only, &fixed).unwrap());
    });
    let shape = llmrig_core::estimate::ContextShape::new(8192, &fixed);
    c.bench_function("graph replay 70b -c 8192", |b| {
        b.iter(|| {
            llmrig_core::estimate::graph::cpu_compute_bytes(black_box(&spec), &shape, &fixed)
        });
    });
    c.bench_function("max_context 70b Q4_K_M CPU only (graph replay)", |b| {
        b.iter(|| max_context(black_box(&w), &cpu_only, &auto).unwrap());
    });
    c.bench_function("weights 70b Q4_K_M (tensor inventory + mix)", |b| {
        b.iter(|| ModelWeights::new(black_box(&spec), Quant::parse("Q4_K_M").unwrap()));
    });
    image_bench(c);
}

/// The sd.cpp transformer replays `estimate flux.1-dev` and `sd-3.5-large` run once per estimate.
fn image_bench(c: &mut Criterion) {
    use llmrig_core::model::diffusion::{FluxConfig, Latent, MmditConfig};
    use llmrig_core::stack::image::graphs::{flux_compute, mmdit_compute};
    // black-forest-labs/FLUX.1-dev and stabilityai/stable-diffusion-3.5-large transformer configs.
    let flux = FluxConfig {
        hidden: 3072,
        head_dim: 128,
        double_blocks: 19,
        single_blocks: 38,
        in_channels: 64,
        context_dim: 4096,
        vec_dim: 768,
        guidance_embed: true,
    };
    let sd35l = MmditConfig {
        depth: 38,
        x_attn2_blocks: 0,
        pos_embed_max: 192,
        in_channels: 16,
        context_dim: 4096,
        pooled_dim: 2048,
    };
    let lat = |t| Latent {
        w: 128,
        h: 128,
        text_tokens: t,
    };
    c.bench_function(
        "sd.cpp FLUX.1 dev compute buffer 1024² (graph replay)",
        |b| {
            b.iter(|| flux_compute(black_box(&flux), lat(256), true));
        },
    );
    c.bench_function(
        "sd.cpp SD 3.5 Large compute buffer 1024² (graph replay, 38 blocks)",
        |b| {
            b.iter(|| mmdit_compute(black_box(&sd35l), lat(154), true));
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
