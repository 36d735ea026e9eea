//! Scenarios from issue 12, each with its reasoning: answers a user of llama.cpp acts on.

use llmrig_core::estimate::{estimate, GpuLayers, Settings, Verdict};

use crate::common::{spec, weights};

fn catalog_machine(gpu: &str, ram_gib: u64) -> llmrig_core::system::SystemSpec {
    let g = llmrig_catalog::devices()
        .find(gpu)
        .unwrap()
        .to_spec(None, None);
    let mut sys = crate::common::machine(0);
    sys.gpus = vec![g];
    sys.cpu.ram_bytes = ram_gib << 30;
    sys
}

/// One placement for every figure: Llama 3.1 8B Q4_K_M on an RTX 3060 12GB at `-c 8192` shows a
/// max context; asked for that context, `-ngl auto` keeps the same layers on the GPU and shows the
/// same max context (before, 57344 was shown, and at 57344 only 29 of 33 layers fit).
#[test]
fn max_context_on_a_3060_holds_when_asked_for() {
    let w = weights(&spec("llama-3.1-8b"), "Q4_K_M");
    let sys = catalog_machine("rtx-3060-12gb", 32);
    let at = |ctx: u64| {
        estimate(
            &w,
            &sys,
            &Settings {
                ctx: Some(ctx),
                gpu_layers: GpuLayers::Auto,
                ..Settings::default()
            },
        )
        .unwrap()
    };
    let first = at(8192);
    assert_eq!(first.offload.gpu_layers, 33);
    let max = first.max_context;
    assert!(max > 8192, "{max}");
    let asked = at(max);
    assert_eq!(
        asked.offload.gpu_layers, first.offload.gpu_layers,
        "at -c {max}"
    );
    assert_eq!(asked.max_context, max);
    // One step further no longer holds the placement.
    assert!(at(max + 256).offload.gpu_layers < 33);
}

/// MoE placement fills the GPU: Qwen3-235B-A22B Q4_K_M (132 GiB) on an RTX 3090 with 128 GiB of
/// DDR5 at 16k. Keeping every layer's experts in RAM would need 128.2 GiB of RAM and use 8 of the
/// 3090's 24 GiB; `--fit` keeps only as many expert layers in RAM as the GPU cannot hold, so the
/// model fits with the GPU nearly full (`--n-cpu-moe` between 1 and 93).
#[test]
fn qwen3_235b_on_a_3090_with_128_gib_fits_with_the_experts_split() {
    let w = weights(&spec("qwen3-235b-a22b"), "Q4_K_M");
    let mut sys = catalog_machine("rtx-3090", 128);
    sys.cpu.bandwidth_bytes_per_s = 89.6e9;
    let e = estimate(
        &w,
        &sys,
        &Settings {
            ctx: Some(16384),
            ..Settings::default()
        },
    )
    .unwrap();
    assert_ne!(e.verdict, Verdict::DoesNotFit, "{:?}", e.warnings);
    let gpu = &e.memory.devices[0];
    assert!(
        gpu.total_bytes >= 18 << 30,
        "{} bytes on the GPU",
        gpu.total_bytes
    );
    assert!(gpu.total_bytes + (1 << 30) <= gpu.capacity_bytes);
    assert!(
        (1..w.spec.n_layer).contains(&e.resolved.n_cpu_moe),
        "{}",
        e.resolved.n_cpu_moe
    );
}

/// Weights in RAM cost PCIe time in prefill: gpt-oss-120b with `--cpu-moe` on an RTX 3090 (PCIe
/// 4.0 x16, ~25 GB/s host to device). For each ubatch of 32 tokens or more llama.cpp copies the
/// RAM-resident weights the ubatch uses to the GPU (op offload); 512 tokens route to nearly all 128
/// experts of every layer, ~57 GiB per ubatch, so prefill runs at a few hundred tokens/s, not the
/// thousands the GPU alone would give.
#[test]
fn gpt_oss_120b_cpu_moe_prefill_is_bound_by_pcie() {
    let w = weights(&spec("gpt-oss-120b"), "MXFP4_MOE");
    let mut sys = catalog_machine("rtx-3090", 128);
    sys.gpus[0].pcie_gen = Some(4);
    sys.gpus[0].pcie_width = Some(16);
    let s = Settings {
        ctx: Some(8192),
        n_cpu_moe: w.spec.n_layer,
        auto_cpu_moe: false,
        ..Settings::default()
    };
    let e = estimate(&w, &sys, &s).unwrap();
    let pp = e.performance.prefill_tokens_per_s;
    assert!((100.0..600.0).contains(&pp), "prefill {pp:.0} tok/s");
    // Decode reads only the 4 routed experts per token from RAM: tens of tokens/s.
    assert!(e.performance.decode_tokens_per_s > 10.0);
}

/// A CPU is a whole CPU: Llama 3.1 8B Q4_K_M prefill on an AMD EPYC 9654 (96 Zen 4 cores,
/// AVX-512) is more than 10x a Raspberry Pi 5's (4 Cortex-A76 cores, NEON with dot product), as
/// the catalog's cores and SIMD say; a `--cpu` used to change only the RAM bandwidth.
#[test]
fn epyc_9654_prefills_over_10x_a_raspberry_pi_5() {
    let w = weights(&spec("llama-3.1-8b"), "Q4_K_M");
    let prefill = |cpu: &str| {
        let mut sys = crate::common::machine(0);
        llmrig_catalog::devices()
            .find(cpu)
            .unwrap()
            .apply_to_cpu(&mut sys.cpu);
        let s = Settings {
            ctx: Some(4096),
            ..Settings::default()
        };
        estimate(&w, &sys, &s)
            .unwrap()
            .performance
            .prefill_tokens_per_s
    };
    let (epyc, pi) = (prefill("epyc-9654"), prefill("raspberry-pi-5"));
    assert!(epyc > 10.0 * pi, "EPYC {epyc:.0} tok/s, Pi 5 {pi:.1} tok/s");
}

/// Room for the OS: Qwen2.5 14B Q8_0 at `-c 4096` needs 15.68 GiB on a CPU (14.62 GiB of
/// weights, 768 MiB of KV cache, 317 MiB of compute buffer). A 16 GiB machine described by its
/// size (no detection) keeps 4 GiB for the OS and other programs (Windows 11's and Ubuntu
/// Desktop's minimum RAM; docs/memory-model.md), leaving 12 GiB: it does not fit, where it used to
/// "fit" with 0.32 GiB to spare. A headless Linux (1 GiB kept) still leaves too little; only with
/// no reserve at all does it fit, close to the limit and so at best usable.
#[test]
fn qwen_14b_q8_at_4k_does_not_fit_16_gib_without_a_gpu() {
    use llmrig_core::system::Os;
    let w = weights(&spec("qwen2.5-14b"), "Q8_0");
    let mut sys = crate::common::machine(0);
    sys.cpu.ram_bytes = 16 << 30;
    // Any speed "works well" here, so the verdict shows what the memory alone allows.
    let s = Settings {
        ctx: Some(4096),
        good_tps: 0.0,
        usable_tps: 0.0,
        ..Settings::default()
    };
    let e = estimate(&w, &sys, &s).unwrap();
    let need = e.memory.total_bytes;
    assert!(
        (15.6..15.7).contains(&(need as f64 / (1u64 << 30) as f64)),
        "{need}"
    );
    assert_eq!(e.verdict, Verdict::DoesNotFit);
    assert_eq!(e.memory.devices[0].capacity_bytes, 12 << 30);
    assert!(e.warnings.iter().any(|x| x.code() == "does-not-fit"));
    sys.os = Some(Os::LinuxServer);
    assert_eq!(estimate(&w, &sys, &s).unwrap().verdict, Verdict::DoesNotFit);
    sys.os_reserve_bytes = Some(0);
    let bare = estimate(&w, &sys, &s).unwrap();
    assert_eq!(bare.verdict, Verdict::Usable, "{:?}", bare.warnings);
    assert!(bare
        .warnings
        .iter()
        .any(|x| x.code() == "near-memory-limit"));
}

/// Fit against what is available: a detected machine with 23.54 GiB of RAM of which 22.87 GiB
/// were available (MemAvailable) cannot hold Qwen3 30B-A3B Q5_K_M at 32k (23.53 GiB), which bare
/// `llmrig` used to recommend for reasoning because it fitted the total; Q4_K_M (20.57 GiB) fits.
#[test]
fn detected_machines_fit_against_the_ram_available() {
    let gib = |x: f64| (x * (1u64 << 30) as f64) as u64;
    let mut sys = crate::common::machine(0);
    sys.cpu.ram_bytes = 25_275_990_016; // 23.54 GiB
    sys.cpu.ram_available_bytes = Some(gib(22.87));
    let s = Settings {
        ctx: Some(32768),
        ..Settings::default()
    };
    let at = |q: &str| estimate(&weights(&spec("qwen3-30b-a3b"), q), &sys, &s).unwrap();
    let q5 = at("Q5_K_M");
    assert!(
        q5.memory.total_bytes > gib(23.5),
        "{}",
        q5.memory.total_bytes
    );
    assert_eq!(q5.verdict, Verdict::DoesNotFit);
    assert_eq!(q5.memory.devices[0].capacity_bytes, gib(22.87));
    assert_ne!(at("Q4_K_M").verdict, Verdict::DoesNotFit);
}

/// Unified memory outside macOS keeps the whole pool for the GPU, less the OS's share: a DGX Spark
/// (GB10, 128 GiB LPDDR5X that CUDA allocates from; DGX OS is Ubuntu with a desktop, 4 GiB kept)
/// still holds Llama 3.1 70B Q8_0 at 96k on the GPU: 99.5 GiB there plus 1.2 GiB on the CPU side,
/// within the 124 GiB left.
#[test]
fn dgx_spark_holds_70b_q8_at_96k_after_the_os_reserve() {
    use llmrig_core::system::Os;
    let mut sys = catalog_machine("dgx-spark", 128);
    sys.os = Some(Os::Linux);
    let w = weights(&spec("llama-3.1-70b"), "Q8_0");
    let e = estimate(
        &w,
        &sys,
        &Settings {
            ctx: Some(96 * 1024),
            ..Settings::default()
        },
    )
    .unwrap();
    assert_eq!(e.offload.gpu_layers, 81);
    assert_ne!(e.verdict, Verdict::DoesNotFit, "{:?}", e.warnings);
    assert_eq!(e.ram.budget.usable_bytes, 124 << 30);
    assert!(e.ram.used_bytes > 100 << 30 && !e.ram.near_limit());
}

/// Decode of Q4_0 on an H200 is bound by unpacking the weights, not by reading them: its FP32 rate
/// per byte of bandwidth (67 TFLOPS / 4.8 TB/s = 14) is a sixth of an RTX 4090's (82), and the
/// fitted operations per legacy-quant weight (~18) make the unpacking outlast the read there but
/// not on the 4090. A GPU without a known FP32 rate has no such bound, and decodes faster for it.
#[test]
fn hbm_gpus_decode_quantized_weights_compute_bound() {
    let w = weights(&spec("llama-3.1-8b"), "Q4_0");
    let s = Settings {
        ctx: Some(4096),
        gen: 128,
        ..Settings::default()
    };
    let bound = |gpu: &str| {
        estimate(&w, &catalog_machine(gpu, 64), &s)
            .unwrap()
            .performance
            .decode_bound
    };
    assert_eq!(bound("h200-sxm-141gb"), "compute");
    assert_eq!(bound("rtx-4090"), "memory");
    let mut unknown = catalog_machine("h200-sxm-141gb", 64);
    unknown.gpus[0].fp32_flops = 0.0;
    let e = estimate(&w, &unknown, &s).unwrap();
    assert_eq!(e.performance.decode_bound, "memory");
    let h200 = estimate(&w, &catalog_machine("h200-sxm-141gb", 64), &s).unwrap();
    assert!(h200.performance.decode_tokens_per_s < e.performance.decode_tokens_per_s);
}

/// The shipped constants with reading made free (a bandwidth share of a million, for weights
/// and the KV cache) and no compute bound, so that a token costs only its per-token cost.
fn only_the_per_token_cost() -> llmrig_core::estimate::SpeedParams {
    let mut p = llmrig_core::estimate::SpeedParams::default();
    for b in &mut p.backends {
        b.bw = 1e6;
    }
    p.gemv_ops = [0.0; 6];
    p.kv_factor = 1e6;
    p
}

/// The per-token cost is spent per layer (a few kernels each), and more without flash attention.
/// With reading made free (a bandwidth share of a million) and no compute bound, a token costs
/// only that: an 80-layer 70B pays 80/32 of a 32-layer 8B's (before, one constant per token
/// whatever the depth), and turning flash attention off multiplies it by the fitted factor.
#[test]
fn per_token_cost_grows_with_layers_and_without_flash_attention() {
    use llmrig_core::estimate::{performance_with, FlashAttn};
    let p = only_the_per_token_cost();
    let mut sys = catalog_machine("rtx-4090", 256);
    sys.gpus[0].memory_bytes = 400 << 30;
    let token_s = |model: &str, fa: FlashAttn| {
        let s = Settings {
            ctx: Some(4096),
            gen: 128,
            flash_attn: fa,
            gpu_layers: GpuLayers::Count(999),
            ..Settings::default()
        };
        1.0 / performance_with(&weights(&spec(model), "Q4_K_M"), &sys, &s, &p)
            .unwrap()
            .decode_tokens_per_s
    };
    let (t8, t70) = (
        token_s("llama-3.1-8b", FlashAttn::On),
        token_s("llama-3.1-70b", FlashAttn::On),
    );
    assert!((t70 / t8 - 80.0 / 32.0).abs() < 0.01, "70B/8B {}", t70 / t8);
    let off = token_s("llama-3.1-8b", FlashAttn::Off);
    assert!(
        (off / t8 - p.no_fa_step).abs() < 0.01,
        "off/on {}",
        off / t8
    );
    assert!(p.no_fa_step > 1.0);
}

/// Without flash attention decode reads a grouped-query layer's cache again for each query head
/// past the first of a group, `nofa_kv_reread` of those reads reaching memory: Llama 3.1 8B (32
/// query heads on 8 KV heads) 16K tokens deep pays 3 × that share of one read of its cache more
/// than it would reading it once; with flash attention, and for Llama 2 7B (one query head a KV
/// head), nothing changes.
#[test]
fn decode_without_flash_attention_rereads_a_grouped_query_cache() {
    use llmrig_core::estimate::{performance_with, FlashAttn, SpeedParams};
    let mut sys = catalog_machine("rtx-4090", 256);
    sys.gpus[0].memory_bytes = 400 << 30;
    let token_s = |model: &str, p: &SpeedParams, fa: FlashAttn, depth: u64| {
        let s = Settings {
            ctx: Some(depth + 256),
            gen: 128,
            depth,
            flash_attn: fa,
            gpu_layers: GpuLayers::Count(999),
            ..Settings::default()
        };
        1.0 / performance_with(&weights(&spec(model), "Q4_K_M"), &sys, &s, p)
            .unwrap()
            .decode_tokens_per_s
    };
    let shipped = SpeedParams::default();
    assert!(shipped.nofa_kv_reread > 0.0);
    let mut once = shipped.clone();
    once.nofa_kv_reread = 0.0;
    let (off, on) = (FlashAttn::Off, FlashAttn::On);
    // One read of the cache 16K deep, as the model charges it.
    let read = token_s("llama-3.1-8b", &once, off, 16_384) - token_s("llama-3.1-8b", &once, off, 0);
    let extra = token_s("llama-3.1-8b", &shipped, off, 16_384)
        - token_s("llama-3.1-8b", &once, off, 16_384);
    let want = shipped.nofa_kv_reread * 3.0 * read;
    assert!(
        (extra / want - 1.0).abs() < 0.01,
        "extra {extra:e} s, want {want:e} s"
    );
    let same = |model: &str, fa| {
        (token_s(model, &shipped, fa, 16_384) / token_s(model, &once, fa, 16_384) - 1.0).abs()
            < 1e-9
    };
    assert!(same("llama-3.1-8b", on));
    assert!(same("llama-2-7b", off));
}

/// The per-token cost is quoted for a GPU of 1 TB/s and scales as `(1 TB/s / bandwidth)^step_exp`
/// (a faster GPU runs a token's small kernels faster), except on Apple's GPUs, whose cost is the
/// CPU encoding the token's commands. With reading made free, as above, a 4 TB/s GPU pays
/// `4^-step_exp` of a 1 TB/s GPU's per-token cost of the same class, and an Apple GPU the same
/// whatever its bandwidth.
#[test]
fn per_token_cost_scales_with_the_gpu_but_not_on_apple() {
    use llmrig_core::estimate::performance_with;
    let p = only_the_per_token_cost();
    assert!(p.step_exp > 0.0);
    let token_s = |gpu: &str, bandwidth: f64| {
        let mut sys = catalog_machine(gpu, 256);
        sys.gpus[0].memory_bytes = 400 << 30;
        sys.gpus[0].bandwidth_bytes_per_s = bandwidth;
        let s = Settings {
            ctx: Some(4096),
            gen: 128,
            gpu_layers: GpuLayers::Count(999),
            ..Settings::default()
        };
        1.0 / performance_with(&weights(&spec("llama-3.1-8b"), "Q4_K_M"), &sys, &s, &p)
            .unwrap()
            .decode_tokens_per_s
    };
    let ratio = token_s("rtx-4090", 4e12) / token_s("rtx-4090", 1e12);
    let want = 4f64.powf(-p.step_exp);
    assert!(
        (ratio - want).abs() < 0.01,
        "4 TB/s / 1 TB/s {ratio}, want {want}"
    );
    let apple = token_s("m2-ultra-76c", 4e12) / token_s("m2-ultra-76c", 1e12);
    assert!((apple - 1.0).abs() < 0.01, "Apple {apple}");
}

/// ggml-vulkan multiplies BF16 expert stacks through its matrix-matrix shaders even for one
/// token (`ggml_vk_use_mul_mat_vec_id` takes F32, F16 and quantized stacks only), so a BF16 MoE
/// under Vulkan decodes far below what reading its experts allows: kyuz0's Qwen3-30B-A3B BF16 on
/// Strix Halo measured 7.5–10 tok/s under Vulkan and 25–27 under ROCm on the same machine and
/// builds. With the float rate made unlimited the penalty is gone, and it never
/// touches dense BF16, quantized experts, or BF16 experts under ROCm. In a prompt the same
/// shaders' tiles slow BF16 experts like quantized ones (`SpeedParams::moe_tile`).
#[test]
fn bf16_experts_under_vulkan_run_through_the_matrix_matrix_shaders() {
    use llmrig_core::estimate::{performance_with, SpeedParams};
    use llmrig_core::system::GpuApi;
    let shipped = SpeedParams::default();
    let mut unlimited = shipped.clone();
    for b in &mut unlimited.backends {
        b.pp_float = 1e6;
    }
    let mut untiled = shipped.clone();
    untiled.moe_tile = [0.0; 3];
    let run = |model: &str, quant: &str, api: GpuApi, p: &SpeedParams| {
        let mut sys = catalog_machine("ryzen-ai-max-395", 256);
        sys.gpus[0].api = api;
        sys.gpus[0].memory_bytes = 400 << 30;
        let s = Settings {
            ctx: Some(4096),
            gen: 128,
            gpu_layers: GpuLayers::Count(999),
            ..Settings::default()
        };
        performance_with(&weights(&spec(model), quant), &sys, &s, p).unwrap()
    };
    let decode = |model: &str, quant: &str, api: GpuApi| {
        run(model, quant, api, &shipped).decode_tokens_per_s
            / run(model, quant, api, &unlimited).decode_tokens_per_s
    };
    let moe = decode("qwen3-30b-a3b", "BF16", GpuApi::Vulkan);
    assert!(moe < 0.5, "BF16 experts under Vulkan: {moe}");
    let tok_s = run("qwen3-30b-a3b", "BF16", GpuApi::Vulkan, &shipped).decode_tokens_per_s;
    assert!((6.0..14.0).contains(&tok_s), "{tok_s} tok/s");
    for (model, quant, api) in [
        ("gemma-3-27b", "BF16", GpuApi::Vulkan),
        ("qwen3-30b-a3b", "Q8_0", GpuApi::Vulkan),
        ("qwen3-30b-a3b", "BF16", GpuApi::Rocm),
    ] {
        let r = decode(model, quant, api);
        assert!((r - 1.0).abs() < 1e-9, "{model} {quant} {api:?}: {r}");
    }
    let prompt = run("qwen3-30b-a3b", "BF16", GpuApi::Vulkan, &shipped).prefill_tokens_per_s
        / run("qwen3-30b-a3b", "BF16", GpuApi::Vulkan, &untiled).prefill_tokens_per_s;
    assert!(prompt < 0.95, "BF16 expert prompt tiles: {prompt}");
}
