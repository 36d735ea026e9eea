//! The binary as users meet it: exit codes, stdout and stderr. Machines are given with --gpu/--no-gpu
//! and --ram so the runs do not depend on the machine the tests run on.

use assert_cmd::Command;
use predicates::prelude::*;

/// `llmrig calibrate` on the H200's llama-bench results.
mod amd_builds;
mod calibrate;
/// The output contract: --json and text snapshots on fixed machines.
mod contract;
mod cuda_builds;
/// `--backend tei|sentence-transformers`: embedders and rerankers in the engines people run them
/// in (issue 15).
mod embedding_engines;
/// Flag values: usage errors, `--help` lists, accepted spellings.
mod flags;
/// `llmrig hw`: detection, --measure, --save.
mod hw;
mod image;
/// `--launch`: every program's command starts a plan that fits (issue 14).
mod launch;
/// System RAM as one budget: the OS reserve, unified memory, the wired limit, Windows' shared GPU
/// memory (issue 12).
mod memory_budget;
/// `llmrig need`: hardware for a model at a speed (issue 14).
mod need;
/// The page in a real browser (ignored without chromium; `.ci/run` runs it).
mod page;
/// A pasted llama.cpp command line (issue 14).
mod paste;
/// `--backend PROGRAM`: each program's defaults and launch line (issue 17).
mod programs;
mod recommend;
/// `llmrig serve` and `llmrig mcp`: the API and MCP answer with the CLI's JSON (issue 16).
mod serve;
/// Components beside the main model: embedders, rerankers, `--with` servers (issue 15).
mod stack;
/// Every program's model store and `.llamafile` files (issue 17).
mod stores;
mod vulkan_drivers;

/// The binary, with a user config folder that does not exist, so a bandwidth stored by
/// `llmrig hw --measure` on the developer's machine does not change the results, and a fixed
/// machine (`LLMRIG_SYSTEM`, tests/it/systems/test-host.toml) instead of this host's hardware.
fn llmrig() -> Command {
    let mut c = llmrig_detecting();
    c.env(
        "LLMRIG_SYSTEM",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/systems/test-host.toml"
        ),
    );
    c
}

/// The binary detecting this host (for the tests of detection itself), with no user config.
fn llmrig_detecting() -> Command {
    let mut c = Command::cargo_bin("llmrig").unwrap();
    c.env(
        "LLMRIG_CONFIG_DIR",
        std::env::temp_dir().join("llmrig-tests-no-config"),
    );
    c.env_remove("LLMRIG_SYSTEM");
    // No quick bandwidth probe: the tests of detection expect the assumed bandwidth.
    c.env("LLMRIG_NO_PROBE", "1");
    c
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = llmrig().args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The warning codes of an estimate's JSON.
fn warning_codes(v: &serde_json::Value) -> Vec<&str> {
    v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect()
}

#[test]
fn readme_command_fits_on_a_4090() {
    let v = json(&[
        "estimate",
        "llama-3.1-8b",
        "-q",
        "Q4_K_M",
        "-c",
        "8192",
        "--gpu",
        "rtx-4090",
        "--ram",
        "64GiB",
    ]);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["verdict"], "works-well");
    assert_eq!(v["offload"]["gpu_layers"], 33);
    assert_eq!(v["settings"]["ctx"], 8192);
    assert_eq!(v["quant"]["weights_bytes"], 4_912_898_304u64);
    assert_eq!(v["max_context"], 131_072);
    // KV: 32 layers × 8192 cells × 1024 × 2 (K, V) × 2 bytes = 1 GiB.
    assert_eq!(v["memory"]["kv_cache_bytes"], 1u64 << 30);
    for key in [
        "prefill_tokens_per_s",
        "decode_tokens_per_s",
        "time_to_first_token_s",
        "decode_low",
        "decode_high",
        "prefill_low",
        "prefill_high",
    ] {
        assert!(v["performance"][key].as_f64().unwrap() > 0.0, "{key}");
    }
    let p = &v["performance"];
    for (low, mid, high) in [
        ("decode_low", "decode_tokens_per_s", "decode_high"),
        ("prefill_low", "prefill_tokens_per_s", "prefill_high"),
    ] {
        let (l, m, h) = (p[low].as_f64(), p[mid].as_f64(), p[high].as_f64());
        assert!(l < m && m < h, "{low} {l:?} {mid} {m:?} {high} {h:?}");
    }
}

#[test]
fn llama_flags_paste_in() {
    let v = json(&[
        "estimate",
        "llama-3.1-70b",
        "-c",
        "4096",
        "-ngl",
        "20",
        "-fa",
        "on",
        "-ctk",
        "q8_0",
        "-ctv",
        "q8_0",
        "--gpu",
        "rtx-4090",
        "--ram",
        "128GiB",
    ]);
    assert_eq!(v["offload"]["gpu_layers"], 20);
    assert_eq!(v["settings"]["cache_type_k"], "q8_0");
    assert_eq!(v["memory"]["devices"][0]["layers"], 20);
}

#[test]
fn seventy_b_spills_with_auto_layers() {
    let v = json(&[
        "estimate",
        "llama-3.1-70b",
        "-q",
        "Q4_K_M",
        "-c",
        "8192",
        "--gpu",
        "rtx-4090",
        "--ram",
        "64GiB",
    ]);
    let ngl = v["offload"]["gpu_layers"].as_u64().unwrap();
    assert!(ngl > 30 && ngl < 81, "{ngl}");
    let gpu = &v["memory"]["devices"][0];
    // -ngl auto keeps llama.cpp's 1 GiB --fit margin free.
    assert!(
        gpu["total_bytes"].as_u64().unwrap() + (1 << 30) <= gpu["capacity_bytes"].as_u64().unwrap()
    );
    assert!(v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["code"] == "spills-to-ram"));
}

#[test]
fn does_not_fit_is_reported_not_failed() {
    let v = json(&[
        "estimate",
        "llama-3.1-405b",
        "-q",
        "Q4_K_M",
        "-c",
        "8192",
        "--no-gpu",
        "--ram",
        "16GiB",
    ]);
    assert_eq!(v["verdict"], "does-not-fit");
    assert_eq!(v["max_context"], 0);
}

#[test]
fn unset_context_shrinks_like_fit() {
    let v = json(&[
        "estimate",
        "llama-3.1-8b",
        "--gpu",
        "rtx-3060",
        "--ram",
        "32GiB",
    ]);
    let ctx = v["settings"]["ctx"].as_u64().unwrap();
    assert!((4096..131_072).contains(&ctx), "{ctx}");
    assert_eq!(v["offload"]["gpu_layers"], 33);
}

#[test]
fn unknown_model_is_a_one_line_error_with_suggestions() {
    llmrig()
        .args(["estimate", "llama-3.1-9b", "--no-gpu"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            predicate::str::contains("unknown model `llama-3.1-9b`")
                .and(predicate::str::contains("llama-3.1-8b")),
        );
}

#[test]
fn unknown_quant_lists_closest() {
    llmrig()
        .args(["estimate", "llama-3.1-8b", "-q", "Q4_K_X", "--no-gpu"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("unknown quant `Q4_K_X`")
                .and(predicate::str::contains("Q4_K_M")),
        );
}

#[test]
fn unknown_device_lists_closest() {
    llmrig()
        .args(["estimate", "llama-3.1-8b", "--gpu", "rtx-4091"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown device `rtx-4091`")
                .and(predicate::str::contains("rtx-4090")),
        );
}

#[test]
fn bad_numbers_are_errors_not_panics() {
    // A value that is wrong by itself is a usage error naming the flag (flags.rs has every flag).
    for (args, needle) in [
        (vec!["-c", "-5"], "invalid value '-5' for '--ctx-size"),
        // `-c 0` is llama.cpp's "the trained length" (tests/it/paste.rs); other zeros are refused.
        (
            vec!["--ctx-size", "00"],
            "invalid value '00' for '--ctx-size",
        ),
        (
            vec!["-c", "99999999999"],
            "invalid value '99999999999' for '--ctx-size",
        ),
        (vec!["-c", "lots"], "invalid value 'lots' for '--ctx-size"),
        (
            vec!["-ngl", "many"],
            "invalid value 'many' for '--n-gpu-layers",
        ),
        (
            vec!["-ctk", "q3_k"],
            "invalid value 'q3_k' for '--cache-type-k",
        ),
        (vec!["--ram", "-1GB"], "invalid value '-1GB' for '--ram"),
        (
            vec!["-ts", "1,x"],
            "invalid value '1,x' for '--tensor-split",
        ),
        (vec!["-ub", "0"], "invalid value '0' for '--ubatch-size"),
        (vec!["-b", "0"], "invalid value '0' for '--batch-size"),
        (vec!["-np", "0"], "invalid value '0' for '--parallel"),
        (vec!["--gpu", "rtx-9999"], "unknown device `rtx-9999`"),
        (vec!["--gpu", "0x rtx-4090"], "expected a GPU count"),
        (vec!["--cpu", "rtx-4090"], "is a GPU"),
    ] {
        let out = llmrig()
            .args(["estimate", "llama-3.1-8b", "--no-gpu"])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
    // Values that are wrong only together, or for this model, are one-line errors.
    let out = llmrig()
        .args([
            "estimate",
            "llama-3.1-8b",
            "--no-gpu",
            "-fa",
            "off",
            "-ctv",
            "q8_0",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("needs flash attention"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn mla_models_refuse_different_k_and_v_types_as_llama_cpp_does() {
    let out = llmrig()
        .args([
            "estimate",
            "deepseek-r1-671b",
            "-q",
            "Q4_K_M",
            "--no-gpu",
            "-ctk",
            "q8_0",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("different K and V cache types"), "{stderr}");
    // The same type for both is fine, and so are different types on a non-MLA model.
    llmrig()
        .args([
            "estimate",
            "deepseek-r1-671b",
            "-q",
            "Q4_K_M",
            "--no-gpu",
            "-ctk",
            "q8_0",
            "-ctv",
            "q8_0",
        ])
        .assert()
        .success();
    llmrig()
        .args(["estimate", "llama-3.1-8b", "--no-gpu", "-ctk", "q8_0"])
        .assert()
        .success();
}

#[test]
fn gpt_oss_defaults_to_its_released_mxfp4() {
    let out = llmrig()
        .args(["estimate", "gpt-oss-20b", "--no-gpu"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.lines().next().unwrap_or("").contains("MXFP4_MOE"),
        "{stdout}"
    );
    // Other catalog models keep the Q4_K_M default.
    let out = llmrig()
        .args(["estimate", "llama-3.1-8b", "--no-gpu"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .contains("Q4_K_M"));
}

#[test]
fn gpt_oss_mxfp4_is_the_gguf_in_llama_cpp_and_the_release_in_vllm() {
    let bytes = |extra: &[&str]| {
        let mut args = vec!["estimate", "gpt-oss-20b", "-q", "MXFP4", "--no-gpu"];
        args.extend_from_slice(extra);
        json(&args)["quant"]["weights_bytes"].as_u64().unwrap()
    };
    // llama-bench's "gpt-oss 20B MXFP4 MoE" is 11.27 GiB (ggml-org benches/dgx-spark.md).
    let gguf = bytes(&[]);
    assert!(
        (gguf as f64 / f64::from(1u32 << 30) - 11.27).abs() < 0.005,
        "{gguf}"
    );
    // vLLM loads the release: the same experts, attention and embeddings in BF16.
    assert!(bytes(&["--backend", "vllm"]) > gguf + (1 << 30));
}

#[test]
fn gpt_oss_under_ollama_is_ollamas_own_file() {
    let bytes = |args: &[&str]| json(args)["quant"]["weights_bytes"].as_u64().unwrap();
    // llama.cpp's BF16 GGUF of gpt-oss-20b, experts MXFP4 (llama-bench: 13,779,630,336 bytes).
    let ollama_file = 13_779_630_336;
    assert_eq!(bytes(&["estimate", "gpt-oss:20b", "--no-gpu"]), ollama_file);
    let catalog = ["estimate", "gpt-oss-20b", "--no-gpu"];
    assert_eq!(
        bytes(&[&catalog[..], &["--backend", "ollama"]].concat()),
        ollama_file
    );
    assert!(bytes(&catalog) < ollama_file);
    // Its Modelfile pulls the library tag.
    let out = llmrig()
        .args(["estimate", "gpt-oss-20b", "--no-gpu", "--launch", "ollama"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FROM gpt-oss:20b\n"), "{text}");
}

/// Ollama's gpt-oss:120b blob as its loader lists it (ollama/ollama#16416: 433 f32, 146 bf16 and
/// 108 mxfp4 tensors, 60.87 GiB, 4.48 BPW) is the BF16 GGUF of gpt-oss, experts kept MXFP4.
#[test]
fn gpt_oss_bf16_is_ollamas_blob_tensor_for_tensor() {
    let v = json(&["inspect", "gpt-oss-120b", "-q", "BF16"]);
    let counts: Vec<(String, u64)> = v["tensors_by_type"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["type"].as_str().unwrap().to_string(),
                t["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [("F32", 433), ("BF16", 146), ("MXFP4", 108)];
    for (ty, n) in want {
        assert!(
            counts.iter().any(|(t, c)| t == ty && *c == n),
            "{ty} x{n}: {counts:?}"
        );
    }
    let out = llmrig()
        .args(["inspect", "gpt-oss-120b", "-q", "BF16"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("60.87 GiB"), "{text}");
    assert!(text.contains("every 2nd layer global"), "{text}");
}

#[test]
fn machine_flags_read_as_people_type_them() {
    // A bare --ram number is GiB, a count before the GPU may be unquoted, and a memory size in a
    // unified chip's name picks that configuration.
    let text = json(&[
        "estimate",
        "llama-3.1-8b",
        "--gpu",
        "2x",
        "rtx-3090",
        "--ram",
        "32",
    ])
    .to_string();
    assert!(text.matches("RTX 3090").count() >= 2, "{text}");
    assert!(text.contains(&(32u64 << 30).to_string()), "{text}");
    let out = llmrig()
        .args(["estimate", "llama-3.1-8b", "--gpu", "apple-m2-16gb"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("10.67 GiB of 16.00 GiB"));
    // A size in a card's name larger than the card's is a modified card; `:SIZE` is the memory
    // free on it, at most what the card has; a smaller size in the name is refused.
    let v = json(&["estimate", "llama-3.1-8b", "--gpu", "rtx-4090-48gb"]);
    assert_eq!(v["memory"]["devices"][0]["capacity_bytes"], 48u64 << 30);
    llmrig()
        .args(["estimate", "llama-3.1-8b", "--gpu", "rtx-3090:30GiB"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("at most 24 GiB"));
    llmrig()
        .args(["estimate", "llama-3.1-8b", "--gpu", "rtx-3090-12gb"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("rtx-3090:12GiB"));
    // An API llama.cpp has no build of for the card.
    llmrig()
        .args([
            "estimate",
            "llama-3.1-8b",
            "--gpu",
            "rtx-4090",
            "--api",
            "metal",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--api metal"));
}

#[test]
fn malformed_flag_is_a_usage_error() {
    llmrig()
        .args(["estimate", "llama-3.1-8b", "--bogus"])
        .assert()
        .code(2);
    llmrig().args(["estimate"]).assert().code(2);
}

#[test]
fn catalogs_list() {
    let v = json(&["models"]);
    assert!(v["models"].as_array().unwrap().len() >= 60);
    let v = json(&["devices"]);
    assert!(v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == "rtx-4090"));
    let v = json(&["quants"]);
    let types = v["ggml_types"].as_array().unwrap();
    let q4k = types.iter().find(|t| t["name"] == "Q4_K").unwrap();
    assert_eq!(q4k["bytes_per_block"], 144);
    assert_eq!(q4k["bits_per_weight"], 4.5);
    assert!(v["file_types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "IQ3_XXS"));
    assert!(v["other_formats"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"].as_str().unwrap().starts_with("gptq")));
    llmrig()
        .arg("quants")
        .assert()
        .success()
        .stdout(predicate::str::contains("Q4_K_M"));
}

#[test]
fn table_output_shows_the_breakdown() {
    llmrig()
        .args([
            "estimate",
            "qwen2.5:14b",
            "-q",
            "q4_k_m",
            "-c",
            "16k",
            "--gpu",
            "rtx-4090",
            "--ram",
            "64GiB",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Qwen2.5 14B")
                .and(predicate::str::contains("KV cache"))
                .and(predicate::str::contains("verdict")),
        );
}

#[test]
fn generic_size_model() {
    let v = json(&[
        "estimate", "70b", "-c", "4096", "--no-gpu", "--ram", "256GiB",
    ]);
    let p = v["model"]["params"].as_f64().unwrap();
    assert!((p - 70e9).abs() / 70e9 < 0.05, "{p}");
    // Mixture-of-experts sizes as models are named: total and active, or experts × size.
    for (name, total, active) in [("30b-a3b", 30e9, 3e9), ("235b-a22b", 235e9, 22e9)] {
        let v = json(&[
            "estimate", name, "-c", "4096", "--no-gpu", "--ram", "512GiB",
        ]);
        let p = v["model"]["params"].as_f64().unwrap();
        let a = v["model"]["active_params"].as_f64().unwrap();
        assert!((p - total).abs() / total < 0.02, "{name}: {p}");
        // The active count excludes the input embedding (one row is read per token), which
        // model cards count.
        assert!(a < active && a > 0.8 * active, "{name}: {a}");
    }
    let v = json(&[
        "estimate", "8x7b", "-c", "4096", "--no-gpu", "--ram", "512GiB",
    ]);
    let (p, a) = (
        v["model"]["params"].as_f64().unwrap(),
        v["model"]["active_params"].as_f64().unwrap(),
    );
    assert!(p > 35e9 && p < 50e9 && a > 9e9 && a < 14e9, "{p} {a}");
    llmrig()
        .args(["estimate", "3b-a30b", "--no-gpu"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("below the total"));
}

#[test]
fn other_formats_estimate() {
    let v = json(&[
        "estimate",
        "qwen2.5-7b",
        "-q",
        "awq",
        "-c",
        "4096",
        "--gpu",
        "rtx-4090",
        "--ram",
        "64GiB",
    ]);
    let bpw = v["quant"]["bits_per_weight"].as_f64().unwrap();
    assert!(bpw > 4.1 && bpw < 6.0, "{bpw}");
    assert!(v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["code"] == "non-gguf-memory-model"));
}

/// Writes a small valid GGUF (the formats crate's test builder) and inspects/estimates it.
fn tiny_gguf(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        llmrig_formats::gguf::build::GgufBuilder::tiny_llama().file(),
    )
    .unwrap();
    p
}

/// `models --installed` lists a GGUF in a Hugging Face cache (here a fake home) with its
/// program, name, size and the file type its header declares.
#[test]
fn installed_models_are_listed_with_their_store() {
    let home = std::env::temp_dir().join(format!("llmrig-home-{}", std::process::id()));
    let snap = home.join(".cache/huggingface/hub/models--org--tiny-GGUF/snapshots/abc");
    std::fs::create_dir_all(&snap).unwrap();
    let p = tiny_gguf(&snap, "tiny-Q4_K_M.gguf");
    let out = llmrig()
        .env("HOME", &home)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HF_HUB_CACHE")
        .env_remove("HF_HOME")
        .env_remove("OLLAMA_MODELS")
        .env_remove("LLAMA_CACHE")
        .args(["models", "--installed", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["installed"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["program"], "huggingface");
    assert_eq!(rows[0]["name"], "org/tiny-GGUF/tiny-Q4_K_M.gguf");
    assert_eq!(rows[0]["path"], p.to_str().unwrap());
    assert_eq!(rows[0]["size_bytes"], std::fs::metadata(&p).unwrap().len());
    let declared = llmrig_formats::local::open_gguf(&p)
        .unwrap()
        .model
        .file_type
        .map(|f| f.name().to_string());
    assert_eq!(rows[0]["quant"].as_str().map(String::from), declared);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn inspect_and_estimate_a_gguf_file() {
    let dir = std::env::temp_dir().join(format!("llmrig-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = tiny_gguf(&dir, "tiny.gguf");
    let v = json(&["inspect", p.to_str().unwrap()]);
    assert_eq!(v["source"], "file");
    assert_eq!(v["n_layers"], 1);
    assert_eq!(v["tensor_count"], 11);
    assert_eq!(v["tensors_by_type"][0]["type"], "F32");
    let v = json(&[
        "estimate",
        p.to_str().unwrap(),
        "-c",
        "1024",
        "--gpu",
        "rtx-4090",
        "--ram",
        "16GiB",
    ]);
    assert_eq!(v["model"]["source"], "file");
    assert_eq!(v["offload"]["gpu_layers"], 2);
}

#[test]
fn bad_files_are_one_line_errors() {
    let dir = std::env::temp_dir().join(format!("llmrig-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "notgguf.gguf",
            b"hello world, not a model".to_vec(),
            "not a GGUF file",
        ),
        (
            "trunc.gguf",
            llmrig_formats::gguf::build::GgufBuilder::tiny_llama().file()[..300].to_vec(),
            "trunc.gguf",
        ),
        ("empty.gguf", Vec::new(), "not a GGUF file"),
    ];
    for (name, bytes, needle) in cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        let out = llmrig()
            .args(["inspect", p.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(needle), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
    }
    llmrig()
        .args(["inspect", "/nonexistent/model.gguf"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/nonexistent/model.gguf"));
}

/// Writes a safetensors file from (name, dtype, shape) with zeroed data.
fn write_safetensors(path: &std::path::Path, tensors: &[(&str, &str, Vec<u64>)]) {
    let mut header = serde_json::Map::new();
    let mut off = 0u64;
    for (name, dtype, shape) in tensors {
        let bits = match *dtype {
            "BF16" | "F16" => 16,
            "I32" | "F32" => 32,
            _ => 8,
        };
        let n: u64 = shape.iter().product::<u64>() * bits / 8;
        header.insert(
            (*name).to_string(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [off, off + n]}),
        );
        off += n;
    }
    let h = serde_json::Value::Object(header).to_string();
    let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
    bytes.extend(h.as_bytes());
    bytes.resize(bytes.len() + usize::try_from(off).unwrap(), 0);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn inspect_and_estimate_a_hugging_face_folder() {
    let dir = std::env::temp_dir().join(format!("llmrig-cli-hf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"model_type":"llama","hidden_size":256,"intermediate_size":512,"num_attention_heads":4,
            "num_hidden_layers":2,"num_key_value_heads":2,"vocab_size":1000,"max_position_embeddings":4096,
            "tie_word_embeddings":false,"torch_dtype":"bfloat16"}"#,
    )
    .unwrap();
    let mut t: Vec<(String, &str, Vec<u64>)> = vec![
        ("model.embed_tokens.weight".into(), "BF16", vec![1000, 256]),
        ("lm_head.weight".into(), "BF16", vec![1000, 256]),
        ("model.norm.weight".into(), "BF16", vec![256]),
    ];
    for l in 0..2 {
        for (n, shape) in [
            ("self_attn.q_proj.weight", vec![256, 256]),
            ("self_attn.k_proj.weight", vec![128, 256]),
            ("self_attn.v_proj.weight", vec![128, 256]),
            ("self_attn.o_proj.weight", vec![256, 256]),
            ("mlp.gate_proj.weight", vec![512, 256]),
            ("mlp.up_proj.weight", vec![512, 256]),
            ("mlp.down_proj.weight", vec![256, 512]),
            ("input_layernorm.weight", vec![256]),
            ("post_attention_layernorm.weight", vec![256]),
        ] {
            t.push((format!("model.layers.{l}.{n}"), "BF16", shape));
        }
    }
    let refs: Vec<(&str, &str, Vec<u64>)> = t
        .iter()
        .map(|(a, b, c)| (a.as_str(), *b, c.clone()))
        .collect();
    write_safetensors(&dir.join("model.safetensors"), &refs);
    let v = json(&["inspect", dir.to_str().unwrap()]);
    assert_eq!(v["source"], "folder");
    assert_eq!(v["safetensors"]["tensor_count"], 21);
    assert_eq!(v["safetensors"]["dtypes"][0]["dtype"], "BF16");
    let params: u64 = t.iter().map(|(_, _, s)| s.iter().product::<u64>()).sum();
    assert_eq!(v["safetensors"]["dtypes"][0]["elements"], params);
    // The spec's own tensor inventory has the same parameter count as the files.
    assert_eq!(v["params"], params);
    let v = json(&[
        "estimate",
        dir.to_str().unwrap(),
        "-c",
        "2048",
        "--gpu",
        "rtx-4090",
        "--ram",
        "16GiB",
    ]);
    assert_eq!(v["model"]["source"], "folder");
    assert_eq!(v["quant"]["weights_bytes"], params * 2);
    // `-q` on a folder: this model quantized to that (issue 14), not ignored.
    let q = json(&[
        "estimate",
        dir.to_str().unwrap(),
        "-q",
        "Q4_K_M",
        "-c",
        "2048",
        "--gpu",
        "rtx-4090",
        "--ram",
        "16GiB",
    ]);
    assert_eq!(q["quant"]["name"], "Q4_K_M");
    let bytes = q["quant"]["weights_bytes"].as_u64().unwrap();
    assert!(
        bytes < params * 2 && bytes > params / 4,
        "{bytes} vs {params}"
    );
    assert!(
        q["warnings"].to_string().contains("quantized to Q4_K_M"),
        "{q}"
    );
}

/// A minimal HTTP server on 127.0.0.1 for a fake Hugging Face repo `org/repo` holding one GGUF;
/// counts requests. Serves until the test process ends.
fn fake_hub(gguf: Vec<u8>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    fake_hub_files(vec![("m-Q4_K_M.gguf".into(), gguf)])
}

/// A minimal HTTP server on 127.0.0.1 for a fake Hugging Face repo `org/repo` holding `files`
/// (name, bytes): the tree listing and range reads of each; counts requests. Serves until the
/// test process ends.
fn fake_hub_files(
    files: Vec<(String, Vec<u8>)>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let h = std::sync::Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            h.fetch_add(1, Ordering::SeqCst);
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut range = None;
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
                if let Some(v) = l.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    let (a, b) = v.trim().split_once('-').unwrap();
                    range = Some((a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()));
                }
            }
            let mut s = stream;
            let file = files
                .iter()
                .find(|(name, _)| path == format!("/org/repo/resolve/main/{name}"));
            let (status, headers, body): (&str, String, Vec<u8>) =
                if path.starts_with("/api/models/org/repo/tree/main") {
                    let list: Vec<String> = files
                        .iter()
                        .map(|(name, b)| {
                            format!(r#"{{"type":"file","path":"{name}","size":{}}}"#, b.len())
                        })
                        .collect();
                    (
                        "200 OK",
                        "Content-Type: application/json\r\n".into(),
                        format!("[{}]", list.join(",")).into_bytes(),
                    )
                } else if let Some((_, bytes)) = file {
                    let n = bytes.len();
                    let (a, b) = range.unwrap_or((0, n - 1));
                    let b = b.min(n - 1);
                    (
                        "206 Partial Content",
                        format!("Content-Range: bytes {a}-{b}/{n}\r\nETag: \"x\"\r\n"),
                        bytes[a..=b].to_vec(),
                    )
                } else {
                    ("404 Not Found", String::new(), Vec::new())
                };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
        }
    });
    (base, hits)
}

#[test]
fn remote_inspect_uses_the_cache_on_the_second_run() {
    use std::sync::atomic::Ordering;
    let (base, hits) = fake_hub(llmrig_formats::gguf::build::GgufBuilder::tiny_llama().file());
    let cache = std::env::temp_dir().join(format!("llmrig-cli-cache-{}", std::process::id()));
    let run = || {
        let out = llmrig()
            .args(["inspect", "hf:org/repo", "-q", "Q4_K_M", "--json"])
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
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = run();
    assert_eq!(v["source"], "remote");
    assert_eq!(v["tensor_count"], 11);
    let first = hits.load(Ordering::SeqCst);
    assert!(first >= 2, "{first}");
    run();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        first,
        "the second run must make no request"
    );
    // A repo that does not exist: a clear one-line error naming it.
    let out = llmrig()
        .args(["inspect", "hf:org/missing"])
        .env("HF_ENDPOINT", &base)
        .env("LLMRIG_CACHE_DIR", &cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("org/missing"), "{stderr}");
}

/// Plans start from the checkpoint as released (issue 14 item 6): gpt-oss-120b is MXFP4 and runs
/// on one H100; DeepSeek-R1 is planned in its FP8.
#[test]
fn plans_start_from_the_released_checkpoint() {
    let v = json(&["plan", "gpt-oss-120b", "--gpu", "h100-sxm-80gb"]);
    assert_eq!(v["model"]["quant"], "mxfp4");
    assert_ne!(v["fit"], "does-not-fit", "{v}");
    assert_eq!(v["plan"]["tp"], 1);
    let v = json(&["plan", "deepseek-r1-671b", "--gpu", "8x h200"]);
    assert_eq!(v["model"]["quant"], "fp8-block");
    // Asked for, another format is planned.
    let v = json(&[
        "plan",
        "gpt-oss-120b",
        "-q",
        "bf16",
        "--gpu",
        "h100-sxm-80gb",
    ]);
    assert_eq!(v["fit"], "does-not-fit");
}

/// SGLang serves DeepSeek over the node's TP with data-parallel attention, as its DeepSeek recipe
/// does (issue 14 item 6): each rank keeps only its own sequences' latent KV, so TP8 holds 16 users
/// at the full 163840 context where plain TP8 replicates the latent and holds 3; the pipeline plan
/// that used to win holds them too but decodes slower.
#[test]
fn sglang_serves_deepseek_with_tp_and_dp_attention() {
    let v = json(&[
        "plan",
        "deepseek-r1-671b",
        "--gpu",
        "8x h200",
        "--engine",
        "sglang",
        "--users",
        "16",
    ]);
    assert_eq!(v["fit"], "fits", "{v}");
    assert_eq!(v["plan"]["tp"], 8);
    assert_eq!(v["plan"]["pp"], 1);
    assert_eq!(v["plan"]["dp_attention"], true);
    assert!(v["max_concurrent_seqs"].as_u64().unwrap() >= 16);
    let cmd = v["command"].as_str().unwrap();
    assert!(
        cmd.contains("--tp 8")
            && cmd.contains("--dp-size 8")
            && cmd.contains("--enable-dp-attention"),
        "{cmd}"
    );
    let alts = v["alternatives"].as_array().unwrap();
    let plain_tp8 = alts
        .iter()
        .find(|a| a["plan"]["tp"] == 8 && a["plan"]["dp_attention"] == false)
        .expect("plain TP8 among the alternatives");
    assert!(plain_tp8["max_concurrent_seqs"].as_u64().unwrap() < 16);
    let pp8 = alts.iter().find(|a| a["plan"]["pp"] == 8).expect("PP8");
    let speed = |c: &serde_json::Value| {
        c["performance"]["per_user_decode_tokens_per_s"]
            .as_f64()
            .unwrap()
    };
    assert!(speed(&v) > speed(pp8), "{} vs {}", speed(&v), speed(pp8));
    // vLLM plans are unchanged: no DP attention there.
    let v = json(&[
        "plan",
        "deepseek-r1-671b",
        "--gpu",
        "8x h200",
        "--users",
        "16",
    ]);
    assert_eq!(v["plan"]["dp_attention"], false);
}

#[test]
fn plan_llama_70b_on_8_h100() {
    let v = json(&[
        "plan",
        "llama-3.1-70b",
        "--gpu",
        "8x h100",
        "--users",
        "64",
        "--max-model-len",
        "8192",
    ]);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["engine"], "vllm");
    assert_eq!(v["fit"], "fits");
    assert_eq!(v["plan"]["tp"], 8);
    assert_eq!(v["plan"]["pp"], 1);
    // One KV head per GPU at TP8: 80 layers × 2 × 128 × 2 B.
    assert_eq!(v["kv_bytes_per_token_per_gpu"], 40960);
    assert!(v["max_concurrent_seqs"].as_u64().unwrap() >= 64);
    let w = v["memory_per_gpu"]["weights_bytes"].as_f64().unwrap();
    assert!((w / 17.64e9 - 1.0).abs() < 0.01, "{w}");
    assert!(
        v["performance"]["per_user_decode_tokens_per_s"]
            .as_f64()
            .unwrap()
            >= 10.0
    );
    let cmd = v["command"].as_str().unwrap();
    assert!(
        cmd.starts_with("vllm serve meta-llama/Llama-3.1-70B-Instruct --tensor-parallel-size 8"),
        "{cmd}"
    );
    assert!(cmd.contains("--max-num-seqs 64") && cmd.contains("--max-model-len 8192"));
    assert!(!v["alternatives"].as_array().unwrap().is_empty());
}

#[test]
fn plan_that_cannot_fit_says_so() {
    let v = json(&[
        "plan",
        "llama-3.1-405b",
        "--gpu",
        "2x rtx-4090",
        "--max-model-len",
        "8192",
    ]);
    assert_eq!(v["fit"], "does-not-fit");
    let w = v["warnings"].as_array().unwrap();
    assert!(w.iter().any(|w| w["code"] == "does-not-fit"));
    llmrig()
        .args(["plan", "llama-3.1-70b", "--gpu", "8x h100", "--tp", "3"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("attention heads"));
}

#[test]
fn backends_are_modelled_or_refused_by_what_they_need() {
    // ExLlamaV2 needs a CUDA/ROCm GPU; MLX needs Apple silicon.
    for (backend, gpu, needs) in [
        ("exllamav2", None, "CUDA"),
        ("mlx", Some("rtx-4090"), "Apple silicon"),
    ] {
        let mut args = vec![
            "estimate",
            "llama-3.1-8b",
            "-q",
            "Q4_K_M",
            "-c",
            "8192",
            "--backend",
            backend,
        ];
        match gpu {
            Some(g) => args.extend(["--gpu", g]),
            None => args.push("--no-gpu"),
        }
        let out = llmrig().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{backend}: {stderr}");
        assert!(stderr.contains(needs), "{backend}: {stderr}");
    }
    // On a fitting machine the JSON names the backend and says what its numbers rest on.
    let v = json(&[
        "estimate",
        "llama-3.1-8b",
        "-q",
        "exl2:4.65",
        "-c",
        "8192",
        "--gpu",
        "rtx-4090",
        "--backend",
        "exllamav2",
    ]);
    assert_eq!(v["settings"]["backend"], "exllamav2");
    let codes = warning_codes(&v);
    assert!(codes.contains(&"backend-rules"), "{codes:?}");
    // ExLlamaV2 dequantizes the head into its scratch: 2 · min(vocab · hidden, 512 Mi) bytes.
    let compute = v["memory"]["devices"][0]["compute_bytes"].as_u64().unwrap();
    assert_eq!(compute, 2 * 128_256 * 4096);
    // An unknown backend is a usage error naming the choices.
    let out = llmrig()
        .args(["estimate", "llama-3.1-8b", "--backend", "tgi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[possible values: llama.cpp,"));
}

#[test]
fn row_split_spreads_every_matrix_and_needs_split_buffers() {
    let base = [
        "estimate",
        "llama-3.1-70b",
        "-q",
        "Q4_K_M",
        "-c",
        "8192",
        "--gpu",
        "rtx-3090",
        "--gpu",
        "rtx-4090:16GiB",
        // The same layers on the GPUs in both modes (-ngl auto may fit one more with -sm row).
        "-ngl",
        "60",
    ];
    let layer = json(&[&base[..], &["-sm", "layer"]].concat());
    let row = json(&[&base[..], &["-sm", "row"]].concat());
    let w = |v: &serde_json::Value, i: usize| {
        v["memory"]["devices"][i]["weights_bytes"].as_f64().unwrap()
    };
    let kv = |v: &serde_json::Value, i: usize| {
        v["memory"]["devices"][i]["kv_cache_bytes"]
            .as_u64()
            .unwrap()
    };
    // The weights on the GPUs are the same in total; with -sm row the matrices follow the
    // memory proportions (24:16) on both GPUs, and the KV cache stays with the layers.
    assert!((w(&row, 0) + w(&row, 1) - w(&layer, 0) - w(&layer, 1)).abs() < 64.0 * 1024.0 * 1024.0);
    assert!(
        (w(&row, 0) / w(&row, 1) - 1.5).abs() < 0.05,
        "{} {}",
        w(&row, 0),
        w(&row, 1)
    );
    assert_eq!(kv(&row, 0), kv(&layer, 0));
    let codes = warning_codes(&row);
    assert!(codes.contains(&"row-split-speed-assumed"), "{codes:?}");
    // Vulkan has no split buffers: llama.cpp stops, and so does llmrig.
    let out = llmrig()
        .args([
            "estimate",
            "llama-3.1-8b",
            "--gpu",
            "2x rx-7900-xtx",
            "--api",
            "vulkan",
            "-sm",
            "row",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("split buffers"));
}

/// Unified memory outside macOS: a DGX Spark's GPU allocates from the 128 GiB that the CPU side
/// shares (CUDA on GB10 uses system RAM; macOS's Metal working-set limit does not apply), less the
/// 4 GiB kept for the OS and other programs (the OS of a machine described by `--gpu` is not
/// known: a desktop's reserve), so 70B Q8_0 at 96k (99.5 GiB on the GPU, 1.2 GiB on the CPU side)
/// holds on the GPU whole. An M2 Max keeps Metal's limit and says so.
#[test]
fn dgx_spark_holds_70b_q8_at_96k_on_the_gpu() {
    let v = json(&[
        "estimate",
        "llama-3.1-70b",
        "-q",
        "Q8_0",
        "-c",
        "96k",
        "--gpu",
        "dgx-spark",
    ]);
    assert_eq!(v["offload"]["gpu_layers"], 81, "{v}");
    assert_ne!(v["verdict"], "does-not-fit");
    let spark = v["memory"]["devices"][0]["capacity_bytes"]
        .as_u64()
        .unwrap();
    assert_eq!(spark, 124u64 << 30);
    assert_eq!(v["memory"]["system_ram"]["total_bytes"], 128u64 << 30);
    assert_eq!(v["memory"]["system_ram"]["reserved_bytes"], 4u64 << 30);
    assert!(!v.to_string().contains("working-set"), "{v}");
    let mac = json(&["estimate", "llama-3.1-8b", "--gpu", "m2-max"]);
    assert!(mac.to_string().contains("macOS working-set limit"), "{mac}");
}

/// `-t` pastes in from a llama.cpp command line: the CPU's layers run on that many threads, so
/// fewer threads than the catalog CPU's 96 cores prefill slower, and more add nothing.
#[test]
fn threads_flag_scales_the_cpu() {
    let pp = |t: &str| {
        json(&[
            "estimate",
            "llama-3.1-8b",
            "-c",
            "4096",
            "--no-gpu",
            "--cpu",
            "epyc-9654",
            "--ram",
            "64",
            "-t",
            t,
        ])["performance"]["prefill_tokens_per_s"]
            .as_f64()
            .unwrap()
    };
    let (one, eight, all, more) = (pp("1"), pp("8"), pp("96"), pp("192"));
    assert!(one < eight && eight < all, "{one} {eight} {all}");
    assert!((all - more).abs() < 1e-9 * all, "{all} {more}");
    llmrig()
        .args(["estimate", "llama-3.1-8b", "-t", "0"])
        .assert()
        .code(2);
}

/// Issue 14 item 8: a slow plan says what would change it, and the change does what it says.
#[test]
fn a_slow_plan_says_what_would_help() {
    let base = [
        "estimate",
        "llama-3.1-70b",
        "-c",
        "8192",
        "--gpu",
        "rtx-3090",
        "--ram",
        "64GiB",
    ];
    let v = json(&base);
    assert_eq!(v["verdict"], "slow");
    let helps: Vec<String> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "what-would-change")
        .map(|w| w["message"].as_str().unwrap().to_string())
        .collect();
    let second = helps
        .iter()
        .find(|m| m.starts_with("2× NVIDIA GeForce RTX 3090"))
        .unwrap_or_else(|| panic!("{helps:?}"));
    let mut two = base.to_vec();
    two[5] = "2x rtx-3090";
    let v2 = json(&two);
    let tps = v2["performance"]["decode_tokens_per_s"].as_f64().unwrap();
    assert!(
        second.contains(&format!("{tps:.0} tok/s")),
        "{second} vs {tps}"
    );
    // The text never rounds a speed to nothing, and provenance waits for --verbose.
    let text = String::from_utf8_lossy(&llmrig().args(base).output().unwrap().stdout).to_string();
    assert!(!text.contains(" 0.0 "), "{text}");
    assert!(text.contains("would help"), "{text}");
    assert!(text.contains("--verbose"), "{text}");
    let verbose = String::from_utf8_lossy(
        &llmrig()
            .args(base)
            .arg("--verbose")
            .output()
            .unwrap()
            .stdout,
    )
    .to_string();
    assert!(verbose.contains("system RAM"), "{verbose}");
    // After the subcommand's flags, --verbose is still llmrig's: every note is shown.
    assert!(text.contains("on where the numbers come from"), "{text}");
    assert!(
        !verbose.contains("on where the numbers come from"),
        "{verbose}"
    );
}
