//! `llmrig need` (issue 14 item 7): the hardware that runs a model at a speed, cheapest first, each
//! option confirmed by `llmrig estimate` with the flags it names.

use super::{json, llmrig};

/// `head` followed by an option's `estimate_args`: the command that checks it.
fn with_args<'a>(head: &[&'a str], o: &'a serde_json::Value) -> Vec<&'a str> {
    let mut args = head.to_vec();
    args.extend(
        o["estimate_args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap()),
    );
    args
}

#[test]
fn a_70b_at_15_tokens_per_second_has_options_estimate_confirms() {
    let v = json(&["need", "llama-3.1-70b", "--tps", "15"]);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["target"]["tokens_per_s"], 15.0);
    let opts = v["options"].as_array().unwrap();
    assert!(opts.len() >= 3, "{v}");
    for o in opts.iter().take(3) {
        let e = json(&with_args(&["estimate", "llama-3.1-70b", "-c", "8192"], o));
        assert_ne!(e["verdict"], "does-not-fit", "{o}");
        let tps = e["performance"]["decode_tokens_per_s"].as_f64().unwrap();
        assert!(tps >= 15.0, "{o}: {tps}");
        assert_eq!(tps, o["decode_tokens_per_s"].as_f64().unwrap(), "{o}");
    }
    // Cheapest first among the priced ones, each price with its source and date.
    let prices: Vec<f64> = opts
        .iter()
        .filter_map(|o| o["price_usd"].as_f64())
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    for o in opts.iter().filter(|o| o["price_usd"].is_number()) {
        assert!(
            o["price_source"].as_str().unwrap().starts_with("http"),
            "{o}"
        );
        assert_eq!(o["price_date"].as_str().unwrap().len(), 10, "{o}");
    }
}

#[test]
fn the_table_fits_a_terminal_and_an_impossible_target_says_so() {
    let out = llmrig().args(["need", "qwen3-8b"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for line in text
        .lines()
        .filter(|l| !l.starts_with("note:") && !l.starts_with("cheapest:"))
    {
        assert!(line.chars().count() <= 100, "{line}");
    }
    let out = llmrig()
        .args([
            "need",
            "llama-3.1-405b",
            "-q",
            "F16",
            "--tps",
            "500",
            "--max-gpus",
            "2",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("nothing in the device catalog runs it"),
        "{text}"
    );
}

/// `--engine vllm|sglang`: GPU nodes planned as `llmrig plan` plans them; each option's own
/// `llmrig plan` line holds every user at the context and reaches the speed, GGUF quants are
/// refused, and SGLang's options stay on the GPUs it runs on.
#[test]
fn served_engines_give_plans_that_plan_confirms() {
    let v = json(&[
        "need",
        "llama-3.1-70b",
        "--engine",
        "vllm",
        "--users",
        "16",
        "--tps",
        "15",
    ]);
    assert_eq!(v["target"]["engine"], "vllm");
    let opts = v["options"].as_array().unwrap();
    assert!(opts.len() >= 3, "{v}");
    for o in opts.iter().take(4) {
        assert_eq!(o["engine"], "vllm");
        assert!(
            o["launch"].as_str().unwrap().starts_with("vllm serve "),
            "{o}"
        );
        let p = json(&with_args(&["plan", "llama-3.1-70b"], o));
        assert_eq!(p["fit"], "fits", "{o}");
        let tps = p["performance"]["per_user_decode_tokens_per_s"]
            .as_f64()
            .unwrap();
        assert!(tps >= 15.0, "{o}: {tps}");
        assert_eq!(tps, o["decode_tokens_per_s"].as_f64().unwrap(), "{o}");
        assert!(p["max_concurrent_seqs"].as_u64().unwrap() >= 16, "{p}");
    }
    let out = llmrig()
        .args(["need", "llama-3.1-70b", "-q", "Q4_K_M", "--engine", "vllm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GGUF"));
    let v = json(&[
        "need",
        "deepseek-r1-671b",
        "--engine",
        "sglang",
        "--users",
        "16",
    ]);
    let opts = v["options"].as_array().unwrap();
    assert!(!opts.is_empty(), "{v}");
    for o in opts {
        let dev = o["hardware"][0]["device"].as_str().unwrap();
        assert!(
            !dev.starts_with("rx-") && !dev.contains("arc") && !dev.contains("laptop"),
            "SGLang does not run on {dev}"
        );
        assert!(o["launch"]
            .as_str()
            .unwrap()
            .starts_with("python -m sglang.launch_server"));
    }
}
