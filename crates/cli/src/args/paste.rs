//! A llama.cpp command line pasted after `llmrig estimate` (or in place of the subcommand):
//! `llmrig estimate llama-server -m model.gguf -ngl 99 -fa -t 8 --jinja --port 8080`. The
//! program name is dropped, `-m`/`-hf` become MODEL, bare `-fa` means on, and options that change
//! nothing llmrig estimates (the server's address, templates, sampling) are taken out and named in
//! one note through the hidden `--pasted-flag` argument. Flag names and arities are llama.cpp's
//! (common/arg.cpp, tools/server); everything else is left for clap to parse or refuse.

/// llama.cpp programs whose command line pastes in (the name may carry a path and `.exe`).
const PROGRAMS: &[&str] = &[
    "llama-server",
    "llama-cli",
    "llama-run",
    "llama-mtmd-cli",
    "server",
    "main",
];

/// Options that take a value and change nothing llmrig estimates: the server's address and
/// behaviour, chat templates, sampling, logging, prompts, threads for batches and NUMA, RoPE
/// scaling of an already-chosen context.
const RUNTIME_WITH_VALUE: &[&str] = &[
    "--host",
    "--port",
    "-a",
    "--alias",
    "--api-key",
    "--api-key-file",
    "--api-prefix",
    "--path",
    "--ssl-key-file",
    "--ssl-cert-file",
    "--timeout",
    "-to",
    "--threads-http",
    "--slot-save-path",
    "--slot-prompt-similarity",
    "-sps",
    "--cache-reuse",
    "--chat-template",
    "--chat-template-file",
    "--chat-template-kwargs",
    "--reasoning-format",
    "--reasoning-budget",
    "--temp",
    "--top-k",
    "--top-p",
    "--min-p",
    "--typical",
    "--top-nsigma",
    "--repeat-penalty",
    "--repeat-last-n",
    "--presence-penalty",
    "--frequency-penalty",
    "--dry-multiplier",
    "--dry-base",
    "--dry-allowed-length",
    "--dry-penalty-last-n",
    "--xtc-probability",
    "--xtc-threshold",
    "--mirostat",
    "--draft-min",
    "--draft-p-min",
    "--spec-draft-n-min",
    "--spec-draft-p-min",
    "--spec-draft-p-split",
    "--spec-type",
    "-td",
    "-tbd",
    "--mirostat-lr",
    "--mirostat-ent",
    "--samplers",
    "--sampling-seq",
    "-s",
    "--seed",
    "-n",
    "--n-predict",
    "--predict",
    "--keep",
    "--grammar",
    "--grammar-file",
    "-j",
    "--json-schema",
    "-p",
    "-f",
    "--file",
    "-sys",
    "--system-prompt",
    "-r",
    "--reverse-prompt",
    "--in-prefix",
    "--in-suffix",
    "--log-file",
    "-lv",
    "--log-verbosity",
    "--verbosity",
    "-tb",
    "--threads-batch",
    "-C",
    "--cpu-mask",
    "-Cr",
    "--cpu-range",
    "--prio",
    "--poll",
    "--numa",
    "--rope-scaling",
    "--rope-scale",
    "--rope-freq-base",
    "--rope-freq-scale",
    "--yarn-orig-ctx",
    "--yarn-ext-factor",
    "--yarn-attn-factor",
    "--yarn-beta-slow",
    "--yarn-beta-fast",
    "--media-path",
    "--fit",
    "-fit",
];

/// Options without a value that change nothing llmrig estimates. `--no-mmap` and `--mlock` change
/// which buffer holds the CPU's weights (a read copy instead of the mapped file, pinned), not how
/// much RAM they take.
const RUNTIME_BARE: &[&str] = &[
    "--jinja",
    "--no-jinja",
    "--metrics",
    "--slots",
    "--no-slots",
    "--props",
    "--no-webui",
    "--webui",
    "-cb",
    "--cont-batching",
    "-nocb",
    "--no-cont-batching",
    "--no-warmup",
    "--check-tensors",
    "--no-perf",
    // `--verbose` is llmrig's own (global) flag too: it shows the provenance notes, which is what
    // a user asking llama.cpp to be verbose wants from llmrig as well.
    "-v",
    "--log-verbose",
    "--log-disable",
    "--log-colors",
    "--log-prefix",
    "--log-timestamps",
    "-sp",
    "--special",
    "-i",
    "--interactive",
    "-cnv",
    "--conversation",
    "-no-cnv",
    "--no-conversation",
    "-st",
    "--single-turn",
    "--no-display-prompt",
    "--simple-io",
    "-e",
    "--escape",
    "--no-escape",
    "--context-shift",
    "--no-context-shift",
    "--offline",
    "--mmap",
    "--no-mmap",
    "--mlock",
    "--embedding",
    "--embeddings",
];

/// Values `-fa`/`--flash-attn` takes; anything else after it means a bare `-fa` (on), as older
/// llama.cpp releases had it.
const FA_VALUES: &[&str] = &["on", "off", "auto", "1", "0", "true", "false"];

/// The hidden argument that carries the flags taken out, for the note.
pub const PASTED_FLAG: &str = "--pasted-flag";

/// Whether `arg` names a llama.cpp program (`llama-server`, `./build/bin/llama-cli.exe`).
fn is_program(arg: &str) -> bool {
    let base = arg.rsplit(['/', '\\']).next().unwrap_or(arg);
    let base = base.strip_suffix(".exe").unwrap_or(base);
    PROGRAMS.contains(&base)
}

/// Splits `--flag=value` into the flag and its value.
fn split_eq(arg: &str) -> (&str, Option<&str>) {
    match arg.split_once('=') {
        Some((f, v)) if f.starts_with('-') => (f, Some(v)),
        _ => (arg, None),
    }
}

/// Rewrites a pasted llama.cpp command line in `args` (the whole argv, program first) into
/// llmrig's `estimate` arguments; anything that is not one is returned as it came.
pub fn paste(args: Vec<String>) -> Vec<String> {
    // The subcommand: the first argument after the program that is not a flag (`--json` is the
    // only global flag and takes no value).
    let Some(sub) = args.iter().skip(1).position(|a| !a.starts_with('-')) else {
        return args;
    };
    let sub = sub + 1;
    let mut args = args;
    // A koboldcpp command line: its own flags, translated.
    let kobold = if super::kobold::is_koboldcpp(&args[sub]) {
        Some(sub + 1)
    } else if args[sub] == "estimate"
        && args
            .get(sub + 1)
            .is_some_and(|a| super::kobold::is_koboldcpp(a))
    {
        Some(sub + 2)
    } else {
        None
    };
    if let Some(from) = kobold {
        let mut out: Vec<String> = args[..sub].to_vec();
        out.push("estimate".to_string());
        out.extend(super::kobold::translate(&args[from..]));
        return out;
    }
    // LM Studio's `lms load MODEL …`.
    let lms = if super::lms::is_lms_load(&args[sub..]) {
        Some(sub + 2)
    } else if args[sub] == "estimate" && super::lms::is_lms_load(&args[sub + 1..]) {
        Some(sub + 3)
    } else {
        None
    };
    if let Some(from) = lms {
        let mut out: Vec<String> = args[..sub].to_vec();
        out.push("estimate".to_string());
        out.extend(super::lms::translate(&args[from..]));
        return out;
    }
    if is_program(&args[sub]) {
        // `llmrig llama-server -m …`: the estimate is meant.
        args[sub] = "estimate".to_string();
    } else if args[sub] == "estimate" && args.get(sub + 1).is_some_and(|a| is_program(a)) {
        args.remove(sub + 1);
    } else if args[sub] != "estimate" {
        return args;
    }
    let mut out: Vec<String> = args[..=sub].to_vec();
    let mut model: Option<String> = None;
    let mut quant_from_repo: Option<String> = None;
    let mut has_quant = false;
    let mut taken: Vec<String> = Vec::new();
    let mut it = args[sub + 1..].iter().cloned().peekable();
    while let Some(a) = it.next() {
        let (flag, inline) = split_eq(&a);
        let value = |it: &mut std::iter::Peekable<_>| -> Option<String> {
            inline.map(str::to_string).or_else(|| it.next())
        };
        match flag {
            "-m" | "--model" => model = value(&mut it),
            "-hf" | "-hfr" | "--hf-repo" => {
                if let Some(v) = value(&mut it) {
                    // `REPO:QUANT` picks the repository's file of that quant, as llama.cpp does.
                    match v.split_once(':') {
                        Some((repo, q)) => {
                            model = Some(format!("hf:{repo}"));
                            quant_from_repo = Some(q.to_string());
                        }
                        None => model = Some(format!("hf:{v}")),
                    }
                }
            }
            "-hff" | "--hf-file" => {
                if let (Some(f), Some(m)) = (value(&mut it), model.as_mut()) {
                    m.push('/');
                    m.push_str(&f);
                }
            }
            "-q" | "--quant" => {
                has_quant = true;
                out.push(a.clone());
            }
            "-fa" | "--flash-attn" if inline.is_none() => {
                out.push("--flash-attn".to_string());
                match it.peek() {
                    Some(v) if FA_VALUES.contains(&v.to_ascii_lowercase().as_str()) => {}
                    _ => out.push("on".to_string()),
                }
            }
            // llama.cpp's `-c 0`: the model's trained length, which is llmrig's default too.
            "-c" | "--ctx-size" | "--ctx"
                if inline.is_none() && it.peek().is_some_and(|v| v == "0") =>
            {
                it.next();
            }
            "-c" | "--ctx-size" | "--ctx" if inline == Some("0") => {}
            // Before mid-2026 llama.cpp's `--draft N` (`--draft-n`, `--draft-max`) was the number
            // of drafted tokens; here `--draft` names the draft model.
            "--draft" | "--draft-n"
                if inline
                    .or(it.peek().map(String::as_str))
                    .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())) =>
            {
                if let Some(v) = value(&mut it) {
                    out.push(format!("--draft-max={v}"));
                }
            }
            f if RUNTIME_WITH_VALUE.contains(&f) => {
                let _ = value(&mut it);
                taken.push(f.to_string());
            }
            f if RUNTIME_BARE.contains(&f) => taken.push(f.to_string()),
            _ => out.push(a.clone()),
        }
    }
    let mut front = Vec::new();
    if let Some(m) = model {
        front.push(m);
    }
    if let (Some(q), false) = (quant_from_repo, has_quant) {
        front.push("-q".to_string());
        front.push(q);
    }
    out.splice(sub + 1..sub + 1, front);
    out.extend(taken.into_iter().map(|f| format!("{PASTED_FLAG}={f}")));
    // An Ollama Modelfile as the model: its FROM and PARAMETERs.
    if let Some(m) = out
        .get(sub + 1)
        .filter(|m| super::modelfile::is_modelfile(m))
    {
        if let Some(args) = super::modelfile::translate(m) {
            out.splice(sub + 1..sub + 2, args);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_koboldcpp_line_becomes_an_estimate_with_its_defaults() {
        assert_eq!(
            p("llmrig --json koboldcpp.exe m.gguf --contextsize 4096"),
            [
                "llmrig",
                "--json",
                "estimate",
                "m.gguf",
                "--backend",
                "koboldcpp",
                "-c",
                "4096"
            ]
        );
        assert_eq!(
            p("llmrig estimate ./koboldcpp --model m.gguf --port 5001")[2..],
            ["m.gguf", "--backend", "koboldcpp", "--pasted-flag=--port"]
        );
    }

    fn p(line: &str) -> Vec<String> {
        paste(line.split_whitespace().map(String::from).collect())
    }

    #[test]
    fn a_server_line_becomes_an_estimate() {
        assert_eq!(
            p("llmrig estimate llama-server -m m.gguf -ngl 99 -t 8 --jinja --port 8080 --host 0.0.0.0"),
            [
                "llmrig",
                "estimate",
                "m.gguf",
                "-ngl",
                "99",
                "-t",
                "8",
                "--pasted-flag=--jinja",
                "--pasted-flag=--port",
                "--pasted-flag=--host"
            ]
        );
        // The program in place of the subcommand, with a path and .exe.
        assert_eq!(
            p("llmrig --json ./build/bin/llama-server.exe --model=m.gguf"),
            ["llmrig", "--json", "estimate", "m.gguf"]
        );
    }

    #[test]
    fn hf_repo_with_quant_is_the_model() {
        assert_eq!(
            p("llmrig estimate -hf unsloth/Qwen3-8B-GGUF:Q4_K_M -c 0"),
            [
                "llmrig",
                "estimate",
                "hf:unsloth/Qwen3-8B-GGUF",
                "-q",
                "Q4_K_M"
            ]
        );
        // An explicit -q wins over the repository's tag; -hff names the file.
        assert_eq!(
            p("llmrig estimate -hf org/repo:Q8_0 -q Q6_K"),
            ["llmrig", "estimate", "hf:org/repo", "-q", "Q6_K"]
        );
        assert_eq!(
            p("llmrig estimate -hf org/repo -hff m-Q4_K_M.gguf"),
            ["llmrig", "estimate", "hf:org/repo/m-Q4_K_M.gguf"]
        );
    }

    #[test]
    fn bare_fa_means_on_and_valued_fa_is_kept() {
        assert_eq!(
            p("llmrig estimate m -fa -c 4096"),
            [
                "llmrig",
                "estimate",
                "m",
                "--flash-attn",
                "on",
                "-c",
                "4096"
            ]
        );
        assert_eq!(
            p("llmrig estimate m -fa off"),
            ["llmrig", "estimate", "m", "--flash-attn", "off"]
        );
        assert_eq!(
            p("llmrig estimate m -fa"),
            ["llmrig", "estimate", "m", "--flash-attn", "on"]
        );
    }

    #[test]
    fn other_commands_are_left_alone() {
        let line = "llmrig recommend --gpu rtx-3090 -t 8";
        assert_eq!(p(line), line.split_whitespace().collect::<Vec<_>>());
        assert_eq!(p("llmrig"), ["llmrig"]);
        assert_eq!(p("llmrig --help"), ["llmrig", "--help"]);
    }
}
