//! `llmrig calibrate` as a user runs it: on the H200's llama-bench results (the rows of
//! shared/data/llamacpp-cuda/h200-throughput.csv, which the calibration data carries), written as
//! llama-bench's default table; calibrated on the Q8_0 rows, checked on the others.

use super::{json, llmrig};

const THROUGHPUT: &str = include_str!("../../../catalog/data/calibration/throughput.csv");

/// A CSV line's fields (quotes allowed, no newlines inside fields).
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.trim_end_matches('\r').chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The H200 rows whose quant `keep` accepts, as a llama-bench table.
fn h200_table(keep: &dyn Fn(&str) -> bool) -> String {
    let mut t = String::from(
        "| model | size | params | backend | ngl | n_ubatch | fa | test | t/s |\n|---|--:|--:|---|--:|--:|--:|--:|--:|\n",
    );
    for line in THROUGHPUT
        .lines()
        .filter(|l| l.contains("h200-throughput.csv"))
    {
        let f = fields(line);
        let quant = f[9].as_str();
        if !keep(quant) {
            continue;
        }
        let ty = if quant == "Q4_K_M" {
            "Q4_K - Medium"
        } else {
            quant
        };
        t.push_str(&format!(
            "| llama 8B {ty} | {} GiB | {} B | CUDA | 99 | 512 | 1 | {} | {} ± {} |\n",
            f[10], f[11], f[16], f[17], f[18]
        ));
    }
    t.push_str("\nbuild: 0c1e57098 (1)\n");
    t
}

/// A fresh directory holding a run's results split in two (`train`: the rows `keep` accepts,
/// `rest`: the others, each written by `table`) and two machine files of GPU `gpu`, one to
/// calibrate and one to stay bare: (directory, train, rest, bare, calibrated).
fn setup(
    name: &str,
    gpu: &str,
    table: impl Fn(&dyn Fn(&str) -> bool) -> String,
    keep: impl Fn(&str) -> bool,
) -> [std::path::PathBuf; 5] {
    let dir = std::env::temp_dir().join(format!("llmrig-calibrate-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (train, rest) = (dir.join("train.md"), dir.join("rest.md"));
    std::fs::write(&train, table(&|q| keep(q))).unwrap();
    std::fs::write(&rest, table(&|q| !keep(q))).unwrap();
    let (bare, sys) = (dir.join("bare.toml"), dir.join("calibrated.toml"));
    for f in [&bare, &sys] {
        llmrig()
            .args(["hw", "--gpu", gpu, "--save"])
            .arg(f)
            .assert()
            .success();
    }
    [dir, train, rest, bare, sys]
}

#[test]
fn calibrating_on_q8_0_carries_over_to_the_other_quants() {
    let [dir, q8, rest, bare, sys] = setup("h200", "h200", |k| h200_table(k), |q| q == "Q8_0");
    let p = |f: &std::path::Path| f.to_str().unwrap().to_string();
    let v = json(&["calibrate", &p(&q8), "--system", &p(&sys)]);
    let c = &v["calibration"];
    assert_eq!(c["rows"], 4);
    // One model: the user is told what one model cannot calibrate.
    assert!(
        v["warnings"][0].as_str().unwrap().contains("one model"),
        "{v}"
    );
    assert!(c["backends"]["cuda-hbm"]["bw"].as_f64().unwrap() > 0.0);
    // Not to the percent: the Q8_0 rows decode faster than any bandwidth share allows with the
    // shipped per-token cost of HBM GPUs (2.9 ms for 32 layers at 1 TB/s, 2.0 ms at the H200's
    // 4.8 TB/s, set mostly by 2024 rows), and one model cannot
    // move a fixed cost (letting it move when the share saturates fitted this run and cost other
    // models: the RTX 5080 holdout went from 3.6% to 38%). 2026-12-02: 5.4%.
    assert!(c["error_after"].as_f64().unwrap() < 0.06, "{c}");
    assert!(c["error_before"].as_f64().unwrap() > 0.15, "{c}");
    // The other quants (Q4_0, Q4_K_M, F16), predicted with and without the calibration, per phase
    // (2026-12-02: decode 16% calibrated against 28% shipped, prefill 5.6% against 3.1%.
    // 2026-12-05: the per-token cost scales with the GPU, so the shipped decode is closer, 23.0%,
    // and calibrated 18.5%; prefill 7.8% shipped, 2.9% calibrated; README "Accuracy"). The
    // decode target of 10% is not met: Q4_0 decodes at 344 tok/s here, faster than Q4_K_M,
    // where llmrig's unpacking cost for legacy quants predicts far less. Since the evening of
    // 2026-12-05 one pair's prompt fit moves the prompt shares 65% of the way
    // (`calibrate::prompt_shrink`, which makes the median machine of the calibration data better
    // rather than worse): prefill 4.4% calibrated here (2.9% when they moved all the way).
    let check = |system: &std::path::Path| {
        json(&["calibrate", "--check", &p(&rest), "--system", &p(system)])
    };
    let phase_median = |v: &serde_json::Value, decode: bool| -> f64 {
        let mut e: Vec<f64> = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["test"].as_str().unwrap().starts_with("tg") == decode)
            .map(|r| {
                (r["predicted"].as_f64().unwrap() / r["measured"].as_f64().unwrap() - 1.0).abs()
            })
            .collect();
        e.sort_by(f64::total_cmp);
        (e[e.len() / 2 - 1] + e[e.len() / 2]) / 2.0
    };
    let (calibrated, shipped) = (check(&sys), check(&bare));
    let (decode_cal, decode_shipped) = (
        phase_median(&calibrated, true),
        phase_median(&shipped, true),
    );
    let (prefill_cal, prefill_shipped) = (
        phase_median(&calibrated, false),
        phase_median(&shipped, false),
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "H200, the other quants: decode {decode_shipped:.3} shipped -> {decode_cal:.3} calibrated, prefill {prefill_shipped:.3} -> {prefill_cal:.3}"
        );
    }
    assert!(
        decode_cal <= 0.19,
        "calibrated decode median error {decode_cal}"
    );
    assert!(
        decode_cal < decode_shipped - 0.03,
        "calibrated decode {decode_cal} vs shipped {decode_shipped}"
    );
    // The target is 15%. The shipped constants are fitted with these very rows (the H200's
    // are most of cuda-hbm's MMQ prompts since XiongjieDai's 2024 rows went to cuBLAS), so they
    // score 3.7% here in sample; calibrating on one quant's prompts stays within a point of that
    // (4.5%), where it had helped when the shipped constants fitted the H200 less well (7.8% →
    // 4.4% before 2026-12-06, night).
    assert!(
        prefill_cal <= 0.05 && prefill_cal < prefill_shipped + 0.01,
        "calibrated prefill median error {prefill_cal} vs shipped {prefill_shipped}"
    );
    // Estimates on the calibrated machine use it, and say so.
    llmrig()
        .args(["estimate", "llama-3.1-8b", "--system", &p(&sys)])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "speed calibrated on your llama-bench run of",
        ));
    let decode = |system: &std::path::Path| -> f64 {
        let args = [
            "estimate",
            "llama-3.1-8b",
            "-q",
            "Q8_0",
            "--system",
            &p(system),
            "--gen",
            "128",
            "-fa",
            "on",
        ];
        json(&args)["performance"]["decode_tokens_per_s"]
            .as_f64()
            .unwrap()
    };
    // The H200's measured Q8_0 tg128: 254.29 tokens/s (2026-12-02: 236 calibrated, 188
    // shipped; see error_after above).
    let (cal, ship) = (decode(&sys), decode(&bare));
    assert!(
        (cal / 254.29 - 1.0).abs() < 0.12,
        "calibrated estimate {cal}"
    );
    assert!(
        (cal / 254.29 - 1.0).abs() < (ship / 254.29 - 1.0).abs(),
        "calibrated {cal} vs shipped {ship}"
    );
    assert!((ship / 254.29 - 1.0).abs() > 0.1, "shipped estimate {ship}");
    std::fs::remove_dir_all(&dir).ok();
}

/// An M4 Max's rows of llama.cpp discussion #4167 (Llama 2 7B at F16, Q8_0 and Q4_0, pp512 and
/// tg128) whose quant `keep` accepts, as a llama-bench table.
fn m4_max_table(keep: &dyn Fn(&str) -> bool) -> String {
    let mut t = String::from(
        "| model | size | params | backend | ngl | test | t/s |\n|---|--:|--:|---|--:|--:|--:|\n",
    );
    for line in THROUGHPUT
        .lines()
        .filter(|l| l.starts_with("Apple M4 Max (40-core GPU)") && l.contains("discussions/4167"))
    {
        let f = fields(line);
        if !keep(&f[9]) {
            continue;
        }
        t.push_str(&format!(
            "| llama 7B {} | {} GiB | {} B | Metal | 99 | {} | {} ± 0.10 |\n",
            f[9], f[10], f[11], f[16], f[17]
        ));
    }
    t
}

/// A Mac calibrated on an F16 run also moves its quantized prompt share: Apple's GPUs run both
/// through the same kernels (`calibrate::carry_prompt_shares`), and the command says so.
#[test]
fn a_mac_calibrated_on_f16_moves_its_quantized_prompts_too() {
    let [dir, f16, rest, bare, sys] =
        setup("mac", "m4-max-40c", |k| m4_max_table(k), |q| q == "F16");
    let p = |f: &std::path::Path| f.to_str().unwrap().to_string();
    let v = json(&["calibrate", &p(&f16), "--system", &p(&sys)]);
    assert_eq!(v["calibration"]["rows"], 2, "{v}");
    let carried = v["prompt_carried"].as_array().unwrap();
    assert_eq!(carried.len(), 1, "{v}");
    assert!(
        carried[0]
            .as_str()
            .unwrap()
            .starts_with("metal: the quantized prompt share"),
        "{v}"
    );
    // The Q8_0 and Q4_0 prompts, which the run did not hold, with and without it (2026-12-05:
    // mean absolute log error 0.200 shipped, 0.068 calibrated; without the carry the quantized
    // share would not move and the two would be equal).
    let prompt_error = |system: &std::path::Path| -> f64 {
        let v = json(&["calibrate", "--check", &p(&rest), "--system", &p(system)]);
        let e: Vec<f64> = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["test"].as_str().unwrap().starts_with("pp"))
            .map(|r| {
                (r["predicted"].as_f64().unwrap() / r["measured"].as_f64().unwrap())
                    .ln()
                    .abs()
            })
            .collect();
        assert_eq!(e.len(), 2, "{v}");
        e.iter().sum::<f64>() / 2.0
    };
    let (cal, ship) = (prompt_error(&sys), prompt_error(&bare));
    #[allow(clippy::print_stderr)]
    {
        eprintln!("M4 Max, quantized prompts: {ship:.3} shipped -> {cal:.3} calibrated on F16");
    }
    assert!(cal < ship, "calibrated {cal} vs shipped {ship}");
    // The text output says it too.
    llmrig()
        .args(["calibrate", &p(&f16), "--system", &p(&sys)])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "metal: the quantized prompt share moved",
        ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_results_are_named() {
    let dir = std::env::temp_dir().join(format!("llmrig-calibrate-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.txt");
    std::fs::write(&junk, "hello\nworld\n").unwrap();
    llmrig()
        .args(["calibrate"])
        .arg(&junk)
        .assert()
        .failure()
        .stderr(predicates::str::contains("no llama-bench results found"));
    llmrig()
        .args(["calibrate", "/nonexistent/bench.json"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("/nonexistent/bench.json"));
    // A model llmrig cannot match is named, with what to do.
    let odd = dir.join("odd.md");
    std::fs::write(
        &odd,
        "| model | size | params | backend | ngl | test | t/s |\n|---|---|---|---|---|---|---|\n| llama 3B Q4_0 | 1.00 GiB | 3.33 B | CUDA | 99 | tg128 | 100.00 ± 1.00 |\n",
    )
    .unwrap();
    llmrig()
        .args(["calibrate", "--gpu", "rtx-4090"])
        .arg(&odd)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "no catalog model of architecture `llama`",
        ));
    std::fs::remove_dir_all(&dir).ok();
}

/// A GPU on shared LPDDR keeps its calibrated bandwidth share as the memory's (`lpddr_bw`), not
/// its API's class's: Strix Halo calibrated on a ROCm run (kyuz0's Llama 2 7B Q4_0 at b9187,
/// slowed here to 0.8× so the share must move) decodes at that share under Vulkan too.
#[test]
fn shared_lpddr_keeps_its_calibrated_bandwidth_share_for_every_api() {
    let table = |_: &dyn Fn(&str) -> bool| {
        "| model | size | params | backend | ngl | fa | test | t/s |\n|---|--:|--:|---|--:|--:|--:|--:|\n\
         | llama 7B Q4_0 | 3.56 GiB | 6.74 B | ROCm | 99 | 1 | pp512 | 1545.36 ± 22.91 |\n\
         | llama 7B Q4_0 | 3.56 GiB | 6.74 B | ROCm | 99 | 1 | tg128 | 40.47 ± 0.03 |\n\
         \nbuild: 0253fb21f (9187)\n"
            .to_string()
    };
    let [dir, train, _, bare, sys] = setup("lpddr", "ryzen-ai-max-395", table, |_| true);
    let p = |f: &std::path::Path| f.to_str().unwrap().to_string();
    let v = json(&["calibrate", &p(&train), "--system", &p(&sys)]);
    let share = v["calibration"]["lpddr_bw"].as_f64().unwrap_or(f64::NAN);
    let shipped = llmrig_core::estimate::SpeedParams::default().lpddr_bw;
    assert!(share < shipped * 0.9, "{v}");
    // Vulkan's class is not in the calibration: only the memory's share moves its decode.
    let decode = |system: &std::path::Path| -> f64 {
        let v = json(&[
            "estimate",
            "llama-2-7b",
            "-q",
            "Q4_0",
            "--api",
            "vulkan",
            "--system",
            &p(system),
        ]);
        v["performance"]["decode_tokens_per_s"].as_f64().unwrap()
    };
    let (cal, ship) = (decode(&sys), decode(&bare));
    assert!(cal < ship * 0.95, "calibrated {cal} vs shipped {ship}");
    llmrig()
        .args(["calibrate", &p(&train), "--system", &p(&sys)])
        .assert()
        .success()
        .stdout(predicates::str::contains("(shared LPDDR)"));
    std::fs::remove_dir_all(&dir).ok();
}
