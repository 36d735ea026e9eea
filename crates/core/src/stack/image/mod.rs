//! An image-generation pipeline on one machine: the weights each engine holds for every part, the
//! activations it allocates at a resolution, where they live, the peak per device, and seconds
//! per step and per image.
//!
//! Engines (their rules with citations: docs/research/image-engines.md):
//! - **stable-diffusion.cpp**: every part's weights resident on its backend (its "model manager"
//!   since June 2026), each in the type its layer class fixes (linear layers in the file's or
//!   `--type`'s type, convolutions always F16, norms and biases F32); one compute buffer at a time
//!   (the text encoders' is freed before sampling, the denoiser's before the VAE decodes), so the
//!   peak on a device is its weights plus the largest compute buffer that runs there.
//!   `--offload-to-cpu` keeps the weights in RAM and stages one part at a time into VRAM.
//! - **ComfyUI**: the denoiser as much as fits after its inference reserve
//!   (`memory_usage_factor` per model), the rest streamed from RAM each step; text encoders and
//!   VAE evicted when the denoiser needs the room.
//! - **diffusers**: the whole pipeline on the GPU (`pipe.to("cuda")`), or one model at a time
//!   (`enable_model_cpu_offload`), or one layer at a time (`enable_sequential_cpu_offload`).

use serde::Serialize;

use crate::estimate::{capacities, memory_fits, DeviceUsage, MemoryBreakdown};
use crate::model::diffusion::{Latent, Part, PartArch, PartRole, Pipeline, WeightFormat};
use crate::quant::GgmlType;
use crate::system::{DeviceKind, SystemSpec};

pub mod graphs;
mod sdcpp;
mod torch;

pub use sdcpp::sdcpp_compute_bytes;
use sdcpp::{base_type, sdcpp_tensor_bytes, sdxl_conv_scale_bytes};
use torch::{
    comfy_memory_factor, torch_compute_bytes, torch_tensor_bytes, COMFY_MIN_INFERENCE,
    COMFY_RESERVED,
};

/// The program that runs the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ImageEngine {
    /// leejet/stable-diffusion.cpp (`sd`, `sd-server`; also what koboldcpp and LocalAI embed).
    #[serde(rename = "sd.cpp")]
    SdCpp,
    /// ComfyUI (PyTorch).
    #[serde(rename = "comfyui")]
    ComfyUi,
    /// Hugging Face diffusers (PyTorch).
    #[serde(rename = "diffusers")]
    Diffusers,
}

impl ImageEngine {
    /// Parses `--backend` for an image model.
    #[must_use]
    pub fn parse(s: &str) -> Option<ImageEngine> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "sd.cpp" | "sdcpp" | "stablediffusion.cpp" | "stablediffusioncpp" | "koboldcpp" => {
                Some(ImageEngine::SdCpp)
            }
            "comfyui" | "comfy" => Some(ImageEngine::ComfyUi),
            "diffusers" => Some(ImageEngine::Diffusers),
            _ => None,
        }
    }

    /// The name `--backend` takes.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ImageEngine::SdCpp => "sd.cpp",
            ImageEngine::ComfyUi => "comfyui",
            ImageEngine::Diffusers => "diffusers",
        }
    }
}

/// Where weights wait when they are not in use, as each engine names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Offload {
    /// Everything resident on the GPU (sd.cpp's default; diffusers `pipe.to("cuda")`; ComfyUI
    /// `--highvram`).
    #[default]
    None,
    /// The engine's own default policy: ComfyUI's NORMAL_VRAM (the denoiser partly loaded when
    /// it does not fit); for the others the same as `None`.
    Auto,
    /// One model at a time on the GPU (sd.cpp `--offload-to-cpu`, diffusers
    /// `enable_model_cpu_offload`).
    Model,
    /// One layer at a time (diffusers `enable_sequential_cpu_offload`; ComfyUI `--novram`).
    Sequential,
    /// ComfyUI `--lowvram`: text encoders on the CPU, the denoiser partly loaded.
    LowVram,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageSettings {
    /// The engine.
    pub engine: ImageEngine,
    /// Image size, pixels.
    pub width: u32,
    /// Image size, pixels.
    pub height: u32,
    /// Sampling steps.
    pub steps: u32,
    /// Images generated one after another (`-b/--batch-count`).
    pub batch_count: u32,
    /// Images per batch in one forward (ComfyUI's and diffusers' batch size; sd.cpp is always 1).
    pub batch_size: u32,
    /// The denoiser's weight format (`-q`), if not the usual file's.
    pub denoiser_format: Option<WeightFormat>,
    /// The text encoders' format (`--te-quant`), if not their usual files'.
    pub text_encoder_format: Option<WeightFormat>,
    /// Flash attention in the denoiser (sd.cpp `--diffusion-fa`; PyTorch's SDPA is always
    /// memory-efficient).
    pub diffusion_fa: bool,
    /// Flash attention in the VAE and text encoders too (sd.cpp `--fa`).
    pub fa_all: bool,
    /// Tiled VAE decode (sd.cpp `--vae-tiling`, diffusers `enable_tiling`, ComfyUI's tiled node).
    pub vae_tiling: bool,
    /// Text encoders on the CPU (sd.cpp `--clip-on-cpu`).
    pub clip_on_cpu: bool,
    /// VAE on the CPU (sd.cpp `--vae-on-cpu`, ComfyUI `--cpu-vae`).
    pub vae_on_cpu: bool,
    /// Offload policy.
    pub offload: Offload,
}

/// One part's memory and work.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartUse {
    /// Role.
    pub role: PartRole,
    /// Name (`flux`, `t5xxl`).
    pub name: String,
    /// Format of its weights as loaded (`q8_0`, `bf16`, `fp8`).
    pub format: String,
    /// Parameters.
    pub params: u64,
    /// Its weights as the engine holds them, bytes.
    pub weights_bytes: u64,
    /// The activations one run of it allocates (sd.cpp's compute buffer), bytes.
    pub compute_bytes: u64,
    /// Whether it runs on the GPU (else the CPU).
    pub on_gpu: bool,
    /// Bytes of its weights held in VRAM during its run (less than `weights_bytes` when the
    /// engine streams the rest from RAM).
    pub gpu_weights_bytes: u64,
    /// Seconds one run takes (the denoiser: one step; a text encoder: one prompt; the VAE: one
    /// decode).
    pub seconds: f64,
}

/// The estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageEstimate {
    /// Every part.
    pub parts: Vec<PartUse>,
    /// The peak per device (GPU first, then the CPU), as one memory breakdown.
    pub memory: MemoryBreakdown,
    /// Whether the peak fits every device.
    pub fits: bool,
    /// Seconds per sampling step for one image (all its guidance passes).
    pub seconds_per_step: f64,
    /// Seconds per image: text encoding, the steps and the VAE decode.
    pub seconds_per_image: f64,
    /// Weight bytes streamed from RAM to the GPU per step (ComfyUI's partial load, diffusers'
    /// sequential offload).
    pub streamed_bytes_per_step: u64,
    /// What the user should know.
    pub notes: Vec<String>,
}

/// GPU memory an engine's process takes before any model (CUDA context, cuBLAS workspaces):
/// llama.cpp's own figure for ggml engines, PyTorch's for the others.
fn runtime_bytes(engine: ImageEngine, sys: &SystemSpec) -> u64 {
    match engine {
        ImageEngine::SdCpp => sys
            .gpus
            .first()
            .map_or(0, |g| g.api.runtime_overhead_bytes()),
        // transformers' docs measure 1343 MiB for a PyTorch CUDA context on a V100
        // (docs/source/en/model_memory_anatomy.md), the same allowance `Backend::Transformers`
        // makes for text models.
        ImageEngine::ComfyUi | ImageEngine::Diffusers => 1343 << 20,
    }
}

/// The part's weights as `engine` holds them in `fmt`, bytes. `llm_bytes` sizes an LLM text
/// encoder (its tensors live in the text model's inventory).
#[must_use]
pub fn part_weight_bytes(
    part: &Part,
    fmt: WeightFormat,
    engine: ImageEngine,
    llm_bytes: &dyn Fn(WeightFormat) -> u64,
) -> u64 {
    if matches!(part.arch, PartArch::Llm { .. }) {
        return llm_bytes(fmt);
    }
    let tensors = part.arch.tensors();
    match engine {
        ImageEngine::SdCpp => {
            // sd.cpp has no FP8 type: an FP8 file is converted to F16 on load.
            let ty = match fmt {
                WeightFormat::Ggml(t) => t,
                WeightFormat::Fp8 => GgmlType::F16,
            };
            let base = base_type(fmt, part.format);
            tensors
                .iter()
                // Text to image loads only the VAE's decoder (`vae_decode_only`).
                .filter(|t| {
                    part.role != PartRole::Vae
                        || !(t.name.starts_with("encoder.") || t.name.starts_with("quant_conv"))
                })
                .map(|t| sdcpp_tensor_bytes(t, ty, base, matches!(part.arch, PartArch::Mmdit(_))))
                .sum()
        }
        ImageEngine::ComfyUi | ImageEngine::Diffusers => {
            tensors.iter().map(|t| torch_tensor_bytes(t, fmt)).sum()
        }
    }
}

/// Rates the engines reach, as shares of a device's dense FP16 tensor rate with FP16 accumulate
/// (what cuBLAS and cuDNN run PyTorch's and ggml's half-precision products at; twice the FP32-
/// accumulate rate on GeForce cards) or of a CPU's SIMD rate, and the fixed cost of a denoiser
/// pass. Fitted on the published measurements in data/calibration/image-speed.csv
/// (`image_speed` tests score them with each source held out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageSpeedParams {
    /// PyTorch engines (ComfyUI, diffusers, A1111/Forge) on an NVIDIA GPU.
    pub torch_gpu: f64,
    /// PyTorch engines on other GPUs (ROCm, ZLUDA, XPU): the listed matrix rates of RDNA3/4 and
    /// Arc are reached much less.
    pub torch_other_gpu: f64,
    /// stable-diffusion.cpp on a GPU.
    pub sdcpp_gpu: f64,
    /// A transformer denoiser's share relative to a UNet's: its few wide matrix products keep
    /// the tensor cores busier than a UNet's convolutions, group norms and element-wise work at
    /// full latent resolution.
    pub dit: f64,
    /// Any engine on a CPU, share of `CpuSpec::flops`.
    pub cpu: f64,
    /// Attention's products relative to the weights' rate.
    pub attention: f64,
    /// Launch cost per weight tensor of the denoiser per forward (kernel launches and the
    /// framework's own work between them), seconds.
    pub per_tensor_s: f64,
}

impl ImageSpeedParams {
    /// The shipped constants.
    pub const SHIPPED: ImageSpeedParams = ImageSpeedParams {
        torch_gpu: 0.254,
        torch_other_gpu: 0.216,
        sdcpp_gpu: 0.20,
        dit: 1.55,
        cpu: 0.35,
        attention: 0.6,
        per_tensor_s: 19e-6,
    };
}

/// A text encoder's format: `--te-quant` names the large encoders' files (T5-XXL, an LLM: the
/// ones people download quantized; CLIP's files are F16). A single-checkpoint UNet model run by
/// sd.cpp with `--type` (llmrig's `-q`) converts its CLIP too: sd.cpp's `--type` applies to every
/// tensor it loads.
#[must_use]
pub fn text_encoder_format(pipe: &Pipeline, p: &Part, s: &ImageSettings) -> WeightFormat {
    let large = matches!(p.arch, PartArch::T5(_) | PartArch::Llm { .. });
    if large {
        if let Some(f) = s.text_encoder_format {
            return f;
        }
    }
    if s.engine == ImageEngine::SdCpp && matches!(pipe.denoiser().arch, PartArch::Unet(_)) {
        if let Some(f) = s.denoiser_format {
            return f;
        }
    }
    p.format
}

/// Text tokens the denoiser attends to: sd.cpp encodes T5 in chunks, 256 tokens for FLUX and
/// 77 beside CLIP's 77 for SD3 (conditioner.hpp `FluxCLIPEmbedder`, `SD3CLIPEmbedder`); the
/// PyTorch pipelines pad T5 to the model's `max_sequence_length`.
#[must_use]
pub fn text_tokens(pipe: &Pipeline, engine: ImageEngine) -> u64 {
    match (engine, &pipe.denoiser().arch) {
        (ImageEngine::SdCpp, PartArch::Flux(_)) => 256,
        (ImageEngine::SdCpp, PartArch::Mmdit(_)) => 154,
        _ => pipe.text_tokens,
    }
}

/// Estimates `pipe` under `s` on `sys`. `llm_bytes` sizes an LLM text encoder in a format.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn estimate_image(
    pipe: &Pipeline,
    s: &ImageSettings,
    sys: &SystemSpec,
    llm_bytes: &dyn Fn(WeightFormat) -> u64,
    speed: &ImageSpeedParams,
) -> ImageEstimate {
    let mut lat = pipe.latent(s.width, s.height);
    lat.text_tokens = text_tokens(pipe, s.engine);
    let has_gpu = !sys.gpus.is_empty();
    let mut notes = Vec::new();
    let batch = u64::from(s.batch_size.max(1));
    let torch = s.engine != ImageEngine::SdCpp;
    let mut parts: Vec<PartUse> = pipe
        .parts
        .iter()
        .map(|p| {
            let fmt = match p.role {
                PartRole::Denoiser => s.denoiser_format.unwrap_or(p.format),
                PartRole::TextEncoder => text_encoder_format(pipe, p, s),
                PartRole::Vae => p.format,
            };
            let weights = part_weight_bytes(p, fmt, s.engine, llm_bytes);
            let part_lat = match (&p.arch, p.role) {
                (PartArch::Vae(_), _) if s.vae_tiling => Latent {
                    // sd.cpp's and ComfyUI's tiles are 32 and 64 latent pixels.
                    h: lat.h.min(if torch { 64 } else { 32 }),
                    w: lat.w.min(if torch { 64 } else { 32 }),
                    text_tokens: lat.text_tokens,
                },
                // sd.cpp runs SD3's T5 on its 77-token chunk (the denoiser sees it after
                // CLIP's 77).
                (PartArch::T5(_), _)
                    if !torch && matches!(pipe.denoiser().arch, PartArch::Mmdit(_)) =>
                {
                    Latent {
                        text_tokens: 77,
                        ..lat
                    }
                }
                _ => lat,
            };
            let fa = match p.role {
                PartRole::Denoiser => s.diffusion_fa || s.fa_all,
                _ => s.fa_all,
            };
            let compute = if torch {
                torch_compute_bytes(
                    p,
                    part_lat,
                    batch,
                    pipe.passes(),
                    s.engine == ImageEngine::ComfyUi,
                )
            } else {
                sdcpp_compute_bytes(p, part_lat, fa) + sdxl_conv_scale_bytes(pipe, p, part_lat)
            };
            let on_gpu = has_gpu
                && !(p.role == PartRole::TextEncoder
                    && (s.clip_on_cpu
                        || (s.engine == ImageEngine::ComfyUi && s.offload == Offload::LowVram)))
                && !(p.role == PartRole::Vae && s.vae_on_cpu);
            // Work of one run: the denoiser at the batch, the VAE per image.
            let macs = p.arch.macs(part_lat);
            let tiles = if p.role == PartRole::Vae && s.vae_tiling {
                // Overlapping tiles redo part of the work (sd.cpp's default overlap is half a
                // tile; the decode work grows by about a third).
                1.33 * (lat.h * lat.w) as f64 / (part_lat.h * part_lat.w) as f64
            } else {
                1.0
            };
            #[allow(clippy::cast_precision_loss)]
            let work = 2.0
                * (macs.weights + speed.attention.recip() * macs.attention)
                * tiles
                * if p.role == PartRole::Denoiser {
                    batch as f64
                } else {
                    1.0
                };
            let rate = if on_gpu {
                let g = &sys.gpus[0];
                let peak = if g.fp16_acc16_flops > 0.0 {
                    g.fp16_acc16_flops
                } else if g.fp16_flops > 0.0 {
                    g.fp16_flops
                } else {
                    g.fp32_flops.max(1e12)
                };
                let nvidia = g
                    .vendor
                    .is_none_or(|v| v == crate::system::GpuVendor::Nvidia);
                let dit = if p.role == PartRole::Denoiser && !matches!(p.arch, PartArch::Unet(_)) {
                    speed.dit
                } else {
                    1.0
                };
                peak * dit
                    * match (torch, nvidia) {
                        (false, _) => speed.sdcpp_gpu,
                        (true, true) => speed.torch_gpu,
                        (true, false) => speed.torch_other_gpu,
                    }
            } else {
                sys.cpu.flops.max(1e9) * speed.cpu
            };
            let seconds = work / rate;
            PartUse {
                role: p.role,
                name: p.name.clone(),
                format: fmt.name(),
                params: p.arch.params(),
                weights_bytes: weights,
                compute_bytes: compute,
                on_gpu,
                gpu_weights_bytes: if on_gpu { weights } else { 0 },
                seconds,
            }
        })
        .collect();

    let n_gpu = sys.gpus.len();
    let caps = capacities(sys);
    let runtime = if has_gpu {
        runtime_bytes(s.engine, sys)
    } else {
        0
    };
    // (weights, compute, other) on the GPU and in RAM at the peak.
    let (mut gpu, mut ram) = ((0u64, 0u64, runtime), (0u64, 0u64, 0u64));
    let mut streamed = 0u64;
    let den = parts
        .iter()
        .position(|p| p.role == PartRole::Denoiser)
        .unwrap_or(0);
    match (s.engine, s.offload) {
        (_, Offload::Model | Offload::Sequential) | (ImageEngine::ComfyUi, _) => {
            // One model (or less) at a time on the GPU; the others wait in RAM. sd.cpp keeps
            // every weight in pinned RAM and stages a copy; the PyTorch engines move a model's
            // tensors to the GPU, so RAM holds what is not there.
            let gpu_cap = caps.first().copied().unwrap_or(0);
            let all: u64 = parts.iter().map(|p| p.weights_bytes).sum();
            let mut peak = (0u64, 0u64);
            for (i, p) in parts.iter_mut().enumerate() {
                if !p.on_gpu {
                    ram.1 = ram.1.max(p.compute_bytes);
                    continue;
                }
                let reserve = if s.engine == ImageEngine::ComfyUi {
                    COMFY_MIN_INFERENCE.max(p.compute_bytes + COMFY_RESERVED)
                } else {
                    p.compute_bytes
                };
                let room = gpu_cap.saturating_sub(runtime + reserve);
                let resident = match s.offload {
                    Offload::Sequential => {
                        // One block's weights at a time.
                        p.weights_bytes / 40
                    }
                    Offload::Model | Offload::None if s.engine != ImageEngine::ComfyUi => {
                        p.weights_bytes
                    }
                    // ComfyUI loads what fits and streams the rest.
                    _ => p.weights_bytes.min(room),
                };
                p.gpu_weights_bytes = resident;
                if i == den {
                    streamed = p.weights_bytes - resident;
                }
                let need = resident + reserve;
                if need > peak.0 + peak.1 {
                    peak = (resident, reserve);
                }
            }
            ram.0 = if s.engine == ImageEngine::SdCpp {
                all
            } else {
                all - peak.0
            };
            gpu.0 = peak.0;
            gpu.1 = peak.1;
            if s.engine == ImageEngine::ComfyUi && has_gpu {
                notes.push(format!(
                    "ComfyUI reserves {} for the denoiser's activations (memory_usage_factor {} × the latent) plus 400 MiB (EXTRA_RESERVED_VRAM); text encoders and the VAE are evicted when the denoiser needs the room",
                    human(parts[den].compute_bytes),
                    comfy_memory_factor(&pipe.parts[den].arch)
                ));
            }
        }
        (_, _) => {
            // Everything resident where it runs; one compute buffer at a time per device.
            for p in &parts {
                if p.on_gpu {
                    gpu.0 += p.weights_bytes;
                    gpu.1 = gpu.1.max(p.compute_bytes);
                } else {
                    ram.0 += p.weights_bytes;
                    ram.1 = ram.1.max(p.compute_bytes);
                }
            }
        }
    }
    if streamed > 0 {
        // Streaming weights over PCIe each step.
        let pcie = sys
            .gpus
            .first()
            .map_or(16e9, |g| pcie_bytes_per_s(g.pcie_gen, g.pcie_width));
        #[allow(clippy::cast_precision_loss)]
        let t = streamed as f64 / pcie;
        parts[den].seconds += t;
        notes.push(format!(
            "{} of the {}'s weights do not fit beside its activations and are streamed from RAM every step ({:.2} s per step at PCIe speed)",
            human(streamed),
            parts[den].name,
            t
        ));
    }
    let mut devices: Vec<DeviceUsage> = Vec::with_capacity(n_gpu + 1);
    for (i, g) in sys.gpus.iter().enumerate() {
        let (w, c, o) = if i == 0 { gpu } else { (0, 0, 0) };
        devices.push(DeviceUsage {
            name: g.name.clone(),
            kind: g.kind,
            capacity_bytes: caps[i],
            weights_bytes: w,
            repack_bytes: 0,
            mapped_bytes: 0,
            kv_cache_bytes: 0,
            compute_bytes: c,
            other_bytes: o,
            total_bytes: w + c + o,
            layers: u32::from(i == 0),
        });
    }
    devices.push(DeviceUsage {
        name: sys.cpu.name.clone(),
        kind: DeviceKind::Cpu,
        capacity_bytes: caps[n_gpu],
        weights_bytes: ram.0,
        repack_bytes: 0,
        mapped_bytes: 0,
        kv_cache_bytes: 0,
        compute_bytes: ram.1,
        other_bytes: ram.2,
        total_bytes: ram.0 + ram.1 + ram.2,
        layers: u32::from(!has_gpu),
    });
    let sum = |f: fn(&DeviceUsage) -> u64| devices.iter().map(f).sum::<u64>();
    let memory = MemoryBreakdown {
        weights_bytes: sum(|d| d.weights_bytes),
        kv_cache_bytes: 0,
        compute_bytes: sum(|d| d.compute_bytes),
        output_bytes: 0,
        overhead_bytes: runtime,
        total_bytes: sum(|d| d.total_bytes),
        devices,
    };
    let fits = memory_fits(&memory, sys);
    let passes = pipe.passes();
    // The fixed cost of a forward: once per step where the engine batches the guidance
    // branches (PyTorch pipelines), once per pass where it runs them apart (sd.cpp).
    #[allow(clippy::cast_precision_loss)]
    let launches = pipe.denoiser().arch.tensors().len() as f64 * speed.per_tensor_s;
    #[allow(clippy::cast_precision_loss)]
    let step = if torch {
        parts[den].seconds * passes as f64 + launches
    } else {
        (parts[den].seconds + launches) * passes as f64
    };
    let encode: f64 = parts
        .iter()
        .filter(|p| p.role == PartRole::TextEncoder)
        .map(|p| p.seconds)
        .sum();
    let decode: f64 = parts
        .iter()
        .filter(|p| p.role == PartRole::Vae)
        .map(|p| p.seconds)
        .sum();
    let per_image = step * f64::from(s.steps) + decode + encode / f64::from(s.batch_count.max(1));
    ImageEstimate {
        parts,
        memory,
        fits,
        seconds_per_step: step,
        seconds_per_image: per_image,
        streamed_bytes_per_step: streamed,
        notes,
    }
}

fn pcie_bytes_per_s(gen: Option<u32>, width: Option<u32>) -> f64 {
    let per_lane = match gen.unwrap_or(4) {
        3 => 0.985e9,
        4 => 1.969e9,
        5 => 3.938e9,
        _ => 1.969e9,
    };
    // Host-to-device copies reach about 80% of the link.
    per_lane * f64::from(width.unwrap_or(16)) * 0.8
}

fn human(b: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let g = b as f64 / f64::from(1u32 << 30);
    if g >= 1.0 {
        format!("{g:.2} GiB")
    } else {
        #[allow(clippy::cast_precision_loss)]
        let m = b as f64 / f64::from(1u32 << 20);
        format!("{m:.0} MiB")
    }
}
