//! Flag values, typed: each parser turns one flag's text into the type the library takes, so clap
//! reports a bad value as a usage error (exit 2) that names the flag, and a flag with a fixed set of
//! values lists them in `--help` and in that error.
//!
//! A fixed set that the library parses itself (with its aliases: `--backend ollama`, `-ctk Q8_0`)
//! is a [`Choice`] over the library's parser; one the library has an enum but no parser for is a
//! `ValueEnum` here, mapped to the library's enum.

use std::ffi::OsStr;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::ValueEnum;
use llmrig_catalog::recommend::Use;
use llmrig_catalog::{devices, DeviceEntry};
use llmrig_core::estimate::{
    Backend, CpuBuild, FlashAttn, GpuLayers, LlamaCppVersion, Program, SplitMode, VulkanDriver,
    CPU_BUILDS, KV_CACHE_TYPES, MAX_CTX, PROGRAMS,
};
use llmrig_core::quant::GgmlType;
use llmrig_core::serve::{Engine, InterNode, KvDtype};
use llmrig_core::system::{GpuApi, Os};
use llmrig_core::units::GIB;

/// A flag with a fixed set of values that the library parses (aliases and spellings included): the
/// names are listed in `--help`, and a value the parser refuses is clap's invalid-value error with
/// the names and the closest one.
#[derive(Clone)]
pub struct Choice<T> {
    names: Vec<PossibleValue>,
    parse: fn(&str) -> Option<T>,
}

impl<T> Choice<T> {
    fn new<V: Into<PossibleValue>>(
        names: impl IntoIterator<Item = V>,
        parse: fn(&str) -> Option<T>,
    ) -> Self {
        Choice {
            names: names.into_iter().map(Into::into).collect(),
            parse,
        }
    }

    /// The listed names.
    #[cfg(test)]
    pub fn names(&self) -> Vec<String> {
        self.names
            .iter()
            .map(|v| v.get_name().to_string())
            .collect()
    }

    /// The library's parse of `s`.
    #[cfg(test)]
    pub fn parse(&self, s: &str) -> Option<T> {
        (self.parse)(s)
    }
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Choice<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        if let Some(v) = value.to_str().and_then(self.parse) {
            return Ok(v);
        }
        // Not one of them: clap's own error, which lists the names and suggests the closest.
        let listed = PossibleValuesParser::new(self.names.clone()).parse_ref(cmd, arg, value)?;
        // A listed name the library refuses (the unit tests rule this out).
        Err(clap::Error::raw(
            ErrorKind::InvalidValue,
            format!("`{listed}` is listed but not accepted\n"),
        )
        .with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.names.iter().cloned()))
    }
}

/// The `--backend` engines, in the order `--help` lists them.
const BACKENDS: [Backend; 11] = [
    Backend::LlamaCpp,
    Backend::ExLlamaV2,
    Backend::ExLlamaV3,
    Backend::Mlx,
    Backend::Transformers,
    Backend::Vllm,
    Backend::SdCpp,
    Backend::ComfyUi,
    Backend::Diffusers,
    Backend::Tei,
    Backend::SentenceTransformers,
];

/// `--cpu-build`: [`CpuBuild::parse`].
pub fn cpu_build() -> Choice<CpuBuild> {
    Choice::new(CPU_BUILDS.map(CpuBuild::name), CpuBuild::parse)
}

/// `--backend`: an engine, or a program built on llama.cpp whose defaults then apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendArg {
    /// The engine whose allocation rules apply.
    pub engine: Backend,
    /// The program whose defaults apply (llama.cpp's own for every engine but llama.cpp).
    pub program: Program,
}

impl BackendArg {
    /// The name the user knows: the program's for a program, else the engine's.
    #[must_use]
    pub fn name(self) -> &'static str {
        if self.program == Program::LlamaCpp {
            self.engine.name()
        } else {
            self.program.name()
        }
    }
}

fn parse_backend(s: &str) -> Option<BackendArg> {
    Program::parse(s)
        .map(|program| BackendArg {
            engine: Backend::LlamaCpp,
            program,
        })
        .or_else(|| {
            Backend::parse(s).map(|engine| BackendArg {
                engine,
                program: Program::LlamaCpp,
            })
        })
}

/// `--backend`: [`Program::parse`] (`ollama`, `lmstudio`, `koboldcpp`, `gpt4all`, `jan`,
/// `llamafile`, `textgen`: llama.cpp with that program's defaults), else [`Backend::parse`]
/// (`exl2`, `mlx`, …), any case and `-`/`_` anywhere.
pub fn backend() -> Choice<BackendArg> {
    let names: Vec<&'static str> = BACKENDS
        .iter()
        .map(|b| b.name())
        .chain(PROGRAMS.iter().skip(1).map(|p| p.name()))
        .collect();
    Choice::new(names, parse_backend)
}

/// `--image WxH`: an image size in pixels, each side 64 to 16384 and a multiple of 8 (the VAEs
/// downsample 8×).
///
/// # Errors
/// Anything else.
pub fn image_size(s: &str) -> Result<(u32, u32), String> {
    let err = || {
        format!("expected WIDTHxHEIGHT in pixels, multiples of 8 from 64 to 16384 (1024x1024), got {s:?}")
    };
    let (w, h) = s.split_once(['x', 'X', '*']).ok_or_else(err)?;
    let w: u32 = w.trim().parse().map_err(|_| err())?;
    let h: u32 = h.trim().parse().map_err(|_| err())?;
    if !(64..=16384).contains(&w) || !(64..=16384).contains(&h) || w % 8 != 0 || h % 8 != 0 {
        return Err(err());
    }
    Ok((w, h))
}

/// `--image-size WxH`: a picture shown to a vision model, each side 1 to 32768 pixels.
///
/// # Errors
/// Anything else.
pub fn photo_size(s: &str) -> Result<(u64, u64), String> {
    let err = || format!("expected WIDTHxHEIGHT in pixels, each 1 to 32768 (1024x768), got {s:?}");
    let (w, h) = s.split_once(['x', 'X', '*']).ok_or_else(err)?;
    let w: u64 = w.trim().parse().map_err(|_| err())?;
    let h: u64 = h.trim().parse().map_err(|_| err())?;
    if !(1..=32768).contains(&w) || !(1..=32768).contains(&h) {
        return Err(err());
    }
    Ok((w, h))
}

/// `-ctk`/`-ctv`: the cache types llama.cpp accepts ([`KV_CACHE_TYPES`]), any case.
pub fn kv_cache_type() -> Choice<GgmlType> {
    Choice::new(KV_CACHE_TYPES.map(|t| t.name().to_ascii_lowercase()), |s| {
        GgmlType::from_name(s).filter(|t| KV_CACHE_TYPES.contains(t))
    })
}

/// `--internode`: [`InterNode::ALL`], any case.
pub fn internode() -> Choice<InterNode> {
    Choice::new(InterNode::ALL.map(|(n, _)| n), |s| {
        InterNode::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|&(_, i)| i)
    })
}

/// `--os`: [`Os::parse`], which also takes `mac`, `darwin`, `win`, `server`, any case.
pub fn os() -> Choice<Os> {
    Choice::new(Os::ALL.map(Os::name), Os::parse)
}

/// `--use`: [`Use::parse`], which also takes `coding`, `thinking`, `long`, `embeddings`.
pub fn use_() -> Choice<Use> {
    Choice::new(Use::ALL.map(Use::name), Use::parse)
}

/// `-fa`: flash attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlashAttnArg {
    #[value(alias = "1", alias = "true")]
    On,
    #[value(alias = "0", alias = "false")]
    Off,
    Auto,
}

impl From<FlashAttnArg> for FlashAttn {
    fn from(a: FlashAttnArg) -> Self {
        match a {
            FlashAttnArg::On => FlashAttn::On,
            FlashAttnArg::Off => FlashAttn::Off,
            FlashAttnArg::Auto => FlashAttn::Auto,
        }
    }
}

/// `-sm`: how layers are split over GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitModeArg {
    Layer,
    Row,
    None,
}

impl From<SplitModeArg> for SplitMode {
    fn from(a: SplitModeArg) -> Self {
        match a {
            SplitModeArg::Layer => SplitMode::Layer,
            SplitModeArg::Row => SplitMode::Row,
            SplitModeArg::None => SplitMode::None,
        }
    }
}

/// `need --engine`: llama.cpp on one machine, or a vLLM/SGLang plan on GPU nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NeedEngine {
    #[value(name = "llama.cpp", alias = "llamacpp", alias = "llama-cpp")]
    LlamaCpp,
    Vllm,
    Sglang,
}

impl NeedEngine {
    /// The name in JSON and text.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            NeedEngine::LlamaCpp => "llama.cpp",
            NeedEngine::Vllm => "vllm",
            NeedEngine::Sglang => "sglang",
        }
    }
}

/// `plan --engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    Vllm,
    Sglang,
}

impl From<EngineArg> for Engine {
    fn from(a: EngineArg) -> Self {
        match a {
            EngineArg::Vllm => Engine::Vllm,
            EngineArg::Sglang => Engine::Sglang,
        }
    }
}

/// `plan --kv-cache-dtype`: the model's dtype or FP8 (vLLM's names for each are aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KvDtypeArg {
    #[value(alias = "bf16", alias = "fp16")]
    Auto,
    #[value(alias = "fp8_e4m3", alias = "fp8_e5m2")]
    Fp8,
}

impl From<KvDtypeArg> for KvDtype {
    fn from(a: KvDtypeArg) -> Self {
        match a {
            KvDtypeArg::Auto => KvDtype::Auto,
            KvDtypeArg::Fp8 => KvDtype::Fp8,
        }
    }
}

/// `--api`: the GPU API llama.cpp was built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiArg {
    Cuda,
    #[value(alias = "hip")]
    Rocm,
    Vulkan,
    Metal,
    Sycl,
    Cpu,
}

impl From<ApiArg> for GpuApi {
    fn from(a: ApiArg) -> Self {
        match a {
            ApiArg::Cuda => GpuApi::Cuda,
            ApiArg::Rocm => GpuApi::Rocm,
            ApiArg::Vulkan => GpuApi::Vulkan,
            ApiArg::Metal => GpuApi::Metal,
            ApiArg::Sycl => GpuApi::Sycl,
            ApiArg::Cpu => GpuApi::Cpu,
        }
    }
}

/// One `--gpu` value: how many of which catalog GPU, with the free memory given.
#[derive(Debug, Clone, Copy)]
pub struct GpuArg {
    /// How many (`2x`).
    pub count: usize,
    /// The catalog entry.
    pub entry: &'static DeviceEntry,
    /// Memory given after `:`, or implied by a size in the name (`m2-16gb`), bytes.
    pub memory_bytes: Option<u64>,
}

/// `--gpu`: `rtx-4090`, `2x rtx-3090`, `rtx-4090:20GiB`, checked against the device catalog.
pub fn gpu(spec: &str) -> Result<GpuArg, String> {
    let s = spec.trim();
    // `7900xtx` is a card, not 7900 of `tx`: a count only when the whole is no device name.
    let is_name = devices().find(s).is_ok();
    let (count, rest) = match s.split_once(['x', '×']) {
        Some((n, r))
            if !is_name && !n.is_empty() && n.trim().chars().all(|c| c.is_ascii_digit()) =>
        {
            let n: usize = n.trim().parse().unwrap_or(0);
            if n == 0 || n > 64 {
                return Err(format!(
                    "--gpu `{spec}`: expected a GPU count between 1 and 64"
                ));
            }
            (n, r.trim())
        }
        _ => (1, s),
    };
    let (name, mem) = match rest.split_once(':') {
        Some((n, m)) => (n, Some(size(m).map_err(|e| format!("--gpu `{m}`: {e}"))?)),
        None => (rest, None),
    };
    let e = devices().find(name).map_err(|e| e.to_string())?;
    if !e.is_gpu() {
        return Err(format!(
            "--gpu `{spec}`: {} is not a GPU; use --cpu for CPUs and RAM configurations",
            e.name
        ));
    }
    let mem = match (mem, trailing_gb(name), e.memory_gb) {
        (None, Some(gb), Some(cat)) if (gb - cat).abs() > 0.5 => {
            if e.kind == llmrig_catalog::EntryKind::Unified {
                // `m2-16gb`: the name picks one of the memory sizes the chip is sold with.
                if !e.memory_options_gb.iter().any(|o| (o - gb).abs() < 0.5) {
                    return Err(format!(
                        "--gpu `{spec}`: {} is sold with {} GB; pass e.g. `{}:{}GiB` for another size",
                        e.name,
                        e.memory_options_gb
                            .iter()
                            .map(|o| format!("{o}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        e.id,
                        gb
                    ));
                }
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Some((gb * GIB) as u64)
            } else if gb > cat {
                // `rtx-4090-48gb`: a card modified to more memory, named by its size.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Some((gb * GIB) as u64)
            } else {
                return Err(format!(
                    "--gpu `{spec}`: {} has {cat} GB, not {gb}; for the memory free on it pass `{}:{gb}GiB`",
                    e.name,
                    e.id
                ));
            }
        }
        // `rtx-3090:20GiB`: the memory free on the card, which cannot exceed what it has (a
        // unified chip: the largest size it is sold with).
        (Some(m), None, Some(cat)) => {
            let most = e.memory_options_gb.iter().copied().fold(cat, f64::max);
            #[allow(clippy::cast_precision_loss)]
            if m as f64 > most * GIB * 1.001 {
                let modded = if e.kind == llmrig_catalog::EntryKind::Unified {
                    String::new()
                } else {
                    format!(
                        "; a card modified to more memory is named by its size, e.g. `{}-{}gb`",
                        e.id,
                        (m as f64 / GIB).round()
                    )
                };
                return Err(format!(
                    "--gpu `{spec}`: {} has {most} GB; after `:` comes the memory free on it (at most {most} GiB){modded}",
                    e.name
                ));
            }
            Some(m)
        }
        (m, _, _) => m,
    };
    Ok(GpuArg {
        count,
        entry: e,
        memory_bytes: mem,
    })
}

/// The memory size at the end of a GPU name (`m2-16gb`, `RTX 4090 24GB`), in GB.
pub fn trailing_gb(name: &str) -> Option<f64> {
    let lower = name.trim().to_ascii_lowercase();
    let head = lower
        .strip_suffix("gib")
        .or_else(|| lower.strip_suffix("gb"))?;
    let start = head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    head[start..].parse().ok().filter(|&g: &f64| g > 0.0)
}

/// `--cpu`: a CPU or RAM configuration from the device catalog.
pub fn cpu(s: &str) -> Result<&'static DeviceEntry, String> {
    let e = devices().find(s).map_err(|e| e.to_string())?;
    if e.is_gpu() {
        return Err(format!(
            "--cpu `{s}`: {} is a GPU; expected a CPU or a RAM configuration such as ddr5-5600",
            e.name
        ));
    }
    Ok(e)
}

/// `--block-size`: a KV block size vLLM accepts.
pub fn block_size(s: &str) -> Result<u32, String> {
    match s.trim().parse() {
        Ok(n @ (1 | 8 | 16 | 32 | 64 | 128)) => Ok(n),
        _ => Err("expected 1, 8, 16, 32, 64 or 128".into()),
    }
}

/// `-ngl`: a number of layers, `all` (or `max`), `auto` (or llama.cpp's `-1`).
pub fn gpu_layers(s: &str) -> Result<GpuLayers, String> {
    match s.to_ascii_lowercase().as_str() {
        "auto" | "-1" => Ok(GpuLayers::Auto),
        "all" | "max" => Ok(GpuLayers::Count(u32::MAX)),
        n => n
            .parse()
            .map(GpuLayers::Count)
            .map_err(|_| "expected a number of layers, `all` or `auto`".into()),
    }
}

/// A context such as `8192`, `8k`, `128K`, between 1 and [`MAX_CTX`] tokens.
pub fn ctx(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = match t.strip_suffix('k') {
        Some(n) => (n, 1024),
        None => (t.as_str(), 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| "expected a positive number of tokens such as 8192 or 32k")?;
    let ctx = n.saturating_mul(mult);
    if ctx == 0 || ctx > MAX_CTX {
        return Err(format!("expected a context between 1 and {MAX_CTX} tokens"));
    }
    Ok(ctx)
}

/// A size such as `64GiB`, `24GB` or `512MiB`, in bytes. A bare number is GiB: `--ram 32` means
/// 32 GiB, which is what people type; nobody sizes RAM or VRAM in bytes on a command line.
pub fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| "expected a size such as 64GiB, 24GB or 512MiB")?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "gib" => GIB,
        "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1_048_576.0,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "tib" => 1_099_511_627_776.0,
        u => {
            return Err(format!(
                "unknown unit `{u}`, expected B, MB, MiB, GB, GiB, TB or TiB"
            ))
        }
    };
    let bytes = n * mult;
    if !(bytes.is_finite() && bytes > 0.0 && bytes < 1e18) {
        return Err("expected a positive size below 1 EB".into());
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(bytes as u64)
}

/// `--os-reserve`: a size as [`size`] takes it, or `0` (the model may take all the RAM).
pub fn reserve(s: &str) -> Result<u64, String> {
    if s.trim()
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .trim()
        .parse::<f64>()
        == Ok(0.0)
    {
        return Ok(0);
    }
    size(s)
}

/// `-ts`: shares of layers per GPU.
#[derive(Debug, Clone, PartialEq)]
pub struct Proportions(pub Vec<f64>);

/// `-ts 3,1` (or `3/1`): non-negative shares.
pub fn proportions(s: &str) -> Result<Proportions, String> {
    s.split([',', '/'])
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| "expected non-negative proportions such as 3,1".to_string())
        })
        .collect::<Result<_, _>>()
        .map(Proportions)
}

/// `--llama-cpp`: `current`, a release month or a build number.
pub fn llama_cpp(s: &str) -> Result<LlamaCppVersion, String> {
    LlamaCppVersion::parse(s).ok_or_else(|| {
        "expected `current`, a release month such as 2025-10 or a build such as b7279".into()
    })
}

/// `--hipblaslt` / `ROCBLAS_USE_HIPBLASLT`: `on`/`1` hipBLASLt, `off`/`0` Tensile (rocBLAS reads
/// the variable as 0 or 1).
pub fn hipblaslt(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Ok(true),
        "0" | "off" | "false" | "no" => Ok(false),
        _ => Err("expected on or off (ROCBLAS_USE_HIPBLASLT: 1 or 0)".into()),
    }
}

/// `--cuda-force`: `mmq` (GGML_CUDA_FORCE_MMQ) or `cublas` (GGML_CUDA_FORCE_CUBLAS); `Some(true)`
/// forces MMQ.
pub fn cuda_force(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "mmq" | "force_mmq" | "ggml_cuda_force_mmq" => Ok(true),
        "cublas" | "hipblas" | "force_cublas" | "ggml_cuda_force_cublas" => Ok(false),
        _ => Err("expected mmq (GGML_CUDA_FORCE_MMQ) or cublas (GGML_CUDA_FORCE_CUBLAS)".into()),
    }
}

/// `--vulkan-driver`: `radv` (Mesa), `amdvlk` or `amd` (AMD's Windows driver; also `windows`,
/// `proprietary`, `adrenalin`).
pub fn vulkan_driver(s: &str) -> Result<VulkanDriver, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "radv" | "mesa" => Ok(VulkanDriver::Radv),
        "amdvlk" => Ok(VulkanDriver::Amdvlk),
        "amd" | "windows" | "proprietary" | "adrenalin" => Ok(VulkanDriver::Amd),
        _ => Err("expected radv (Mesa), amdvlk or amd (AMD's Windows driver)".into()),
    }
}

/// `--ram-bw`: GB/s, above 0 and below 100000.
pub fn ram_bandwidth(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v > 0.0 && v < 1e5 {
        Ok(v)
    } else {
        Err("expected GB/s between 0 and 100000".into())
    }
}

/// `--good-tps`, `--usable-tps`: tokens/s from 0 to below 1000000.
pub fn verdict_tps(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && (0.0..1e6).contains(&v) {
        Ok(v)
    } else {
        Err("expected tokens/s between 0 and 1000000".into())
    }
}

/// `recommend --min-tps`: a non-negative number of tokens/s.
pub fn min_tps(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err("expected a non-negative number of tokens/s".into())
    }
}

/// A llama.cpp device or buffer-type name → `None` for the CPU (and the GPUs' pinned host
/// buffers, which live in RAM), `Some(i)` for the machine's GPU `i` (`CUDA1`, `ROCm0`,
/// `Vulkan0`, `SYCL0`, `MTL0`, `Metal`).
fn device_name(name: &str) -> Result<Option<usize>, String> {
    let lower = name.trim().to_ascii_lowercase();
    if lower == "cpu" || lower.starts_with("cpu_") || lower.ends_with("_host") {
        return Ok(None);
    }
    let digits = lower.trim_start_matches(|c: char| !c.is_ascii_digit());
    let prefix = &lower[..lower.len() - digits.len()];
    const GPU_PREFIXES: &[&str] = &[
        "cuda", "rocm", "hip", "vulkan", "sycl", "mtl", "metal", "musa", "cann", "opencl", "gpu",
    ];
    if !GPU_PREFIXES.contains(&prefix) || (!digits.is_empty() && digits.parse::<u8>().is_err()) {
        return Err(format!(
            "unknown device `{name}`: expected CPU or a GPU as llama.cpp names it (CUDA0, ROCm0, Vulkan0, SYCL0, MTL0)"
        ));
    }
    Ok(Some(digits.parse::<usize>().unwrap_or(0)))
}

/// One `-ot` value: `PATTERN=DEVICE` pairs, comma-separated, in order.
#[derive(Debug, Clone)]
pub struct TensorOverrides(pub Vec<llmrig_core::estimate::TensorOverride>);

/// `-ot PATTERN=DEVICE[,PATTERN=DEVICE...]` (common/arg.cpp splits on commas, then on the last
/// `=`). The pattern must compile.
pub fn tensor_overrides(s: &str) -> Result<TensorOverrides, String> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let Some((pattern, dev)) = part.rsplit_once('=') else {
            return Err(format!(
                "`{part}`: expected PATTERN=DEVICE, such as exps=CPU"
            ));
        };
        if pattern.is_empty() {
            return Err(format!("`{part}`: the pattern is empty"));
        }
        let device = device_name(dev)?;
        let o = llmrig_core::estimate::TensorOverride::new(pattern, device)
            .map_err(|e| format!("pattern `{pattern}`: {e}"))?;
        out.push(o);
    }
    if out.is_empty() {
        return Err("expected PATTERN=DEVICE, such as exps=CPU".into());
    }
    Ok(TensorOverrides(out))
}

/// `-dev`: the GPUs llama.cpp uses, in order; empty for `none`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList(pub Vec<usize>);

/// `-dev CUDA0,CUDA1` or `-dev none`.
pub fn device_list(s: &str) -> Result<DeviceList, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(DeviceList(Vec::new()));
    }
    let mut out = Vec::new();
    for name in s.split(',').filter(|p| !p.trim().is_empty()) {
        match device_name(name)? {
            Some(i) if !out.contains(&i) => out.push(i),
            Some(_) => {}
            None => {
                return Err(format!(
                    "`{name}`: -dev lists GPUs (or `none`); the CPU is always used"
                ))
            }
        }
    }
    if out.is_empty() {
        return Err("expected GPUs as llama.cpp names them (CUDA0,CUDA1) or `none`".into());
    }
    Ok(DeviceList(out))
}

/// `--draft-accept`: a probability strictly between 0 and 1.
pub fn probability(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err("expected a probability between 0 and 1 (exclusive), e.g. 0.7".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listed name is one the library's parser takes, as itself.
    #[test]
    fn listed_names_parse() {
        let b = backend();
        for n in b.names() {
            assert_eq!(b.parse(&n).map(BackendArg::name), Some(n.as_str()));
        }
        assert_eq!(
            b.parse("LM-Studio").map(|a| (a.engine, a.program)),
            Some((Backend::LlamaCpp, Program::Lmstudio))
        );
        // A variant added to `Backend` fails to compile here until it is listed.
        let index = |b: Backend| match b {
            Backend::LlamaCpp => 0,
            Backend::ExLlamaV2 => 1,
            Backend::ExLlamaV3 => 2,
            Backend::Mlx => 3,
            Backend::Transformers => 4,
            Backend::Vllm => 5,
            Backend::SdCpp => 6,
            Backend::ComfyUi => 7,
            Backend::Diffusers => 8,
            Backend::Tei => 9,
            Backend::SentenceTransformers => 10,
        };
        for (i, b) in BACKENDS.into_iter().enumerate() {
            assert_eq!(index(b), i, "{}", b.name());
        }
        let k = kv_cache_type();
        assert_eq!(
            k.names(),
            ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"]
        );
        for n in k.names() {
            assert!(k.parse(&n).is_some(), "{n}");
        }
        let i = internode();
        for n in i.names() {
            assert!(i.parse(&n).is_some(), "{n}");
        }
        let u = use_();
        for n in u.names() {
            assert_eq!(u.parse(&n).map(Use::name), Some(n.as_str()));
        }
        let o = os();
        for n in o.names() {
            assert_eq!(o.parse(&n).map(Os::name), Some(n.as_str()));
        }
    }

    /// Spellings that worked when these flags were strings still do.
    #[test]
    fn aliases_and_case() {
        for s in ["ollama", "LMStudio", "koboldcpp", "llama-cpp", "LLAMA.CPP"] {
            assert_eq!(
                backend().parse(s).map(|b| b.engine),
                Some(Backend::LlamaCpp),
                "{s}"
            );
        }
        assert_eq!(
            backend().parse("exl2").map(|b| (b.engine, b.program)),
            Some((Backend::ExLlamaV2, Program::LlamaCpp))
        );
        assert_eq!(backend().parse("nope"), None);
        assert_eq!(kv_cache_type().parse("Q8_0"), Some(GgmlType::Q8_0));
        assert_eq!(kv_cache_type().parse("q3_k"), None);
        assert_eq!(internode().parse("IB-HDR"), Some(InterNode::IbHdr));
        assert_eq!(use_().parse("coding"), Some(Use::Code));
        assert_eq!(os().parse("Darwin"), Some(Os::Macos));
        assert_eq!(os().parse("linux-server"), Some(Os::LinuxServer));
        assert_eq!(os().parse("haiku"), None);
        let fa = |s| FlashAttnArg::from_str(s, true).map(FlashAttn::from);
        assert_eq!(fa("1"), Ok(FlashAttn::On));
        assert_eq!(fa("TRUE"), Ok(FlashAttn::On));
        assert_eq!(fa("false"), Ok(FlashAttn::Off));
        assert_eq!(fa("Auto"), Ok(FlashAttn::Auto));
        assert_eq!(
            KvDtypeArg::from_str("fp8_e5m2", true).map(KvDtype::from),
            Ok(KvDtype::Fp8)
        );
        assert_eq!(
            KvDtypeArg::from_str("BF16", true).map(KvDtype::from),
            Ok(KvDtype::Auto)
        );
        assert_eq!(
            ApiArg::from_str("hip", true).map(GpuApi::from),
            Ok(GpuApi::Rocm)
        );
    }

    /// The CLI's enums carry the library's names.
    #[test]
    fn value_enums_use_the_library_names() {
        let name = |v: Option<PossibleValue>| v.map(|v| v.get_name().to_string());
        for a in ApiArg::value_variants() {
            assert_eq!(
                name(a.to_possible_value()).as_deref(),
                Some(GpuApi::from(*a).name())
            );
        }
        for e in EngineArg::value_variants() {
            assert_eq!(
                name(e.to_possible_value()).as_deref(),
                Some(Engine::from(*e).name())
            );
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(gpu_layers("AUTO"), Ok(GpuLayers::Auto));
        assert_eq!(gpu_layers("-1"), Ok(GpuLayers::Auto));
        assert_eq!(gpu_layers("max"), Ok(GpuLayers::Count(u32::MAX)));
        assert_eq!(gpu_layers("20"), Ok(GpuLayers::Count(20)));
        assert!(gpu_layers("many").is_err());
        assert_eq!(ctx("32k"), Ok(32768));
        assert_eq!(ctx("8192"), Ok(8192));
        assert!(ctx("-5").is_err());
        assert!(ctx("0").is_err());
        assert!(ctx("12x").is_err());
        assert!(ctx("99999999999999999999").is_err());
        assert_eq!(size("64GiB"), Ok(64 << 30));
        assert_eq!(size("24GB"), Ok(24_000_000_000));
        assert_eq!(size("32"), Ok(32 << 30));
        assert_eq!(size("20.5"), Ok(41 << 29));
        assert_eq!(size("4096B"), Ok(4096));
        assert!(size("-3GB").is_err());
        assert!(size("lots").is_err());
        assert!(size("3 parsecs").is_err());
        assert_eq!(reserve("0"), Ok(0));
        assert_eq!(reserve("0GiB"), Ok(0));
        assert_eq!(reserve("6"), Ok(6 << 30));
        assert!(reserve("-1GiB").is_err());
        assert_eq!(proportions("3,1"), Ok(Proportions(vec![3.0, 1.0])));
        assert_eq!(proportions("3/1"), Ok(Proportions(vec![3.0, 1.0])));
        assert!(proportions("1,x").is_err());
        assert!(proportions("-1,1").is_err());
        assert!(llama_cpp("2025-06").is_ok());
        assert_eq!(llama_cpp("b7279"), Ok(LlamaCppVersion::Build(7279)));
        assert!(llama_cpp("b").is_err());
        assert!(llama_cpp("june").is_err());
        assert!(ram_bandwidth("0").is_err());
        assert!(ram_bandwidth("nan").is_err());
        assert_eq!(ram_bandwidth("51.2"), Ok(51.2));
        assert!(verdict_tps("-1").is_err());
        assert!(verdict_tps("1e6").is_err());
        assert!(min_tps("-1").is_err());
        assert_eq!(min_tps("1e7"), Ok(1e7));
    }
}
