//! A llama.cpp command line pasted after `llmrig estimate` runs as written (issue 14 item 4):
//! the program name, `-m`, `-hf REPO:QUANT`, `-t`, `-ot`, bare `-fa`, `-mg`, `-dev`, `--no-mmap`,
//! `--mlock`, and the server's runtime flags, named in one note.

use super::{fake_hub, json, llmrig, warning_codes};

/// Memory per device of an estimate, bytes.
fn totals(v: &serde_json::Value) -> Vec<u64> {
    v["memory"]["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["total_bytes"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_llama_server_line_pastes_in() {
    let pasted = json(&[
        "estimate",
        "llama-server",
        "-m",
        "qwen3-30b-a3b",
        "-ngl",
        "99",
        "-ot",
        "exps=CPU",
        "-c",
        "16384",
        "-t",
        "8",
        "--jinja",
        "-fa",
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
        "--no-mmap",
        "--mlock",
        "--temp",
        "0.6",
        "--gpu",
        "rtx-3060-12gb",
        "--ram",
        "64GiB",
    ]);
    // The same plan written in llmrig's own flags.
    let own = json(&[
        "estimate",
        "qwen3-30b-a3b",
        "-ngl",
        "99",
        "--cpu-moe",
        "-c",
        "16384",
        "-t",
        "8",
        "--flash-attn",
        "on",
        "--gpu",
        "rtx-3060-12gb",
        "--ram",
        "64GiB",
    ]);
    assert_eq!(totals(&pasted), totals(&own));
    assert_eq!(pasted["settings"]["flash_attn"], true);
    assert_eq!(pasted["settings"]["ctx"], 16384);
    assert_eq!(
        pasted["performance"]["decode_tokens_per_s"],
        own["performance"]["decode_tokens_per_s"]
    );
    // Experts in RAM: most of the 17 GiB is on the CPU, the GPU keeps attention and the rest.
    let t = totals(&pasted);
    assert!(t[1] > 15 << 30 && t[0] < 4 << 30, "{t:?}");
    let note = pasted["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "runtime-flags")
        .expect("a note naming the runtime flags");
    let msg = note["message"].as_str().unwrap();
    for f in [
        "--jinja",
        "--host",
        "--port",
        "--no-mmap",
        "--mlock",
        "--temp",
    ] {
        assert!(msg.contains(f), "{msg}");
    }
}

#[test]
fn the_program_may_stand_for_the_subcommand() {
    let v = json(&[
        "./build/bin/llama-server",
        "-m",
        "llama-3.1-8b",
        "-c",
        "0",
        "--gpu",
        "rtx-4090",
    ]);
    assert_eq!(v["model"]["name"], "Llama 3.1 8B");
    // `-c 0` is llama.cpp's "the trained length", shrunk to fit as --fit does: llmrig's default.
    let default = json(&["estimate", "llama-3.1-8b", "--gpu", "rtx-4090"]);
    assert_eq!(v["settings"]["ctx"], default["settings"]["ctx"]);
}

#[test]
fn override_patterns_apply_in_order_the_first_match_winning() {
    let base = [
        "estimate",
        "qwen3-30b-a3b",
        "-ngl",
        "99",
        "-c",
        "4096",
        "--gpu",
        "rtx-4090",
        "--ram",
        "64GiB",
    ];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        totals(&json(&a))
    };
    let none = run(&[]);
    // Layers 0–9's experts to the CPU: what --n-cpu-moe 10 does.
    let ten = run(&["-ot", r"blk\.[0-9]\.ffn_.*_exps=CPU"]);
    assert_eq!(ten, run(&["--n-cpu-moe", "10"]));
    // An earlier pattern to the GPU shields layers from a later catch-all to the CPU.
    let shielded = run(&["-ot", r"blk\.[0-9]\.=CUDA0,exps=CPU"]);
    let all = run(&["-ot", "exps=CPU"]);
    assert!(
        none[0] > ten[0] && ten[0] > shielded[0] && shielded[0] > all[0],
        "{none:?} {ten:?} {shielded:?} {all:?}"
    );
}

#[test]
fn devices_and_main_gpu_choose_the_gpus() {
    let two = [
        "estimate",
        "llama-3.1-8b",
        "-c",
        "8192",
        "--gpu",
        "2x rtx-3090",
        "--ram",
        "64GiB",
    ];
    let run = |extra: &[&str]| {
        let mut a = two.to_vec();
        a.extend_from_slice(extra);
        json(&a)
    };
    let layers = |v: &serde_json::Value| -> Vec<u64> {
        v["memory"]["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["layers"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(layers(&run(&["-sm", "none", "-mg", "1"])), [0, 33, 0]);
    assert_eq!(layers(&run(&["-dev", "CUDA1"])), [33, 0]);
    assert_eq!(layers(&run(&["-dev", "none"])), [33]);
    // Refused: a GPU the machine lacks, an -ot device -dev leaves out, an unknown device.
    for (extra, needle) in [
        (&["-dev", "CUDA2"][..], "GPU 2"),
        (&["-mg", "2", "-sm", "none"][..], "-mg"),
        (&["-dev", "CUDA1", "-ot", "exps=CUDA0"][..], "-dev"),
        (&["-ot", "exps=TPU0"][..], "TPU0"),
        (&["-ot", "(=CPU"][..], "pattern"),
    ] {
        let out = llmrig().args(two).args(extra).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(needle),
            "{extra:?}: {err}"
        );
    }
}

#[test]
fn a_pattern_that_finds_nothing_says_so() {
    let v = json(&[
        "estimate",
        "llama-3.1-8b",
        "-ot",
        "exps=CPU",
        "--gpu",
        "rtx-4090",
    ]);
    assert!(warning_codes(&v).contains(&"override-unmatched"), "{v}");
}

#[test]
fn hf_repo_with_a_quant_is_the_model_not_help() {
    let (base, _) = fake_hub(llmrig_formats::gguf::build::GgufBuilder::tiny_llama().file());
    let cache = std::env::temp_dir().join(format!("llmrig-cli-paste-{}", std::process::id()));
    let out = llmrig()
        .args([
            "estimate",
            "llama-server",
            "-hf",
            "org/repo:Q4_K_M",
            "-fa",
            "--gpu",
            "rtx-4090",
            "--json",
        ])
        .env("HF_ENDPOINT", &base)
        .env("LLMRIG_CACHE_DIR", &cache)
        .env_remove("HF_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["model"]["source"], "remote");
}

#[test]
fn offline_hf_falls_back_to_the_catalog_at_once() {
    // `.invalid` never resolves (RFC 6761): the first failed lookup ends the request, and a
    // repository the catalog knows is estimated from its entry, with a note.
    let cache = std::env::temp_dir().join(format!("llmrig-cli-offline-{}", std::process::id()));
    let run = |model: &str| {
        llmrig()
            .args(["estimate", model, "--gpu", "rtx-4090", "--json"])
            .env("HF_ENDPOINT", "http://hub.invalid")
            .env("LLMRIG_CACHE_DIR", &cache)
            .output()
            .unwrap()
    };
    let out = run("hf:unsloth/Qwen3-8B-GGUF:Q6_K");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["model"]["source"], "catalog");
    assert_eq!(v["quant"]["name"], "Q6_K");
    assert!(
        v["warnings"].to_string().contains("could not be reached"),
        "{v}"
    );
    // Unknown to the catalog: the error, after one try.
    let out = run("hf:someone/unknown-model");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("after 1 tries"), "{err}");
}
