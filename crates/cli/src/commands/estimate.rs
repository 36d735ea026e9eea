//! `llmrig estimate MODEL`: memory per device, layers on the GPU, largest context, speed, verdict.

use std::fmt::Write as _;

use anyhow::Context as _;
use anyhow::Result;
use llmrig_contract::estimate::SystemRamJson;
use llmrig_contract::{EstimateJson, LaunchJson, MemoryJson, SpeculativeJson, WarningJson};
use llmrig_core::estimate::{
    estimate, ram_usage, Backend, EstimateError, FlashAttn, GpuLayers, Program, ProgramDefaults,
    Settings, Verdict,
};
use llmrig_core::stack::draft::{speculative as speculative_speed, StepCost};
use llmrig_core::stack::{combine, fits as stack_fits, ComponentRole};

use crate::args::EstimateArgs;
use crate::commands::suggest::{tps, tps_at_least};

/// A decode speed as the estimate prints it: one decimal, more when it is below 1.
fn tps1(v: f64) -> String {
    tps_at_least(v, 1)
}
use crate::commands::{embedders, stack};
use crate::launch::Launcher;
use crate::options;
use crate::render::{self, json, table};

/// The command that starts this plan in `launcher`, adapted to what that program can do
/// ([`crate::launch::adapt`]), its notes as comment lines after it.
pub(crate) fn launch_for(
    launcher: Launcher,
    model: &options::ResolvedModel,
    s: &llmrig_core::estimate::Settings,
    e: &llmrig_core::estimate::Estimate,
    sys: &llmrig_core::system::SystemSpec,
    placement_args: Vec<String>,
) -> Result<String> {
    let (s, e, notes) = crate::launch::adapt(launcher, &model.weights, s, e, sys)
        .map_err(|m| anyhow::anyhow!(m))?;
    let entry = llmrig_catalog::models().find(&model.weights.spec.id).ok();
    let (file, tag) = file_and_tag(model);
    let mut out = crate::launch::command(
        launcher,
        &crate::launch::Plan {
            file: &file,
            hf_repo: entry.map(|en| en.hf_repo.as_str()),
            ollama_tag: Some(tag.as_str()),
            ctx: e.resolved.ctx,
            gpu_layers: e.offload.gpu_layers,
            total_layers: e.offload.total_layers,
            flash_attn: e.resolved.flash_attn,
            cache_type_k: &s.cache_type_k.name().to_ascii_lowercase(),
            cache_type_v: &s.cache_type_v.name().to_ascii_lowercase(),
            n_cpu_moe: e.resolved.n_cpu_moe,
            parallel: s.parallel,
            gpus: sys.gpus.len(),
            mlx_bits: if model.weights.bits_per_weight() > 6.0 {
                8
            } else {
                4
            },
            placement_args,
        },
    );
    for n in notes {
        out.push_str(&format!("\n# {n}"));
    }
    Ok(out)
}

/// What Ollama pulls for this model in this quant: the library tag that ships it, a Hugging Face
/// GGUF repository at that quant for an `hf:` model, or the local file.
/// The model file a launch line names (the file read, else the usual GGUF name of a catalog
/// model's repository) and the Ollama tag for it.
fn file_and_tag(model: &options::ResolvedModel) -> (String, String) {
    let entry = llmrig_catalog::models().find(&model.weights.spec.id).ok();
    let quant = model.weights.quant.name();
    let file = match (&model.local, entry) {
        (Some(l), _) => l.facts.paths.first().cloned().unwrap_or_default(),
        (None, Some(en)) => format!(
            "{}-{quant}.gguf",
            en.hf_repo.rsplit('/').next().unwrap_or(&en.hf_repo),
        ),
        (None, None) => format!("{}.gguf", model.weights.spec.id),
    };
    let tag = ollama_ref(model, entry.map(|en| en.spec.id.as_str()), &quant, &file);
    (file, tag)
}

fn ollama_ref(
    model: &options::ResolvedModel,
    catalog_id: Option<&str>,
    quant: &str,
    file: &str,
) -> String {
    if model.source == "file" {
        return file.to_string();
    }
    if let Some(tag) = catalog_id.and_then(|id| llmrig_catalog::ollama().tag_for(id, quant)) {
        if model.source == "catalog" || model.source == "installed" {
            return tag;
        }
    }
    if let Some(l) = &model.local {
        if let Some(repo) = l.facts.paths.first().and_then(|p| hf_repo_of(p)) {
            return format!("hf.co/{repo}:{quant}");
        }
    }
    format!("./{}", file.rsplit('/').next().unwrap_or(file))
}

/// `ORG/REPO` of a file read from the Hugging Face hub (`.../ORG/REPO/resolve/...`).
fn hf_repo_of(path: &str) -> Option<String> {
    let rest = path.split("/resolve/").next()?;
    let mut parts = rest.rsplit('/');
    let repo = parts.next()?;
    let org = parts.next()?;
    (path.contains("/resolve/") && !org.is_empty()).then(|| format!("{org}/{repo}"))
}

/// llama-server's placement flags for what the user asked: `-dev`, `-sm none -mg`, `-ot`, with
/// devices named as that GPU API names them.
fn placement_args(
    a: &EstimateArgs,
    s: &llmrig_core::estimate::Settings,
    api: Option<llmrig_core::system::GpuApi>,
) -> Vec<String> {
    use llmrig_core::system::GpuApi;
    let prefix = match api {
        Some(GpuApi::Rocm) => "ROCm",
        Some(GpuApi::Vulkan) => "Vulkan",
        Some(GpuApi::Sycl) => "SYCL",
        Some(GpuApi::Metal) => "MTL",
        _ => "CUDA",
    };
    let mut out = Vec::new();
    if let Some(list) = &a.device {
        out.push("-dev".to_string());
        out.push(if list.0.is_empty() {
            "none".to_string()
        } else {
            list.0
                .iter()
                .map(|i| format!("{prefix}{i}"))
                .collect::<Vec<_>>()
                .join(",")
        });
    }
    if s.split_mode == llmrig_core::estimate::SplitMode::None {
        out.push(format!("-sm none -mg {}", s.main_gpu));
    }
    for o in &s.tensor_overrides {
        // After -dev, device numbers are positions in its list; llama.cpp names the device.
        let dev = match (o.device, &a.device) {
            (None, _) => "CPU".to_string(),
            (Some(g), Some(list)) => format!("{prefix}{}", list.0.get(g).copied().unwrap_or(g)),
            (Some(g), None) => format!("{prefix}{g}"),
        };
        out.push("-ot".to_string());
        out.push(crate::launch::shell_quote(&format!("{}={dev}", o.pattern)));
    }
    out
}

/// The GGUF file a catalog model's quant is published as (`Qwen3-8B-Q4_K_M.gguf`), as the launch
/// commands name it.
fn gguf_file(id: &str, quant: &str) -> String {
    match llmrig_catalog::models().find(id) {
        Ok(en) => format!(
            "{}-{quant}.gguf",
            en.hf_repo.rsplit('/').next().unwrap_or(&en.hf_repo)
        ),
        Err(_) => format!("{id}-{quant}.gguf"),
    }
}

/// What the stack adds to the launch command: llama-server's flags for the projector, the draft
/// and an embedding model, and one more server per `--with` (ports from 8081); other programs
/// get a note of what their command leaves out.
fn stack_launch(
    l: Launcher,
    a: &EstimateArgs,
    spec: &llmrig_core::model::ModelSpec,
    s: &llmrig_core::estimate::Settings,
    parts: &[stack::Part],
) -> (Vec<String>, Vec<String>) {
    let mut args = Vec::new();
    let mut lines = Vec::new();
    if l != Launcher::LlamaCpp {
        // Ollama's library tags of vision models carry their projector.
        let left: Vec<&str> = parts
            .iter()
            .filter(|p| !(l == Launcher::Ollama && p.component.role == ComponentRole::Mmproj))
            .map(|p| p.json.role.as_str())
            .collect();
        if !left.is_empty() {
            lines.push(format!(
                "# not in this command: {} (llama-server runs them: --launch llama.cpp)",
                left.join(", ")
            ));
        }
        return (args, lines);
    }
    if spec.is_embedder() {
        let mode = if spec.pooling == Some(llmrig_core::model::Pooling::Rank) {
            "--reranking"
        } else {
            "--embedding"
        };
        args.push(format!("{mode} -ub {0} -b {0}", s.ubatch));
    }
    let mut port = 8081;
    for p in parts {
        let c = &p.json;
        match p.component.role {
            ComponentRole::Mmproj => {
                let file = if a
                    .stack
                    .mmproj
                    .as_deref()
                    .is_some_and(|m| !m.eq_ignore_ascii_case("auto"))
                {
                    a.stack.mmproj.clone().unwrap_or_default()
                } else {
                    "mmproj-F16.gguf".to_string()
                };
                args.push(format!("--mmproj {}", crate::launch::shell_quote(&file)));
                if a.stack.no_mmproj_offload {
                    args.push("--no-mmproj-offload".to_string());
                }
                if file == "mmproj-F16.gguf" {
                    lines.push("# mmproj-F16.gguf: the projector published beside the model (its GGUF repository's mmproj file)".to_string());
                }
            }
            ComponentRole::Draft => args.push(format!(
                "-md {} -ngld {} --spec-type draft-simple --spec-draft-n-max {}",
                gguf_file(&c.model, &c.quant),
                c.gpu_layers,
                a.stack.draft_max
            )),
            ComponentRole::Embedding | ComponentRole::Reranker | ComponentRole::Llm => {
                let mode = match p.component.role {
                    ComponentRole::Embedding => " --embedding -ub 512 -b 512",
                    ComponentRole::Reranker => " --reranking -ub 512 -b 512",
                    _ => "",
                };
                lines.push(format!(
                    "llama-server -m {} -c {} -ngl {}{mode} --port {port}",
                    gguf_file(&c.model, &c.quant),
                    c.ctx,
                    c.gpu_layers
                ));
                port += 1;
            }
            ComponentRole::Main => {}
        }
    }
    (args, lines)
}

/// The core's refusal with how to act on it in llmrig's own flags (the core names none).
fn with_hint(e: EstimateError) -> anyhow::Error {
    match e {
        EstimateError::BackendNeeds { .. } => anyhow::anyhow!("{e} (pass --gpu)"),
        e => e.into(),
    }
}

/// The note that says which settings came from a program's defaults: what they are here, and
/// where the program sets them (the JSON's `program_defaults` has each source).
fn program_note(program: Program, s: &Settings, d: &ProgramDefaults) -> String {
    format!(
        "{}'s defaults where no flag says otherwise: context {}, batch {}/{}, flash attention {}, KV cache {}, GPU layers {}, {} sequence{}{}; its server on port {}; sources in --json (program_defaults)",
        program.name(),
        s.ctx.map_or_else(|| "the model's, fitted".to_string(), |c| c.to_string()),
        s.batch,
        s.ubatch,
        match s.flash_attn {
            FlashAttn::On => "on",
            FlashAttn::Off => "off",
            FlashAttn::Auto => "auto",
        },
        s.cache_type_k.name().to_ascii_lowercase(),
        match s.gpu_layers {
            GpuLayers::Auto => "auto (fit)".to_string(),
            GpuLayers::Count(u32::MAX) => "all".to_string(),
            GpuLayers::Count(n) => n.to_string(),
        },
        s.parallel,
        if s.parallel == 1 { "" } else { "s" },
        if s.kv_unified { " sharing one KV cache" } else { "" },
        d.port,
    )
}

/// Where the prompt runs on the CPU's own kernels (no GPU, or `--no-op-offload`): which CPU build
/// of llama.cpp prefills fastest for this model, against the one estimated.
fn cpu_build_note(
    w: &llmrig_core::estimate::ModelWeights,
    sys: &llmrig_core::system::SystemSpec,
    s: &Settings,
    e: &llmrig_core::estimate::Estimate,
) -> Option<String> {
    use llmrig_core::estimate::CpuBuild;
    if !(sys.gpus.is_empty() || s.no_op_offload) || e.offload.ram_fraction <= 0.0 {
        return None;
    }
    let prefill = |b: CpuBuild| {
        if b == s.cpu_build {
            return Some(e.performance.prefill_tokens_per_s);
        }
        let t = Settings {
            cpu_build: b,
            ..s.clone()
        };
        estimate(w, sys, &t)
            .ok()
            .map(|x| x.performance.prefill_tokens_per_s)
    };
    let default = prefill(CpuBuild::LlamaCpp)?;
    let blas = prefill(CpuBuild::OpenBlas)?;
    if (blas / default.max(1e-9) - 1.0).abs() < 0.05 {
        return Some(format!(
            "prompt on this CPU: llama.cpp's default CPU build and a BLAS build (OpenBLAS, MKL, BLIS) run this model about alike, ~{default:.0} tok/s (the weights BLAS would take are few, or it gains nothing on them; --cpu-build chooses; validation/cpu-builds.md)"
        ));
    }
    let (best, other, rate, other_rate) = if default >= blas {
        (
            "llama.cpp's default CPU build",
            "a BLAS build (OpenBLAS, MKL, BLIS)",
            default,
            blas,
        )
    } else {
        (
            "a BLAS build (OpenBLAS, MKL, BLIS)",
            "llama.cpp's default CPU build",
            blas,
            default,
        )
    };
    Some(format!(
        "prompt on this CPU: {best} is the fastest for this model, ~{rate:.0} tok/s against ~{other_rate:.0} with {other} (BLAS converts every weight to f32 and runs sgemm; llamafile 0.10 has llama.cpp's kernels, the same speed; --cpu-build chooses; validation/cpu-builds.md)"
    ))
}

/// Runs the estimate and renders it.
pub fn run(a: &EstimateArgs, as_json: bool, verbose: bool) -> Result<String> {
    // Whisper models run in whisper.cpp, not llama.cpp.
    if let Some(w) = llmrig_catalog::speech::find_whisper(&a.model) {
        return crate::commands::speech::run(a, &w, as_json);
    }
    // Image models run in stable-diffusion.cpp, ComfyUI or diffusers.
    if let Some(img) = llmrig_catalog::image::find_image(&a.model) {
        return crate::commands::image::run(a, &img, as_json);
    }
    if a.backend.engine.is_image() {
        anyhow::bail!(
            "--backend {}: runs image models ({}); {} is not one",
            a.backend.name(),
            llmrig_catalog::image::image_models()
                .iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
                .join(", "),
            a.model
        );
    }
    let (mut whole, machine_notes) = options::machine(&a.machine)?;
    let engine = a.backend.engine;
    let quant = a.quant.as_deref();
    let mut model = options::model(&a.model, quant.or(embedders::default_dtype(engine, &whole)))?;
    let ollama = a.backend.program == Program::Ollama || a.launch == Some(Launcher::Ollama);
    options::for_program(
        &mut model,
        engine == Backend::LlamaCpp,
        ollama,
        quant.is_some(),
    )?;
    let mut settings = options::settings(a);
    // A program built on llama.cpp (`--backend ollama`): its defaults where no flag was given.
    let program = a.backend.program;
    let mut given = options::given(a);
    let env_notes = options::program_env(program, &mut settings, &mut given, &|k| {
        std::env::var(k).ok().filter(|v| !v.trim().is_empty())
    });
    program.apply(
        &mut settings,
        &given,
        whole.gpus.iter().map(|g| g.memory_bytes).sum(),
        model.weights.spec.context_length,
    );
    let chunk = a.stack.chunk;
    let embed_note = stack::embedder_settings(
        &mut settings,
        &model.weights.spec,
        chunk,
        a.ubatch.is_some(),
    );
    if let Some(list) = &a.device {
        options::apply_devices(&mut whole, &mut settings, list)?;
    }
    let w = &model.weights;
    let limits = (a.stack.encode_batch, a.stack.max_batch_tokens);
    let quant_name = w.quant.name();
    if engine.is_embedding() && (a.launch.is_some() || a.connect.is_some()) {
        anyhow::bail!("--backend {}: --launch and --connect are for the llama.cpp family; the plan's `start:` note starts it", engine.name());
    }
    let mut engine_notes = embedders::configure(
        engine,
        &mut settings,
        (&w.spec, &quant_name),
        chunk,
        limits,
        &whole,
    )?;
    // Servers beside this one start first; this model gets what they leave, less its projector
    // (llama.cpp's --fit counts it since PR #21489, Apr 2026).
    let (mut parts, mut sys) = stack::with_servers(&a.stack.with, &settings, chunk, &whole)?;
    let mut image_tokens = 0;
    if let Some((p, tokens)) = stack::mmproj(&a.stack, &model.weights.spec, &settings, &sys)? {
        sys = llmrig_core::stack::remaining(&sys, &p.component.memory);
        image_tokens = tokens * a.stack.images.unwrap_or(1);
        parts.insert(0, p);
    }
    let draft = stack::draft(&a.stack, &model.weights.spec)?;
    let mut e = estimate(&model.weights, &sys, &settings).map_err(with_hint)?;
    let mut speculative = None;
    if let Some(d) = &draft {
        // llama.cpp's --fit counts the draft (PR #23485, May 2026) at the target's context: size
        // it at the context the target would take alone, fit the target into what it leaves, and
        // size it again at that (smaller or equal) context.
        let dw = &d.model.weights;
        let draft_at = |ctx: u64| {
            estimate(dw, &sys, &stack::draft_settings(d, &settings, ctx))
                .with_context(|| format!("--draft {}", dw.spec.id))
        };
        let room_at = |ctx: u64| -> Result<llmrig_core::system::SystemSpec> {
            Ok(llmrig_core::stack::remaining(
                &sys,
                &stack::without_runtime(draft_at(ctx)?.memory),
            ))
        };
        let alone = e.resolved.ctx;
        e = estimate(&model.weights, &room_at(alone)?, &settings).map_err(with_hint)?;
        if settings.ctx.is_none() {
            // The draft sized at the context the target takes alone is larger than it needs to
            // be; the largest context where both fit, with the layers that fit, lies between.
            let layers = e.resolved.gpu_layers;
            let (mut lo, mut hi) = (e.resolved.ctx, alone);
            while hi > lo + 256 {
                let mid = (lo + hi) / 2 / 256 * 256;
                let at = llmrig_core::estimate::Settings {
                    ctx: Some(mid),
                    ..settings.clone()
                };
                let m = estimate(&model.weights, &room_at(mid)?, &at).map_err(with_hint)?;
                if m.verdict != Verdict::DoesNotFit && m.resolved.gpu_layers >= layers && mid > lo {
                    lo = mid;
                    e = m;
                } else {
                    hi = mid;
                }
            }
        }
        let de = draft_at(e.resolved.ctx)?;
        let alpha = a
            .stack
            .draft_accept
            .unwrap_or_else(|| stack::default_acceptance(&model.weights.spec, &dw.spec));
        let cost = |p: &llmrig_core::estimate::Performance| StepCost {
            decode_s: 1.0 / p.decode_tokens_per_s.max(1e-9),
            prefill_tokens_per_s: p.prefill_tokens_per_s,
        };
        let sp = speculative_speed(
            cost(&e.performance),
            cost(&de.performance),
            a.stack.draft_max,
            alpha,
        );
        let (mut component, mut json) = stack::part(ComponentRole::Draft, dw, &de, chunk);
        component.memory = stack::without_runtime(component.memory);
        json.memory = MemoryJson::from(&component.memory);
        parts.push(stack::Part {
            component,
            json,
            notes: d.model.notes.clone(),
        });
        speculative = Some((
            dw.spec.id.clone(),
            alpha,
            sp,
            e.performance.decode_tokens_per_s,
        ));
        // Generation with the draft: the whole decode side scales by the speed-up.
        let k = sp.speedup;
        let p = &mut e.performance;
        p.decode_tokens_per_s *= k;
        p.decode_low *= k;
        p.decode_high *= k;
        for pt in &mut p.decode_by_depth {
            pt.decode_tokens_per_s *= k;
        }
        if e.verdict != Verdict::DoesNotFit {
            e.verdict = if p.decode_tokens_per_s >= settings.good_tps {
                Verdict::WorksWell
            } else if p.decode_tokens_per_s >= settings.usable_tps {
                Verdict::Usable
            } else {
                Verdict::Slow
            };
        }
    }
    let (main_part, main_json) = stack::part(ComponentRole::Main, &model.weights, &e, chunk);
    let mut all: Vec<&llmrig_core::estimate::MemoryBreakdown> = vec![&main_part.memory];
    all.extend(parts.iter().map(|p| &p.component.memory));
    let combined = combine(&whole, &all);
    let verdict = if parts.is_empty() || stack_fits(&whole, &combined) {
        e.verdict
    } else {
        Verdict::DoesNotFit
    };
    let mut warnings: Vec<WarningJson> = e.warnings.iter().map(json::warning).collect();
    warnings.extend(embed_note.map(|n| WarningJson::new("embedding-batch", n)));
    if engine.is_embedding() {
        let repo = llmrig_catalog::models()
            .find(&model.weights.spec.id)
            .map_or(a.model.as_str(), |m| m.hf_repo.as_str());
        let cmd = embedders::start_command(engine, &model.weights.spec, repo, &settings, &sys);
        engine_notes.push(format!("start: {cmd}"));
    }
    warnings.extend(
        engine_notes
            .into_iter()
            .map(|n| WarningJson::new("embedding-engine", n)),
    );
    if image_tokens > 0 && e.resolved.ctx < image_tokens + settings.prompt {
        warnings.push(WarningJson::new(
            "images-exceed-context",
            format!(
                "the images take {image_tokens} tokens of the {}-token context, leaving less than the {}-token prompt",
                e.resolved.ctx, settings.prompt
            ),
        ));
    }
    for p in &parts {
        warnings.extend(
            p.notes
                .iter()
                .map(|n| WarningJson::new("component-note", n.clone())),
        );
    }
    warnings.extend(
        model
            .notes
            .iter()
            .map(|n| WarningJson::new("model-note", n.clone())),
    );
    if !a.pasted_flag.is_empty() {
        warnings.push(WarningJson::new(
            "runtime-flags",
            format!(
                "{} from the pasted command line: accepted, change nothing estimated",
                a.pasted_flag.join(" ")
            ),
        ));
    }
    for o in &settings.tensor_overrides {
        if !model
            .weights
            .tensors
            .iter()
            .any(|t| o.matches(&t.info.name))
        {
            warnings.push(WarningJson::new(
                "override-unmatched",
                format!(
                    "-ot {}: the pattern finds no tensor of this model",
                    o.pattern
                ),
            ));
        }
    }
    warnings.extend(
        crate::commands::suggest::what_would_change(&model, &settings, &sys, &e)
            .into_iter()
            .map(|m| WarningJson::new("what-would-change", m)),
    );
    // Notes that only say where a number came from are shown with --verbose (JSON has them all).
    let mut hidden = 0usize;
    let mut provenance: Vec<String> = Vec::new();
    for n in &machine_notes {
        if n.is_provenance() {
            provenance.push(n.to_string());
        }
    }
    provenance.extend(
        e.warnings
            .iter()
            .filter(|w| matches!(w, llmrig_core::estimate::Warning::CpuSpeedUncalibrated))
            .map(ToString::to_string),
    );
    warnings.extend(
        machine_notes
            .iter()
            .map(|n| WarningJson::new("machine-assumed", n.to_string())),
    );
    let program_defaults = (program != Program::LlamaCpp)
        .then(|| program.defaults(whole.gpus.iter().map(|g| g.memory_bytes).sum()));
    if let Some(d) = &program_defaults {
        warnings.push(WarningJson::new(
            "program-defaults",
            program_note(program, &settings, d),
        ));
    }
    warnings.extend(
        env_notes
            .into_iter()
            .map(|n| WarningJson::new("program-environment", n)),
    );
    if let Some(n) = cpu_build_note(&model.weights, &sys, &settings, &e) {
        warnings.push(WarningJson::new("cpu-build", n));
    }
    let launch = a
        .launch
        .map(|l| -> Result<LaunchJson> {
            let mut args = placement_args(a, &settings, sys.gpus.first().map(|g| g.api));
            let (extra, lines) = stack_launch(l, a, &model.weights.spec, &settings, &parts);
            args.extend(extra);
            let mut command = launch_for(l, &model, &settings, &e, &sys, args)?;
            for line in lines {
                command.push('\n');
                command.push_str(&line);
            }
            Ok(LaunchJson {
                backend: l.name().to_string(),
                command,
            })
        })
        .transpose()?;
    let connect = a.connect.map(|f| {
        let (file, tag) = file_and_tag(&model);
        let name = match (a.launch, program) {
            // The Modelfile `--launch ollama` writes is created as `mymodel`.
            (Some(Launcher::Ollama), _) => "mymodel".to_string(),
            (None, Program::Ollama) => tag,
            _ => file.rsplit('/').next().unwrap_or(&file).to_string(),
        };
        crate::connect::connect(f, a.launch, program, &name, e.resolved.ctx)
    });
    let embedder = model.weights.spec.is_embedder();
    #[allow(clippy::cast_precision_loss)]
    let docs_per_s = e.performance.prefill_tokens_per_s / chunk.max(1) as f64;
    if as_json {
        let mut j = EstimateJson::new(
            &model.weights,
            &model.source,
            &settings,
            &e,
            warnings,
            launch,
        );
        j.memory = MemoryJson {
            system_ram: SystemRamJson::from(&ram_usage(&combined, &whole)),
            ..MemoryJson::from(&combined)
        };
        j.verdict = llmrig_contract::estimate::verdict_name(verdict).to_string();
        j.connect = connect
            .as_ref()
            .map(|c| serde_json::to_value(c).unwrap_or_default());
        if let Some(d) = program_defaults {
            j.settings.program = Some(program.name().to_string());
            j.program_defaults = d
                .sources
                .iter()
                .map(|x| llmrig_contract::estimate::ProgramDefaultJson {
                    setting: x.setting.to_string(),
                    value: x.value.to_string(),
                    source: x.source.to_string(),
                })
                .collect();
        }
        if embedder {
            j.performance.tokens_per_s = Some(e.performance.prefill_tokens_per_s);
            j.performance.documents_per_s = Some(docs_per_s);
        }
        if let Some((draft, acceptance, sp, without)) = &speculative {
            j.performance.speculative = Some(SpeculativeJson {
                draft: draft.clone(),
                draft_max: a.stack.draft_max,
                acceptance: *acceptance,
                tokens_per_step: sp.tokens_per_step,
                speedup: sp.speedup,
                decode_without_draft: *without,
            });
        }
        j.components = std::iter::once(main_json)
            .chain(parts.iter().map(|p| p.json.clone()))
            .collect();
        return Ok(json::to_string(&j));
    }

    let w = &model.weights;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · {} ({:.2} bpw, {}) · context {} · {}",
        w.spec.name,
        w.quant.name(),
        w.bits_per_weight(),
        render::gib(w.total_bytes()),
        e.resolved.ctx,
        if sys.gpus.is_empty() {
            "CPU only".to_string()
        } else {
            sys.gpus
                .iter()
                .map(|g| g.name.as_str())
                .collect::<Vec<_>>()
                .join(" + ")
        }
    );
    let mut t = table::new(
        &[
            "device", "layers", "weights", "KV cache", "compute", "other", "total", "capacity",
            "fits",
        ],
        &[1, 2, 3, 4, 5, 6, 7],
    );
    for (i, d) in combined.devices.iter().enumerate() {
        // Windows: a GPU over its dedicated memory spills into shared system memory.
        let shared = e.ram.shared_gpu_bytes.get(i).is_some_and(|&s| s > 0);
        t.add_row(vec![
            render::short_device_name(&d.name),
            d.layers.to_string(),
            render::size(d.weights_bytes),
            render::size(d.kv_cache_bytes),
            render::size(d.compute_bytes),
            render::size(d.other_bytes),
            render::size(d.total_bytes),
            render::size(d.capacity_bytes),
            if d.fits() {
                "yes"
            } else if shared && verdict != Verdict::DoesNotFit {
                "shared"
            } else {
                "NO"
            }
            .to_string(),
        ]);
    }
    // Narrow terminals lose "other", then compute and KV (the total holds them).
    table::fit(&mut t, &[5, 4, 3]);
    let _ = writeln!(out, "{t}");
    for p in &parts {
        let c = &p.json;
        let on: Vec<String> = c
            .memory
            .devices
            .iter()
            .filter(|d| d.total_bytes > 0)
            .map(|d| {
                format!(
                    "{} on {}",
                    render::size(d.total_bytes),
                    render::short_device_name(&d.name)
                )
            })
            .collect();
        if let Some(t) = c.image_tokens {
            let _ = writeln!(
                out,
                "projector      {} {}: {} · {t} context tokens per image",
                c.model,
                c.quant,
                on.join(" + ")
            );
            continue;
        }
        if c.role == "draft" {
            let _ = writeln!(
                out,
                "draft          {} {} (-c {}, -ngld {}): {}",
                c.model,
                c.quant,
                c.ctx,
                c.gpu_layers,
                on.join(" + ")
            );
            continue;
        }
        let speed = match c.documents_per_s {
            Some(docs) => format!(
                "~{} tok/s read ({docs:.1} documents/s of {chunk} tokens)",
                tps(c.prefill_tokens_per_s)
            ),
            None => format!("decode ~{} tok/s", tps1(c.decode_tokens_per_s)),
        };
        let _ = writeln!(
            out,
            "beside it      {} {} ({}, -c {}): {} · {speed}",
            c.model,
            c.quant,
            c.role,
            c.ctx,
            on.join(" + ")
        );
    }
    let p = &e.performance;
    let _ = writeln!(
        out,
        "layers on GPU  {}/{}   (weights read from RAM: {:.0}%)",
        e.offload.gpu_layers,
        e.offload.total_layers,
        e.offload.ram_fraction * 100.0
    );
    let _ = writeln!(
        out,
        "max context    {} tokens (trained: {})",
        e.max_context, w.spec.context_length
    );
    if embedder {
        let _ = writeln!(
            out,
            "speed          ~{} tok/s read ({}–{}) · {docs_per_s:.1} documents/s of {chunk} tokens (--chunk)",
            tps(p.prefill_tokens_per_s),
            tps(p.prefill_low),
            tps(p.prefill_high)
        );
    } else {
        let _ = writeln!(
            out,
            "speed          decode ~{} tok/s ({}–{}, {}-bound) · prefill ~{} tok/s ({}–{}) · first token {:.2} s for {} tokens",
            tps1(p.decode_tokens_per_s), tps1(p.decode_low), tps1(p.decode_high), p.decode_bound, tps(p.prefill_tokens_per_s), tps(p.prefill_low), tps(p.prefill_high), p.time_to_first_token_s, settings.prompt
        );
        let curve: Vec<String> = p
            .decode_by_depth
            .iter()
            .map(|d| format!("{} @ {}", tps1(d.decode_tokens_per_s), d.depth))
            .collect();
        let _ = writeln!(
            out,
            "decode by depth {} (tok/s @ tokens in context)",
            curve.join(" · ")
        );
    }
    if let Some((draft, acceptance, sp, without)) = &speculative {
        let _ = writeln!(
            out,
            "speculative    with {draft}: {:.2} tokens per step at {:.0}% acceptance, {} drafted (--draft-max) · ×{:.2} over {} tok/s alone",
            sp.tokens_per_step,
            acceptance * 100.0,
            a.stack.draft_max,
            sp.speedup,
            tps1(*without)
        );
    }
    let verdict = render::verdict(verdict);
    let _ = writeln!(out, "verdict        {verdict}");
    for wn in warnings.iter().filter(|w| w.code == "what-would-change") {
        let _ = writeln!(out, "would help     {}", wn.message);
    }
    for wn in warnings.iter().filter(|w| w.code != "what-would-change") {
        if !verbose
            && provenance
                .iter()
                .any(|p| wn.message.starts_with(p.as_str()))
        {
            hidden += 1;
            continue;
        }
        let _ = writeln!(out, "note: {}", wn.message);
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "({hidden} note(s) on where the numbers come from: --verbose)"
        );
    }
    if let Some(l) = &launch {
        let _ = writeln!(out, "\n{}", l.command);
    }
    if let Some(c) = &connect {
        let _ = writeln!(
            out,
            "\n{} → {} ({}, {}, model {}):",
            c.frontend, c.server, c.api, c.base_url, c.model
        );
        for step in &c.steps {
            let _ = writeln!(out, "  {}", step.replace('\n', "\n  "));
        }
        if let Some(em) = &c.embedder {
            let _ = writeln!(out, "  documents: {} embeds them with {em}", c.frontend);
        }
    }
    Ok(out)
}
