//! `llmrig recommend` and bare `llmrig` on fake machines: sensible, stable picks; every pick is a
//! plan `llmrig estimate` also rates as fitting; launch commands use the backends' flag names.

use crate::{json, llmrig};

const MACHINES: [(&str, &[&str]); 5] = [
    (
        "8 GB laptop, no GPU",
        &["--no-gpu", "--ram", "8GiB", "--ram-bw", "51.2"],
    ),
    ("16 GB Apple M2", &["--gpu", "m2:16GiB"]),
    (
        "RTX 3060 12GB + 32 GB",
        &["--gpu", "rtx-3060", "--ram", "32GiB", "--ram-bw", "51.2"],
    ),
    (
        "2x RTX 3090 + 64 GB",
        &["--gpu", "2x rtx-3090", "--ram", "64GiB", "--ram-bw", "89.6"],
    ),
    (
        "8x H100 node",
        &["--gpu", "8x h100", "--ram", "1TiB", "--ram-bw", "460"],
    ),
];

fn recs(machine: &[&str], use_: &str) -> Vec<serde_json::Value> {
    let mut args = vec!["recommend", "--use", use_, "--top", "5"];
    args.extend_from_slice(machine);
    json(&args)["recommendations"].as_array().unwrap().clone()
}

#[test]
fn picks_are_sensible_for_each_machine() {
    for (name, m) in MACHINES {
        let chat = recs(m, "chat");
        assert!(!chat.is_empty(), "{name}: no chat recommendation");
        for r in &chat {
            assert_ne!(r["verdict"], "does-not-fit", "{name}: {r}");
            assert!(
                r["decode_tokens_per_s"].as_f64().unwrap() >= 10.0,
                "{name}: {r}"
            );
        }
        // Bigger machines get bigger or equal best models (by memory of the top pick).
        let top_mem = chat[0]["memory_bytes"].as_u64().unwrap();
        match name {
            "8 GB laptop, no GPU" => assert!(top_mem < 8 << 30, "{name}: {top_mem}"),
            "8x H100 node" => assert!(
                top_mem > 40 << 30,
                "{name}: top pick uses only {top_mem} bytes"
            ),
            _ => {}
        }
        // Reasoning picks plan a long context for the thinking tokens.
        for r in recs(m, "reasoning") {
            assert!(r["ctx"].as_u64().unwrap() >= 16384, "{name}: {r}");
        }
    }
}

#[test]
fn every_pick_is_a_fitting_estimate() {
    let (_, m) = MACHINES[2];
    for r in recs(m, "chat") {
        let model = r["model"].as_str().unwrap();
        let quant = r["quant"].as_str().unwrap();
        let ctx = r["ctx"].as_u64().unwrap().to_string();
        let mut args = vec!["estimate", model, "-q", quant, "-c", &ctx];
        args.extend_from_slice(m);
        let e = json(&args);
        assert_ne!(e["verdict"], "does-not-fit", "{model} {quant}");
        assert_eq!(
            e["offload"]["gpu_layers"], r["gpu_layers"],
            "{model} {quant}"
        );
    }
}

#[test]
fn a_2_bit_70b_does_not_beat_a_6_bit_32b() {
    // 2x RTX 3090: a 70B fits only at ~2-3 bits; the loss tables make a 32B at high quality win.
    let (_, m) = MACHINES[3];
    let chat = recs(m, "chat");
    let first = &chat[0];
    let q = first["quant"].as_str().unwrap();
    assert!(!q.starts_with("IQ2") && q != "Q2_K", "top pick {first}");
}

#[test]
fn launch_commands_use_backend_flags() {
    let (_, m) = MACHINES[2];
    for (backend, needles) in [
        (
            "llama.cpp",
            vec!["llama-server -m ", " -c ", " -ngl ", " -fa "],
        ),
        (
            "ollama",
            vec!["FROM ", "PARAMETER num_ctx", "PARAMETER num_gpu"],
        ),
        ("koboldcpp", vec!["--contextsize", "--gpulayers"]),
    ] {
        let mut args = vec!["recommend", "--top", "2", "--launch", backend];
        args.extend_from_slice(m);
        for r in json(&args)["recommendations"].as_array().unwrap() {
            let cmd = r["launch"].as_str().unwrap();
            for n in &needles {
                assert!(cmd.contains(n), "{backend}: {cmd}");
            }
        }
    }
    llmrig()
        .args(["recommend", "--launch", "nope", "--no-gpu", "--ram", "8GiB"])
        .assert()
        .code(2);
    // GGUF plans are not vLLM's: it is planned by `llmrig plan`.
    let mut args = vec!["recommend", "--top", "2", "--launch", "vllm"];
    args.extend_from_slice(m);
    llmrig()
        .args(&args)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("llmrig plan"));
}

#[test]
fn bare_llmrig_summarises_this_machine() {
    let out = llmrig().output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("This machine:"), "{text}");
    assert!(text.contains("Best for chat"), "{text}");
    assert!(text.contains("llmrig estimate MODEL"), "{text}");
}

/// The picks per fake machine, as a snapshot: a change in the catalog, the quality data or the
/// speed constants that moves them shows up in review (`cargo insta review`, or rerun with
/// `INSTA_UPDATE=always` and inspect the diff).
#[test]
fn picks_snapshot() {
    let mut lines = Vec::new();
    for (name, m) in MACHINES {
        for use_ in ["chat", "code", "reasoning"] {
            let picks: Vec<String> = recs(m, use_)
                .iter()
                .map(|r| {
                    format!(
                        "{} {} ctx {} ngl {}",
                        r["model"].as_str().unwrap(),
                        r["quant"].as_str().unwrap(),
                        r["ctx"],
                        r["gpu_layers"]
                    )
                })
                .collect();
            lines.push(format!("{name} / {use_}: {}", picks.join(" | ")));
        }
    }
    insta::assert_snapshot!(lines.join("\n"));
}

/// Issue 14: on one scale per use (LMArena Elo for chat), the newer and larger models rank above
/// the older and smaller ones people compare them with, on a 3090 with 64 GiB.
#[test]
fn the_ranking_knows_which_model_is_better() {
    let v = json(&[
        "recommend",
        "--gpu",
        "rtx-3090",
        "--ram",
        "64GiB",
        "--ram-bw",
        "89.6",
        "--top",
        "200",
    ]);
    let recs = v["recommendations"].as_array().unwrap();
    let score = |id: &str| {
        recs.iter()
            .find(|r| r["model"] == id)
            .and_then(|r| r["score"].as_f64())
            .unwrap_or_else(|| panic!("{id} is not recommended: {v}"))
    };
    for (better, worse) in [
        ("qwen3-32b", "qwen2.5-7b"),
        ("qwen3-32b", "qwen3-8b"),
        ("gemma-3-27b", "gemma-2-9b"),
        ("gemma-3-27b", "gemma-3-4b"),
        ("qwen3-30b-a3b", "qwen3-4b"),
        ("llama-3.1-8b", "llama-3-8b"),
    ] {
        assert!(
            score(better) > score(worse),
            "{better} {} vs {worse} {}",
            score(better),
            score(worse)
        );
    }
}

/// `--use image|speech` (issue 15): only plans that fit, the best-scored of those that are not
/// slow first, each image model with the changes that make it fit.
#[test]
fn image_and_speech_recommendations_fit_and_rank_by_their_published_scores() {
    let machine = ["--gpu", "rtx-3060", "--ram", "32GiB"];
    let mut args = vec!["recommend", "--use", "image"];
    args.extend_from_slice(&machine);
    let j = super::json(&args);
    assert_eq!(j["use"], "image");
    let rows = j["recommendations"].as_array().unwrap();
    assert!(rows.len() >= 6, "{rows:?}");
    let gib12 = 12u64 << 30;
    for r in rows {
        assert!(r["memory_bytes"].as_u64().unwrap() <= gib12, "{r}");
    }
    // Not slow before slow; among the former, WISE scores never rise.
    let slow_from = rows
        .iter()
        .position(|r| r["verdict"] == "slow")
        .unwrap_or(rows.len());
    assert!(rows[slow_from..].iter().all(|r| r["verdict"] == "slow"));
    let scores: Vec<f64> = rows[..slow_from]
        .iter()
        .filter_map(|r| r["score"].as_f64())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // FLUX.1 dev (24 GB in BF16 with its T5) needs sd.cpp's offload and a smaller file on 12 GB.
    assert_eq!(rows[0]["id"], "flux.1-dev");
    assert!(rows[0]["changes"]
        .as_str()
        .unwrap()
        .contains("--offload-to-cpu"));
    // The changes are estimate flags that make it fit.
    let mut est = vec!["estimate", "flux.1-dev"];
    let changes = rows[0]["changes"].as_str().unwrap().to_string();
    est.extend(changes.split(' '));
    est.extend_from_slice(&machine);
    assert_ne!(super::json(&est)["verdict"], "does-not-fit");

    let mut args = vec!["recommend", "--use", "speech", "--top", "20"];
    args.extend_from_slice(&machine);
    let s = super::json(&args);
    let rows = s["recommendations"].as_array().unwrap();
    assert_eq!(rows[0]["id"], "whisper-large-v3");
    assert!(rows
        .iter()
        .all(|r| r["realtime_factor"].as_f64().unwrap() > 0.0));
    // The multilingual small models have no leaderboard row: ranked after the scored ones.
    let first_unscored = rows.iter().position(|r| r["score"].is_null()).unwrap();
    assert!(rows[first_unscored..].iter().all(|r| r["score"].is_null()));
}
