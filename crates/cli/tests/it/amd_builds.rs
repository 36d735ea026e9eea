//! On AMD GPUs the llama.cpp build decides how a prompt's quantized weights are multiplied
//! (crates/core/src/estimate/prompt_kernels.rs): Strix Halo (RDNA3.5) dequantized them for
//! hipBLAS until b7279 and runs llama.cpp's WMMA kernels since. The estimate follows
//! `--llama-cpp` and says when the BLAS library decides the prompt speed.

use super::{json, warning_codes};

/// Strix Halo's estimate under ROCm for `model` (its name, then any `-q QUANT`) in `build`, with
/// `extra` flags.
fn strix_halo_rocm(model: &[&str], build: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["estimate"];
    args.extend_from_slice(model);
    args.extend([
        "--gpu",
        "ryzen-ai-max-395",
        "--api",
        "rocm",
        "--llama-cpp",
        build,
    ]);
    args.extend_from_slice(extra);
    json(&args)
}

fn strix_halo(build: &str) -> serde_json::Value {
    strix_halo_rocm(&["llama-3.1-8b"], build, &[])
}

fn speed(v: &serde_json::Value, key: &str) -> f64 {
    v["performance"][key].as_f64().unwrap()
}

#[test]
fn strix_halo_prompt_kernels_follow_the_build() {
    let (old, merged, before_fa, current) = (
        strix_halo("b6077"),
        strix_halo("b7279"),
        strix_halo("b9149"),
        strix_halo("current"),
    );
    assert!(warning_codes(&old).contains(&"prompt-through-hipblas"));
    for v in [&merged, &current] {
        assert!(!warning_codes(v).contains(&"prompt-through-hipblas"));
    }
    // The build that merged WMMA MMQ runs the products of the builds after it (until #22880,
    // b9150, moved the flash attention onto WMMA too); the older one another prompt speed, the
    // same decode (single-token products never went through hipBLAS).
    let pp = |v| speed(v, "prefill_tokens_per_s");
    assert!((pp(&merged) - pp(&before_fa)).abs() < 1e-9 * pp(&before_fa));
    assert!(pp(&current) > pp(&before_fa));
    assert!(
        (pp(&old) / pp(&current) - 1.0).abs() > 0.2,
        "{} vs {}",
        pp(&old),
        pp(&current)
    );
    // README ("Calibrating to your machine"): ~304 tok/s in b6077 (rocBLAS's default Tensile),
    // ~1,165 from b7279, ~1,190 from b9150.
    for (v, readme) in [(&old, 304.0), (&merged, 1165.0), (&current, 1190.0)] {
        assert!(
            (pp(v) / readme - 1.0).abs() < 0.01,
            "{} vs the README's {readme}",
            pp(v)
        );
    }
    let tg = |v| speed(v, "decode_tokens_per_s");
    assert!((tg(&old) - tg(&current)).abs() < 1e-9 * tg(&current));
    // A month counts a change in from the month after its merge: a December 2025 build may
    // predate b7279 (merged on 5 December).
    let dec = strix_halo("2025-12");
    assert!(warning_codes(&dec).contains(&"prompt-through-hipblas"));
    assert!(!warning_codes(&strix_halo("2026-01")).contains(&"prompt-through-hipblas"));
}

/// rocBLAS's GEMM backend (`--hipblaslt`, `ROCBLAS_USE_HIPBLASLT`) changes Strix Halo's prompt
/// speed where the build sends the prompt to hipBLAS: quantized weights before b7279, float
/// weights in every build. Tensile, rocBLAS's default there in lhl/strix-halo-testing's mid-2025
/// runs, reaches 0.315 of hipBLASLt's speed in their paired runs; the dequantizing pass does not
/// change with it. From b9187 (kyuz0's May 2026 runs) the default runs at hipBLASLt's speed.
#[test]
fn hipblaslt_speeds_up_strix_halo_prompts_through_hipblas() {
    // README: ~844 tok/s in b6077 with ROCBLAS_USE_HIPBLASLT=1.
    let run = |model: &str, quant: &str, build: &str, lt: Option<&str>| {
        let lt = lt.map_or(vec![], |lt| vec!["--hipblaslt", lt]);
        strix_halo_prefill(model, quant, build, &lt)
    };
    let old = |lt| run("llama-3.1-8b", "Q4_K_M", "b6077", lt);
    let (default, off, on) = (old(None), old(Some("off")), old(Some("on")));
    assert!((default - off).abs() < 1e-9 * off, "{default} vs {off}");
    assert!(on / off > 2.0 && on / off < 1.0 / 0.315, "{on} vs {off}");
    assert!((on / 844.0 - 1.0).abs() < 0.01, "{on} vs the README's 844");
    // In today's build quantized weights stay in llama.cpp's kernels; BF16 ones do not.
    let q = |lt| run("llama-3.1-8b", "Q4_K_M", "current", lt);
    assert!((q(Some("on")) - q(Some("off"))).abs() < 1e-9 * q(Some("off")));
    let bf16 = |lt| run("llama-3.1-8b", "BF16", "current", lt);
    assert!(bf16(Some("on")) > 1.5 * bf16(Some("off")));
    assert!((bf16(None) - bf16(Some("on"))).abs() < 1e-9 * bf16(Some("on")));
    // README: ~992 tok/s today for BF16 weights, rocBLAS's default at hipBLASLt's speed.
    assert!(
        (bf16(None) / 992.0 - 1.0).abs() < 0.01,
        "{} vs the README's 992",
        bf16(None)
    );
}

/// Strix Halo's prefill tok/s under ROCm for `model` at `quant` in `build`, with `extra` flags.
fn strix_halo_prefill(model: &str, quant: &str, build: &str, extra: &[&str]) -> f64 {
    let v = strix_halo_rocm(&[model, "-q", quant], build, extra);
    speed(&v, "prefill_tokens_per_s")
}

/// A prompt at depth on Strix Halo under ROCm with flash attention, in `build`: prefill tok/s.
fn strix_halo_deep_prompt(model: &str, quant: &str, build: &str) -> f64 {
    let deep = ["--flash-attn", "on", "--prompt", "2048", "--depth", "32768"];
    strix_halo_prefill(model, quant, build, &deep)
}

#[test]
fn strix_halo_flash_attention_takes_wmma_for_grouped_query_heads_from_pr_22880() {
    // #22880 (taken as b9150) gave RDNA3/3.5 the WMMA flash attention, for grouped-query heads
    // of at most 128 only: Ministral 3 14B's prompt at depth speeds up (1.17x predicted since the
    // tile kernel runs at the vector rate and `amd_fa_matrix` was refitted with it, 1.816 ->
    // 1.65), Llama 2 7B's (one query head a KV head) keeps the tile kernel.
    let ministral = |b| strix_halo_deep_prompt("ministral-3-14b", "BF16", b);
    let llama2 = |b| strix_halo_deep_prompt("llama-2-7b", "Q4_0", b);
    assert!(
        ministral("b9150") > 1.12 * ministral("b9149"),
        "{} vs {}",
        ministral("b9150"),
        ministral("b9149")
    );
    assert!((llama2("b9150") - llama2("b9149")).abs() < 1e-9 * llama2("b9149"));
}
