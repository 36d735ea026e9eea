//! A fake home per operating system with one model in each program's store, written by the test.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::*;

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("llmrig-installed-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn put(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// An Ollama store at `root` with `name:tag` (namespace `library`).
fn ollama_store(root: &Path, name: &str, tag: &str, fill: char) {
    let digest = format!("sha256:{}", fill.to_string().repeat(64));
    put(
        &root.join(format!("manifests/registry.ollama.ai/library/{name}/{tag}")),
        format!(r#"{{"layers":[{{"mediaType":"application/vnd.ollama.image.model","digest":"{digest}","size":4}}]}}"#)
            .as_bytes(),
    );
    put(&root.join("blobs").join(digest.replace(':', "-")), b"GGUF");
}

fn found(os: Os, vars: &HashMap<&str, PathBuf>) -> Vec<(String, String, PathBuf)> {
    let env = |k: &str| vars.get(k).map(|p| OsString::from(p.as_os_str()));
    let mut v: Vec<_> = scan(&Roots::for_os(os, &env))
        .into_iter()
        .map(|i| (i.store.program().to_string(), i.name, i.path))
        .collect();
    v.sort();
    v
}

/// The stores of every program under a home folder laid out as `os` lays it out; `config`,
/// `data` and `cache` are that OS's per-user folders inside `home`.
fn populate(home: &Path, config: &Path, data: &Path, cache: &Path) -> Vec<(&'static str, String)> {
    ollama_store(&home.join(".ollama/models"), "llama3.1", "8b", 'a');
    put(
        &home.join(
            ".lmstudio/models/lmstudio-community/gemma-3-4b-it-GGUF/gemma-3-4b-it-Q4_K_M.gguf",
        ),
        b"GGUF",
    );
    put(
        &data.join("nomic.ai/GPT4All/Meta-Llama-3-8B-Instruct.Q4_0.gguf"),
        b"GGUF",
    );
    put(
        &config.join("Jan/data/llamacpp/models/qwen3-4b/model.gguf"),
        b"GGUF",
    );
    put(
        &home.join("text-generation-webui/user_data/models/phi-4-Q4_K_M.gguf"),
        b"GGUF",
    );
    // A Hugging Face-format model folder in text-generation-webui's store.
    put(
        &home.join("text-generation-webui/user_data/models/Qwen3-0.6B/config.json"),
        b"{}",
    );
    put(
        &home.join("text-generation-webui/user_data/models/Qwen3-0.6B/model.safetensors"),
        b"x",
    );
    ollama_store(&config.join("Msty/models"), "mistral", "7b", 'c');
    put(
        &config.join("anythingllm-desktop/storage/models/native/tinyllama.Q4_K_M.gguf"),
        b"GGUF",
    );
    put(
        &home.join(".cache/huggingface/hub/models--bartowski--Qwen2.5-7B-Instruct-GGUF/snapshots/abc/Qwen2.5-7B-Instruct-Q4_K_M.gguf"),
        b"GGUF",
    );
    put(
        &cache.join("llama.cpp/ggml-org_gemma-3-1b-it-GGUF_gemma-3-1b-it-Q4_K_M.gguf"),
        b"GGUF",
    );
    // koboldcpp: a settings file in Downloads loading a model elsewhere.
    let kmodel = home.join("stuff/MythoMax-L2-13B.Q5_K_M.gguf");
    put(&kmodel, b"GGUF");
    put(
        &home.join("Downloads/mythomax.kcpps"),
        serde_json::json!({"model_param": kmodel, "contextsize": 4096})
            .to_string()
            .as_bytes(),
    );
    put(
        &home.join("Downloads/Llama-3.2-1B-Instruct.Q6_K.llamafile"),
        b"MZqFpD",
    );
    vec![
        ("ollama", "llama3.1:8b".into()),
        (
            "lmstudio",
            "lmstudio-community/gemma-3-4b-it-GGUF/gemma-3-4b-it-Q4_K_M.gguf".into(),
        ),
        ("gpt4all", "Meta-Llama-3-8B-Instruct.Q4_0.gguf".into()),
        ("jan", "qwen3-4b/model.gguf".into()),
        ("text-generation-webui", "phi-4-Q4_K_M.gguf".into()),
        ("text-generation-webui", "Qwen3-0.6B".into()),
        ("msty", "mistral:7b".into()),
        ("anythingllm", "native/tinyllama.Q4_K_M.gguf".into()),
        (
            "huggingface",
            "bartowski/Qwen2.5-7B-Instruct-GGUF/Qwen2.5-7B-Instruct-Q4_K_M.gguf".into(),
        ),
        (
            "llama.cpp",
            "ggml-org_gemma-3-1b-it-GGUF_gemma-3-1b-it-Q4_K_M.gguf".into(),
        ),
        (
            "koboldcpp",
            "MythoMax-L2-13B.Q5_K_M.gguf (mythomax.kcpps)".into(),
        ),
        ("llamafile", "Llama-3.2-1B-Instruct.Q6_K.llamafile".into()),
    ]
}

fn check(os: Os, tag: &str) {
    let home = tmp(tag);
    let (config, data, cache, vars): (PathBuf, PathBuf, PathBuf, HashMap<&str, PathBuf>) = match os
    {
        Os::Linux => (
            home.join(".config"),
            home.join(".local/share"),
            home.join(".cache"),
            HashMap::from([("HOME", home.clone())]),
        ),
        Os::MacOs => (
            home.join("Library/Application Support"),
            home.join("Library/Application Support"),
            home.join("Library/Caches"),
            HashMap::from([("HOME", home.clone())]),
        ),
        Os::Windows => (
            home.join("AppData/Roaming"),
            home.join("AppData/Local"),
            home.join("AppData/Local"),
            HashMap::from([
                ("USERPROFILE", home.clone()),
                ("APPDATA", home.join("AppData/Roaming")),
                ("LOCALAPPDATA", home.join("AppData/Local")),
            ]),
        ),
    };
    let mut want = populate(&home, &config, &data, &cache);
    want.sort();
    let got = found(os, &vars);
    let got_pairs: Vec<(&str, &str)> = got
        .iter()
        .map(|(p, n, _)| (p.as_str(), n.as_str()))
        .collect();
    let mut want_pairs: Vec<(&str, &str)> = want.iter().map(|(p, n)| (*p, n.as_str())).collect();
    want_pairs.sort_unstable();
    let mut got_sorted = got_pairs.clone();
    got_sorted.sort_unstable();
    assert_eq!(got_sorted, want_pairs, "{os:?}");
    // Every path is inside the fake home and exists.
    for (_, _, p) in &got {
        assert!(p.starts_with(&home) && p.exists(), "{p:?}");
    }
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn every_store_on_linux() {
    check(Os::Linux, "linux");
}

#[test]
fn every_store_on_macos() {
    check(Os::MacOs, "macos");
}

#[test]
fn every_store_on_windows() {
    check(Os::Windows, "windows");
}

/// Variables move stores: `OLLAMA_MODELS`, `HF_HUB_CACHE`, `LLAMA_CACHE`, GPT4All's `modelPath`,
/// and `LLMRIG_MODEL_DIRS` adds folders (split like PATH); a file reached twice is listed once.
#[test]
fn variables_and_settings_move_stores() {
    let home = tmp("vars");
    let o = home.join("big-disk/ollama");
    ollama_store(&o, "qwen3", "30b", 'd');
    let hub = home.join("big-disk/hub");
    put(
        &hub.join("models--org--m-GGUF/snapshots/r/m-Q8_0.gguf"),
        b"GGUF",
    );
    let gpt = home.join("big-disk/gpt4all");
    put(&gpt.join("orca-mini-3b-gguf2-q4_0.gguf"), b"GGUF");
    put(
        &home.join(".config/nomic.ai/GPT4All.ini"),
        format!("[General]\nmodelPath={}\n", gpt.display()).as_bytes(),
    );
    let mine = home.join("my-models");
    put(&mine.join("a/b/x-Q4_K_M.gguf"), b"GGUF");
    // A split model counts once, by its first shard, with every shard's bytes.
    put(&mine.join("big-00001-of-00002.gguf"), b"GGUF1234");
    put(&mine.join("big-00002-of-00002.gguf"), b"5678");
    put(&mine.join("mmproj-x-f16.gguf"), b"GGUF");
    let dirs = std::env::join_paths([mine.clone(), mine.clone(), home.join("missing")]).unwrap();
    let vars = HashMap::from([
        ("HOME", home.clone()),
        ("OLLAMA_MODELS", o),
        ("HF_HUB_CACHE", hub),
        ("LLMRIG_MODEL_DIRS", PathBuf::from(dirs)),
    ]);
    let env = |k: &str| vars.get(k).map(|p| OsString::from(p.as_os_str()));
    let got = scan(&Roots::for_os(Os::Linux, &env));
    let names: Vec<(&str, &str)> = got
        .iter()
        .map(|i| (i.store.program(), i.name.as_str()))
        .collect();
    assert!(names.contains(&("ollama", "qwen3:30b")), "{names:?}");
    assert!(
        names.contains(&("huggingface", "org/m-GGUF/m-Q8_0.gguf")),
        "{names:?}"
    );
    assert!(
        names.contains(&("gpt4all", "orca-mini-3b-gguf2-q4_0.gguf")),
        "{names:?}"
    );
    assert!(
        names.contains(&("folder", "a/b/x-Q4_K_M.gguf")),
        "{names:?}"
    );
    let big: Vec<_> = got.iter().filter(|i| i.name.starts_with("big-")).collect();
    assert_eq!(big.len(), 1, "{names:?}");
    assert_eq!(big[0].size, 12);
    assert!(
        !names.iter().any(|(_, n)| n.contains("mmproj")),
        "{names:?}"
    );
    assert_eq!(got.len(), 5, "{names:?}");
    let _ = std::fs::remove_dir_all(&home);
}

/// A manifest whose digest is a path, or a settings file pointing at nothing, finds nothing.
#[test]
fn hostile_manifests_and_settings_find_nothing() {
    let home = tmp("hostile");
    let o = home.join(".ollama/models");
    put(
        &o.join("manifests/registry.ollama.ai/library/evil/latest"),
        br#"{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:../../../../etc/passwd"}]}"#,
    );
    put(
        &o.join("manifests/registry.ollama.ai/library/junk/latest"),
        b"not json",
    );
    put(
        &home.join("Downloads/a.kcpps"),
        br#"{"model_param": "/nonexistent/x.gguf"}"#,
    );
    put(&home.join("Downloads/b.kcpps"), b"[1,2,3]");
    let vars = HashMap::from([("HOME", home.clone())]);
    assert!(found(Os::Linux, &vars).is_empty());
    let _ = std::fs::remove_dir_all(&home);
}

/// The name a model goes by, whatever the store's folders and file extensions.
#[test]
fn stems_are_the_models_own_names() {
    let i = |store, name: &str, path: &str| Installed {
        store,
        name: name.into(),
        path: PathBuf::from(path),
        size: 0,
    };
    let cases = [
        (
            i(Store::Ollama, "llama3.1:8b", "/o/blobs/sha256-aa"),
            "llama3.1:8b",
        ),
        (
            i(
                Store::LmStudio,
                "a/b/Qwen2.5-7B-Instruct-Q4_K_M.gguf",
                "/l/a/b/Qwen2.5-7B-Instruct-Q4_K_M.gguf",
            ),
            "Qwen2.5-7B-Instruct-Q4_K_M",
        ),
        (
            i(
                Store::Llamafile,
                "x",
                "/d/Llama-3.2-1B-Instruct.Q6_K.llamafile.exe",
            ),
            "Llama-3.2-1B-Instruct.Q6_K",
        ),
        (
            i(Store::Jan, "qwen3-4b/model.gguf", "/j/qwen3-4b/model.gguf"),
            "qwen3-4b",
        ),
        (
            i(
                Store::Koboldcpp,
                "M.Q5_K_M.gguf (a.kcpps)",
                "C:/m/M.Q5_K_M.gguf",
            ),
            "M.Q5_K_M",
        ),
    ];
    for (inst, want) in cases {
        assert_eq!(inst.stem(), want, "{inst:?}");
    }
}
