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
