//! Image-generation models: the parts of a diffusion pipeline (the denoiser — a UNet or a
//! transformer —, its text encoders and the VAE) as tensor inventories built from their published
//! configurations, and the multiply-accumulates of one forward pass at a latent size.
//!
//! Tensor names and shapes follow the original checkpoints' layouts (CompVis `ldm` for the UNets
//! and VAEs, Black Forest Labs' `flux`, Stability's `sd3` MMDiT, Hugging Face `transformers` for
//! CLIP and T5), which is what stable-diffusion.cpp, ComfyUI and the GGUF conversions of them load.
//! Shapes are PyTorch's (out, in, kh, kw); a weight's row, the dimension ggml quantizes in blocks,
//! is the last one. Each generator is checked against the published parameter counts in tests.

use serde::Serialize;

/// One weight of a pipeline part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffTensor {
    /// Name in the original checkpoint, without the part's prefix.
    pub name: String,
    /// PyTorch shape; the last dimension is the row ggml quantizes.
    pub shape: Vec<u64>,
}

impl DiffTensor {
    /// Number of elements.
    #[must_use]
    pub fn n_elements(&self) -> u64 {
        self.shape.iter().product()
    }
}

/// A latent UNet (CompVis `ldm.modules.diffusionmodules.openaimodel.UNetModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnetConfig {
    /// Latent channels in and out (4).
    pub in_channels: u64,
    /// Width of the first level (320).
    pub model_channels: u64,
    /// Width of each level as a multiple of `model_channels` (`[1, 2, 4, 4]`; SDXL `[1, 2, 4]`).
    pub channel_mult: Vec<u64>,
    /// Residual blocks per level going down (one more going up).
    pub num_res_blocks: u64,
    /// Transformer blocks per attention layer of each level (0: the level has no attention).
    pub transformer_depth: Vec<u64>,
    /// Transformer blocks in the middle block's attention layer.
    pub transformer_depth_middle: u64,
    /// Width of the text encoder's states the cross-attention reads (768, 1024, 2048).
    pub context_dim: u64,
    /// Width of the extra conditioning vector (SDXL's 2816 of pooled text and size embeddings).
    pub adm_in_channels: Option<u64>,
    /// Whether the transformers' `proj_in`/`proj_out` are linear layers (SD 2 and XL) rather than
    /// 1×1 convolutions (SD 1), whose rows of one element ggml cannot quantize.
    pub linear_proj: bool,
}

/// A Flux transformer (Black Forest Labs `flux.model.Flux`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FluxConfig {
    /// Width (3072).
    pub hidden: u64,
    /// Attention head width (128).
    pub head_dim: u64,
    /// Blocks with separate image and text weights (19).
    pub double_blocks: u64,
    /// Blocks over the joint sequence (38).
    pub single_blocks: u64,
    /// Patchified latent channels in (16 × 2 × 2 = 64).
    pub in_channels: u64,
    /// Width of the T5 states (4096).
    pub context_dim: u64,
    /// Width of the pooled CLIP vector (768).
    pub vec_dim: u64,
    /// FLUX.1 dev's distilled guidance embedding (schnell has none).
    pub guidance_embed: bool,
}

/// Stable Diffusion 3's MMDiT (Stability `sd3.mmditx.MMDiTX`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MmditConfig {
    /// Joint blocks; the width is 64 × depth (SD3.5 Large 38 → 2432, Medium 24 → 1536).
    pub depth: u64,
    /// Blocks (from the first) whose image stream has a second self-attention (MMDiT-X, SD3.5
    /// Medium: 13).
    pub x_attn2_blocks: u64,
    /// Side of the learned position table in patches (192; SD3.5 Medium 384).
    pub pos_embed_max: u64,
    /// Latent channels (16).
    pub in_channels: u64,
    /// Width of the T5/CLIP context (4096).
    pub context_dim: u64,
    /// Width of the pooled CLIP-L + CLIP-G vector (2048).
    pub pooled_dim: u64,
}

/// Qwen-Image's transformer (diffusers `QwenImageTransformer2DModel`): a double-stream MMDiT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QwenImageConfig {
    /// Blocks (60).
    pub layers: u64,
    /// Width (24 heads × 128).
    pub hidden: u64,
    /// Head width (128).
    pub head_dim: u64,
    /// Patchified latent channels in (16 × 2 × 2 = 64).
    pub in_channels: u64,
    /// Width of the Qwen2.5-VL states (3584).
    pub context_dim: u64,
}

/// A CLIP text transformer (`transformers` `CLIPTextModel`, with the projection for OpenCLIP bigG).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClipTextConfig {
    /// Width (768 CLIP-L, 1024 OpenCLIP ViT-H, 1280 bigG).
    pub hidden: u64,
    /// Blocks (12, 24, 32).
    pub layers: u64,
    /// MLP width (4 × hidden).
    pub ff: u64,
    /// Tokens (49408).
    pub vocab: u64,
    /// Positions (77).
    pub positions: u64,
    /// Whether the checkpoint carries the pooled output's projection (bigG).
    pub projection: bool,
}

/// A T5 v1.1 encoder (`transformers` `T5EncoderModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct T5Config {
    /// Width (4096 for XXL).
    pub d_model: u64,
    /// Attention width, heads × 64 (4096).
    pub inner: u64,
    /// Gated-GELU width (10240).
    pub d_ff: u64,
    /// Blocks (24).
    pub layers: u64,
    /// Tokens (32128).
    pub vocab: u64,
    /// Heads (64): the relative position bias has one column per head.
    pub heads: u64,
}

/// A convolutional VAE (`ldm.models.autoencoder.AutoencoderKL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VaeConfig {
    /// Latent channels (4; 16 for SD3 and Flux).
    pub z_channels: u64,
    /// Width of the full-resolution level (128).
    pub ch: u64,
    /// Level widths as multiples of `ch` (`[1, 2, 4, 4]`).
    pub ch_mult: Vec<u64>,
    /// Residual blocks per encoder level (one more per decoder level).
    pub num_res_blocks: u64,
    /// Whether the checkpoint has the 1×1 `quant_conv`/`post_quant_conv` (SD 1/2/XL yes; SD3 and
    /// Flux no).
    pub quant_conv: bool,
}

/// What a part of the pipeline is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartArch {
    Unet(UnetConfig),
    Flux(FluxConfig),
    Mmdit(MmditConfig),
    QwenImage(QwenImageConfig),
    ClipText(ClipTextConfig),
    T5(T5Config),
    /// A decoder-only LLM used as a text encoder (Qwen-Image's Qwen2.5-VL 7B): its tensors come
    /// from the text model's inventory, handed over as (name, shape) pairs.
    Llm {
        /// Catalog id of the text model.
        model: String,
        /// Width of its states.
        hidden: u64,
        /// Its blocks.
        layers: u64,
        /// Parameters.
        params: u64,
    },
    Vae(VaeConfig),
}

/// Multiply-accumulates of one forward pass, split where the engines' speed differs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Macs {
    /// Convolutions and matrix products with weights.
    pub weights: f64,
    /// Attention's two products (QKᵀ and AV), which have no weights.
    pub attention: f64,
}

impl Macs {
    /// Both.
    #[must_use]
    pub fn total(&self) -> f64 {
        self.weights + self.attention
    }
}

/// The latent the denoiser sees: `h × w` positions of the image / 8, and the text tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latent {
    /// Latent rows (image height / 8).
    pub h: u64,
    /// Latent columns (image width / 8).
    pub w: u64,
    /// Text tokens the denoiser attends to (77 for CLIP; 256 or 512 for T5).
    pub text_tokens: u64,
}

#[derive(Default)]
struct B {
    t: Vec<DiffTensor>,
    m: Macs,
}

impl B {
    fn w(&mut self, name: String, shape: &[u64]) {
        self.t.push(DiffTensor {
            name,
            shape: shape.to_vec(),
        });
    }
    /// A linear layer applied at `n` positions.
    #[allow(clippy::cast_precision_loss)]
    fn linear(&mut self, name: &str, out: u64, inp: u64, bias: bool, n: u64) {
        self.w(format!("{name}.weight"), &[out, inp]);
        if bias {
            self.w(format!("{name}.bias"), &[out]);
        }
        self.m.weights += (out * inp * n) as f64;
    }
    /// A `k × k` convolution producing `n` output positions.
    #[allow(clippy::cast_precision_loss)]
    fn conv(&mut self, name: &str, out: u64, inp: u64, k: u64, n: u64) {
        self.w(format!("{name}.weight"), &[out, inp, k, k]);
        self.w(format!("{name}.bias"), &[out]);
        self.m.weights += (out * inp * k * k * n) as f64;
    }
    fn norm(&mut self, name: &str, ch: u64, bias: bool) {
        self.w(format!("{name}.weight"), &[ch]);
        if bias {
            self.w(format!("{name}.bias"), &[ch]);
        }
    }
    /// Attention of `q` queries over `kv` keys at width `d`.
    #[allow(clippy::cast_precision_loss)]
    fn attention(&mut self, q: u64, kv: u64, d: u64) {
        self.m.attention += 2.0 * (q * kv * d) as f64;
    }
}

impl PartArch {
    fn build(&self, lat: Latent) -> B {
        match self {
            PartArch::Unet(c) => c.build(lat),
            PartArch::Flux(c) => c.build(lat),
            PartArch::Mmdit(c) => c.build(lat),
            PartArch::QwenImage(c) => c.build(lat),
            PartArch::ClipText(c) => c.build(c.positions.min(lat.text_tokens.max(1))),
            PartArch::T5(c) => c.build(lat.text_tokens),
            PartArch::Vae(c) => c.build(lat),
            PartArch::Llm { params, .. } => {
                // A decoder LLM reads its weights once per token of the prompt.
                #[allow(clippy::cast_precision_loss)]
                let m = Macs {
                    weights: (*params * lat.text_tokens) as f64,
                    attention: 0.0,
                };
                B { t: Vec::new(), m }
            }
        }
    }

    /// The part's weights (empty for [`PartArch::Llm`], whose tensors the caller has).
    #[must_use]
    pub fn tensors(&self) -> Vec<DiffTensor> {
        self.build(Latent {
            h: 8,
            w: 8,
            text_tokens: 1,
        })
        .t
    }

    /// Parameters.
    #[must_use]
    pub fn params(&self) -> u64 {
        match self {
            PartArch::Llm { params, .. } => *params,
            _ => self.tensors().iter().map(DiffTensor::n_elements).sum(),
        }
    }

    /// Multiply-accumulates of one forward pass over `lat` (the denoiser: one step for one image
    /// and one guidance branch; a text encoder: one prompt; the VAE: one decode).
    #[must_use]
    pub fn macs(&self, lat: Latent) -> Macs {
        self.build(lat).m
    }

    /// Whether this is the denoiser (UNet or transformer).
    #[must_use]
    pub fn is_denoiser(&self) -> bool {
        matches!(
            self,
            PartArch::Unet(_) | PartArch::Flux(_) | PartArch::Mmdit(_) | PartArch::QwenImage(_)
        )
    }
}

/// What a part does in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartRole {
    /// The UNet or transformer that runs every step.
    Denoiser,
    /// A text encoder, run once per prompt.
    TextEncoder,
    /// The VAE, whose decoder turns the final latent into pixels once per image.
    Vae,
}

impl PartRole {
    /// The role's name in the JSON `components` (`unet`/`dit` for the denoiser).
    #[must_use]
    pub fn json_name(self, arch: &PartArch) -> &'static str {
        match self {
            PartRole::Denoiser if matches!(arch, PartArch::Unet(_)) => "unet",
            PartRole::Denoiser => "dit",
            PartRole::TextEncoder => "text-encoder",
            PartRole::Vae => "vae",
        }
    }
}

/// How weights are stored: a ggml type (F32, F16, BF16 or a GGUF quant) or FP8 (E4M3FN
/// safetensors, which the PyTorch engines keep as one byte per weight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WeightFormat {
    Ggml(crate::quant::GgmlType),
    Fp8,
}

impl WeightFormat {
    /// The name users write (`f16`, `bf16`, `fp8`, `q8_0`, `q4_k`).
    #[must_use]
    pub fn name(self) -> String {
        match self {
            WeightFormat::Ggml(t) => t.name().to_ascii_lowercase(),
            WeightFormat::Fp8 => "fp8".into(),
        }
    }

    /// Parses a name (`fp16` and `f16` alike; `fp8`, `fp8_e4m3fn`; any ggml type; `Q4_K_M`-style
    /// llama.cpp file-type names give their main type, which is what a diffusion GGUF holds).
    #[must_use]
    pub fn parse(s: &str) -> Option<WeightFormat> {
        use crate::quant::GgmlType as G;
        let l = s.trim().to_ascii_lowercase();
        Some(match l.as_str() {
            "fp16" | "f16" | "float16" => WeightFormat::Ggml(G::F16),
            "bf16" | "bfloat16" => WeightFormat::Ggml(G::BF16),
            "fp32" | "f32" | "float32" => WeightFormat::Ggml(G::F32),
            "fp8" | "fp8_e4m3fn" | "fp8_e4m3" | "f8_e4m3" | "e4m3fn" | "fp8_e5m2" => {
                WeightFormat::Fp8
            }
            "q4_k_m" | "q4_k_s" => WeightFormat::Ggml(G::Q4_K),
            "q5_k_m" | "q5_k_s" => WeightFormat::Ggml(G::Q5_K),
            "q3_k_m" | "q3_k_s" | "q3_k_l" => WeightFormat::Ggml(G::Q3_K),
            "q2_k_s" => WeightFormat::Ggml(G::Q2_K),
            _ => WeightFormat::Ggml(G::from_name(&l)?),
        })
    }
}

/// One part of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// What it does.
    pub role: PartRole,
    /// Its usual name (`unet`, `flux`, `clip-l`, `t5xxl`, `vae`).
    pub name: String,
    /// Its architecture.
    pub arch: PartArch,
    /// The format its usual file holds (`t5xxl_fp16.safetensors`: F16).
    pub format: WeightFormat,
}

/// Whether a step runs the denoiser once or twice (classifier-free guidance: a conditional and
/// an unconditional pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guidance {
    /// Two passes per step (SD 1.5/2.1/XL/3.5, Qwen-Image at CFG > 1).
    Cfg,
    /// One pass per step: guidance distilled into the model (FLUX.1 dev, schnell).
    Distilled,
}

/// An image-generation model: its parts and the defaults its makers publish.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    /// The parts, denoiser first.
    pub parts: Vec<Part>,
    /// Sampling steps the model card recommends.
    pub steps: u32,
    /// Native resolution.
    pub width: u32,
    /// Native resolution.
    pub height: u32,
    /// Passes per step.
    pub guidance: Guidance,
    /// Text tokens the denoiser attends to.
    pub text_tokens: u64,
    /// Latent channels (4 for SD 1/2/XL, 16 for SD3, Flux and Qwen-Image).
    pub latent_channels: u64,
}

impl Pipeline {
    /// The denoiser.
    ///
    /// # Panics
    /// A pipeline without one (the catalog's all have one).
    #[must_use]
    pub fn denoiser(&self) -> &Part {
        self.parts
            .iter()
            .find(|p| p.role == PartRole::Denoiser)
            .expect("a pipeline has a denoiser")
    }

    /// The latent of a `width × height` image (the VAE downsamples 8×).
    #[must_use]
    pub fn latent(&self, width: u32, height: u32) -> Latent {
        Latent {
            h: u64::from(height).div_ceil(8),
            w: u64::from(width).div_ceil(8),
            text_tokens: self.text_tokens,
        }
    }

    /// Passes of the denoiser per step.
    #[must_use]
    pub fn passes(&self) -> u64 {
        match self.guidance {
            Guidance::Cfg => 2,
            Guidance::Distilled => 1,
        }
    }

    /// Parameters of all parts.
    #[must_use]
    pub fn params(&self) -> u64 {
        self.parts.iter().map(|p| p.arch.params()).sum()
    }
}

mod build;
#[cfg(test)]
mod tests;
