//! KV cache, compute, output and weight buffers against llama.cpp's own logs (tests/data/memory.csv
//! and llamacpp-logs.csv). Each test names its source rows; rows whose settings the log does not
//! give (pipeline-parallel compute with unknown ubatch, Ollama-made quants) are not checked.

use llmrig_core::estimate::{FlashAttn, GpuLayers, LlamaCppVersion, Settings, Warning};
use llmrig_core::model::RecurrentSpec;
use llmrig_core::quant::GgmlType;

use crate::common::{assert_mib, machine, run, spec, weights};

fn settings(ctx: u64, fa: bool, ngl: u32) -> Settings {
    Settings {
        ctx: Some(ctx),
        flash_attn: if fa { FlashAttn::On } else { FlashAttn::Off },
        gpu_layers: GpuLayers::Count(ngl),
        ..Settings::default()
    }
}

/// A build from before 2026 for a log that does not name its build: its host compute buffer
/// (embeddings plus mask, without the unused embeddings input every graph has had since PR #18898,
/// January 2026) dates it.
fn before_2026(s: Settings) -> Settings {
    Settings {
        llama_cpp: LlamaCppVersion::parse("2025-06").unwrap(),
        ..s
    }
}

/// memory.csv, OpenLLaMA 7B v2 on a V100, llama.cpp build 2709 (ggml-org CI logs): `-ngl 999`,
/// ctx 512 and 2048, ubatch 512, no flash attention (the build's default). Weights per buffer,
/// KV cache, CUDA0 and CUDA_Host compute buffers, all to the logged 0.01 MiB.
#[test]
fn open_llama_7b_v2_ci_logs() {
    let sp = spec("open-llama-7b-v2");
    // (quant, CPU model buffer, CUDA0 model buffer) in MiB.
    let cases = [
        ("F16", 250.00, 12603.02),
        ("Q8_0", 132.81, 6695.84),
        ("Q6_K", 102.54, 5169.81),
        ("Q5_K_M", 85.94, 4474.94),
        ("Q4_K_M", 70.31, 3820.94),
        ("Q4_0", 70.31, 3577.56),
        ("Q2_K", 41.02, 2373.81),
    ];
    let sys = machine(1);
    for (quant, cpu_w, gpu_w) in cases {
        let w = weights(&sp, quant);
        for (ctx, kv, compute, host) in [(512, 256.0, 70.50, 9.01), (2048, 1024.0, 164.00, 12.01)] {
            // Build 2709 is from April 2024.
            let s = Settings {
                llama_cpp: LlamaCppVersion::parse("2024-04").unwrap(),
                ..settings(ctx, false, 999)
            };
            let e = run(&w, &sys, &s);
            let (gpu, cpu) = (&e.memory.devices[0], &e.memory.devices[1]);
            let what = |f: &str| format!("open-llama-7b-v2 {quant} ctx {ctx} {f}");
            assert_mib(cpu.weights_bytes, cpu_w, 0.005, &what("CPU model buffer"));
            assert_mib(gpu.weights_bytes, gpu_w, 0.005, &what("CUDA0 model buffer"));
            assert_mib(gpu.kv_cache_bytes, kv, 0.005, &what("KV buffer"));
            assert_mib(
                gpu.compute_bytes,
                compute,
                0.005,
                &what("CUDA0 compute buffer"),
            );
            assert_mib(
                cpu.compute_bytes,
                host,
                0.005,
                &what("CUDA_Host compute buffer"),
            );
        }
        // Output buffer: 0.12 MiB for one sequence at ctx 512 (the 2048 runs are perplexity runs
        // with several sequences, whose count the log does not show).
        let e = run(&w, &sys, &settings(512, false, 999));
        assert_mib(
            e.memory.output_bytes,
            0.12,
            0.005,
            "open-llama output buffer",
        );
    }
}

/// memory.csv, LLaMA v2 7B on the CPU: n_ctx 2048, n_batch 2048, n_ubatch 512, no FA. The log
/// is from a 2024-era build (it has n_ubatch, added March 2024; its compute buffer has no room
/// for the KV index inputs that `set_rows` brought in mid-2025: today's graph would need 188 MiB,
/// 16 MiB of them V indices), so it is estimated with that era's rules.
#[test]
fn llama_2_7b_cpu_logs() {
    let sp = spec("llama-2-7b");
    let sys = machine(0);
    let s = Settings {
        llama_cpp: LlamaCppVersion::parse("2024-06").unwrap(),
        ..settings(2048, false, 0)
    };
    for (quant, model) in [("Q5_K_M", 4560.87), ("Q4_K_M", 3891.24)] {
        let e = run(&weights(&sp, quant), &sys, &s);
        let cpu = &e.memory.devices[0];
        assert_mib(
            cpu.weights_bytes,
            model,
            0.005,
            &format!("llama-2-7b {quant} CPU model buffer"),
        );
        assert_mib(
            cpu.kv_cache_bytes,
            1024.0,
            0.005,
            "llama-2-7b CPU KV buffer",
        );
        assert_mib(
            cpu.compute_bytes,
            164.01,
            0.005,
            "llama-2-7b CPU compute buffer",
        );
    }
}

/// llamacpp-logs.csv, "Mistral-7B-class (32L, 8 kv heads, vocab 32000)" (fedora-copr/logdetective
/// #106): ctx 2048 and 32768, ubatch 512, no FA. The log's model is Mistral 7B v0.1/v0.2, which has
/// the v0.3 architecture but a 32000-token vocabulary.
#[test]
fn mistral_7b_class_kv_and_compute() {
    let mut sp = spec("mistral-7b-v0.3");
    sp.n_vocab = 32000;
    let w = weights(&sp, "Q4_K_M");
    let sys = machine(1);
    for (ctx, kv, compute, host) in [(2048, 256.0, 164.0, 12.01), (32768, 4096.0, 2144.0, 72.01)] {
        let e = run(&w, &sys, &before_2026(settings(ctx, false, 99)));
        let (gpu, cpu) = (&e.memory.devices[0], &e.memory.devices[1]);
        assert_mib(
            gpu.kv_cache_bytes,
            kv,
            0.005,
            &format!("mistral ctx {ctx} kv_total"),
        );
        assert_mib(
            gpu.compute_bytes,
            compute,
            0.005,
            &format!("mistral ctx {ctx} compute_CUDA0"),
        );
        assert_mib(
            cpu.compute_bytes,
            host,
            0.005,
            &format!("mistral ctx {ctx} compute_CUDA_Host"),
        );
        assert_mib(
            e.memory.output_bytes,
            0.12,
            0.005,
            "mistral output_CUDA_Host",
        );
    }
}

/// llamacpp-logs.csv, Qwen2.5-3B-class (LLamaSharp #1099): ctx 4096, ubatch 512. The host buffer
/// (12.01 MiB = embeddings 4 + f32 mask 8) shows flash attention was off.
#[test]
fn qwen2_5_3b_logits_bound_compute() {
    let e = run(
        &weights(&spec("qwen2.5-3b"), "Q4_K_M"),
        &machine(1),
        &before_2026(settings(4096, false, 99)),
    );
    let (gpu, cpu) = (&e.memory.devices[0], &e.memory.devices[1]);
    assert_mib(gpu.kv_cache_bytes, 144.0, 0.005, "qwen2.5-3b kv_total");
    assert_mib(gpu.compute_bytes, 300.75, 0.005, "qwen2.5-3b compute_CUDA0");
    assert_mib(
        cpu.compute_bytes,
        12.01,
        0.005,
        "qwen2.5-3b compute_CUDA_Host",
    );
    assert_mib(
        e.memory.output_bytes,
        0.58,
        0.005,
        "qwen2.5-3b output_CUDA_Host",
    );
}

/// llamacpp-logs.csv, Qwen2.5-7B-class (JamePeng/llama-cpp-python #1): ctx 2048 KV 112 MiB.
#[test]
fn qwen2_5_7b_kv() {
    let e = run(
        &weights(&spec("qwen2.5-7b"), "Q4_K_M"),
        &machine(1),
        &settings(2048, true, 99),
    );
    assert_mib(e.memory.kv_cache_bytes, 112.0, 0.005, "qwen2.5-7b kv_total");
    assert_mib(
        e.memory.output_bytes,
        0.58,
        0.005,
        "qwen2.5-7b output_CUDA_Host",
    );
}

/// llamacpp-logs.csv, Qwen2.5-Coder-32B-class, q8_0 K and V at ctx 32768 with FA (llama.cpp
/// #11200): K 2176, V 2176, 4352 MiB in all; 41 layers hold 2788 MiB, 23 layers 1564 MiB.
#[test]
fn qwen2_5_coder_32b_q8_0_kv() {
    let s = Settings {
        cache_type_k: GgmlType::Q8_0,
        cache_type_v: GgmlType::Q8_0,
        ..settings(32768, true, 99)
    };
    let e = run(
        &weights(&spec("qwen2.5-coder-32b"), "Q4_K_M"),
        &machine(1),
        &s,
    );
    assert_mib(
        e.memory.kv_cache_bytes,
        4352.0,
        0.005,
        "qwen2.5-coder-32b kv_total",
    );
    let per_layer = e.memory.kv_cache_bytes / 64;
    assert_mib(per_layer * 41, 2788.0, 0.005, "kv_CUDA0 (41 layers)");
    assert_mib(per_layer * 23, 1564.0, 0.005, "kv_CUDA1 (23 layers)");
}

/// llamacpp-logs.csv, DeepSeek-V3 671B with the legacy (pre-MLA-keys) cache: K 24576 and V 16384
/// per token and layer. ollama #8447: ctx 2048, `-ngl 1` → 9760 MiB, 9600 on the CPU, 160 on CUDA0.
/// ollama #9170: ctx 8192 → 39040 MiB (K 23424, V 15616).
#[test]
fn deepseek_v3_legacy_kv() {
    let mut sp = spec("deepseek-v3");
    sp.mla_legacy_kv = true;
    let w = weights(&sp, "Q4_K_M");
    // Ollama's llama.cpp of January 2025 put the last block (not the output) on the GPU first.
    let jan_2025 = |ctx| Settings {
        llama_cpp: LlamaCppVersion::parse("2025-01").unwrap(),
        ..settings(ctx, false, 1)
    };
    let e = run(&w, &machine(1), &jan_2025(2048));
    assert_mib(e.memory.kv_cache_bytes, 9760.0, 0.005, "deepseek kv_total");
    assert_mib(
        e.memory.devices[1].kv_cache_bytes,
        9600.0,
        0.005,
        "deepseek kv_CPU",
    );
    assert_mib(
        e.memory.devices[0].kv_cache_bytes,
        160.0,
        0.005,
        "deepseek kv_CUDA0",
    );
    let e = run(&w, &machine(1), &jan_2025(8192));
    assert_mib(
        e.memory.kv_cache_bytes,
        39040.0,
        0.005,
        "deepseek 8192 kv_total",
    );
    // The current MLA cache (one 576-wide latent per token and layer, no V) is ~71x smaller.
    let mla = run(
        &weights(&spec("deepseek-v3"), "Q4_K_M"),
        &machine(1),
        &settings(8192, true, 1),
    );
    assert_mib(
        mla.memory.kv_cache_bytes,
        549.0,
        0.005,
        "deepseek MLA kv at 8192",
    );
}

/// llamacpp-logs.csv, gemma-3-270m SWA cache (unsloth #7530): 3 full + 15 sliding layers, 1 KV head
/// of 256, window 512, ubatch 512, f16; sequences not unified.
#[test]
fn gemma_3_270m_swa_kv() {
    let w = weights(&spec("gemma-3-270m"), "Q4_K_M");
    for (ctx, np, want) in [
        (1024, 3, 27.0),
        (1024, 4, 18.0),
        (8192, 1, 39.0),
        (8192, 2, 54.0),
        (8192, 4, 84.0),
    ] {
        let s = Settings {
            parallel: np,
            ..settings(ctx, true, 99)
        };
        let e = run(&w, &machine(1), &s);
        assert_mib(
            e.memory.kv_cache_bytes,
            want,
            0.005,
            &format!("gemma-3-270m ctx {ctx} np {np}"),
        );
    }
}

/// llamacpp-logs.csv, Qwen3.5-27B recurrent state (llama.cpp PR #23792): 48 recurrent layers of 64,
/// d_inner 6144, d_state 128, 16 groups, conv kernel 4, 3 sequences → R 16.88, S 432 MiB.
#[test]
fn qwen3_5_recurrent_state() {
    let mut sp = spec("qwen3-32b");
    sp.n_layer = 64;
    sp.recurrent = Some(RecurrentSpec {
        d_conv: 4,
        d_inner: 6144,
        d_state: 128,
        n_group: 16,
        attention_period: Some(4),
        ..RecurrentSpec::default()
    });
    let s = Settings {
        parallel: 3,
        ..settings(4096, true, 99)
    };
    let shape = llmrig_core::estimate::ContextShape::new(4096, &s);
    let (mut r, mut st) = (0, 0);
    for il in 0..64 {
        if sp.is_recurrent_layer(il) {
            let (k, v) = llmrig_core::estimate::layer_kv_bytes(&sp, il, &shape, &s);
            r += k;
            st += v;
        }
    }
    assert_mib(r, 16.88, 0.005, "qwen3.5 rs_R");
    assert_mib(st, 432.0, 0.005, "qwen3.5 rs_S");
}

/// llamacpp-logs.csv, command-r7b fp16 with 32/33 layers offloaded (ollama #8471): the output layer
/// stays on the CPU, so op_offload copies the f16 tied embedding (2000 MiB) into CUDA0's compute
/// buffer next to the logits (500 + 8 MiB): 2508 MiB, the allocation that failed.
#[test]
fn command_r7b_partial_offload_compute_buffer() {
    let w = weights(&spec("command-r7b"), "F16");
    // Ollama's llama.cpp of January 2025: `-ngl 32` of 33 left the output layer on the CPU.
    let s = Settings {
        llama_cpp: LlamaCppVersion::parse("2025-01").unwrap(),
        ..settings(2048, false, 32)
    };
    let e = run(&w, &machine(1), &s);
    assert_eq!(e.offload.gpu_layers, 32);
    assert_mib(
        e.memory.devices[0].compute_bytes,
        2508.0,
        0.005,
        "command-r7b compute_CUDA0",
    );
}

/// Version-dependent rules (`--llama-cpp YYYY-MM`): the MLA cache allocates V before Jan 2026, the
/// sliding-window cache follows a quantized -ctk/-ctv before Apr 2026, and the context is padded to
/// 32 without flash attention before Nov 2025.
#[test]
fn llama_cpp_version_rules() {
    use llmrig_core::estimate::LlamaCppVersion;
    let at = |v: &str, s: Settings| Settings {
        llama_cpp: LlamaCppVersion::parse(v).unwrap(),
        ..s
    };
    // DeepSeek-V3 at 8192: the latent (576) is K; V (512) only in older builds.
    let w = weights(&spec("deepseek-v3"), "Q4_K_M");
    let now = run(&w, &machine(1), &settings(8192, true, 1));
    let old = run(&w, &machine(1), &at("2025-12", settings(8192, true, 1)));
    assert_mib(
        now.memory.kv_cache_bytes,
        61.0 * 8192.0 * 576.0 * 2.0 / 1048576.0,
        0.005,
        "MLA now",
    );
    assert_mib(
        old.memory.kv_cache_bytes,
        61.0 * 8192.0 * (576.0 + 512.0) * 2.0 / 1048576.0,
        0.005,
        "MLA 2025-12",
    );
    // gemma-3-270m with q8_0 K/V: SWA layers stay F16 now, follow q8_0 before Apr 2026.
    let g = weights(&spec("gemma-3-270m"), "Q4_K_M");
    let q8 = |s: Settings| Settings {
        cache_type_k: GgmlType::Q8_0,
        cache_type_v: GgmlType::Q8_0,
        ..s
    };
    let now = run(&g, &machine(1), &q8(settings(8192, true, 99)));
    let old = run(
        &g,
        &machine(1),
        &at("2026-03", q8(settings(8192, true, 99))),
    );
    // Full layers: 3 × 8192 × 512 × 34/32; SWA layers: 15 × 1024 × 512 × (2 now, 34/32 before).
    let full = 3.0 * 8192.0 * 512.0 * 34.0 / 32.0;
    assert_mib(
        now.memory.kv_cache_bytes,
        (full + 15.0 * 1024.0 * 512.0 * 2.0) / 1048576.0,
        0.005,
        "SWA now",
    );
    assert_mib(
        old.memory.kv_cache_bytes,
        (full + 15.0 * 1024.0 * 512.0 * 34.0 / 32.0) / 1048576.0,
        0.005,
        "SWA 2026-03",
    );
    // Context padding: -c 1000 without FA is 1024 cells now, 1024 (32-aligned: 1024) before; -c 1010
    // gives 1024 now and 1024 before; -c 1030 gives 1280 now but 1056 before.
    let l = weights(&spec("llama-3.1-8b"), "Q4_K_M");
    let now = run(&l, &machine(1), &settings(1030, false, 99));
    let old = run(&l, &machine(1), &at("2025-06", settings(1030, false, 99)));
    assert_eq!(now.resolved.shape.n_ctx, 1280);
    assert_eq!(old.resolved.shape.n_ctx, 1056);
    assert!(LlamaCppVersion::parse("2025-13").is_none());
    assert!(LlamaCppVersion::parse("soon").is_none());
}

/// A GPU on a narrow PCIe link (a riser) with weights in RAM: a warning, and slower prefill (the
/// weights cross the link for every ubatch).
#[test]
fn narrow_pcie_link_warns_and_slows_offloaded_prefill() {
    let w = weights(&spec("llama-3.1-70b"), "Q4_K_M");
    let mut sys = machine(1);
    sys.gpus[0].memory_bytes = 24 << 30;
    let s = settings(4096, true, 40);
    let wide = run(&w, &sys, &s);
    sys.gpus[0].pcie_gen = Some(3);
    sys.gpus[0].pcie_width = Some(1);
    let narrow = run(&w, &sys, &s);
    assert!(narrow
        .warnings
        .iter()
        .any(|x| matches!(x, Warning::NarrowPcieLink { .. })));
    assert!(!wide
        .warnings
        .iter()
        .any(|x| matches!(x, Warning::NarrowPcieLink { .. })));
    assert!(narrow.performance.prefill_tokens_per_s < wide.performance.prefill_tokens_per_s / 5.0);
}
