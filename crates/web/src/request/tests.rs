use super::*;
use crate::ArgSpec;

fn arg(name: &str, takes_value: bool, repeat: bool, positional: bool) -> ArgSpec {
    ArgSpec {
        name: name.to_string(),
        help: String::new(),
        takes_value,
        repeat,
        positional,
        required: positional,
        values: Vec::new(),
    }
}

fn estimate() -> CommandSpec {
    CommandSpec {
        name: "estimate".into(),
        about: String::new(),
        args: vec![
            arg("model", true, false, true),
            arg("gpu", true, true, false),
            arg("ctx-size", true, false, false),
            arg("cpu-moe", false, false, false),
            arg("system", true, false, false),
            arg("save", true, false, false),
        ],
    }
}

fn pairs(q: &str) -> Vec<(String, String)> {
    query_pairs(q)
}

#[test]
fn flags_become_long_options_and_the_model_comes_last() {
    let a = argv(
        &estimate(),
        &pairs("model=llama-3.1-8b&gpu=rtx-3090&gpu=rtx-3090&ctx-size=8192&cpu-moe"),
        Policy::default(),
    )
    .unwrap();
    assert_eq!(
        a,
        [
            "estimate",
            "--json",
            "--gpu=rtx-3090",
            "--gpu=rtx-3090",
            "--ctx-size=8192",
            "--cpu-moe",
            "--",
            "llama-3.1-8b"
        ]
    );
    let off = argv(
        &estimate(),
        &pairs("model=x&cpu-moe=false"),
        Policy::default(),
    )
    .unwrap();
    assert!(!off.contains(&"--cpu-moe".to_string()));
}

#[test]
fn a_value_that_looks_like_a_flag_stays_a_value() {
    let a = argv(
        &estimate(),
        &pairs("model=--help&ctx-size=-1"),
        Policy::default(),
    )
    .unwrap();
    assert_eq!(a[2], "--ctx-size=-1");
    assert_eq!(a[a.len() - 2..], ["--", "--help"]);
}

#[test]
fn paths_and_remote_models_need_the_server_to_allow_them() {
    for q in [
        "model=/etc/passwd",
        "model=../models/x.gguf",
        "model=model.gguf",
        "model=C:\\models\\x.gguf",
        "model=~/x",
        "model=x&system=machine.toml",
    ] {
        let e = argv(&estimate(), &pairs(q), Policy::default()).unwrap_err();
        assert_eq!(e.status, 403, "{q}");
        assert!(e.expected.contains("--allow-files"), "{q}: {e:?}");
    }
    let files = Policy {
        allow_files: true,
        allow_remote: false,
    };
    assert!(argv(&estimate(), &pairs("model=/etc/passwd"), files).is_ok());
    for q in [
        "model=hf:org/repo",
        "model=ollama:qwen3:8b",
        "model=HTTPS://x",
    ] {
        let e = argv(&estimate(), &pairs(q), files).unwrap_err();
        assert_eq!(e.status, 403, "{q}");
        assert!(e.expected.contains("--allow-remote"), "{q}");
    }
    let remote = Policy {
        allow_files: false,
        allow_remote: true,
    };
    assert!(argv(&estimate(), &pairs("model=hf:org/repo"), remote).is_ok());
}

#[test]
fn unknown_keys_repeats_writes_and_missing_models_are_refused() {
    let e = argv(&estimate(), &pairs("model=x&gpus=2"), Policy::default()).unwrap_err();
    assert_eq!((e.status, e.input.as_str()), (400, "gpus"));
    assert!(e.expected.contains("ctx-size"));
    let e = argv(
        &estimate(),
        &pairs("model=x&ctx-size=1&ctx-size=2"),
        Policy::default(),
    )
    .unwrap_err();
    assert_eq!(e.status, 400);
    let e = argv(
        &estimate(),
        &pairs("model=x&save=out.toml"),
        Policy::default(),
    )
    .unwrap_err();
    assert_eq!(e.status, 403);
    let e = argv(&estimate(), &pairs("gpu=rtx-4090"), Policy::default()).unwrap_err();
    assert_eq!((e.status, e.input.as_str()), (400, "model"));
    let e = argv(
        &estimate(),
        &pairs("model=x&cpu-moe=maybe"),
        Policy::default(),
    )
    .unwrap_err();
    assert_eq!(e.status, 400);
    let big = format!("model=x&gpu={}", "a".repeat(MAX_REQUEST_BYTES));
    assert_eq!(
        argv(&estimate(), &pairs(&big), Policy::default())
            .unwrap_err()
            .status,
        413
    );
}

#[test]
fn json_arguments_map_to_the_same_pairs() {
    let v: serde_json::Value = serde_json::json!({
        "model": "qwen3-8b", "gpu": ["rtx-3090", "rtx-3090"], "ctx-size": 8192, "cpu-moe": true, "system": null
    });
    let p = json_pairs(v.as_object().unwrap()).unwrap();
    let a = argv(&estimate(), &p, Policy::default()).unwrap();
    assert!(a.contains(&"--ctx-size=8192".to_string()));
    assert_eq!(a.iter().filter(|x| *x == "--gpu=rtx-3090").count(), 2);
    assert!(a.contains(&"--cpu-moe".to_string()));
    let nested = serde_json::json!({"gpu": [["a"]]});
    assert_eq!(
        json_pairs(nested.as_object().unwrap()).unwrap_err().status,
        400
    );
}
