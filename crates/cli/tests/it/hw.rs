//! `llmrig hw` on the machine that runs the tests: RAM and CPU count as the OS reports them, the
//! bandwidth probe against a configured peak, and `--save` read back by `--system`.

use std::path::PathBuf;

// These tests are about detecting this host, so they run without the fixed test machine.
use crate::llmrig_detecting as llmrig;

/// A fresh folder for one test (config dir, saved files).
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("llmrig-hw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn hw_json(config: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = llmrig()
        .env("LLMRIG_CONFIG_DIR", config)
        .arg("hw")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn ram_and_logical_cpus_match_proc_meminfo_and_nproc() {
    let dir = scratch("detect");
    let v = hw_json(&dir, &[]);
    assert_eq!(v["schema_version"], 1);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    let ram = v["machine"]["cpu"]["ram_bytes"].as_f64().unwrap();
    assert!(
        (ram - kib * 1024.0).abs() / (kib * 1024.0) < 0.01,
        "{ram} vs MemTotal {kib} kB"
    );
    // nproc honours OMP_NUM_THREADS; compare only when it is unset.
    if std::env::var_os("OMP_NUM_THREADS").is_none() {
        let nproc = std::process::Command::new("nproc").output().unwrap();
        let n: u64 = String::from_utf8_lossy(&nproc.stdout)
            .trim()
            .parse()
            .unwrap();
        assert_eq!(v["machine"]["cpu"]["threads"].as_u64(), Some(n));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn measure_reports_bandwidth_below_the_configured_peak_and_stores_it() {
    let dir = scratch("measure");
    let v = hw_json(
        &dir,
        &["--measure", "--measure-mib", "64", "--ram-bw", "1000"],
    );
    let m = &v["measurement"];
    let bw = m["ram_read_bytes_per_s"].as_f64().unwrap();
    assert_eq!(m["peak_bytes_per_s"].as_f64(), Some(1000e9));
    assert_eq!(m["peak_source"], "given");
    assert!(bw > 0.0 && bw < 1000e9, "{bw}");
    assert_eq!(m["buffer_bytes"], 64u64 << 20);
    // Stored in the config and used by later runs that detect the machine.
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let gbs: f64 = config
        .trim()
        .strip_prefix("ram_bandwidth_gbs = ")
        .unwrap()
        .parse()
        .unwrap();
    assert!((gbs - bw / 1e9).abs() < 0.01, "{gbs} vs {bw}");
    let later = hw_json(&dir, &[]);
    assert_eq!(
        later["machine"]["cpu"]["bandwidth_bytes_per_s"].as_f64(),
        Some(gbs * 1e9)
    );
    assert!(later["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("as measured on this machine")));
    // A flag still wins over the stored measurement.
    let flagged = hw_json(&dir, &["--ram-bw", "50"]);
    assert_eq!(
        flagged["machine"]["cpu"]["bandwidth_bytes_per_s"].as_f64(),
        Some(50e9)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn measure_compares_with_a_system_files_peak() {
    let dir = scratch("measure-file");
    let sys = dir.join("sys.toml");
    std::fs::write(
        &sys,
        "[cpu]\nname = \"box\"\nram_bytes = 68719476736\nbandwidth_bytes_per_s = 2e12\nflops = 1e12\ncores = 8\n",
    )
    .unwrap();
    let v = hw_json(
        &dir,
        &[
            "--system",
            sys.to_str().unwrap(),
            "--measure",
            "--measure-mib",
            "32",
        ],
    );
    let bw = v["measurement"]["ram_read_bytes_per_s"].as_f64().unwrap();
    assert!(bw > 0.0 && bw < 2e12);
    // The file describes the machine: its bandwidth is not replaced by the measurement.
    assert_eq!(
        v["machine"]["cpu"]["bandwidth_bytes_per_s"].as_f64(),
        Some(2e12)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_then_system_reads_the_same_machine() {
    let dir = scratch("save");
    let file = dir.join("me.toml");
    let saved = hw_json(&dir, &["--save", file.to_str().unwrap()]);
    assert_eq!(saved["saved_to"], file.to_str().unwrap());
    let read = hw_json(&dir, &["--system", file.to_str().unwrap()]);
    assert_eq!(saved["machine"], read["machine"]);
    // A described GPU survives the round trip with its catalog rates.
    let file2 = dir.join("gpu.toml");
    let saved = hw_json(
        &dir,
        &[
            "--gpu",
            "rtx-4090",
            "--ram",
            "64GiB",
            "--save",
            file2.to_str().unwrap(),
        ],
    );
    let read = hw_json(&dir, &["--system", file2.to_str().unwrap()]);
    assert_eq!(saved["machine"], read["machine"]);
    assert_eq!(read["machine"]["gpus"][0]["bandwidth_bytes_per_s"], 1008e9);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_without_a_file_writes_the_default_name() {
    let dir = scratch("save-default");
    let out = llmrig()
        .env("LLMRIG_CONFIG_DIR", &dir)
        .current_dir(&dir)
        .args(["hw", "--save"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(dir.join("llmrig-system.toml")).unwrap();
    assert!(text.contains("[cpu]"), "{text}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("--system llmrig-system.toml"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_measure_buffer_and_config_are_refused() {
    let dir = scratch("errors");
    let out = llmrig()
        .env("LLMRIG_CONFIG_DIR", &dir)
        .args(["hw", "--measure", "--measure-mib", "0"])
        .output()
        .unwrap();
    // A buffer out of range is a usage error, before anything is measured.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value '0' for '--measure-mib"));
    std::fs::write(dir.join("config.toml"), "ram_bandwidth_gbs = \"fast\"\n").unwrap();
    let out = llmrig()
        .env("LLMRIG_CONFIG_DIR", &dir)
        .arg("hw")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.toml") && err.contains("ram_bandwidth_gbs"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A host whose RAM bandwidth nothing tells gets a quick probe on its first run, stored for the
/// next; a host whose firmware tells the memory speed keeps that (then no probe runs).
#[test]
fn first_run_probes_an_unknown_bandwidth_and_stores_it() {
    let dir = scratch("quick-probe");
    let out = llmrig()
        .env("LLMRIG_CONFIG_DIR", &dir)
        .env_remove("LLMRIG_NO_PROBE")
        .args(["hw", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let notes: Vec<String> = first["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    if notes.iter().any(|n| n.contains("quick probe")) {
        let bw = first["machine"]["cpu"]["bandwidth_bytes_per_s"]
            .as_f64()
            .unwrap();
        assert!(bw > 1e8 && bw < 2e12, "probed {bw} B/s");
        let stored = std::fs::read_to_string(dir.join("config.toml")).unwrap();
        assert!(stored.contains("ram_bandwidth_gbs"), "{stored}");
        // The next run reads it instead of probing again.
        let later = hw_json(&dir, &[]);
        assert!(later["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("as measured on this machine")));
    } else {
        assert!(!dir.join("config.toml").exists(), "{notes:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
