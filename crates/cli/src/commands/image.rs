//! `llmrig estimate sdxl|flux.1-dev|…`: an image-generation pipeline in stable-diffusion.cpp,
//! ComfyUI or diffusers — every part's weights and activations, where they live, the peak per
//! device, seconds per step and per image, and the command that starts it.

use std::fmt::Write as _;

use anyhow::Result;
use llmrig_catalog::image::ImageEntry;
use llmrig_contract::estimate::{
    verdict_name, ModelJson, OffloadJson, PerformanceJson, QuantJson, SettingsJson, SystemRamJson,
};
use llmrig_contract::{ComponentJson, EstimateJson, LaunchJson, MemoryJson, WarningJson};
use llmrig_core::estimate::{ram_usage, Backend, DeviceUsage, FlashAttn, MemoryBreakdown, Verdict};
use llmrig_core::model::diffusion::{PartArch, PartRole, Pipeline, WeightFormat};
use llmrig_core::quant::GgmlType;
use llmrig_core::stack::image::{
    estimate_image, ImageEngine, ImageEstimate, ImageSettings, ImageSpeedParams, Offload,
};
use llmrig_core::system::SystemSpec;

use crate::args::EstimateArgs;
use crate::options;
use crate::render::{self, json, table};

/// Seconds per image up to which a plan "works well", and up to which it is "usable".
const GOOD_SECONDS: f64 = 30.0;
const USABLE_SECONDS: f64 = 180.0;

fn format_arg(flag: &str, q: &str) -> Result<WeightFormat> {
    WeightFormat::parse(q).ok_or_else(|| {
        anyhow::anyhow!(
            "{flag} {q}: expected a weight format (fp16, bf16, fp32, fp8, or a GGUF type: q8_0, q6_k, q5_k, q5_0, q4_k, q4_0, q3_k, q2_k)"
        )
    })
}

/// The Qwen2.5-VL text encoder's bytes in `fmt`: its matrices at the format's rate, the
/// rest at 16 bits.
fn llm_bytes(pipe: &Pipeline) -> impl Fn(WeightFormat) -> u64 + '_ {
    move |fmt| {
        let params = pipe
            .parts
            .iter()
            .find_map(|p| match p.arch {
                PartArch::Llm { params, .. } => Some(params),
                _ => None,
            })
            .unwrap_or(0);
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        match fmt {
            WeightFormat::Fp8 => params,
            WeightFormat::Ggml(t) => (params as f64 * t.bits_per_weight() / 8.0) as u64,
        }
    }
}

/// The settings the flags describe, with the engine's defaults.
fn settings(a: &EstimateArgs, e: &ImageEntry, engine: ImageEngine) -> Result<ImageSettings> {
    let p = &e.pipeline;
    let i = &a.image;
    let (width, height) = i.image.unwrap_or((p.width, p.height));
    let offload = match i.offload.as_deref() {
        Some("none" | "highvram") => Offload::None,
        Some("model") => Offload::Model,
        Some("sequential" | "novram") => Offload::Sequential,
        Some("lowvram") => Offload::LowVram,
        _ if i.offload_to_cpu => Offload::Model,
        _ => Offload::Auto,
    };
    if offload == Offload::LowVram && engine != ImageEngine::ComfyUi {
        anyhow::bail!("--offload lowvram is ComfyUI's --lowvram: pass --backend comfyui, or --offload model for {}", engine.name());
    }
    if offload == Offload::Sequential && engine == ImageEngine::SdCpp {
        anyhow::bail!("--offload sequential is diffusers' enable_sequential_cpu_offload; sd.cpp offloads whole models (--offload-to-cpu)");
    }
    Ok(ImageSettings {
        engine,
        width,
        height,
        steps: i.steps.unwrap_or(p.steps),
        batch_count: i.batch_count,
        batch_size: 1,
        denoiser_format: a
            .quant
            .as_deref()
            .map(|q| format_arg("-q", q))
            .transpose()?,
        text_encoder_format: i
            .te_quant
            .as_deref()
            .map(|q| format_arg("--te-quant", q))
            .transpose()?,
        diffusion_fa: i.diffusion_fa,
        fa_all: matches!(a.flash_attn.map(FlashAttn::from), Some(FlashAttn::On)),
        vae_tiling: i.vae_tiling,
        clip_on_cpu: i.clip_on_cpu,
        vae_on_cpu: i.vae_on_cpu,
        offload,
    })
}

/// The pipeline with one denoiser pass per step when the guidance scale is 1.
fn with_guidance(e: &ImageEntry, cfg: Option<f64>) -> Pipeline {
    let mut p = e.pipeline.clone();
    if cfg.is_some_and(|c| (c - 1.0).abs() < 1e-9) {
        p.guidance = llmrig_core::model::diffusion::Guidance::Distilled;
    }
    p
}

fn verdict(est: &ImageEstimate) -> Verdict {
    if !est.fits {
        Verdict::DoesNotFit
    } else if est.seconds_per_image <= GOOD_SECONDS {
        Verdict::WorksWell
    } else if est.seconds_per_image <= USABLE_SECONDS {
        Verdict::Usable
    } else {
        Verdict::Slow
    }
}

/// The engine's own memory savers and smaller files, added one by one until the plan fits,
/// then each dropped again where the plan still fits without it: the fewest changes that fit.
fn what_fits(
    pipe: &Pipeline,
    s: &ImageSettings,
    sys: &SystemSpec,
    speed: &ImageSpeedParams,
) -> Option<(String, ImageEstimate)> {
    type Move = (String, Box<dyn Fn(&mut ImageSettings)>);
    let llm = llm_bytes(pipe);
    let mut moves: Vec<Move> = match s.engine {
        ImageEngine::SdCpp => vec![
            (
                "--diffusion-fa".into(),
                Box::new(|t: &mut ImageSettings| t.diffusion_fa = true),
            ),
            (
                "--vae-tiling".into(),
                Box::new(|t: &mut ImageSettings| t.vae_tiling = true),
            ),
            (
                "--clip-on-cpu".into(),
                Box::new(|t: &mut ImageSettings| t.clip_on_cpu = true),
            ),
            (
                "--offload-to-cpu".into(),
                Box::new(|t: &mut ImageSettings| t.offload = Offload::Model),
            ),
        ],
        ImageEngine::Diffusers => vec![
            (
                "pipe.vae.enable_tiling()".into(),
                Box::new(|t: &mut ImageSettings| t.vae_tiling = true),
            ),
            (
                "pipe.enable_model_cpu_offload()".into(),
                Box::new(|t: &mut ImageSettings| t.offload = Offload::Model),
            ),
            (
                "pipe.enable_sequential_cpu_offload()".into(),
                Box::new(|t: &mut ImageSettings| t.offload = Offload::Sequential),
            ),
        ],
        ImageEngine::ComfyUi => vec![(
            "--lowvram".into(),
            Box::new(|t: &mut ImageSettings| t.offload = Offload::LowVram),
        )],
    };
    let bits = |f: WeightFormat| match f {
        WeightFormat::Fp8 => 8.0,
        WeightFormat::Ggml(g) => g.bits_per_weight(),
    };
    let big_te = pipe
        .parts
        .iter()
        .any(|p| p.role == PartRole::TextEncoder && p.arch.params() > 1_000_000_000);
    if big_te && s.text_encoder_format.is_none_or(|f| bits(f) > 8.5) {
        moves.push((
            "--te-quant q8_0".into(),
            Box::new(|t: &mut ImageSettings| {
                t.text_encoder_format = Some(WeightFormat::Ggml(GgmlType::Q8_0));
            }),
        ));
    }
    let current = bits(s.denoiser_format.unwrap_or(pipe.denoiser().format));
    for q in [
        GgmlType::Q8_0,
        GgmlType::Q6_K,
        GgmlType::Q5_K,
        GgmlType::Q4_K,
        GgmlType::Q3_K,
        GgmlType::Q2_K,
    ] {
        if q.bits_per_weight() < current - 0.01 {
            moves.push((
                format!("-q {}", q.name().to_ascii_lowercase()),
                Box::new(move |t: &mut ImageSettings| {
                    t.denoiser_format = Some(WeightFormat::Ggml(q))
                }),
            ));
        }
    }
    // Every combination of the flags with at most one quant: among those that fit, the fastest
    // whose denoiser keeps 8 bits or more (Q8_0 is as good as 16 bits to the eye), else the
    // one with the most bits, then the fastest, then the fewest changes.
    let flags: Vec<usize> = (0..moves.len())
        .filter(|&i| !moves[i].0.starts_with("-q "))
        .collect();
    let quants: Vec<Option<usize>> = std::iter::once(None)
        .chain(
            (0..moves.len())
                .filter(|&i| moves[i].0.starts_with("-q "))
                .map(Some),
        )
        .collect();
    let mut best: Option<(Vec<usize>, ImageEstimate, f64)> = None;
    for mask in 0u32..(1 << flags.len()) {
        for q in &quants {
            let mut chosen: Vec<usize> = flags
                .iter()
                .enumerate()
                .filter(|(b, _)| mask & (1 << b) != 0)
                .map(|(_, &i)| i)
                .collect();
            chosen.extend(q);
            if chosen.is_empty() {
                continue;
            }
            let mut t = s.clone();
            for &i in &chosen {
                (moves[i].1)(&mut t);
            }
            let e = estimate_image(pipe, &t, sys, &llm, speed);
            if !e.fits {
                continue;
            }
            let b = bits(t.denoiser_format.unwrap_or(pipe.denoiser().format));
            let better = match &best {
                None => true,
                Some((bc, be, bb)) => {
                    let (good, best_good) = (b >= 8.0, *bb >= 8.0);
                    if good != best_good {
                        good
                    } else if !good && (b - bb).abs() > 0.01 {
                        b > *bb
                    } else if (e.seconds_per_image - be.seconds_per_image).abs()
                        > 0.02 * be.seconds_per_image
                    {
                        e.seconds_per_image < be.seconds_per_image
                    } else if (b - bb).abs() > 0.01 {
                        b > *bb
                    } else {
                        chosen.len() < bc.len()
                    }
                }
            };
            if better {
                best = Some((chosen, e, b));
            }
        }
    }
    best.map(|(c, e, _)| {
        let names: Vec<&str> = c.iter().map(|&i| moves[i].0.as_str()).collect();
        (names.join(" "), e)
    })
}

/// sd.cpp's plan for `e` at its native size and default steps on `sys`: the estimate as is when it
/// fits, else the fewest of sd.cpp's memory savers and smaller files that make it fit
/// ([`what_fits`]), with those changes as `llmrig estimate` flags; `None` when nothing fits.
#[must_use]
pub fn default_plan(e: &ImageEntry, sys: &SystemSpec) -> Option<(String, ImageEstimate, Verdict)> {
    let p = &e.pipeline;
    let s = ImageSettings {
        engine: ImageEngine::SdCpp,
        width: p.width,
        height: p.height,
        steps: p.steps,
        batch_count: 1,
        batch_size: 1,
        denoiser_format: None,
        text_encoder_format: None,
        diffusion_fa: false,
        fa_all: false,
        vae_tiling: false,
        clip_on_cpu: false,
        vae_on_cpu: false,
        offload: Offload::Auto,
    };
    let pipe = with_guidance(e, None);
    let speed = ImageSpeedParams::SHIPPED;
    let est = estimate_image(&pipe, &s, sys, &llm_bytes(&pipe), &speed);
    let (flags, est) = if est.fits {
        (String::new(), est)
    } else {
        what_fits(&pipe, &s, sys, &speed)?
    };
    let v = verdict(&est);
    Some((flags, est, v))
}

/// The command that starts the plan (sd.cpp's CLI; a diffusers or ComfyUI outline).
fn command(e: &ImageEntry, pipe: &Pipeline, s: &ImageSettings) -> String {
    match s.engine {
        ImageEngine::SdCpp => {
            let mut c = String::from("sd");
            let den = pipe.denoiser();
            let q = s.denoiser_format.unwrap_or(den.format).name();
            let single_file = matches!(den.arch, PartArch::Unet(_));
            if single_file {
                let _ = write!(c, " -m {}.safetensors", e.id);
                if s.denoiser_format.is_some_and(|f| f != den.format) {
                    let _ = write!(c, " --type {q}");
                }
            } else {
                let _ = write!(c, " --diffusion-model {}-{q}.gguf", e.id);
                for p in &pipe.parts {
                    let f = if p.role == PartRole::TextEncoder {
                        llmrig_core::stack::image::text_encoder_format(pipe, p, s).name()
                    } else {
                        p.format.name()
                    };
                    match (p.role, p.name.as_str()) {
                        (PartRole::TextEncoder, "clip-l") => {
                            let _ = write!(c, " --clip_l clip_l.safetensors");
                        }
                        (PartRole::TextEncoder, "clip-g") => {
                            let _ = write!(c, " --clip_g clip_g.safetensors");
                        }
                        (PartRole::TextEncoder, "t5xxl") => {
                            // ComfyUI's published files: t5xxl_fp16, t5xxl_fp8_e4m3fn; GGUFs
                            // (city96) by type.
                            let file = match f.as_str() {
                                "f16" => "t5xxl_fp16.safetensors".to_string(),
                                "fp8" => "t5xxl_fp8_e4m3fn.safetensors".to_string(),
                                q => format!("t5-v1_1-xxl-encoder-{}.gguf", q.to_ascii_uppercase()),
                            };
                            let _ = write!(c, " --t5xxl {file}");
                        }
                        (PartRole::TextEncoder, name) => {
                            let _ = write!(c, " --llm {name}-{f}.gguf");
                        }
                        (PartRole::Vae, _) => {
                            // Black Forest Labs publish FLUX's VAE as ae.safetensors.
                            let file = if e.id.starts_with("flux") {
                                "ae.safetensors".to_string()
                            } else {
                                format!("{}_vae.safetensors", e.id.replace(['.', '-'], "_"))
                            };
                            let _ = write!(c, " --vae {file}");
                        }
                        _ => {}
                    }
                }
            }
            let _ = write!(
                c,
                " -p \"a lighthouse at dawn\" -W {} -H {} --steps {}",
                s.width, s.height, s.steps
            );
            if pipe.passes() == 1 {
                // sd.cpp runs a second, unconditional pass unless the scale is 1 (its default
                // is 7.0 for every model); distilled models are run at 1.
                c.push_str(" --cfg-scale 1.0");
            }
            if !matches!(den.arch, PartArch::Unet(_)) {
                c.push_str(" --sampling-method euler");
            }
            if s.batch_count > 1 {
                let _ = write!(c, " -b {}", s.batch_count);
            }
            for (on, flag) in [
                (s.diffusion_fa, " --diffusion-fa"),
                (s.fa_all, " --fa"),
                (s.vae_tiling, " --vae-tiling"),
                (s.clip_on_cpu, " --clip-on-cpu"),
                (s.vae_on_cpu, " --vae-on-cpu"),
                (s.offload == Offload::Model, " --offload-to-cpu"),
            ] {
                if on {
                    c.push_str(flag);
                }
            }
            c
        }
        ImageEngine::ComfyUi => {
            let mut c = String::from("python main.py");
            match s.offload {
                Offload::LowVram => c.push_str(" --lowvram"),
                Offload::Sequential => c.push_str(" --novram"),
                Offload::None => c.push_str(" --highvram"),
                Offload::Auto | Offload::Model => {}
            }
            if s.vae_on_cpu {
                c.push_str(" --cpu-vae");
            }
            let _ = write!(
                c,
                "   # then load {} in the {} workflow at {}x{}, {} steps",
                e.files, e.name, s.width, s.height, s.steps
            );
            c
        }
        ImageEngine::Diffusers => {
            let offload = match s.offload {
                Offload::Model => "pipe.enable_model_cpu_offload()",
                Offload::Sequential => "pipe.enable_sequential_cpu_offload()",
                _ => "pipe.to(\"cuda\")",
            };
            let tiling = if s.vae_tiling {
                "; pipe.vae.enable_tiling()"
            } else {
                ""
            };
            format!(
                "pipe = DiffusionPipeline.from_pretrained(\"{}\", torch_dtype=torch.bfloat16); {offload}{tiling}; pipe(prompt, width={}, height={}, num_inference_steps={})",
                hf_repo(e.id),
                s.width,
                s.height,
                s.steps
            )
        }
    }
}

fn hf_repo(id: &str) -> &'static str {
    match id {
        "sd-1.5" => "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "sd-2.1" => "stabilityai/stable-diffusion-2-1",
        "sdxl" => "stabilityai/stable-diffusion-xl-base-1.0",
        "sd-3.5-medium" => "stabilityai/stable-diffusion-3.5-medium",
        "sd-3.5-large" => "stabilityai/stable-diffusion-3.5-large",
        "flux.1-schnell" => "black-forest-labs/FLUX.1-schnell",
        "qwen-image" => "Qwen/Qwen-Image",
        _ => "black-forest-labs/FLUX.1-dev",
    }
}

/// Estimates an image model and renders it.
///
/// # Errors
/// A bad `-q`/`--te-quant`/`--offload` or machine description.
#[allow(clippy::too_many_lines)]
pub fn run(a: &EstimateArgs, e: &ImageEntry, as_json: bool) -> Result<String> {
    let engine = match a.backend.engine {
        Backend::ComfyUi => ImageEngine::ComfyUi,
        Backend::Diffusers => ImageEngine::Diffusers,
        Backend::LlamaCpp | Backend::SdCpp => ImageEngine::SdCpp,
        b => anyhow::bail!(
            "--backend {}: {} is an image model; its engines are sd.cpp (default), comfyui and diffusers",
            b.name(),
            e.name
        ),
    };
    let s = settings(a, e, engine)?;
    let (sys, machine_notes) = options::machine(&a.machine)?;
    let pipe = with_guidance(e, a.image.cfg_scale);
    let speed = ImageSpeedParams::SHIPPED;
    let llm = llm_bytes(&pipe);
    let est = estimate_image(&pipe, &s, &sys, &llm, &speed);
    let v = verdict(&est);
    let mut warnings: Vec<WarningJson> = est
        .notes
        .iter()
        .map(|n| WarningJson::new("image-engine", n.clone()))
        .collect();
    if engine == ImageEngine::SdCpp {
        warnings.push(WarningJson::new(
            "image-compute-approximate",
            "sd.cpp's compute buffers: FLUX's and SD 3.5's are ggml-alloc replayed over sd.cpp's rebuilt graph and the UNets' closed forms read off such a replay, exact for the CPU backend; the text encoders' and Qwen-Image's are closed forms of their largest tensors (within 5%); a GPU backend may align and fuse differently. validation/ compares them with the real sd.cpp",
        ));
    }
    warnings.push(WarningJson::new(
        "image-speed-rough",
        format!(
            "seconds per step: the denoiser's multiply-adds at {:.0}% of the GPU's FP16 tensor rate ({}; transformers {:.1}× that) and a launch cost per layer, fitted on 55 published runs: 18% median error in sample, 23% (p90 58%) with each source held out{}",
            if engine == ImageEngine::SdCpp { speed.sdcpp_gpu } else { speed.torch_gpu } * 100.0,
            engine.name(),
            speed.dit,
            if engine == ImageEngine::SdCpp { "; sd.cpp's own share rests on one published run" } else { "" }
        ),
    ));
    if !est.fits {
        if let Some((flags, fixed)) = what_fits(&pipe, &s, &sys, &speed) {
            warnings.push(WarningJson::new(
                "image-fits-with",
                format!(
                    "fits with {flags}: {} on the GPU, {:.1} s per image",
                    render::gib(fixed.memory.devices[0].total_bytes),
                    fixed.seconds_per_image
                ),
            ));
        }
    }
    warnings.extend(
        machine_notes
            .iter()
            .map(|n| WarningJson::new("machine-assumed", n.to_string())),
    );
    let den = pipe.denoiser();
    let quant = s.denoiser_format.unwrap_or(den.format).name();
    let cmd = command(e, &pipe, &s);
    if as_json {
        return Ok(json_out(e, &pipe, &s, &sys, &est, v, warnings, &quant, cmd));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · {quant} · {}x{}, {} steps{} · {} · {}",
        e.name,
        s.width,
        s.height,
        s.steps,
        if pipe.passes() == 2 { " with CFG" } else { "" },
        engine.name(),
        sys.gpus
            .first()
            .map_or_else(|| "CPU only".to_string(), |g| g.name.clone())
    );
    let mut pt = table::new(
        &[
            "part", "format", "params", "weights", "compute", "runs on", "time",
        ],
        &[2, 3, 4, 6],
    );
    for p in &est.parts {
        #[allow(clippy::cast_precision_loss)]
        pt.add_row(vec![
            format!("{} ({})", p.name, role_name(p.role)),
            p.format.clone(),
            format!("{:.2}B", p.params as f64 / 1e9),
            render::size(p.weights_bytes),
            render::size(p.compute_bytes),
            if p.on_gpu { "GPU" } else { "CPU" }.to_string(),
            format!(
                "{:.2} s{}",
                p.seconds,
                if p.role == PartRole::Denoiser {
                    " /pass"
                } else {
                    ""
                }
            ),
        ]);
    }
    let _ = writeln!(out, "{pt}");
    let mut tb = table::new(
        &[
            "device", "weights", "compute", "other", "total", "capacity", "fits",
        ],
        &[1, 2, 3, 4, 5],
    );
    for d in &est.memory.devices {
        tb.add_row(vec![
            render::short_device_name(&d.name),
            render::size(d.weights_bytes),
            render::size(d.compute_bytes),
            render::size(d.other_bytes),
            render::size(d.total_bytes),
            render::size(d.capacity_bytes),
            if d.fits() { "yes" } else { "NO" }.to_string(),
        ]);
    }
    let _ = writeln!(
        out,
        "peak memory (the largest compute buffer beside the weights)\n{tb}"
    );
    let _ = writeln!(
        out,
        "speed          {:.2} s per step · {:.1} s per image ({} steps, text encoding and VAE decode included)",
        est.seconds_per_step, est.seconds_per_image, s.steps
    );
    let _ = writeln!(out, "verdict        {}", render::verdict(v));
    let _ = writeln!(out, "start          {cmd}");
    for w in &warnings {
        let _ = writeln!(out, "note: {}", w.message);
    }
    Ok(out)
}

fn role_name(r: PartRole) -> &'static str {
    match r {
        PartRole::Denoiser => "denoiser",
        PartRole::TextEncoder => "text encoder",
        PartRole::Vae => "VAE",
    }
}

#[allow(clippy::too_many_arguments)]
fn json_out(
    e: &ImageEntry,
    pipe: &Pipeline,
    s: &ImageSettings,
    sys: &SystemSpec,
    est: &ImageEstimate,
    v: Verdict,
    warnings: Vec<WarningJson>,
    quant: &str,
    cmd: String,
) -> String {
    let on_gpu = !sys.gpus.is_empty();
    let den = pipe.denoiser();
    let den_use = est
        .parts
        .iter()
        .find(|p| p.role == PartRole::Denoiser)
        .expect("a denoiser");
    let mj = MemoryJson::from(&est.memory);
    let components = est
        .parts
        .iter()
        .zip(&pipe.parts)
        .map(|(u, p)| {
            // Each part's own weights and compute on the device it runs on.
            let devices: Vec<DeviceUsage> = est
                .memory
                .devices
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let here = (i == 0 && u.on_gpu)
                        || (d.kind == llmrig_core::system::DeviceKind::Cpu && !u.on_gpu);
                    let (w, c) = if here {
                        (u.weights_bytes, u.compute_bytes)
                    } else {
                        (0, 0)
                    };
                    DeviceUsage {
                        weights_bytes: w,
                        compute_bytes: c,
                        other_bytes: 0,
                        total_bytes: w + c,
                        kv_cache_bytes: 0,
                        repack_bytes: 0,
                        mapped_bytes: 0,
                        ..d.clone()
                    }
                })
                .collect();
            let m = MemoryBreakdown {
                weights_bytes: u.weights_bytes,
                kv_cache_bytes: 0,
                compute_bytes: u.compute_bytes,
                output_bytes: 0,
                overhead_bytes: 0,
                total_bytes: u.weights_bytes + u.compute_bytes,
                devices,
            };
            ComponentJson {
                role: p.role.json_name(&p.arch).to_string(),
                model: p.name.clone(),
                quant: u.format.clone(),
                ctx: 0,
                gpu_layers: u32::from(u.on_gpu),
                memory: MemoryJson::from(&m),
                prefill_tokens_per_s: 0.0,
                decode_tokens_per_s: 0.0,
                documents_per_s: None,
                image_tokens: None,
                params: Some(u.params),
                seconds: Some(u.seconds),
            }
        })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let bpw = den_use.weights_bytes as f64 * 8.0 / den_use.params.max(1) as f64;
    let j = EstimateJson {
        schema_version: llmrig_contract::SCHEMA_VERSION,
        model: ModelJson {
            name: e.name.to_string(),
            id: e.id.to_string(),
            arch: match den.arch {
                PartArch::Unet(_) => "unet",
                PartArch::Flux(_) => "flux",
                PartArch::Mmdit(_) => "mmdit",
                _ => "dit",
            }
            .into(),
            source: "catalog".into(),
            params: pipe.params(),
            active_params: pipe.params(),
            n_layers: 0,
            context_max: pipe.text_tokens,
        },
        quant: QuantJson {
            name: quant.to_string(),
            bits_per_weight: bpw,
            weights_bytes: den_use.weights_bytes,
        },
        settings: SettingsJson {
            ctx: pipe.text_tokens,
            ctx_allocated: pipe.text_tokens,
            batch: u64::from(s.batch_size),
            ubatch: u64::from(s.batch_size),
            gpu_layers: u32::from(on_gpu),
            flash_attn: s.diffusion_fa || s.fa_all,
            cache_type_k: "f16".into(),
            cache_type_v: "f16".into(),
            parallel: 1,
            backend: s.engine.name().into(),
            program: None,
            n_cpu_moe: 0,
        },
        memory: MemoryJson {
            system_ram: SystemRamJson::from(&ram_usage(&est.memory, sys)),
            ..mj
        },
        offload: OffloadJson {
            gpu_layers: u32::from(on_gpu),
            total_layers: 1,
            ram_fraction: if on_gpu {
                #[allow(clippy::cast_precision_loss)]
                let f = est.streamed_bytes_per_step as f64 / den_use.weights_bytes.max(1) as f64;
                f
            } else {
                1.0
            },
        },
        performance: PerformanceJson {
            prefill_tokens_per_s: 0.0,
            decode_tokens_per_s: 0.0,
            time_to_first_token_s: 0.0,
            decode_bound: "compute".into(),
            decode_low: 0.0,
            decode_high: 0.0,
            prefill_low: 0.0,
            prefill_high: 0.0,
            decode_by_depth: Vec::new(),
            tokens_per_s: None,
            documents_per_s: None,
            speculative: None,
            realtime_factor: None,
            seconds_per_step: Some(est.seconds_per_step),
            seconds_per_image: Some(est.seconds_per_image),
        },
        max_context: pipe.text_tokens,
        verdict: verdict_name(v).to_string(),
        warnings,
        launch: Some(LaunchJson {
            backend: s.engine.name().into(),
            command: cmd,
        }),
        components,
        connect: None,
        program_defaults: Vec::new(),
    };
    json::to_string(&j)
}
