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
