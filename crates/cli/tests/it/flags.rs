//! Flag values: a bad value of any flag is clap's usage error (exit 2) naming the flag, flags with a
//! fixed set of values list them in `--help`, and every spelling accepted before the flags were
//! typed still works.

use super::{json, llmrig};

/// The command line before the flag: a subcommand and, where it takes one, a model.
fn command(sub: &str) -> Vec<&str> {
    match sub {
        "estimate" | "plan" => vec![sub, "llama-3.1-8b"],
        _ => vec![sub],
    }
}

/// (subcommand, flag as typed, bad value, the flag as clap names it)
const BAD: &[(&str, &str, &str, &str)] = &[
    // Fixed sets of values.
    ("estimate", "-fa", "maybe", "--flash-attn"),
    ("estimate", "--flash-attn", "yes", "--flash-attn"),
    ("estimate", "-sm", "column", "--split-mode"),
    ("estimate", "--backend", "tgi", "--backend"),
    ("estimate", "-ctk", "q3_k", "--cache-type-k"),
    ("estimate", "-ctv", "q4_k", "--cache-type-v"),
    ("estimate", "--launch", "nope", "--launch"),
    ("estimate", "--api", "opencl", "--api"),
    ("plan", "--engine", "tgi", "--engine"),
    ("plan", "--kv-cache-dtype", "int8", "--kv-cache-dtype"),
    ("plan", "--internode", "wifi", "--internode"),
    ("plan", "--api", "opencl", "--api"),
    ("recommend", "--use", "poetry", "--use"),
    ("recommend", "--launch", "nope", "--launch"),
    ("recommend", "--api", "opencl", "--api"),
    ("hw", "--api", "opencl", "--api"),
    ("estimate", "--os", "beos", "--os"),
    ("recommend", "--os", "beos", "--os"),
    // Numbers, sizes and other typed values.
    ("estimate", "-ngl", "abc", "--n-gpu-layers"),
    ("estimate", "-c", "12x", "--ctx-size"),
    ("estimate", "-c", "-5", "--ctx-size"),
    ("estimate", "--ram", "lots", "--ram"),
    ("estimate", "--ram", "3parsecs", "--ram"),
    ("estimate", "-ts", "1,x", "--tensor-split"),
    ("estimate", "--llama-cpp", "june", "--llama-cpp"),
    ("estimate", "--good-tps", "-1", "--good-tps"),
    ("estimate", "--usable-tps", "2e6", "--usable-tps"),
    ("estimate", "--ram-bw", "0", "--ram-bw"),
    ("plan", "--max-model-len", "12x", "--max-model-len"),
    ("recommend", "--min-ctx", "lots", "--min-ctx"),
    ("recommend", "--min-tps", "-1", "--min-tps"),
    ("hw", "--ram-bw", "-5", "--ram-bw"),
    ("estimate", "--os-reserve", "-1GiB", "--os-reserve"),
    ("recommend", "--os-reserve", "lots", "--os-reserve"),
    ("estimate", "--wired-limit", "0", "--wired-limit"),
];

#[test]
fn every_bad_value_is_a_usage_error() {
    for &(sub, flag, bad, long) in BAD {
        let mut args = command(sub);
        // `--flag=value`, so that a value starting with `-` is not taken for a flag.
        let pair = format!("{flag}={bad}");
        args.push(&pair);
        let out = llmrig().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr.starts_with(&format!("error: invalid value '{bad}' for '{long} <")),
            "{args:?}: {stderr}"
        );
    }
    // The RAM bandwidth probe's buffer too, before anything is measured.
    let out = llmrig()
        .args(["hw", "--measure", "--measure-mib", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("error: invalid value '0' for '--measure-mib <MIB>'"));
}

/// The lines of `help` that describe `flag`, up to the next option.
fn help_of<'a>(help: &'a str, flag: &str) -> Vec<&'a str> {
    let head = format!("{flag} <");
    let mut lines = help.lines().skip_while(|l| !l.contains(&head));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("{flag} not in {help}"));
    std::iter::once(first)
        .chain(lines.take_while(|l| {
            let indent = l.len() - l.trim_start().len();
            !(indent < 10 && l.trim_start().starts_with('-'))
        }))
        .collect()
}

#[test]
fn help_lists_the_values_of_fixed_choice_flags() {
    let launch = [
        "llama.cpp",
        "ollama",
        "lmstudio",
        "koboldcpp",
        "vllm",
        "sglang",
        "exllamav2",
        "mlx",
        "gpt4all",
        "jan",
        "llamafile",
        "textgen",
    ];
    let api = ["cuda", "rocm", "vulkan", "metal", "sycl", "cpu"];
    let kv = [
        "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1",
    ];
    let cases: &[(&str, &str, &[&str])] = &[
        ("estimate", "--flash-attn", &["on", "off", "auto"]),
        (
            "estimate",
            "--cpu-build",
            &["llama.cpp", "openblas", "mkl", "blis", "llamafile"],
        ),
        ("estimate", "--split-mode", &["layer", "row", "none"]),
        (
            "estimate",
            "--backend",
            &[
                "llama.cpp",
                "exllamav2",
                "exllamav3",
                "mlx",
                "transformers",
                "vllm",
                "sd.cpp",
                "comfyui",
                "diffusers",
                "tei",
                "sentence-transformers",
                "ollama",
                "lmstudio",
                "koboldcpp",
                "gpt4all",
                "jan",
                "llamafile",
                "textgen",
            ],
        ),
        ("estimate", "--cache-type-k", &kv),
        ("estimate", "--cache-type-v", &kv),
        ("estimate", "--launch", &launch),
        ("estimate", "--api", &api),
        ("plan", "--engine", &["vllm", "sglang"]),
        ("plan", "--kv-cache-dtype", &["auto", "fp8"]),
        (
            "plan",
            "--internode",
            &["ib-ndr", "ib-hdr", "roce-100", "ethernet-25"],
        ),
        ("plan", "--api", &api),
        (
            "recommend",
            "--use",
            &[
                "chat",
                "code",
                "reasoning",
                "long-context",
                "vision",
                "embedding",
                "rerank",
                "rag",
                "image",
                "speech",
            ],
        ),
        ("recommend", "--launch", &launch),
        ("recommend", "--api", &api),
        ("hw", "--api", &api),
        (
            "estimate",
            "--os",
            &["linux", "linux-server", "macos", "windows"],
        ),
    ];
    for &(sub, flag, values) in cases {
        for h in ["--help", "-h"] {
            let out = llmrig().args([sub, h]).output().unwrap();
            assert_eq!(out.status.code(), Some(0));
            let help = String::from_utf8_lossy(&out.stdout);
            let block = help_of(&help, flag).join("\n");
            // `-h` lists the names on one line; `--help` too, or one per line with their help.
            let listed = block
                .split_once("[possible values: ")
                .map(|(_, l)| {
                    l.split(']')
                        .next()
                        .unwrap_or("")
                        .split(", ")
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .or_else(|| {
                    block.split_once("Possible values:").map(|(_, l)| {
                        l.lines()
                            .filter_map(|x| x.trim().strip_prefix("- "))
                            .map(|x| x.split(':').next().unwrap_or("").to_string())
                            .collect()
                    })
                })
                .unwrap_or_else(|| panic!("{sub} {h}: no values for {flag}:\n{block}"));
            assert_eq!(listed, values, "{sub} {h} {flag}:\n{block}");
        }
    }
}

/// Every spelling taken before still is, and means the same as the listed name.
#[test]
fn aliases_and_case_still_work() {
    let estimate = |extra: &[&str]| {
        let mut a = vec![
            "estimate",
            "llama-3.1-8b",
            "--gpu",
            "2x rtx-3090",
            "-c",
            "8192",
        ];
        a.extend_from_slice(extra);
        json(&a)
    };
    for (alias, name) in [
        (&["-fa", "1"][..], &["-fa", "on"][..]),
        (&["-fa", "TRUE"], &["-fa", "on"]),
        (&["-fa=false"], &["-fa", "off"]),
        (&["--flash-attn", "0"], &["-fa", "off"]),
        (&["-sm", "ROW"], &["-sm", "row"]),
        (&["--backend", "Ollama"], &["--backend", "ollama"]),
        (&["--backend", "LM-Studio"], &["--backend", "lmstudio"]),
        (&["--backend", "llamacpp"], &["--backend", "llama.cpp"]),
        (&["--launch", "oobabooga"], &["--launch", "textgen"]),
        (
            &["-ctk", "Q8_0", "-ctv", "Q8_0"],
            &["-ctk", "q8_0", "-ctv", "q8_0"],
        ),
        (&["-ngl", "ALL"], &["-ngl", "all"]),
        (&["-ngl", "max"], &["-ngl", "all"]),
        (&["-ngl", "-1"], &["-ngl", "auto"]),
        (&["--api", "VULKAN"], &["--api", "vulkan"]),
        (&["--launch", "llamacpp"], &["--launch", "llama.cpp"]),
        (&["--launch", "llama-server"], &["--launch", "llama.cpp"]),
        (&["--launch", "LM-Studio"], &["--launch", "lmstudio"]),
        (&["--llama-cpp", "latest"], &["--llama-cpp", "current"]),
    ] {
        assert_eq!(estimate(alias), estimate(name), "{alias:?} vs {name:?}");
    }
    // HIP is ROCm, on an AMD card (--api must be one llama.cpp builds for the GPU).
    let amd = |api: &str| {
        json(&[
            "estimate",
            "llama-3.1-8b",
            "--gpu",
            "rx-7900-xtx",
            "--api",
            api,
        ])
    };
    assert_eq!(amd("HIP"), amd("rocm"));
    let plan = |extra: &[&str]| {
        let mut a = vec!["plan", "llama-3.1-8b", "--gpu", "2x h100", "--nodes", "2"];
        a.extend_from_slice(extra);
        json(&a)
    };
    assert_eq!(
        plan(&[
            "--engine",
            "SGLang",
            "--kv-cache-dtype",
            "FP8_E5M2",
            "--internode",
            "IB-HDR"
        ]),
        plan(&[
            "--engine",
            "sglang",
            "--kv-cache-dtype",
            "fp8",
            "--internode",
            "ib-hdr"
        ])
    );
    assert_eq!(
        plan(&["--kv-cache-dtype", "bf16"]),
        plan(&["--kv-cache-dtype", "auto"])
    );
    let recommend = |extra: &[&str]| {
        let mut a = vec![
            "recommend",
            "--gpu",
            "rtx-3090",
            "--ram",
            "64GiB",
            "--top",
            "2",
        ];
        a.extend_from_slice(extra);
        // The machine part carries this host's free RAM, which changes between runs.
        json(&a)["recommendations"].clone()
    };
    assert_eq!(
        recommend(&["--use", "Coding", "--launch", "OLLAMA"]),
        recommend(&["--use", "code", "--launch", "ollama"])
    );
}
