use std::io::Write;
use std::path::{Path, PathBuf};

use super::{fake_hub_files, json, llmrig};
use llmrig_formats::gguf::build::GgufBuilder;

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("llmrig-stores-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A `.llamafile` as llamafile's tools make one: a shell stub (an APE's first bytes), then a zip
/// archive (written by the `zip` crate) that stores the GGUF uncompressed, aligned to 4 KiB, and
/// an `.args` member.
fn llamafile_bytes(gguf: &[u8]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut io = std::io::Cursor::new(Vec::new());
    io.write_all(b"MZqFpD='\n#!/bin/sh\nexit 1\n").unwrap();
    let mut z = zip::ZipWriter::new(io);
    let stored = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .with_alignment(4096);
    z.start_file("tiny.Q4_K_M.gguf", stored).unwrap();
    z.write_all(gguf).unwrap();
    z.start_file(".args", stored).unwrap();
    z.write_all(b"-m\ntiny.Q4_K_M.gguf\n-c\n2048\n...\n")
        .unwrap();
    z.finish().unwrap().into_inner()
}

/// The same model as a GGUF and as a llamafile: the same inspection and the same estimate.
fn same_model(gguf: &serde_json::Value, lf: &serde_json::Value) {
    for k in [
        "n_layers",
        "tensor_count",
        "params",
        "tensors_by_type",
        "file_type",
        "weights_bytes",
    ] {
        assert_eq!(gguf[k], lf[k], "{k}");
    }
}

#[test]
fn a_llamafile_is_inspected_and_estimated_like_the_gguf_inside() {
    let dir = tmp("lf");
    let gguf = GgufBuilder::tiny_llama().file();
    let g = dir.join("tiny.gguf");
    std::fs::write(&g, &gguf).unwrap();
    let l = dir.join("tiny.Q4_K_M.llamafile");
    std::fs::write(&l, llamafile_bytes(&gguf)).unwrap();
    // Windows needs the `.exe` name, and the APE magic says what it is whatever its name.
    let exe = dir.join("tiny.Q4_K_M.llamafile.exe");
    std::fs::copy(&l, &exe).unwrap();
    let renamed = dir.join("tiny-server");
    std::fs::copy(&l, &renamed).unwrap();
    let vg = json(&["inspect", g.to_str().unwrap()]);
    for p in [&l, &exe, &renamed] {
        let vl = json(&["inspect", p.to_str().unwrap()]);
        same_model(&vg, &vl);
        assert_eq!(
            vl["file"]["size_bytes"],
            gguf.len() as u64,
            "the GGUF's bytes, not the stub's"
        );
        assert!(
            vl.to_string().contains("stored inside the llamafile"),
            "{vl}"
        );
    }
    let est = |p: &Path| {
        json(&[
            "estimate",
            p.to_str().unwrap(),
            "-c",
            "1024",
            "--gpu",
            "rtx-4090",
            "--ram",
            "16GiB",
        ])
    };
    let (eg, el) = (est(&g), est(&l));
    assert_eq!(eg["memory"], el["memory"]);
    assert_eq!(eg["offload"], el["offload"]);
    assert_eq!(el["model"]["source"], "file");
    // Not a llamafile: a clear error naming the file.
    let bad = dir.join("broken.llamafile");
    std::fs::write(&bad, b"MZqFpD just a stub").unwrap();
    let out = llmrig()
        .args(["inspect", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("broken.llamafile") && err.contains("no zip archive"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Over HTTP: a llamafile named in a Hugging Face repo, or picked from a repo of llamafiles by
/// quant, is read with range requests (the archive's tail, its directory, the GGUF's header).
#[test]
fn a_remote_llamafile_is_read_with_range_requests() {
    let gguf = GgufBuilder::tiny_llama().file();
    let lf = llamafile_bytes(&gguf);
    let (base, _hits) = fake_hub_files(vec![
        ("tiny.Q4_K_M.llamafile".into(), lf.clone()),
        ("tiny.Q8_0.llamafile".into(), lf),
        ("README.md".into(), b"# tiny".to_vec()),
    ]);
    let cache = tmp("lf-cache");
    let dir = tmp("lf-local");
    let g = dir.join("tiny.gguf");
    std::fs::write(&g, &gguf).unwrap();
    let vg = json(&["inspect", g.to_str().unwrap()]);
    for (spec, quant) in [
        ("hf:org/repo/tiny.Q8_0.llamafile", None),
        ("hf:org/repo", Some("Q4_K_M")),
    ] {
        let mut c = llmrig();
        c.args(["inspect", spec, "--json"])
            .env("HF_ENDPOINT", &base)
            .env("LLMRIG_CACHE_DIR", &cache)
            .env_remove("HF_TOKEN");
        if let Some(q) = quant {
            c.args(["-q", q]);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{spec}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        same_model(&vg, &v);
        assert_eq!(v["source"], "remote");
    }
    let _ = std::fs::remove_dir_all(&cache);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `models --installed` over a fake home: each program's store, with the quant read from each
/// file (inside a llamafile too) and a model folder's format from its config.json.
#[test]
fn installed_models_name_their_program_and_quant() {
    let home = tmp("home");
    let gguf = GgufBuilder::tiny_llama().file();
    let put = |p: PathBuf, b: &[u8]| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b).unwrap();
    };
    put(
        home.join(".local/share/nomic.ai/GPT4All/tiny.Q4_0.gguf"),
        &gguf,
    );
    put(
        home.join("Downloads/tiny.Q4_K_M.llamafile"),
        &llamafile_bytes(&gguf),
    );
    put(
        home.join(".local/share/Jan/data/llamacpp/models/tiny/model.gguf"),
        &gguf,
    );
    let mine = home.join("disk/models");
    put(mine.join("x/tiny.gguf"), &gguf);
    let out = llmrig()
        .env("HOME", &home)
        .env("LLMRIG_MODEL_DIRS", &mine)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("HF_HUB_CACHE")
        .env_remove("HF_HOME")
        .env_remove("OLLAMA_MODELS")
        .env_remove("LLAMA_CACHE")
        .env_remove("LMSTUDIO_HOME")
        .env_remove("JAN_DATA_FOLDER")
        .args(["models", "--installed", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["installed"].as_array().unwrap();
    let declared = llmrig_formats::local::open_gguf(&home.join("disk/models/x/tiny.gguf"))
        .unwrap()
        .model
        .file_type
        .map(|f| f.name().to_string());
    let mut programs: Vec<&str> = rows
        .iter()
        .map(|r| r["program"].as_str().unwrap())
        .collect();
    programs.sort_unstable();
    assert_eq!(programs, ["folder", "gpt4all", "jan", "llamafile"], "{v}");
    for r in rows {
        assert_eq!(r["quant"].as_str().map(String::from), declared, "{r}");
        assert!(
            Path::new(r["path"].as_str().unwrap()).starts_with(&home),
            "{r}"
        );
    }
    let lf = rows.iter().find(|r| r["program"] == "llamafile").unwrap();
    assert_eq!(lf["name"], "tiny.Q4_K_M.llamafile");
    // The table names them too.
    let text = llmrig()
        .env("HOME", &home)
        .env_remove("XDG_DATA_HOME")
        .args(["models", "--installed"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("gpt4all") && text.contains("llamafile"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&home);
}
