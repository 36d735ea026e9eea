//! A koboldcpp command line pasted after `llmrig estimate` (or in place of the subcommand):
//! `llmrig estimate koboldcpp --model m.gguf --contextsize 16384 --gpulayers 30 --usecublas`.
//! koboldcpp's flags become llama.cpp's (koboldcpp.py's argparse: `--contextsize`, `--gpulayers`,
//! `--blasbatchsize`, `--flashattention`, `--quantkv`, `--moecpu`, `--overridetensors`,
//! `--tensor_split`, `--mmproj`, `--draftmodel`), `--backend koboldcpp` is added so koboldcpp's
//! defaults fill the rest, and flags that change nothing estimated (backend choice, port, UI) are
//! named in one note.

use super::foreign::Foreign;
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

/// koboldcpp flags that are llama.cpp's (or llmrig's) under another name, one value each.
const RENAMED: &[(&str, &str)] = &[
    ("--contextsize", "-c"),
    ("-c", "-c"),
    ("--threads", "-t"),
    ("-t", "-t"),
    ("--moecpu", "--n-cpu-moe"),
    ("--overridetensors", "-ot"),
    ("--mmproj", "--mmproj"),
    ("--draftmodel", "--draft"),
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
    let mut args = Foreign::new(rest);
    while let Some((a, flag, inline)) = args.next_arg() {
        // koboldcpp flags that are llama.cpp's under another name, one value each.
        if let Some((_, to)) = RENAMED.iter().find(|(from, _)| *from == flag) {
            if let Some(v) = args.value(inline) {
                out.extend([(*to).to_string(), v]);
            }
            continue;
        }
        match flag {
            "--model" | "-m" => model = args.value(inline),
            "--gpulayers" | "-l" => {
                if let Some(v) = args.value(inline) {
                    out.extend(["-ngl".into(), if v == "-1" { "auto".into() } else { v }]);
                }
            }
            "--blasbatchsize" | "--batchsize" | "-b" => {
                if let Some(v) = args.value(inline) {
                    out.extend(["-b".into(), v.clone(), "--ubatch-size".into(), v]);
                }
            }
            "--flashattention" | "-fa" => out.extend(["-fa".into(), "on".into()]),
            "--noflashattention" => out.extend(["-fa".into(), "off".into()]),
            "--quantkv" => {
                if let Some(v) = args.value(inline) {
                    let t = quantkv(&v);
                    out.extend(["-ctk".into(), t.clone(), "-ctv".into(), t]);
                }
            }
            "--tensor_split" | "--tensor-split" | "-ts" => {
                let parts = args.take_while(|v| v.parse::<f64>().is_ok());
                if !parts.is_empty() {
                    out.extend(["-ts".into(), parts.join(",")]);
                }
            }
            f if RUNTIME_WITH_VALUE.contains(&f) => {
                let _ = args.value(inline);
                taken.push(f.to_string());
            }
            f if RUNTIME_WITH_VALUES.contains(&f) => {
                let _ = args.take_while(|v| !v.starts_with('-'));
                taken.push(f.to_string());
            }
            f if RUNTIME_BARE.contains(&f) => taken.push(f.to_string()),
            // koboldcpp's first positional argument is the model.
            p if !p.starts_with('-') && model.is_none() => model = Some(p.to_string()),
            _ => args.pass_on(a, inline, &mut out),
        }
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
