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
use crate::model::diffusion::{
    DiffTensor, Latent, Part, PartArch, PartRole, Pipeline, WeightFormat,
};
use crate::quant::GgmlType;
use crate::system::{DeviceKind, SystemSpec};

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

/// ComfyUI's `EXTRA_RESERVED_VRAM` on Linux and macOS (comfy/model_management.py: 400 MiB; 600
/// on Windows).
const COMFY_RESERVED: u64 = 400 << 20;
/// ComfyUI's `minimum_inference_memory()`: 0.8 GiB plus the reserve.
const COMFY_MIN_INFERENCE: u64 = (819 << 20) + COMFY_RESERVED;

/// ComfyUI's `memory_usage_factor` for a denoiser (comfy/supported_models.py): SD1.5 and SD2 1.0,
/// SDXL 0.8, SD3 1.6, Flux 3.1, Qwen-Image 1.8.
fn comfy_memory_factor(arch: &PartArch) -> f64 {
    match arch {
        PartArch::Unet(u) if u.adm_in_channels.is_some() => 0.8,
        PartArch::Unet(_) => 1.0,
        PartArch::Mmdit(_) => 1.6,
        PartArch::Flux(_) => 3.1,
        PartArch::QwenImage(_) => 1.8,
        _ => 2.0,
    }
}

/// Bytes of one tensor of `part` held in `fmt` by stable-diffusion.cpp (its layer classes fix the
/// type: `GGMLBlock::get_type` and the Linear, Conv2d, Embedding and norm constructors in
/// `ggml_extend.hpp`; `tensor_should_be_converted` keeps the embedders' and in/out layers' file
/// type).
fn sdcpp_tensor_bytes(t: &DiffTensor, fmt: GgmlType, base: GgmlType, sd3: bool) -> u64 {
    let n = t.n_elements();
    let name = t.name.as_str();
    // Norms and biases: F32.
    if t.shape.len() == 1 || name.ends_with(".scale") {
        return 4 * n;
    }
    // Convolutions: F16 whatever the file holds.
    if t.shape.len() == 4 {
        return 2 * n;
    }
    // Position tables and OpenCLIP's text projection are F32 parameters (CLIP's learned
    // positions, SD3's `pos_embed`; sd.cpp logs bigG's 1329.29 MiB with a 1280² F32 projection).
    if name.contains("position_embedding")
        || name == "pos_embed"
        || name == "text_projection.weight"
    {
        return 4 * n;
    }
    // Token tables: CLIP's (`…embedding…`) keeps the file's type (`tensor_should_be_converted`
    // skips the name); T5's `shared` is converted like any matrix. `Embedding` then holds a type
    // `get_rows` takes (F16, Q8_0, Q5_1, Q5_0, Q4_1, Q4_0) and turns any other into F32.
    if name.contains("embedding") || name == "shared.weight" {
        let ty = if name == "shared.weight" { fmt } else { base };
        return match ty {
            GgmlType::F16
            | GgmlType::Q8_0
            | GgmlType::Q5_1
            | GgmlType::Q5_0
            | GgmlType::Q4_1
            | GgmlType::Q4_0 => {
                ty.row_size(*t.shape.last().unwrap_or(&1))
                    * (n / t.shape.last().copied().unwrap_or(1).max(1))
            }
            _ => 4 * n,
        };
    }
    let keep = [
        "img_in.",
        "txt_in.",
        "time_in.",
        "vector_in.",
        "guidance_in.",
        "final_layer.",
        "x_embedder.",
        "t_embedder.",
        "y_embedder.",
        "context_embedder.",
        "time_embed.",
        "label_emb.",
    ];
    // SD3's MMDiT builds its embedders' and final layer's linears with `force_f32` (mmdit.hpp).
    if sd3
        && [
            "t_embedder.",
            "y_embedder.",
            "context_embedder.",
            "final_layer.linear",
        ]
        .iter()
        .any(|k| name.starts_with(k))
    {
        return 4 * n;
    }
    let row = *t.shape.last().unwrap_or(&1);
    let ty = if keep
        .iter()
        .any(|k| name.starts_with(k) || name.contains(&format!(".{k}")))
    {
        base
    } else {
        fmt
    };
    // A row the type's blocks do not divide keeps the file's type (`tensor_should_be_converted`):
    // SD 1.5's 320- and 640-wide rows stay F16 under `--type q4_K`.
    if ty.fits_row(row) {
        ty.row_size(row) * (n / row)
    } else if base.fits_row(row) {
        base.row_size(row) * (n / row)
    } else {
        4 * n
    }
}

/// Bytes of one tensor in a PyTorch engine: 16-bit formats as stored; FP8 files hold matrices in
/// one byte and the rest (token tables included) in 16 bits; GGUF quants (ComfyUI-GGUF, diffusers' GGUF loader) keep the
/// file's blocks and dequantize per layer, with 1-D tensors in F32 as the converters write them.
fn torch_tensor_bytes(t: &DiffTensor, fmt: WeightFormat) -> u64 {
    let n = t.n_elements();
    let row = *t.shape.last().unwrap_or(&1);
    let table = t.name.contains("embedding") || t.name == "shared.weight";
    match fmt {
        // FP8 files keep their token tables in 16 bits (t5xxl_fp8_e4m3fn.safetensors is 4.89 GB:
        // 4.63 G matrix weights in one byte, the 131.6 M-entry `shared` table in two).
        WeightFormat::Fp8 if t.shape.len() >= 2 && !table => n,
        WeightFormat::Fp8 => 2 * n,
        WeightFormat::Ggml(g) if g.is_quantized() => {
            if t.shape.len() >= 2 && g.fits_row(row) {
                g.row_size(row) * (n / row)
            } else if t.shape.len() == 1 {
                4 * n
            } else {
                2 * n
            }
        }
        WeightFormat::Ggml(g) => g.type_size() * n,
    }
}

/// The 16-bit type a part's GGUF keeps its unquantized tensors in.
fn base_type(fmt: WeightFormat, usual: WeightFormat) -> GgmlType {
    match usual {
        WeightFormat::Ggml(GgmlType::BF16) => GgmlType::BF16,
        WeightFormat::Ggml(GgmlType::F32) => match fmt {
            WeightFormat::Ggml(GgmlType::F32) => GgmlType::F32,
            _ => GgmlType::F16,
        },
        _ => GgmlType::F16,
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

/// Bytes of `n` F32 values.
fn f32s(n: u64) -> u64 {
    4 * n
}

/// stable-diffusion.cpp's compute buffer for one run of `part` (batch 1: it runs the guidance
/// passes and the images one after another), the high-water mark of ggml-alloc over the graph,
/// from the largest tensors alive together at the peak:
/// - attention without flash attention materializes F32 scores, heads × Lq × Lk;
/// - convolutions go through im2col, an F16 copy of every 3×3 window of the input;
/// - a UNet keeps its skip connections (F32) until the decoder half consumes them.
///
/// validation/ checks these against the real sd.cpp.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn sdcpp_compute_bytes(part: &Part, lat: Latent, fa: bool) -> u64 {
    match &part.arch {
        PartArch::Unet(u) => {
            // The first up-block at full resolution: the level-1 features and a level-0 skip
            // concatenated (`cin` channels), group-normed and activated, their im2col in F16,
            // the convolution's output, and the two level-0 skips still waiting.
            let c0 = u.model_channels;
            let n = lat.h * lat.w;
            let cin = c0 + c0 * u.channel_mult.get(1).copied().unwrap_or(1);
            let conv = n * (4 * (2 * c0 + 3 * cin + c0) + 2 * 9 * cin);
            // Without flash attention, the highest-resolution attention's F32 scores (softmax
            // runs in place) over about 23 level-wide states, and 10.8 MB that do not scale
            // with the image (fitted on SD 1.5 at 128² and 256²; validation/ checks 512² and
            // SDXL).
            let attn = if fa {
                0
            } else {
                u.transformer_depth
                    .iter()
                    .enumerate()
                    .filter(|(_, &d)| d > 0)
                    .map(|(l, _)| {
                        let ch = c0 * u.channel_mult[l];
                        let nl = n >> (2 * l);
                        // SD 1.x has 8 heads everywhere; SD 2 and XL 64-wide heads.
                        let heads = if u.context_dim == 768 { 8 } else { ch / 64 };
                        f32s(heads * nl * nl) + nl * ch * 93 / 4 + 10_807_904
                    })
                    .max()
                    .unwrap_or(0)
            };
            conv.max(attn)
        }
        PartArch::Flux(f) => {
            // A single block's peak: its fused first linear (QKV and the MLP's input, 3h + 4h
            // wide), the MLP's activation, two hidden-wide states and, without flash attention,
            // the joint sequence's scores.
            let img = lat.h.div_ceil(2) * lat.w.div_ceil(2);
            let l = img + lat.text_tokens;
            let (h, heads) = (f.hidden, f.hidden / f.head_dim);
            let scores = if fa { 0 } else { f32s(heads * l * l) };
            f32s(l * (7 * h + 4 * h + 2 * h)) + scores
        }
        PartArch::Mmdit(m) => {
            // A joint block's: the scores over image and text tokens and eight hidden-wide states.
            let h = 64 * m.depth;
            let img = lat.h.div_ceil(2) * lat.w.div_ceil(2);
            let l = img + lat.text_tokens;
            let scores = if fa { 0 } else { f32s(m.depth * l * l) };
            f32s(8 * l * h) + scores
        }
        PartArch::QwenImage(q) => {
            let img = lat.h.div_ceil(2) * lat.w.div_ceil(2);
            let heads = q.hidden / q.head_dim;
            dit_compute(img + lat.text_tokens, q.hidden, heads, 4 * q.hidden, fa)
        }
        PartArch::ClipText(c) => {
            // The MLP's hidden states, two residual-wide ones and the causal mask over the 77
            // tokens (CLIP-L 1.38 MiB against sd.cpp's 1.42, bigG 2.28 against 2.36).
            let t = c.positions;
            f32s(t * (c.ff + 2 * c.hidden) + t * t)
        }
        PartArch::T5(c) => {
            // The gated MLP's three d_ff-wide states, the residual, and two score tensors (the
            // relative position bias is added to a copy).
            let t = lat.text_tokens.max(1);
            f32s(t * (3 * c.d_ff + c.d_model)) + f32s(2 * c.heads * t * t)
        }
        PartArch::Llm { hidden, .. } => {
            let t = lat.text_tokens.max(1);
            // Qwen2.5-VL 7B's MLP is 18944 wide (5.3 × hidden).
            f32s(hidden * t * 8 + hidden * 53 / 10 * t * 3 + 28 * t * t)
        }
        PartArch::Vae(v) => {
            let (h, w) = (lat.h * 8, lat.w * 8);
            let c0 = v.ch * v.ch_mult[0];
            let c1 = v.ch * v.ch_mult[1];
            // The last up-block's widest convolution: the level-1 width at full resolution
            // after the upsample, its im2col in F16 with its input and output in F32.
            let conv = 2 * 9 * c1 * h * w + f32s(c1 * h * w) + f32s(c0.max(c1) * h * w);
            // The mid-block's single-head attention over every latent position.
            let n = lat.h * lat.w;
            let cm = v.ch * v.ch_mult[v.ch_mult.len() - 1];
            let attn = if fa {
                f32s(3 * cm * n)
            } else {
                f32s(n * n) + f32s(3 * cm * n)
            };
            conv.max(attn)
        }
    }
}

/// SDXL's VAE run from the checkpoint itself: sd.cpp scales every convolution by 1/32 against
/// F16 overflow (stable-diffusion.cpp `set_conv2d_scale`, unless `--vae` names a fixed VAE), one
/// more F32 copy of the widest full-resolution activation (sd.cpp logs 1920.06 MiB at 512²
/// where SD 1.5's VAE takes 1664).
fn sdxl_conv_scale_bytes(pipe: &Pipeline, p: &Part, lat: Latent) -> u64 {
    let sdxl = matches!(&pipe.denoiser().arch, PartArch::Unet(u) if u.adm_in_channels.is_some());
    match &p.arch {
        PartArch::Vae(v) if sdxl => f32s(v.ch * v.ch_mult[1] * lat.h * 8 * lat.w * 8),
        _ => 0,
    }
}

/// A transformer denoiser's peak: the joint sequence's scores (without flash attention), or its
/// MLP's hidden states, over a few hidden-wide activations.
fn dit_compute(l: u64, hidden: u64, heads: u64, mlp: u64, fa: bool) -> u64 {
    let scores = if fa { 0 } else { f32s(heads * l * l) };
    f32s(4 * hidden * l) + scores.max(f32s(mlp * l))
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
                _ => lat,
            };
            let fa = match p.role {
                PartRole::Denoiser => s.diffusion_fa || s.fa_all,
                _ => s.fa_all,
            };
            let compute = if torch {
                torch_compute_bytes(p, part_lat, batch, pipe.passes(), s.engine)
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

/// Activations a PyTorch engine allocates for one run of `part` (the denoiser at `batch` images
/// and both guidance branches, which ComfyUI batches together; a text encoder; one VAE decode).
/// ComfyUI's own reserve rules (comfy/model_base.py `memory_required`, comfy/sd.py
/// `memory_used_decode`) with SDPA, which diffusers' measured peaks agree with to within its
/// margin.
fn torch_compute_bytes(
    part: &Part,
    lat: Latent,
    batch: u64,
    passes: u64,
    engine: ImageEngine,
) -> u64 {
    let area = lat.h * lat.w;
    match part.role {
        PartRole::Denoiser => {
            // ComfyUI reserves for both guidance branches in one forward whatever the model
            // (`memory_required(batch × 2)`); diffusers batches them only where the pipeline runs
            // CFG (FLUX's guidance is distilled: one branch).
            let b = if engine == ImageEngine::ComfyUi {
                2 * batch
            } else {
                passes * batch
            };
            // area × dtype size (2) × 0.01 × factor MiB.
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let mib = (b * area) as f64 * 2.0 * 0.01 * comfy_memory_factor(&part.arch);
            (mib * f64::from(1u32 << 20)) as u64
        }
        // 2178 × h × w × 64 × dtype size (bf16).
        PartRole::Vae => 2178 * area * 64 * 2,
        PartRole::TextEncoder => sdcpp_compute_bytes(part, lat, true),
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
