//! The output contract, locked: `--json` of `estimate`, `recommend`, `plan` and `inspect`, and their
//! text tables, for fixed inputs on fixed machines (`tests/it/systems/*.toml`, never this host's
//! hardware). A change to any field, value or message shows as a snapshot diff; review it with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test -p llmrig --test it contract`) and say
//! in the commit why the output changed.

use super::llmrig;

/// `--system` file of a fixed machine in `tests/it/systems/`.
fn system(name: &str) -> String {
    format!(
        "{}/tests/it/systems/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Runs llmrig with `args` then `--system` for `machine` (when given; else the tests' fixed
/// machine) and returns what a user sees: the exit code, stdout and stderr.
fn run(machine: Option<&str>, args: &[&str]) -> String {
    let mut cmd = llmrig();
    // No model store of this host's user is scanned (bare `llmrig` lists installed models).
    cmd.env("HOME", "/nonexistent-llmrig-test-home");
    for var in [
        "XDG_CACHE_HOME",
        "OLLAMA_MODELS",
        "HF_HUB_CACHE",
        "HF_HOME",
        "LLAMA_CACHE",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args);
    if let Some(m) = machine {
        cmd.arg("--system").arg(system(m));
    }
    let out = cmd.output().unwrap();
    let stderr =
        String::from_utf8_lossy(&out.stderr).replace(env!("CARGO_MANIFEST_DIR"), "[crate]");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace(env!("CARGO_MANIFEST_DIR"), "[crate]"),
        stderr
    )
}

/// One snapshot test per case: `name`, the machine (a file in `systems/`), the arguments.
macro_rules! contract {
    ($($name:ident: $machine:expr, [$($arg:expr),* $(,)?];)*) => {$(
        #[test]
        fn $name() {
            insta::assert_snapshot!(run($machine, &[$($arg),*]));
        }
    )*};
}

contract! {
    // estimate --json
    estimate_8b_q4km_8k_3090: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-q", "Q4_K_M", "-c", "8192", "--json"];
    estimate_8b_fit_3090: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "--json"];
    estimate_70b_partial_3090: Some("desktop-3090"), ["estimate", "llama-3.1-70b", "-q", "Q4_K_M", "-c", "8192", "--json"];
    estimate_70b_32k_two_4090: Some("two-4090"), ["estimate", "llama-3.1-70b", "-q", "Q4_K_M", "-c", "32k", "--json"];
    estimate_70b_row_split: Some("two-4090"), ["estimate", "llama-3.1-70b", "-q", "Q4_K_M", "-c", "8192", "-sm", "row", "--json"];
    estimate_70b_tensor_split: Some("two-4090"), ["estimate", "llama-3.1-70b", "-q", "IQ3_XS", "-c", "8192", "-ts", "3,1", "--json"];
    estimate_qwen7b_q8_cpu: Some("cpu-laptop"), ["estimate", "qwen2.5-7b", "-q", "Q8_0", "-c", "4096", "--json"];
    estimate_qwen3_30b_moe_3090: Some("desktop-3090"), ["estimate", "qwen3-30b-a3b", "-q", "Q4_K_M", "-c", "16k", "--json"];
    estimate_qwen3_235b_auto_moe: Some("desktop-3090"), ["estimate", "qwen3-235b-a22b", "-q", "Q4_K_M", "-c", "16k", "--json"];
    estimate_gpt_oss_120b_cpu_moe: Some("desktop-3090"), ["estimate", "gpt-oss-120b", "--cpu-moe", "--json"];
    estimate_gpt_oss_20b_n_cpu_moe: Some("desktop-3090"), ["estimate", "gpt-oss-20b", "--n-cpu-moe", "10", "-c", "32k", "--json"];
    estimate_deepseek_v3_h100: Some("h100-node"), ["estimate", "deepseek-v3", "-q", "Q4_K_M", "-c", "8192", "--json"];
    estimate_gemma27b_mac: Some("mac-m2-max"), ["estimate", "gemma-3-27b", "-q", "Q3_K_M", "-c", "8k", "--json"];
    estimate_gemma27b_spark: Some("dgx-spark"), ["estimate", "gemma-3-27b", "-q", "Q4_K_M", "--json"];
    estimate_8b_q8_cache: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-ctk", "q8_0", "-ctv", "q8_0", "-fa", "on", "-c", "32k", "--json"];
    estimate_8b_ngl20: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-ngl", "20", "-c", "8192", "--json"];
    estimate_8b_nkvo: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-nkvo", "-c", "8192", "--json"];
    estimate_8b_ub2048: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-b", "2048", "-ub", "2048", "-c", "8192", "--json"];
    estimate_8b_fa_off_speed: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-fa", "off", "--prompt", "1024", "--gen", "256", "--depth", "4096", "-c", "8192", "--json"];
    estimate_8b_exllamav2: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-q", "exl2:4.65", "--backend", "exllamav2", "-c", "16k", "--json"];
    estimate_8b_mlx: Some("mac-m2-max"), ["estimate", "llama-3.1-8b", "-q", "mlx-4bit", "--backend", "mlx", "-c", "16k", "--json"];
    estimate_8b_transformers: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-q", "bf16", "--backend", "transformers", "-c", "4096", "--json"];
    estimate_qwen14b_parallel: Some("desktop-3090"), ["estimate", "qwen2.5-14b", "-np", "4", "-c", "32k", "--json"];
    estimate_generic_70b_cpu: Some("cpu-laptop"), ["estimate", "70b", "-q", "Q4_K_M", "-c", "4096", "--json"];
    estimate_8b_launch: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-c", "8192", "--launch", "llama.cpp", "--json"];
    estimate_8b_awq_ctx_beyond: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-q", "awq", "-c", "200000", "--json"];
    estimate_mistral_old_rules: Some("cpu-laptop"), ["estimate", "mistral-7b-v0.3", "-q", "Q4_0", "-c", "4096", "--llama-cpp", "2025-06", "--json"];
    // estimate errors: exit code and message
    estimate_err_quantized_v_no_fa: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-ctv", "q8_0", "-fa", "off", "--json"];
    estimate_err_unknown_model: Some("desktop-3090"), ["estimate", "llama-9.9-8b", "--json"];
    estimate_err_bad_ngl: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-ngl", "abc"];
    // recommend --json
    recommend_3090: Some("desktop-3090"), ["recommend", "--json"];
    recommend_code_cpu: Some("cpu-laptop"), ["recommend", "--use", "code", "--json"];
    recommend_mac_top5: Some("mac-m2-max"), ["recommend", "--top", "5", "--json"];
    recommend_launch_ollama: Some("desktop-3090"), ["recommend", "--top", "3", "--launch", "ollama", "--json"];
    // plan --json
    plan_70b_h100: Some("h100-node"), ["plan", "llama-3.1-70b", "--json"];
    plan_8b_fp8_two_4090: Some("two-4090"), ["plan", "llama-3.1-8b", "-q", "fp8", "--max-model-len", "32k", "--json"];
    plan_deepseek_two_nodes: Some("h100-node"), ["plan", "deepseek-v3", "-q", "fp8", "--nodes", "2", "--json"];
    plan_qwen3_235b_sglang: Some("h100-node"), ["plan", "qwen3-235b-a22b", "--engine", "sglang", "--users", "64", "--json"];
    // inspect --json
    inspect_8b: None, ["inspect", "llama-3.1-8b", "--json"];
    inspect_qwen3_moe: None, ["inspect", "qwen3-30b-a3b", "-q", "Q4_K_M", "--json"];
    inspect_gpt_oss: None, ["inspect", "gpt-oss-120b", "--json"];
    // text tables
    text_estimate_8b: Some("desktop-3090"), ["estimate", "llama-3.1-8b", "-q", "Q4_K_M", "-c", "8192"];
    text_estimate_70b_partial: Some("desktop-3090"), ["estimate", "llama-3.1-70b", "-c", "8192", "--launch", "llama.cpp"];
    text_estimate_cpu: Some("cpu-laptop"), ["estimate", "qwen2.5-7b", "-c", "4096"];
    text_recommend_3090: Some("desktop-3090"), ["recommend", "--top", "5"];
    text_plan_70b: Some("h100-node"), ["plan", "llama-3.1-70b"];
    text_inspect_8b: None, ["inspect", "llama-3.1-8b"];
    text_hw: Some("desktop-3090"), ["hw"];
    // bare `llmrig` on the tests' fixed machine (LLMRIG_SYSTEM: systems/test-host.toml)
    text_overview: None, [];
    json_overview: None, ["--json"];
    json_hw: Some("two-4090"), ["hw", "--json"];
}
