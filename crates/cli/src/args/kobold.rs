//! A koboldcpp command line pasted after `llmrig estimate` (or in place of the subcommand):
//! `llmrig estimate koboldcpp --model m.gguf --contextsize 16384 --gpulayers 30 --usecublas`.
//! koboldcpp's flags become llama.cpp's (koboldcpp.py's argparse: `--contextsize`, `--gpulayers`,
//! `--blasbatchsize`, `--flashattention`, `--quantkv`, `--moecpu`, `--overridetensors`,
//! `--tensor_split`, `--mmproj`, `--draftmodel`), `--backend koboldcpp` is added so koboldcpp's
//! defaults fill the rest, and flags that change nothing estimated (backend choice, port, UI) are
//! named in one note.

use super::paste::PASTED_FLAG;

/// Whether `arg` names koboldcpp (`koboldcpp`, `koboldcpp.exe`, `koboldcpp-linux-x64-cuda1210`,
/// `koboldcpp.py`, with any path).
pub fn is_koboldcpp(arg: &str) -> bool {
    let base = arg.rsplit(['/', '\\']).next().unwrap_or(arg);
    base.to_ascii_lowercase().starts_with("koboldcpp")
}

/// koboldcpp flags that take one value and change nothing llmrig estimates.
const RUNTIME_WITH_VALUE: &[&str] = &[
    "--port",
    "--host",
    "--config",
    "--preloadstory",
    "--chatcompletionsadapter",
    "--hordemodelname",
    "--hordeworkername",
    "--hordekey",
    "--hordemaxctx",
    "--hordegenlen",
    "--password",
    "--ssl",
    "--onready",
    "--foreground",
    "--timeout",
    "--defaultgenamt",
    "--ropeconfig",
];

/// koboldcpp flags that take any number of values (`--usecublas normal 0 mmq`) and change nothing
/// estimated here: which backend and GPU, which llmrig's machine flags say.
const RUNTIME_WITH_VALUES: &[&str] = &[
    "--usecublas",
    "--usehipblas",
    "--usevulkan",
    "--useclblast",
    "--multiuser",
    "--launch",
];

/// koboldcpp flags without a value that change nothing estimated.
const RUNTIME_BARE: &[&str] = &[
    "--usecpu",
    "--usemmap",
    "--nommap",
    "--usemlock",
    "--skiplauncher",
    "--quiet",
    "--remotetunnel",
    "--nocertify",
    "--noshift",
    "--nofastforward",
    "--showgui",
    "--singleinstance",
    "--highpriority",
    "--websearch",
    "--jinja",
];

/// koboldcpp's `--quantkv`: 0, 1, 2 (f16, q8_0, q4_0) or a type name in later versions.
fn quantkv(v: &str) -> String {
    match v {
        "0" => "f16".into(),
        "1" => "q8_0".into(),
        "2" => "q4_0".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// Rewrites the arguments after koboldcpp's name (`rest`) into llmrig's `estimate` arguments.
pub fn translate(rest: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut model: Option<String> = None;
    let mut taken: Vec<String> = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let a = &rest[i];
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || -> Option<String> {
            inline.clone().or_else(|| {
                let v = rest.get(i + 1).cloned();
                if v.is_some() {
                    i += 1;
                }
                v
            })
        };
        match flag {
            "--model" | "-m" => model = value(),
            "--contextsize" | "-c" => {
                if let Some(v) = value() {
                    out.extend(["-c".into(), v]);
                }
            }
            "--gpulayers" | "-l" => {
                if let Some(v) = value() {
                    out.extend(["-ngl".into(), if v == "-1" { "auto".into() } else { v }]);
                }
            }
            "--blasbatchsize" | "--batchsize" | "-b" => {
                if let Some(v) = value() {
                    out.extend(["-b".into(), v.clone(), "--ubatch-size".into(), v]);
                }
            }
            "--threads" | "-t" => {
                if let Some(v) = value() {
                    out.extend(["-t".into(), v]);
                }
            }
            "--flashattention" | "-fa" => out.extend(["-fa".into(), "on".into()]),
            "--noflashattention" => out.extend(["-fa".into(), "off".into()]),
            "--quantkv" => {
                if let Some(v) = value() {
                    let t = quantkv(&v);
                    out.extend(["-ctk".into(), t.clone(), "-ctv".into(), t]);
                }
            }
            "--moecpu" => {
                if let Some(v) = value() {
                    out.extend(["--n-cpu-moe".into(), v]);
                }
            }
            "--overridetensors" => {
                if let Some(v) = value() {
                    out.extend(["-ot".into(), v]);
                }
            }
            "--mmproj" => {
                if let Some(v) = value() {
                    out.extend(["--mmproj".into(), v]);
                }
            }
            "--draftmodel" => {
                if let Some(v) = value() {
                    out.extend(["--draft".into(), v]);
                }
            }
            "--tensor_split" | "--tensor-split" | "-ts" => {
                let mut parts = Vec::new();
                while rest.get(i + 1).is_some_and(|v| v.parse::<f64>().is_ok()) {
                    i += 1;
                    parts.push(rest[i].clone());
                }
                if !parts.is_empty() {
                    out.extend(["-ts".into(), parts.join(",")]);
                }
            }
            f if RUNTIME_WITH_VALUE.contains(&f) => {
                let _ = value();
                taken.push(f.to_string());
            }
            f if RUNTIME_WITH_VALUES.contains(&f) => {
                while rest.get(i + 1).is_some_and(|v| !v.starts_with('-')) {
                    i += 1;
                }
                taken.push(f.to_string());
            }
            f if RUNTIME_BARE.contains(&f) => taken.push(f.to_string()),
            // koboldcpp's first positional argument is the model.
            p if !p.starts_with('-') && model.is_none() => model = Some(p.to_string()),
            // Anything else (llmrig's own flags, `--gpu rtx-4090`) is left for clap, with the
            // value that follows it.
            _ => {
                out.push(a.clone());
                if a.starts_with('-') && inline.is_none() {
                    if let Some(v) = rest.get(i + 1).filter(|v| !v.starts_with('-')) {
                        out.push(v.clone());
                        i += 1;
                    }
                }
            }
        }
        i += 1;
    }
    let mut front: Vec<String> = model.into_iter().collect();
    front.extend(["--backend".into(), "koboldcpp".into()]);
    front.extend(out);
    front.extend(taken.into_iter().map(|f| format!("{PASTED_FLAG}={f}")));
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(line: &str) -> Vec<String> {
        translate(
            &line
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn koboldcpp_flags_become_llama_cpp_flags() {
        assert_eq!(
            t("--model m.gguf --contextsize 16384 --gpulayers 30 --usecublas normal 0 mmq --flashattention --quantkv 1 --port 5002"),
            [
                "m.gguf",
                "--backend",
                "koboldcpp",
                "-c",
                "16384",
                "-ngl",
                "30",
                "-fa",
                "on",
                "-ctk",
                "q8_0",
                "-ctv",
                "q8_0",
                "--pasted-flag=--usecublas",
                "--pasted-flag=--port"
            ]
        );
        // The positional model, -1 layers (auto), a batch size for both batches, a split.
        assert_eq!(
            t("m.gguf --gpulayers -1 --blasbatchsize 1024 --tensor_split 3 1 --moecpu 8"),
            [
                "m.gguf",
                "--backend",
                "koboldcpp",
                "-ngl",
                "auto",
                "-b",
                "1024",
                "--ubatch-size",
                "1024",
                "-ts",
                "3,1",
                "--n-cpu-moe",
                "8"
            ]
        );
        assert!(is_koboldcpp("./koboldcpp-linux-x64-cuda1210"));
        assert!(is_koboldcpp("C:\\ai\\koboldcpp.exe"));
        assert!(!is_koboldcpp("llama-server"));
    }
}
