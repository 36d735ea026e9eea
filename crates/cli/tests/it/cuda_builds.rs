//! On NVIDIA GPUs the llama.cpp build decides how a prompt's quantized weights are multiplied
//! (crates/core/src/estimate/prompt_kernels.rs, `cuda_kernels`): before b3216 (PR #8075, June
//! 2024) a GPU with tensor cores dequantized them for cuBLAS above 32 tokens, unless llama.cpp was
//! built with GGML_CUDA_FORCE_MMQ (`--cuda-force mmq`); since, MMQ takes them from Turing on.

use super::json;

fn prefill_decode(args: &[&str]) -> (f64, f64) {
    let mut all = vec![
        "estimate",
        "llama-3.1-8b",
        "-q",
        "Q4_K_M",
        "--gpu",
        "rtx-4090",
    ];
    all.extend_from_slice(args);
    let v = json(&all);
    let p = &v["performance"];
    (
        p["prefill_tokens_per_s"].as_f64().unwrap(),
        p["decode_tokens_per_s"].as_f64().unwrap(),
    )
}

#[test]
fn rtx_4090_prompt_kernels_follow_the_build_and_the_forced_choice() {
    let current = prefill_decode(&[]);
    let may_2024 = prefill_decode(&["--llama-cpp", "b2843"]);
    let forced_mmq = prefill_decode(&["--llama-cpp", "b2843", "--cuda-force", "mmq"]);
    let forced_cublas = prefill_decode(&["--cuda-force", "cublas"]);
    let same = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b;
    // The prompt's kernels, not the decode's (one token never went through cuBLAS).
    assert!(
        (may_2024.0 / current.0 - 1.0).abs() > 0.1,
        "{may_2024:?} vs {current:?}"
    );
    assert!(same(may_2024.1, current.1));
    // Forcing one path makes the builds agree on it.
    assert!(
        same(forced_mmq.0, current.0),
        "{forced_mmq:?} vs {current:?}"
    );
    assert!(
        same(forced_cublas.0, may_2024.0),
        "{forced_cublas:?} vs {may_2024:?}"
    );
}
