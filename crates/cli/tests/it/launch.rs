//! `--launch PROGRAM` (issue 14 item 5): every launch command starts a plan that fits. Each test
//! reads the settings back out of the printed command and estimates them again.

use super::{json, llmrig};

/// The machine: Qwen3-30B-A3B in Q8_0 (32 GiB) on a 12 GB card with 64 GiB of RAM, which fits
/// only with experts in RAM.
const MOE: [&str; 8] = [
    "estimate",
    "qwen3-30b-a3b",
    "-q",
    "Q8_0",
    "--gpu",
    "rtx-3060-12gb",
    "--ram",
    "64GiB",
];

fn launch(base: &[&str], program: &str) -> String {
    let mut a = base.to_vec();
    a.extend_from_slice(&["--launch", program]);
    let v = json(&a);
    assert_eq!(v["launch"]["backend"], program, "{v}");
    v["launch"]["command"].as_str().unwrap().to_string()
}

/// The value after `flag` in a command line (or a Modelfile's `PARAMETER flag value`).
fn value<'a>(cmd: &'a str, flag: &str) -> &'a str {
    let mut it = cmd.split_whitespace();
    while let Some(w) = it.next() {
        if w == flag {
            return it.next().unwrap_or_default();
        }
    }
    panic!("no {flag} in {cmd}")
}

/// Estimates the model with `flags` on the same machine and says whether it fits.
fn refit(flags: &[&str]) -> serde_json::Value {
    let mut a = vec![
        "estimate",
        "qwen3-30b-a3b",
        "-q",
        "Q8_0",
        "--gpu",
        "rtx-3060-12gb",
        "--ram",
        "64GiB",
    ];
    a.extend_from_slice(flags);
    let v = json(&a);
    assert_ne!(v["verdict"], "does-not-fit", "{flags:?}: {v}");
    v
}

#[test]
fn llama_server_starts_the_plan() {
    let c = launch(&MOE, "llama.cpp");
    let v = refit(&[
        "-c",
        value(&c, "-c"),
        "-ngl",
        value(&c, "-ngl"),
        "--n-cpu-moe",
        value(&c, "--n-cpu-moe"),
    ]);
    assert_eq!(v["offload"]["gpu_layers"], 49, "{c}");
}

#[test]
fn ollama_gets_a_placement_it_can_do_and_the_quant_asked() {
    let c = launch(&MOE, "ollama");
    // The library's Q8_0 tag of this model, not its Q4_K_M default.
    assert!(c.contains("FROM qwen3:30b-a3b-q8_0"), "{c}");
    // Ollama has no expert offload: whole layers instead, said so.
    assert!(c.contains("cannot keep MoE experts in RAM"), "{c}");
    let gpu = value(&c, "num_gpu");
    assert!(gpu.parse::<u32>().unwrap() < 49, "{c}");
    refit(&["-c", value(&c, "num_ctx"), "-ngl", gpu]);
}

#[test]
fn lm_studio_keeps_all_experts_in_ram_as_its_setting_does() {
    let c = launch(&MOE, "lmstudio");
    assert!(c.contains("Force Model Expert Weights onto CPU"), "{c}");
    let gpu = value(&c, "--gpu");
    let ngl = if gpu == "max" {
        "all".to_string()
    } else {
        unreachable!("{c}")
    };
    refit(&[
        "-c",
        value(&c, "--context-length"),
        "-ngl",
        &ngl,
        "--cpu-moe",
    ]);
}

#[test]
fn koboldcpp_carries_the_expert_offload() {
    let c = launch(&MOE, "koboldcpp");
    refit(&[
        "-c",
        value(&c, "--contextsize"),
        "-ngl",
        value(&c, "--gpulayers"),
        "--n-cpu-moe",
        value(&c, "--moecpu"),
    ]);
}

#[test]
fn vllm_and_sglang_point_to_a_plan() {
    for program in ["vllm", "sglang"] {
        let mut a = MOE.to_vec();
        a.extend_from_slice(&["--launch", program]);
        let out = llmrig().args(&a).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("llmrig plan"), "{err}");
    }
}

#[test]
fn exllama_runs_through_tabbyapi_on_its_own_format() {
    let c = launch(
        &[
            "estimate",
            "qwen3-8b",
            "-q",
            "exl2:4.65",
            "--backend",
            "exllamav2",
            "--gpu",
            "rtx-3060-12gb",
        ],
        "exllamav2",
    );
    assert!(
        c.starts_with("cd tabbyAPI && python main.py --model-name"),
        "{c}"
    );
    let v = json(&[
        "estimate",
        "qwen3-8b",
        "-q",
        "exl2:4.65",
        "--backend",
        "exllamav2",
        "--gpu",
        "rtx-3060-12gb",
        "-c",
        value(&c, "--max-seq-len"),
    ]);
    assert_ne!(v["verdict"], "does-not-fit", "{v}");
    // A GGUF quant is not ExLlama's.
    let out = llmrig()
        .args([
            "estimate",
            "qwen3-8b",
            "--gpu",
            "rtx-3060-12gb",
            "--launch",
            "exllamav2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn mlx_only_on_apple() {
    let c = launch(
        &[
            "estimate",
            "qwen3-8b",
            "--backend",
            "mlx",
            "--gpu",
            "m2-max",
        ],
        "mlx",
    );
    assert!(c.contains("mlx_lm.server"), "{c}");
    assert!(c.contains("--q-bits 4"), "{c}");
    let out = llmrig()
        .args([
            "estimate", "qwen3-8b", "--gpu", "rtx-4090", "--launch", "mlx",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Apple silicon"), "{err}");
}

#[test]
fn the_text_output_prints_the_launch_once() {
    let out = llmrig()
        .args(MOE)
        .args(["--launch", "llama.cpp"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("llama-server -m").count(), 1, "{text}");
}
