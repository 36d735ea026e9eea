//! Other engines' memory (`--backend`) against the numbers their users and authors published.

use llmrig_core::estimate::{Backend, GpuLayers, Settings};
use llmrig_core::quant::GgmlType;

use crate::common::{machine, run, spec, weights};

fn settings(backend: Backend, ctx: u64, cache: GgmlType) -> Settings {
    Settings {
        backend,
        ctx: Some(ctx),
        gpu_layers: GpuLayers::Auto,
        cache_type_k: cache,
        cache_type_v: cache,
        ..Settings::default()
    }
}

/// turboderp/exllamav2 issue #425: Phi-3-mini's cache takes 384 KiB per token in FP16 and 108 KiB
/// in Q4 (4-bit values plus one fp16 scale per 32). A quantized cache also keeps one FP16 layer
/// of the full length per device to (de)quantize through (cache.py `touch_device`): 2 · 2 · 3072 B
/// = 12 KiB more per token.
#[test]
fn exllamav2_cache_per_token() {
    let sp = spec("phi-3-mini");
    let w = weights(&sp, "exl2:4.0");
    for (cache, kib) in [(GgmlType::F16, 384.0), (GgmlType::Q4_0, 108.0 + 12.0)] {
        let a = run(&w, &machine(1), &settings(Backend::ExLlamaV2, 4096, cache));
        let b = run(&w, &machine(1), &settings(Backend::ExLlamaV2, 8192, cache));
        #[allow(clippy::cast_precision_loss)]
        let per_token = (b.memory.devices[0].kv_cache_bytes - a.memory.devices[0].kv_cache_bytes)
            as f64
            / 4096.0
            / 1024.0;
        assert!(
            (per_token - kib).abs() < 0.01,
            "{cache:?}: {per_token} KiB/token, want {kib}"
        );
    }
}

/// oobabooga/text-generation-webui PR #6903: Qwen2.5-32B EXL3 4.0 bpw at 8192 tokens used 18665 MiB
/// with an FP16 cache and 16827 MiB with a 4-bit cache (nvidia-smi, the whole process). llmrig's
/// sum of weights, cache, scratch and the PyTorch runtime is within 8% of both.
#[test]
fn exllamav3_total_near_a_published_run() {
    let sp = spec("qwen2.5-32b");
    let w = weights(&sp, "exl3:4.0");
    for (cache, mib) in [(GgmlType::F16, 18665.0), (GgmlType::Q4_0, 16827.0)] {
        let e = run(&w, &machine(1), &settings(Backend::ExLlamaV3, 8192, cache));
        #[allow(clippy::cast_precision_loss)]
        let got = e.memory.devices[0].total_bytes as f64 / (1 << 20) as f64;
        assert!(
            (got / mib - 1.0).abs() < 0.08,
            "{cache:?}: {got:.0} MiB, published {mib}"
        );
    }
}

/// ExLlama and MLX cannot offload layers: every layer is on the GPU, whatever -ngl says.
#[test]
fn gpu_only_engines_keep_every_layer_on_the_gpu() {
    let sp = spec("llama-3.1-8b");
    let w = weights(&sp, "exl2:4.0");
    let s = Settings {
        gpu_layers: GpuLayers::Count(10),
        ..settings(Backend::ExLlamaV2, 8192, GgmlType::F16)
    };
    let e = run(&w, &machine(1), &s);
    assert_eq!(e.memory.devices[0].layers, sp.n_layer + 1);
}
