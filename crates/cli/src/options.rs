//! Raw arguments → validated inputs for the library: the model's weights, the machine and the
//! estimator's settings. Every error names the input and what was expected.

use anyhow::{anyhow, bail, Context, Result};
use llmrig_catalog::{devices, models};
use llmrig_core::estimate::{Backend, FlashAttn, GpuLayers, ModelWeights, Settings, SplitMode};
use llmrig_core::model::{Arch, ModelSpec};
use llmrig_core::quant::{GgmlType, Quant};
use llmrig_core::system::{DeviceKind, GpuApi, SystemSpec};

use crate::args::{EstimateArgs, MachineArgs};

/// The model as resolved: weights plus where the numbers came from.
pub struct ResolvedModel {
    pub weights: ModelWeights,
    pub source: String,
    pub notes: Vec<String>,
    /// Set when the model was read from GGUF files.
    pub local: Option<llmrig_formats::local::LocalModel>,
    /// Set when the model was read from a Hugging Face folder.
    pub folder: Option<llmrig_formats::local::HfFolder>,
}

/// Parses a size such as `64GiB`, `24GB` or `512MiB`. A bare number is GiB: `--ram 32` means
/// 32 GiB, which is what people type; nobody sizes RAM or VRAM in bytes on a command line.
pub fn parse_size(flag: &str, s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| anyhow!("{flag} `{s}`: expected a size such as 64GiB, 24GB or 512MiB"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" => 1073741824.0,
        "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1048576.0,
        "g" | "gb" => 1e9,
        "gib" => 1073741824.0,
        "t" | "tb" => 1e12,
        "tib" => 1099511627776.0,
        u => bail!("{flag} `{s}`: unknown unit `{u}`, expected B, MB, MiB, GB, GiB, TB or TiB"),
    };
    let bytes = n * mult;
    if !(bytes.is_finite() && bytes > 0.0 && bytes < 1e18) {
        bail!("{flag} `{s}`: expected a positive size below 1 EB");
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(bytes as u64)
}

/// Parses a context such as `8192`, `8k`, `128K`.
pub fn parse_ctx(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = match t.strip_suffix('k') {
        Some(n) => (n, 1024),
        None => (t.as_str(), 1),
    };
    let n: u64 = num.parse().map_err(|_| {
        anyhow!("-c `{s}`: expected a positive number of tokens such as 8192 or 32k")
    })?;
    let ctx = n.saturating_mul(mult);
    if ctx == 0 || ctx > llmrig_core::estimate::MAX_CTX {
        bail!(
            "-c `{s}`: expected a context between 1 and {} tokens",
            llmrig_core::estimate::MAX_CTX
        );
    }
    Ok(ctx)
}

fn parse_kv_type(flag: &str, s: &str) -> Result<GgmlType> {
    GgmlType::from_name(s)
        .filter(|t| llmrig_core::estimate::KV_CACHE_TYPES.contains(t))
        .ok_or_else(|| {
            anyhow!("{flag} `{s}`: expected one of f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1")
        })
}

fn parse_api(s: &str) -> Result<GpuApi> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "cuda" => GpuApi::Cuda,
        "rocm" | "hip" => GpuApi::Rocm,
        "vulkan" => GpuApi::Vulkan,
        "metal" => GpuApi::Metal,
        "sycl" => GpuApi::Sycl,
        "cpu" => GpuApi::Cpu,
        _ => bail!("--api `{s}`: expected cuda, rocm, vulkan, metal, sycl or cpu"),
    })
}

fn positive_rate(flag: &str, v: f64) -> Result<f64> {
    if v.is_finite() && (0.0..1e6).contains(&v) {
        Ok(v)
    } else {
        bail!("{flag} `{v}`: expected tokens/s between 0 and 1000000")
    }
}

/// Builds the estimator's settings from `estimate`'s flags.
pub fn settings(a: &EstimateArgs) -> Result<Settings> {
    let ctx = a.ctx.as_deref().map(parse_ctx).transpose()?;
    let gpu_layers = match a.gpu_layers.to_ascii_lowercase().as_str() {
        // llama.cpp's -1 is its default, "auto" with --fit on.
        "auto" | "-1" => GpuLayers::Auto,
        "all" | "max" => GpuLayers::Count(u32::MAX),
        n => GpuLayers::Count(
            n.parse()
                .map_err(|_| anyhow!("-ngl `{n}`: expected a number of layers, `all` or `auto`"))?,
        ),
    };
    let flash_attn = match a.flash_attn.to_ascii_lowercase().as_str() {
        "on" | "1" | "true" => FlashAttn::On,
        "off" | "0" | "false" => FlashAttn::Off,
        "auto" => FlashAttn::Auto,
        v => bail!("-fa `{v}`: expected on, off or auto"),
    };
    let split_mode = match a.split_mode.to_ascii_lowercase().as_str() {
        "layer" => SplitMode::Layer,
        "row" => SplitMode::Row,
        "none" => SplitMode::None,
        v => bail!("-sm `{v}`: expected layer, row or none"),
    };
    let tensor_split = match &a.tensor_split {
        None => Vec::new(),
        Some(s) => s
            .split([',', '/'])
            .map(|p| {
                p.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .ok_or_else(|| {
                        anyhow!("-ts `{s}`: expected non-negative proportions such as 3,1")
                    })
            })
            .collect::<Result<_>>()?,
    };
    let backend = Backend::parse(&a.backend).ok_or_else(|| {
        anyhow!(
            "--backend `{}`: expected llama.cpp (also ollama, lmstudio, koboldcpp), exllamav2, exllamav3, mlx, transformers or vllm",
            a.backend
        )
    })?;
    Ok(Settings {
        backend,
        ctx,
        batch: a.batch,
        ubatch: a.ubatch,
        gpu_layers,
        flash_attn,
        cache_type_k: parse_kv_type("-ctk", &a.cache_type_k)?,
        cache_type_v: parse_kv_type("-ctv", &a.cache_type_v)?,
        parallel: a.parallel,
        kv_unified: a.kv_unified,
        swa_full: a.swa_full,
        n_cpu_moe: if a.cpu_moe {
            u32::MAX
        } else {
            a.n_cpu_moe.unwrap_or(0)
        },
        auto_cpu_moe: !a.cpu_moe && a.n_cpu_moe.is_none(),
        no_kv_offload: a.no_kv_offload,
        tensor_split,
        split_mode,
        fit_margin_bytes: a.fit_target.saturating_mul(1 << 20),
        fit_min_ctx: a.fit_ctx.max(1),
        llama_cpp: llmrig_core::estimate::LlamaCppVersion::parse(&a.llama_cpp).ok_or_else(
            || {
                anyhow!(
                    "--llama-cpp `{}`: expected `current` or a release month such as 2025-10",
                    a.llama_cpp
                )
            },
        )?,
        good_tps: positive_rate("--good-tps", a.good_tps)?,
        usable_tps: positive_rate("--usable-tps", a.usable_tps)?,
        prompt: a.prompt,
        gen: a.gen,
        depth: a.depth,
    })
}

/// Builds the machine: `--system`, else detection (with the RAM bandwidth `llmrig hw --measure`
/// stored in the user config), then `--gpu`/`--no-gpu`/`--cpu`/`--ram`/`--ram-bw` override parts
/// of it. Returns notes on what was assumed.
pub fn machine(m: &MachineArgs) -> Result<(SystemSpec, Vec<String>)> {
    machine_with(m, true)
}

/// [`machine`], reading the user config's measured RAM bandwidth only when `use_config` is set (the
/// bandwidth probe compares against the peak without it).
pub fn machine_with(m: &MachineArgs, use_config: bool) -> Result<(SystemSpec, Vec<String>)> {
    use llmrig_detect::Probe;
    let host = m.system.is_none();
    let detected = match &m.system {
        Some(path) => llmrig_detect::FileProbe::new(path).detect()?,
        None => llmrig_detect::HostProbe.detect()?,
    };
    let (mut sys, mut notes) = (detected.system, detected.notes);
    let mut measured = false;
    if host && use_config {
        if let Some(path) = llmrig_detect::config_path() {
            if let Some(gbs) = llmrig_detect::load_config(&path)?.ram_bandwidth_gbs {
                sys.cpu.bandwidth_bytes_per_s = gbs * 1e9;
                notes.retain(|n| !n.starts_with("RAM bandwidth"));
                notes.push(format!(
                    "RAM bandwidth {gbs:.1} GB/s as measured by `llmrig hw --measure` (stored in {}); estimates use it instead of the assumed peak",
                    path.display()
                ));
                measured = true;
            }
        }
    }
    let api = m.api.as_deref().map(parse_api).transpose()?;
    if m.no_gpu {
        sys.gpus.clear();
        notes.retain(|n| !n.starts_with("no GPU"));
    }
    if !m.gpu.is_empty() {
        sys.gpus.clear();
        notes.retain(|n| !n.starts_with("no GPU"));
        for spec in &m.gpu {
            sys.gpus.extend(parse_gpu(spec, api)?);
        }
    } else if host {
        // Detected GPUs carry names and memory: compute rates (and bandwidth, unless NVML gave it)
        // come from the catalog.
        for g in &mut sys.gpus {
            complete_detected_gpu(g, api, &mut notes);
        }
    } else {
        // A system file without rates: take them from the catalog.
        for g in &mut sys.gpus {
            if g.bandwidth_bytes_per_s == 0.0 {
                match devices().find(&g.name) {
                    Ok(e) => {
                        let full = e.to_spec(Some(g.memory_bytes), api.or(Some(g.api)));
                        *g = full;
                    }
                    Err(_) => {
                        notes.push(format!(
                            "{} is not in the device catalog; assuming 500 GB/s",
                            g.name
                        ));
                        g.bandwidth_bytes_per_s = 500e9;
                    }
                }
            }
        }
    }
    if let Some(cpu) = &m.cpu {
        let e = devices().find(cpu)?;
        if e.is_gpu() {
            bail!("--cpu `{cpu}`: {} is a GPU; expected a CPU or a RAM configuration such as ddr5-5600", e.name);
        }
        sys.cpu.bandwidth_bytes_per_s = e.bandwidth_gbs * 1e9;
        sys.cpu.name = e.name.clone();
        notes.retain(|n| !n.starts_with("RAM bandwidth"));
    }
    if let Some(r) = &m.ram {
        sys.cpu.ram_bytes = parse_size("--ram", r)?;
    }
    if let Some(bw) = m.ram_bw {
        if !(bw.is_finite() && bw > 0.0 && bw < 1e5) {
            bail!("--ram-bw `{bw}`: expected GB/s between 0 and 100000");
        }
        sys.cpu.bandwidth_bytes_per_s = bw * 1e9;
        notes.retain(|n| !n.starts_with("RAM bandwidth"));
    }
    if host && m.gpu.is_empty() {
        let cpu_bw_given = measured || m.ram_bw.is_some() || m.cpu.is_some();
        detected_unified(&mut sys, cpu_bw_given, &mut notes);
    }
    // A unified-memory chip is the machine's RAM: the CPU side gets its size and bandwidth, and
    // the GPU may allocate up to the OS working-set limit of it.
    if !m.gpu.is_empty() {
        if let Some(u) = sys
            .gpus
            .iter()
            .find(|g| g.kind == DeviceKind::Unified)
            .cloned()
        {
            let total = m
                .ram
                .as_ref()
                .map_or(u.memory_bytes, |_| sys.cpu.ram_bytes.min(u.memory_bytes));
            if m.ram.is_none() {
                sys.cpu.ram_bytes = total;
            }
            if m.ram_bw.is_none() && m.cpu.is_none() {
                sys.cpu.bandwidth_bytes_per_s = u.bandwidth_bytes_per_s;
                sys.cpu.name = format!("{} (CPU side)", u.name);
                notes.retain(|n| !n.starts_with("RAM bandwidth"));
            }
            for g in sys
                .gpus
                .iter_mut()
                .filter(|g| g.kind == DeviceKind::Unified)
            {
                g.memory_bytes = unified_working_set(total);
            }
            notes.push(format!(
                "unified memory: {} of {} usable by the GPU (macOS working-set limit); pass e.g. `--gpu m2-max:32GiB` for your configuration",
                crate::render::gib(unified_working_set(total)),
                crate::render::gib(total)
            ));
        }
    }
    Ok((sys, notes))
}

/// The catalog entry for a name the OS reports: exact (`NVIDIA GeForce RTX 4090`, `Apple M2 Max`),
/// the part in parentheses (`AMD Radeon 8060S (Strix Halo)`), or the name with trailing words
/// dropped (`NVIDIA H100 80GB HBM3` → `NVIDIA H100`, `Tesla T4` → `T4`). Laptop variants are not
/// matched to desktop cards, whose memory is faster. The flag says whether the match was exact.
fn catalog_match(name: &str) -> Option<(&'static llmrig_catalog::DeviceEntry, bool)> {
    let d = devices();
    if let Ok(e) = d.find(name) {
        return Some((e, true));
    }
    let (head, paren) = match name.split_once('(') {
        Some((h, p)) => (h.trim(), p.split(')').next()),
        None => (name, None),
    };
    if let Some(e) = paren.and_then(|p| d.find(p).ok()) {
        return Some((e, false));
    }
    let mut words: Vec<&str> = head
        .split([' ', '-', '_'])
        .filter(|w| !w.is_empty())
        .collect();
    if words
        .iter()
        .any(|w| ["laptop", "mobile", "max-q", "maxq"].contains(&w.to_ascii_lowercase().as_str()))
    {
        return None;
    }
    if words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("tesla"))
    {
        words.remove(0);
    }
    for n in (1..=words.len()).rev() {
        // One word alone must look like a model (`T4`), not a vendor.
        if n == 1 && !words[0].chars().any(|c| c.is_ascii_digit()) {
            break;
        }
        if let Ok(e) = d.find(&words[..n].join(" ")) {
            return Some((e, false));
        }
    }
    None
}

/// Fills a detected GPU's rates from the catalog: compute always, bandwidth unless detection
/// measured it (NVML's bus width × memory clock), memory only when the OS did not report it.
fn complete_detected_gpu(
    g: &mut llmrig_core::system::DeviceSpec,
    api: Option<GpuApi>,
    notes: &mut Vec<String>,
) {
    if let Some(a) = api {
        g.api = a;
    }
    match catalog_match(&g.name) {
        Some((e, exact)) => {
            let full = e.to_spec(None, None);
            g.fp16_flops = full.fp16_flops;
            g.int8_ops = full.int8_ops;
            if g.bandwidth_bytes_per_s == 0.0 {
                g.bandwidth_bytes_per_s = full.bandwidth_bytes_per_s;
            }
            if g.memory_bytes == 0 {
                g.memory_bytes = full.memory_bytes;
            }
            if !exact {
                notes.push(format!(
                    "{}: compute rates from the device catalog's {} ({})",
                    g.name, e.name, e.id
                ));
            }
        }
        None if g.kind == DeviceKind::Unified => {}
        None if g.bandwidth_bytes_per_s > 0.0 => notes.push(format!(
            "{} is not in the device catalog; bandwidth {:.0} GB/s from NVML, compute rate unknown",
            g.name,
            g.bandwidth_bytes_per_s / 1e9
        )),
        None => {
            notes.push(format!(
                "{} is not in the device catalog; assuming 500 GB/s",
                g.name
            ));
            g.bandwidth_bytes_per_s = 500e9;
        }
    }
}

/// Detected GPUs that share system RAM (Apple silicon, AMD and Intel iGPUs): one found in the
/// catalog gives the RAM its bandwidth (unless measured or given); one not found reads at the RAM's
/// bandwidth. Metal may allocate only the working-set share of it.
fn detected_unified(sys: &mut SystemSpec, cpu_bw_given: bool, notes: &mut Vec<String>) {
    let cpu_bw = sys.cpu.bandwidth_bytes_per_s;
    let mut ram_bw = None;
    for g in sys
        .gpus
        .iter_mut()
        .filter(|g| g.kind == DeviceKind::Unified)
    {
        if g.bandwidth_bytes_per_s == 0.0 {
            g.bandwidth_bytes_per_s = cpu_bw;
            notes.push(format!(
                "{} is not in the device catalog; it reads system RAM at the RAM's {:.1} GB/s",
                g.name,
                cpu_bw / 1e9
            ));
        } else if !cpu_bw_given {
            ram_bw.get_or_insert((g.bandwidth_bytes_per_s, g.name.clone()));
        }
        if g.api == GpuApi::Metal {
            let total = g.memory_bytes;
            g.memory_bytes = unified_working_set(total);
            notes.push(format!(
                "unified memory: {} of {} usable by the GPU (macOS working-set limit)",
                crate::render::gib(g.memory_bytes),
                crate::render::gib(total)
            ));
        }
    }
    if let Some((bw, name)) = ram_bw {
        sys.cpu.bandwidth_bytes_per_s = bw;
        notes.retain(|n| !n.starts_with("RAM bandwidth"));
        notes.push(format!(
            "RAM bandwidth {:.1} GB/s: the unified memory of the {name} (device catalog)",
            bw / 1e9
        ));
    }
}

/// The share of unified memory Metal lets one process allocate (`recommendedMaxWorkingSetSize`, which
/// llama.cpp prints at start-up): about two thirds up to 36 GiB, three quarters above.
fn unified_working_set(total: u64) -> u64 {
    if total <= 36 << 30 {
        total / 3 * 2
    } else {
        total / 4 * 3
    }
}

/// `rtx-4090`, `2x rtx-3090`, `rtx-4090:20GiB`.
fn parse_gpu(spec: &str, api: Option<GpuApi>) -> Result<Vec<llmrig_core::system::DeviceSpec>> {
    let s = spec.trim();
    let (count, rest) = match s.split_once(['x', '×']) {
        Some((n, r)) if !n.is_empty() && n.trim().chars().all(|c| c.is_ascii_digit()) => {
            let n: usize = n.trim().parse().unwrap_or(0);
            if n == 0 || n > 64 {
                bail!("--gpu `{spec}`: expected a GPU count between 1 and 64");
            }
            (n, r.trim())
        }
        _ => (1, s),
    };
    let (name, mem) = match rest.split_once(':') {
        Some((n, m)) => (n, Some(parse_size("--gpu", m)?)),
        None => (rest, None),
    };
    let e = devices().find(name)?;
    if !e.is_gpu() {
        bail!(
            "--gpu `{spec}`: {} is not a GPU; use --cpu for CPUs and RAM configurations",
            e.name
        );
    }
    let mem = match (mem, trailing_gb(name), e.memory_gb) {
        (None, Some(gb), Some(cat)) if (gb - cat).abs() > 0.5 => {
            if e.kind == llmrig_catalog::EntryKind::Unified {
                // `m2-16gb`: the name picks one of the memory sizes the chip is sold with.
                if !e.memory_options_gb.iter().any(|o| (o - gb).abs() < 0.5) {
                    bail!(
                        "--gpu `{spec}`: {} is sold with {} GB; pass e.g. `{}:{}GiB` for another size",
                        e.name,
                        e.memory_options_gb
                            .iter()
                            .map(|o| format!("{o}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        e.id,
                        gb
                    );
                }
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Some((gb * 1_073_741_824.0) as u64)
            } else {
                bail!(
                    "--gpu `{spec}`: {} has {cat} GB, not {gb}; for a modified card pass `{}:{gb}GiB`",
                    e.name,
                    e.id
                );
            }
        }
        (m, _, _) => m,
    };
    Ok(vec![e.to_spec(mem, api); count])
}

/// The memory size at the end of a GPU name (`m2-16gb`, `RTX 4090 24GB`), in GB.
fn trailing_gb(name: &str) -> Option<f64> {
    let lower = name.trim().to_ascii_lowercase();
    let head = lower
        .strip_suffix("gib")
        .or_else(|| lower.strip_suffix("gb"))?;
    let start = head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    head[start..].parse().ok().filter(|&g: &f64| g > 0.0)
}

/// A generic dense transformer of about `params` parameters, shaped like Llama 3 (GQA 8, FFN 3.5×,
/// 128k vocabulary): hidden size from the nearest Llama-family size, layers to match the count.
fn generic_spec(label: &str, params: f64) -> ModelSpec {
    // (hidden size, heads) of Llama-family models by size.
    let (e, heads): (u64, u32) = match params {
        p if p < 2e9 => (2048, 32),
        p if p < 5e9 => (3072, 24),
        p if p < 10e9 => (4096, 32),
        p if p < 20e9 => (5120, 40),
        p if p < 45e9 => (6144, 48),
        p if p < 150e9 => (8192, 64),
        _ => (16384, 128),
    };
    let ff = e * 7 / 2;
    let vocab = 128_256;
    let kv = 8 * 128;
    #[allow(clippy::cast_precision_loss)]
    let per_layer = (2 * e * e + 2 * e * kv + 3 * e * ff) as f64;
    #[allow(clippy::cast_precision_loss)]
    let emb = (2 * vocab * e) as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n_layer = (((params - emb) / per_layer).round() as u32).clamp(1, 200);
    ModelSpec {
        id: label.to_string(),
        name: format!("generic dense {label}"),
        arch: Arch::Llama,
        n_layer,
        n_embd: e,
        n_ff: ff,
        n_head: heads,
        n_head_kv: 8,
        head_dim: Some(e / u64::from(heads)),
        n_vocab: vocab,
        tied_embeddings: false,
        context_length: 131_072,
        ..ModelSpec::default()
    }
}

/// Resolves MODEL and `-q` into weights: a file, folder or remote repository first, then the
/// catalog or a bare size.
pub fn model(name: &str, quant: Option<&str>) -> Result<ResolvedModel> {
    let lower = name.trim().to_ascii_lowercase();
    let mut cfg = llmrig_formats::RemoteConfig::from_env();
    cfg.progress = Some(crate::progress::Bar::hook());
    match llmrig_formats::open::open_model(name, quant, &cfg)? {
        Some(llmrig_formats::open::Opened::Gguf(local)) => {
            if local.model.kind == llmrig_formats::gguf::GgufKind::Projector {
                bail!("`{name}` is a multimodal projector (mmproj), not a language model: estimate the model file");
            }
            let mut notes = local.model.warnings.clone();
            let remote = lower.starts_with("hf:") || lower.starts_with("ollama:");
            if let (Some(q), false) = (quant, remote) {
                notes.push(format!("-q {q} ignored: the file's own tensors are used"));
            }
            return Ok(ResolvedModel {
                weights: local.model.weights.clone(),
                source: if remote { "remote" } else { "file" }.into(),
                notes,
                local: Some(local),
                folder: None,
            });
        }
        Some(llmrig_formats::open::Opened::Folder(f)) => {
            let mut notes = f.config.warnings.clone();
            let predicted = f.weights.total_bytes();
            #[allow(clippy::cast_precision_loss)]
            let diff = (predicted as f64 - f.tensor_bytes as f64) / (f.tensor_bytes.max(1) as f64);
            if f.tensor_bytes > 0 && diff.abs() > 0.02 {
                #[allow(clippy::cast_precision_loss)]
                notes.push(format!(
                    "the safetensors files hold {:.2} GiB but the {} layout predicts {:.2} GiB ({:+.1}%); the estimate uses the prediction",
                    f.tensor_bytes as f64 / 1073741824.0,
                    f.weights.quant.name(),
                    predicted as f64 / 1073741824.0,
                    diff * 100.0
                ));
            }
            if let Some(q) = quant {
                notes.push(format!("-q {q} ignored: the model's own format is used"));
            }
            let remote = lower.starts_with("hf:");
            return Ok(ResolvedModel {
                weights: f.weights.clone(),
                source: if remote { "remote" } else { "folder" }.into(),
                notes,
                local: None,
                folder: Some(f),
            });
        }
        None => {}
    }
    // An Ollama tag installed on this machine: its blob is the GGUF, read exactly.
    if name.contains(':') && !lower.starts_with("hf:") && !lower.starts_with("ollama:") {
        let installed =
            llmrig_formats::installed::scan(&llmrig_formats::installed::Roots::from_env());
        let want = name.trim();
        if let Some(i) = installed.iter().find(|i| {
            i.store == llmrig_formats::installed::Store::Ollama
                && (i.name.eq_ignore_ascii_case(want)
                    || i.name.eq_ignore_ascii_case(&format!("{want}:latest")))
        }) {
            let local = llmrig_formats::local::open_gguf(&i.path)?;
            let mut notes = local.model.warnings.clone();
            notes.push(format!(
                "read the installed Ollama model {} ({})",
                i.name,
                i.path.display()
            ));
            return Ok(ResolvedModel {
                weights: local.model.weights.clone(),
                source: "installed".into(),
                notes,
                local: Some(local),
                folder: None,
            });
        }
    }
    let q_given = quant;
    let quant = Quant::parse(quant.unwrap_or("Q4_K_M"))?;
    if let Some(num) = lower.strip_suffix('b').or_else(|| lower.strip_suffix('m')) {
        if let Ok(n) = num.parse::<f64>() {
            let params = if lower.ends_with('b') {
                n * 1e9
            } else {
                n * 1e6
            };
            if !(params.is_finite() && (1e8..=2e12).contains(&params)) {
                bail!("`{name}`: expected a size between 0.1b and 2000b");
            }
            let spec = generic_spec(&lower, params);
            return Ok(ResolvedModel {
                weights: ModelWeights::new(&spec, quant),
                source: "generic".into(),
                notes: vec![format!(
                    "`{name}` is a generic dense transformer ({} layers, hidden {}, GQA 8); use a catalog model for exact numbers",
                    spec.n_layer, spec.n_embd
                )],
                local: None,
                folder: None,
            });
        }
    }
    let entry = models()
        .find(name)
        .context("")
        .map_err(|e| anyhow!("{}", e.root_cause()))?;
    let mut notes = Vec::new();
    // gpt-oss is released in MXFP4 (experts MXFP4, the rest BF16); that file, not a Q4_K_M
    // re-quantization, is what people download when they name no quant.
    let quant = if q_given.is_none() && entry.spec.arch == Arch::GptOss {
        notes.push(format!(
            "{} is released in MXFP4 (MXFP4_MOE); pass -q for another quantization",
            entry.spec.name
        ));
        Quant::parse("MXFP4_MOE")?
    } else {
        quant
    };
    if !entry.verified {
        notes.push(format!(
            "catalog numbers for {} are not fully verified: {}",
            entry.spec.id, entry.notes
        ));
    }
    Ok(ResolvedModel {
        weights: ModelWeights::new(&entry.spec, quant),
        source: "catalog".into(),
        notes,
        local: None,
        folder: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_contexts() {
        assert_eq!(parse_size("--ram", "64GiB").unwrap(), 64 << 30);
        assert_eq!(parse_size("--ram", "24GB").unwrap(), 24_000_000_000);
        assert_eq!(parse_size("--ram", "32").unwrap(), 32 << 30);
        assert_eq!(trailing_gb("apple-m2-16gb"), Some(16.0));
        assert_eq!(trailing_gb("RTX 4090 24GB"), Some(24.0));
        assert_eq!(trailing_gb("rtx-4090"), None);
        assert_eq!(trailing_gb("×gb"), None);
        assert_eq!(parse_size("--gpu", "20.5").unwrap(), 41 << 29);
        assert_eq!(parse_size("--ram", "4096B").unwrap(), 4096);
        assert!(parse_size("--ram", "-3GB").is_err());
        assert!(parse_size("--ram", "lots").is_err());
        assert_eq!(parse_ctx("32k").unwrap(), 32768);
        assert!(parse_ctx("-5").is_err());
        assert!(parse_ctx("0").is_err());
        assert!(parse_ctx("99999999999999999999").is_err());
    }

    #[test]
    fn gpu_specs() {
        let g = parse_gpu("2x rtx-3090", None).unwrap();
        assert_eq!(g.len(), 2);
        let g = parse_gpu("rtx-4090:20GiB", None).unwrap();
        assert_eq!(g[0].memory_bytes, 20 << 30);
        assert!(parse_gpu("rtx-9999", None).is_err());
    }

    #[test]
    fn detected_names_match_the_catalog() {
        let id = |n: &str| catalog_match(n).map(|(e, exact)| (e.id.clone(), exact));
        assert_eq!(
            id("NVIDIA GeForce RTX 4090"),
            Some(("rtx-4090".into(), true))
        );
        assert_eq!(id("Apple M2 Max"), Some(("m2-max".into(), true)));
        assert_eq!(
            id("NVIDIA H100 80GB HBM3"),
            Some(("h100-sxm-80gb".into(), true))
        );
        assert_eq!(
            id("NVIDIA H100 PCIe"),
            Some(("h100-pcie-80gb".into(), true))
        );
        assert_eq!(id("Tesla T4"), Some(("t4".into(), true)));
        assert_eq!(
            id("NVIDIA A100-SXM4-80GB"),
            Some(("a100-80gb-sxm".into(), true))
        );
        assert_eq!(
            id("AMD Radeon 8060S (Strix Halo)"),
            Some(("ryzen-ai-max-395".into(), false))
        );
        assert_eq!(id("NVIDIA GeForce RTX 4090 Laptop GPU"), None);
        assert_eq!(
            id("NVIDIA GeForce RTX 2060"),
            Some(("rtx-2060".into(), true))
        );
        assert_eq!(id("AMD Radeon Graphics (Raphael)"), None);
    }

    /// A detected fixture machine completed as `machine()` completes the host.
    fn completed(d: llmrig_detect::Detected) -> (SystemSpec, Vec<String>) {
        let (mut sys, mut notes) = (d.system, d.notes);
        for g in &mut sys.gpus {
            complete_detected_gpu(g, None, &mut notes);
        }
        detected_unified(&mut sys, false, &mut notes);
        (sys, notes)
    }

    fn fixture(p: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../detect/tests/fixtures")
            .join(p)
    }

    #[test]
    fn detected_m2_max_gets_catalog_bandwidth_and_working_set() {
        let read = |f: &str| std::fs::read_to_string(fixture(f)).unwrap();
        let d = llmrig_detect::detect_apple(&llmrig_detect::AppleOutputs {
            sysctl: read("m2-max/sysctl.txt"),
            system_profiler: Some(read("m2-max/system_profiler.json")),
            ioreg: None,
            vm_stat: Some(read("m2-max/vm_stat.txt")),
        });
        let (sys, notes) = completed(d);
        let g = &sys.gpus[0];
        assert_eq!(g.bandwidth_bytes_per_s, 400e9);
        assert!(g.fp16_flops > 0.0);
        assert_eq!(g.memory_bytes, 48 << 30);
        assert_eq!(sys.cpu.bandwidth_bytes_per_s, 400e9);
        assert!(!notes
            .iter()
            .any(|n| n.starts_with("RAM bandwidth not measured")));
        assert!(notes
            .iter()
            .any(|n| n.contains("unified memory of the Apple M2 Max")));
    }

    #[test]
    fn detected_linux_gpus_get_catalog_rates() {
        let (sys, _) = completed(llmrig_detect::detect_linux_root(
            &fixture("ryzen-7900xtx-igpu"),
            None,
        ));
        assert_eq!(sys.gpus[0].bandwidth_bytes_per_s, 960e9);
        assert_eq!(sys.gpus[0].memory_bytes, 25_753_026_560);
        // An iGPU the catalog does not know reads RAM at the RAM's bandwidth.
        let (sys, notes) = completed(llmrig_detect::detect_linux_root(
            &fixture("intel-igpu"),
            None,
        ));
        assert_eq!(
            sys.gpus[0].bandwidth_bytes_per_s,
            sys.cpu.bandwidth_bytes_per_s
        );
        assert!(notes.iter().any(|n| n.contains("reads system RAM")));
    }

    #[test]
    fn generic_70b_is_about_70b() {
        let w = ModelWeights::new(&generic_spec("70b", 70e9), Quant::parse("Q4_K_M").unwrap());
        #[allow(clippy::cast_precision_loss)]
        let p = w.params() as f64;
        assert!((p - 70e9).abs() / 70e9 < 0.05, "{p}");
    }
}
