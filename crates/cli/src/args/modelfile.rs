//! An Ollama Modelfile given as the model: `llmrig estimate ./Modelfile`. Its `FROM` names the
//! model (a tag, or a GGUF path relative to the Modelfile's folder) and its `PARAMETER`s become
//! llama.cpp's flags, with `--backend ollama` so Ollama's defaults fill the rest (Modelfile
//! reference, ollama/ollama docs/modelfile.mdx: `num_ctx`, `num_batch`, `num_gpu`, `num_thread`).

use std::path::Path;

/// Whether `arg` names a Modelfile: a file called `Modelfile` or `*.modelfile`, any case.
pub fn is_modelfile(arg: &str) -> bool {
    let p = Path::new(arg);
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    (name == "modelfile" || name.ends_with(".modelfile")) && p.is_file()
}

/// The arguments a Modelfile stands for, or `None` when it cannot be read or names no model.
pub fn translate(path: &str) -> Option<Vec<String>> {
    let p = Path::new(path);
    if std::fs::metadata(p).ok()?.len() > 1 << 20 {
        return None;
    }
    let text = std::fs::read_to_string(p).ok()?;
    let mut model = None;
    let mut out = vec!["--backend".to_string(), "ollama".to_string()];
    for line in text.lines() {
        let line = line.trim();
        let mut words = line.split_whitespace();
        let (Some(cmd), Some(first)) = (words.next(), words.next()) else {
            continue;
        };
        match cmd.to_ascii_uppercase().as_str() {
            "FROM" => {
                // A relative file is relative to the Modelfile; a tag stays a tag.
                let from = Path::new(first);
                let file = p
                    .parent()
                    .map(|d| d.join(from))
                    .filter(|f| first.starts_with('.') || first.starts_with('/') || f.is_file());
                model = Some(match file {
                    Some(f) if from.is_relative() => f.to_string_lossy().into_owned(),
                    _ => first.to_string(),
                });
            }
            "PARAMETER" => {
                let Some(value) = words.next() else {
                    continue;
                };
                let flags: &[&str] = match first {
                    "num_ctx" => &["-c"],
                    "num_batch" => &["-b", "--ubatch-size"],
                    "num_gpu" => &["-ngl"],
                    "num_thread" => &["-t"],
                    _ => &[],
                };
                for f in flags {
                    out.push((*f).to_string());
                    out.push(value.to_string());
                }
            }
            _ => {}
        }
    }
    let mut args = vec![model?];
    args.extend(out);
    Some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modelfile_becomes_its_model_and_flags() {
        let dir = std::env::temp_dir().join(format!("llmrig-modelfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mf = dir.join("Modelfile");
        std::fs::write(
            &mf,
            "# a comment\nFROM llama3.1:8b\nPARAMETER num_ctx 16384\nPARAMETER temperature 0.7\nPARAMETER num_gpu 20\nSYSTEM you are terse\n",
        )
        .unwrap();
        assert!(is_modelfile(mf.to_str().unwrap()));
        assert_eq!(
            translate(mf.to_str().unwrap()).unwrap(),
            [
                "llama3.1:8b",
                "--backend",
                "ollama",
                "-c",
                "16384",
                "-ngl",
                "20"
            ]
        );
        // A GGUF beside it.
        std::fs::write(dir.join("m.gguf"), b"GGUF").unwrap();
        std::fs::write(&mf, "FROM ./m.gguf\nPARAMETER num_batch 256\n").unwrap();
        let a = translate(mf.to_str().unwrap()).unwrap();
        assert_eq!(a[0], dir.join("./m.gguf").to_string_lossy());
        assert_eq!(&a[3..], ["-b", "256", "--ubatch-size", "256"]);
        // No FROM: not a model.
        std::fs::write(&mf, "PARAMETER num_ctx 4096\n").unwrap();
        assert!(translate(mf.to_str().unwrap()).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
