//! `--backend PROGRAM` (issue 17 item 3): each program's defaults replace llama.cpp's where no
//! flag is given, and its `--launch` line, read back, estimates again as fitting.

use super::json;
use llmrig_core::estimate::{FlashAttn, Program, PROGRAMS};

/// Llama 3.1 8B on a 12 GB card: every program's defaults fit there.
fn base(program: &str) -> Vec<String> {
    [
        "estimate",
        "llama-3.1-8b",
        "--gpu",
        "rtx-3060-12gb",
        "--ram",
        "32GiB",
        "--backend",
        program,
    ]
    .iter()
    .map(ToString::to_string)
    .collect()
}

fn run(args: &[String]) -> serde_json::Value {
    json(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The number after `key` in a launch line (`num_ctx 4096`, `--contextsize 8192`, `Context
/// Length 2048,`).
fn after(cmd: &str, key: &str) -> String {
    let i = cmd
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in {cmd}"))
        + key.len();
    cmd[i..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(',')
        .to_string()
}

/// Where each program's launch line says the context and the GPU layers.
fn keys(p: Program) -> (&'static str, &'static str) {
    match p {
        Program::Ollama => ("num_ctx ", "num_gpu "),
        Program::Lmstudio => ("--context-length ", "--gpu "),
        Program::Koboldcpp => ("--contextsize ", "--gpulayers "),
        Program::Gpt4all => ("Context Length ", "GPU Layers "),
        Program::Jan => ("Context Size ", "GPU Layers "),
        Program::Textgen => ("--ctx-size ", "--gpu-layers "),
        Program::Llamafile | Program::LlamaCpp => ("-c ", "-ngl "),
    }
}

#[test]
fn each_programs_defaults_apply_and_its_launch_line_fits() {
    for p in PROGRAMS.into_iter().skip(1) {
        let v = run(&base(p.name()));
        let d = p.defaults(12 << 30);
        let s = &v["settings"];
        assert_eq!(s["program"], p.name(), "{v}");
        if let Some(c) = d.ctx {
            assert_eq!(s["ctx"], c, "{}", p.name());
        }
        if let Some(b) = d.batch {
            assert_eq!(s["batch"], b, "{}", p.name());
        }
        if let Some(u) = d.ubatch {
            assert_eq!(s["ubatch"], u, "{}", p.name());
        }
        if let Some(f) = d.flash_attn.filter(|f| *f != FlashAttn::Auto) {
            assert_eq!(s["flash_attn"], f == FlashAttn::On, "{}", p.name());
        }
        if let Some(n) = d.parallel {
            assert_eq!(s["parallel"], n, "{}", p.name());
        }
        // Every default carries a source, and the JSON lists them.
        assert!(!d.sources.is_empty() && d.sources.iter().all(|x| !x.source.is_empty()));
        assert_eq!(
            v["program_defaults"].as_array().map(Vec::len),
            Some(d.sources.len())
        );
        assert!(
            v["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["code"] == "program-defaults"),
            "{v}"
        );
        assert_ne!(v["verdict"], "does-not-fit", "{}: {v}", p.name());

        // The launch line, read back: its context and layers fit.
        let mut a = base(p.name());
        a.extend(["--launch".into(), p.name().into()]);
        let l = run(&a);
        let cmd = l["launch"]["command"].as_str().unwrap().to_string();
        let (ck, gk) = keys(p);
        let ctx = after(&cmd, ck);
        assert_eq!(ctx, l["settings"]["ctx"].to_string(), "{cmd}");
        let layers = after(&cmd, gk);
        let layers = if layers == "max" {
            "all".to_string()
        } else {
            layers
        };
        let mut again = base(p.name());
        again.extend(["-c".into(), ctx, "-ngl".into(), layers]);
        let r = run(&again);
        assert_ne!(r["verdict"], "does-not-fit", "{}: {cmd}", p.name());
    }
}

/// A flag the user gives wins over the program's default; Ollama's batch follows the context.
#[test]
fn flags_win_and_ollama_sizes_by_vram_and_context() {
    let mut a = base("ollama");
    a.extend(["-c".into(), "16384".into(), "-fa".into(), "off".into()]);
    let v = run(&a);
    assert_eq!(v["settings"]["ctx"], 16384);
    assert_eq!(v["settings"]["flash_attn"], false);
    assert_eq!(v["settings"]["batch"], 1024, "num_batch past 4k of context");
    // Ollama's context by total VRAM (server/routes.go): 4k on 12 GB, 32k on 24 GB, the model's
    // 128k (its cap) on 2 × 24 GB.
    for (gpu, ctx) in [
        ("rtx-3060-12gb", 4096),
        ("rtx-4090", 32768),
        ("2x rtx-4090", 131_072),
    ] {
        let v = json(&[
            "estimate",
            "llama-3.1-8b",
            "--gpu",
            gpu,
            "--ram",
            "64GiB",
            "--backend",
            "ollama",
        ]);
        assert_eq!(v["settings"]["ctx"], ctx, "{gpu}");
    }
    // llama.cpp itself: no program note, no program field.
    let v = json(&["estimate", "llama-3.1-8b", "--gpu", "rtx-4090"]);
    assert!(v["settings"].get("program").is_none());
    assert!(v.get("program_defaults").is_none());
}

/// The program's own names: Ollama's server variables from the environment (a flag still wins),
/// a pasted koboldcpp command line.
#[test]
fn ollamas_variables_and_koboldcpps_flags_are_read() {
    let out = super::llmrig()
        .args([
            "estimate",
            "llama-3.1-8b",
            "--gpu",
            "rtx-4090",
            "--backend",
            "ollama",
            "-fa",
            "off",
            "--json",
        ])
        .env("OLLAMA_CONTEXT_LENGTH", "8192")
        .env("OLLAMA_NUM_PARALLEL", "2")
        .env("OLLAMA_FLASH_ATTENTION", "1")
        .env("OLLAMA_KV_CACHE_TYPE", "q4_k")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["settings"]["ctx"], 8192);
    assert_eq!(v["settings"]["parallel"], 2);
    assert_eq!(v["settings"]["flash_attn"], false, "the flag wins");
    assert_eq!(v["settings"]["cache_type_k"], "f16");
    let notes: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "program-environment")
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes
        .iter()
        .any(|n| n.contains("q4_k") && n.contains("ignored")));
    // The same variables mean nothing to llama.cpp itself.
    let out = super::llmrig()
        .args(["estimate", "llama-3.1-8b", "--gpu", "rtx-4090", "--json"])
        .env("OLLAMA_CONTEXT_LENGTH", "8192")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(v["settings"]["ctx"], 8192);

    let v = json(&[
        "koboldcpp",
        "llama-3.1-8b",
        "--contextsize",
        "16384",
        "--gpulayers",
        "20",
        "--usecublas",
        "normal",
        "0",
        "--gpu",
        "rtx-4090",
    ]);
    assert_eq!(v["settings"]["program"], "koboldcpp");
    assert_eq!(v["settings"]["ctx"], 16384);
    assert_eq!(v["settings"]["gpu_layers"], 20);
    assert_eq!(
        v["settings"]["batch"], 512,
        "koboldcpp's --blasbatchsize default"
    );
}

/// `--connect FRONTEND` (issue 17 item 4) names the server the plan starts: the `--launch`
/// program's port and model, in each frontend's URL form; the embedder it names is one `--with`
/// counts.
#[test]
fn connect_names_the_server_the_plan_starts() {
    let frontends = [
        "open-webui",
        "sillytavern",
        "anythingllm",
        "chatbox",
        "msty",
        "jan",
        "continue",
        "obsidian",
    ];
    for (launch, port, model_key) in [
        ("llama.cpp", 8080, "-m "),
        ("ollama", 11434, ""),
        ("koboldcpp", 5001, "--model "),
        ("lmstudio", 1234, "lms load "),
    ] {
        for f in frontends {
            let v = json(&[
                "estimate",
                "llama-3.1-8b",
                "--gpu",
                "rtx-4090",
                "--launch",
                launch,
                "--connect",
                f,
            ]);
            let c = &v["connect"];
            let cmd = v["launch"]["command"].as_str().unwrap();
            assert!(
                c["base_url"]
                    .as_str()
                    .unwrap()
                    .contains(&format!(":{port}")),
                "{launch} {f}: {c}"
            );
            assert!(c["server"]
                .as_str()
                .unwrap()
                .ends_with(&format!("port {port}")));
            let model = c["model"].as_str().unwrap();
            if model_key.is_empty() {
                assert!(
                    cmd.contains("ollama create mymodel") && model == "mymodel",
                    "{cmd}"
                );
            } else {
                assert_eq!(after(cmd, model_key), model, "{launch} {f}: {cmd}");
            }
            assert!(!c["steps"].as_array().unwrap().is_empty());
            assert!(!c["source"].as_str().unwrap().is_empty());
        }
    }
    // The frontends that embed documents say so, with a `--with` that runs.
    let v = json(&[
        "estimate",
        "llama-3.1-8b",
        "--gpu",
        "rtx-4090",
        "--connect",
        "open-webui",
    ]);
    let em = v["connect"]["embedder"].as_str().unwrap();
    let with = em.split('`').nth(1).unwrap();
    assert_eq!(with, "--with all-minilm-l6-v2");
    let w = json(&[
        "estimate",
        "llama-3.1-8b",
        "--gpu",
        "rtx-4090",
        "--with",
        "all-minilm-l6-v2",
    ]);
    assert!(w["components"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["role"] == "embedding"));
}

/// `--cpu-build` (issue 17 item 5): a BLAS build converts every weight ggml-blas takes to f32, so
/// on a CPU an F16 model prefills slower than with the default build, while Q4_0, which the CPU's
/// repack buffer keeps on AVX2, is unchanged; a CPU-only estimate names the fastest build.
#[test]
fn cpu_builds_change_the_prompt_on_the_cpu_only() {
    let run = |quant: &str, build: &str| {
        json(&[
            "estimate",
            "llama-3.2-1b",
            "-q",
            quant,
            "--no-gpu",
            "--cpu",
            "ryzen-9-7950x",
            "--ram",
            "32GiB",
            "-c",
            "4096",
            "--cpu-build",
            build,
        ])
    };
    let pp = |v: &serde_json::Value| v["performance"]["prefill_tokens_per_s"].as_f64().unwrap();
    let (d16, b16) = (run("F16", "llama.cpp"), run("F16", "openblas"));
    let (d8, b8) = (run("Q8_0", "llama.cpp"), run("Q8_0", "openblas"));
    // ggml-blas multiplies every type it takes in f32, at best as fast as the default build
    // (equal up to the order of a floating-point sum where the default build's time wins).
    let at_most = |a: f64, b: f64| a <= b * (1.0 + 1e-12);
    assert!(at_most(pp(&b16), pp(&d16)) && at_most(pp(&b8), pp(&d8)));
    assert!(
        pp(&b16) < pp(&d16) || pp(&b8) < pp(&d8),
        "BLAS costs something here"
    );
    assert_eq!(
        b16["performance"]["decode_tokens_per_s"], d16["performance"]["decode_tokens_per_s"],
        "generation does not use BLAS"
    );
    let (d4, b4) = (run("Q4_0", "llama.cpp"), run("Q4_0", "openblas"));
    assert!(
        (pp(&b4) / pp(&d4) - 1.0).abs() < 1e-9,
        "Q4_0 stays repacked"
    );
    // llamafile 0.10 is llama.cpp's kernels; MKL and BLIS are BLAS builds like OpenBLAS.
    assert_eq!(pp(&run("F16", "llamafile")), pp(&d16));
    assert_eq!(pp(&run("F16", "mkl")), pp(&b16));
    // The note names the faster of the two for this model.
    for (d, b) in [(&d16, &b16), (&d8, &b8)] {
        let note = d["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["code"] == "cpu-build")
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string();
        let alike = (pp(b) / pp(d) - 1.0).abs() < 0.05;
        assert_eq!(note.contains("about alike"), alike, "{note}");
        assert!(
            alike
                || note.starts_with(
                    "prompt on this CPU: llama.cpp's default CPU build is the fastest"
                ),
            "{note}"
        );
    }
    // With every layer on a GPU the CPU build does not matter and nothing is said.
    let g = json(&["estimate", "llama-3.2-1b", "--gpu", "rtx-4090"]);
    assert!(!g.to_string().contains("\"cpu-build\""));
}

/// An Ollama Modelfile as the model: its FROM and PARAMETERs, under Ollama's defaults.
#[test]
fn a_modelfile_is_estimated_with_its_parameters() {
    let dir = std::env::temp_dir().join(format!("llmrig-mf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mf = dir.join("Modelfile");
    std::fs::write(
        &mf,
        "FROM llama3.1:8b\nPARAMETER num_ctx 16384\nPARAMETER num_gpu 20\nPARAMETER temperature 0.2\n",
    )
    .unwrap();
    let v = json(&["estimate", mf.to_str().unwrap(), "--gpu", "rtx-4090"]);
    assert_eq!(v["model"]["id"], "llama-3.1-8b");
    assert_eq!(v["settings"]["ctx"], 16384);
    assert_eq!(v["settings"]["gpu_layers"], 20);
    assert_eq!(v["settings"]["program"], "ollama");
    assert_eq!(
        v["settings"]["batch"], 1024,
        "Ollama's num_batch for a 16k context"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// LM Studio's `lms load` line pastes in: its context and GPU flags under LM Studio's defaults.
#[test]
fn an_lms_load_line_is_an_estimate() {
    let v = json(&[
        "lms",
        "load",
        "llama-3.1-8b",
        "--context-length",
        "16384",
        "--gpu",
        "max",
        "--gpu",
        "rtx-4090",
    ]);
    assert_eq!(v["settings"]["program"], "lmstudio");
    assert_eq!(v["settings"]["ctx"], 16384);
    assert_eq!(v["offload"]["gpu_layers"], v["offload"]["total_layers"]);
    assert_eq!(
        v["settings"]["parallel"], 4,
        "LM Studio's 4 parallel predictions"
    );
}

/// The README's OpenBLAS-to-default prompt ratios are the ones `validation/cpu_builds.py`
/// recorded (validation/cpu-builds.json: real llama-bench builds, and llmrig's prediction on the
/// same files); re-running that script changes both, and this test says when the README lags.
#[test]
fn readme_cpu_build_ratios_are_the_recorded_ones() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let rec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/validation/cpu-builds.json")).unwrap(),
    )
    .unwrap();
    let ratio = |r: &serde_json::Value, side: &str| {
        r[side]["openblas"]["pp512"].as_f64().unwrap()
            / r[side]["default"]["pp512"].as_f64().unwrap()
    };
    let rows = rec["rows"].as_array().unwrap();
    let list = |side: &str| {
        rows.iter()
            .map(|r| format!("{:.2}", ratio(r, side)))
            .collect::<Vec<_>>()
    };
    let (m, p) = (list("measured"), list("predicted"));
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let want_m = format!(
        "pp512 = {} (F16), {} (Q8_0), {} (Q4_0), {} (Q4_K_M); llmrig predicts {}, {}, {}, {}",
        m[0], m[1], m[2], m[3], p[0], p[1], p[2], p[3]
    );
    assert!(flat.contains(&want_m), "README lacks: {want_m}");
}
