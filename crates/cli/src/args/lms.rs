//! An LM Studio `lms load` line pasted after `llmrig estimate` (or in place of the subcommand):
//! `llmrig estimate lms load qwen3-8b --context-length 16384 --gpu 0.5`. Its flags become
//! llama.cpp's (lmstudio.ai/docs/cli/load: `--context-length`, `--gpu off|max|0-1`), with
//! `--backend lmstudio` so LM Studio's defaults fill the rest; `--gpu` as a share of the layers
//! is noted, since llmrig takes a layer count.

use super::foreign::Foreign;
use super::paste::PASTED_FLAG;

/// Whether `args` (after llmrig's subcommand) start with LM Studio's `lms load`.
pub fn is_lms_load(args: &[String]) -> bool {
    args.first().is_some_and(|a| {
        let base = a.rsplit(['/', '\\']).next().unwrap_or(a);
        base.strip_suffix(".exe").unwrap_or(base) == "lms"
    }) && args.get(1).is_some_and(|a| a == "load")
}

/// Rewrites `lms load MODEL [flags]` (without `lms load`) into llmrig's `estimate` arguments.
pub fn translate(rest: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut model = None;
    let mut taken = Vec::new();
    let mut args = Foreign::new(rest);
    while let Some((a, flag, inline)) = args.next_arg() {
        match flag {
            "--context-length" | "-c" => {
                if let Some(v) = args.value(inline) {
                    out.extend(["-c".into(), v]);
                }
            }
            "--gpu" => {
                if let Some(v) = args.value(inline) {
                    match v.as_str() {
                        "off" => out.extend(["-ngl".into(), "0".into()]),
                        "max" => out.extend(["-ngl".into(), "all".into()]),
                        // A share of the layers: llmrig's -ngl is a count, so the fit decides.
                        s if s.parse::<f64>().is_ok_and(|x| (0.0..=1.0).contains(&x)) => {
                            taken.push(format!("--gpu {v}"));
                        }
                        // Anything else is llmrig's own `--gpu DEVICE`.
                        _ => out.extend(["--gpu".into(), v]),
                    }
                }
            }
            "--identifier" | "--ttl" | "--host" | "--port" => {
                let _ = args.value(inline);
                taken.push(flag.to_string());
            }
            "-y" | "--yes" | "--exact" | "--quiet" => taken.push(flag.to_string()),
            p if !p.starts_with('-') && model.is_none() => model = Some(p.to_string()),
            _ => args.pass_on(a, inline, &mut out),
        }
    }
    let mut front: Vec<String> = model.into_iter().collect();
    front.extend(["--backend".into(), "lmstudio".into()]);
    front.extend(out);
    front.extend(taken.into_iter().map(|f| format!("{PASTED_FLAG}={f}")));
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn lms_load_flags_become_llama_cpp_flags() {
        assert!(is_lms_load(&v("lms load qwen3-8b")));
        assert!(!is_lms_load(&v("lms ls")));
        assert_eq!(
            translate(&v(
                "qwen3-8b --context-length 16384 --gpu max --gpu-x rtx-4090 --ttl 300"
            )),
            [
                "qwen3-8b",
                "--backend",
                "lmstudio",
                "-c",
                "16384",
                "-ngl",
                "all",
                "--gpu-x",
                "rtx-4090",
                "--pasted-flag=--ttl"
            ]
        );
        assert_eq!(
            translate(&v("m --gpu 0.5"))[3..],
            ["--pasted-flag=--gpu 0.5"]
        );
    }
}
