//! Image-generation models: each pipeline's parts with the configurations their published
//! `config.json` files give (copies with sources in docs/research/image-model-facts.csv), the file
//! formats people download (`v1-5-pruned-emaonly` in F16 through ComfyUI, `t5xxl_fp16`, FLUX in
//! BF16) and the makers' default steps, size and guidance.

use llmrig_core::model::diffusion::{
    ClipTextConfig, FluxConfig, Guidance, MmditConfig, Part, PartArch, PartRole, Pipeline,
    QwenImageConfig, T5Config, UnetConfig, VaeConfig, WeightFormat,
};
use llmrig_core::quant::GgmlType;

/// WISE overall scores (0–1, world-knowledge prompts judged by GPT-4o-2024-05-13; one table, so
/// comparable with each other), PKU-YuanGroup/WISE@eb51174 WISE_legacy/README.md (2026-04): the
/// one published table that scores every model of this catalog. Its SDXL row is SD-XL base 0.9.
/// Qwen-Image is listed among the unified multimodal models there.
const WISE: [(&str, f64); 8] = [
    ("qwen-image", 0.62),
    ("flux.1-dev", 0.50),
    ("sd-3.5-large", 0.46),
    ("sd-3.5-medium", 0.45),
    ("sdxl", 0.43),
    ("flux.1-schnell", 0.40),
    ("sd-1.5", 0.32),
    ("sd-2.1", 0.32),
];

/// The source of [`image_quality`], as recommendations print it.
pub const IMAGE_QUALITY_SOURCE: &str =
    "WISE overall (GPT-4o judge), PKU-YuanGroup/WISE@eb51174 WISE_legacy/README.md";

/// A model's WISE overall score, if published.
#[must_use]
pub fn image_quality(id: &str) -> Option<f64> {
    WISE.iter().find(|(m, _)| *m == id).map(|&(_, v)| v)
}

/// An image model in the catalog.
#[derive(Debug, Clone)]
pub struct ImageEntry {
    /// Catalog id (`flux.1-dev`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Other names people use.
    pub aliases: &'static [&'static str],
    /// Its parts and defaults.
    pub pipeline: Pipeline,
    /// The files a user downloads for it (shown in notes and launch lines).
    pub files: &'static str,
}

const F16: WeightFormat = WeightFormat::Ggml(GgmlType::F16);
const BF16: WeightFormat = WeightFormat::Ggml(GgmlType::BF16);

fn part(role: PartRole, name: &str, arch: PartArch, format: WeightFormat) -> Part {
    Part {
        role,
        name: name.to_string(),
        arch,
        format,
    }
}

/// openai/clip-vit-large-patch14's text model (SD 1.x, SDXL, SD3, Flux).
fn clip_l() -> Part {
    part(
        PartRole::TextEncoder,
        "clip-l",
        PartArch::ClipText(ClipTextConfig {
            hidden: 768,
            layers: 12,
            ff: 3072,
            vocab: 49408,
            positions: 77,
            projection: false,
        }),
        F16,
    )
}

/// OpenCLIP ViT-bigG/14's text model with its projection (SDXL's and SD3's `clip_g`).
fn clip_g() -> Part {
    part(
        PartRole::TextEncoder,
        "clip-g",
        PartArch::ClipText(ClipTextConfig {
            hidden: 1280,
            layers: 32,
            ff: 5120,
            vocab: 49408,
            positions: 77,
            projection: true,
        }),
        F16,
    )
}

/// google/t5-v1_1-xxl's encoder (`t5xxl_fp16.safetensors`).
fn t5xxl() -> Part {
    part(
        PartRole::TextEncoder,
        "t5xxl",
        PartArch::T5(T5Config {
            d_model: 4096,
            inner: 4096,
            d_ff: 10240,
            layers: 24,
            vocab: 32128,
            heads: 64,
        }),
        F16,
    )
}

/// The KL VAE with `z` latent channels (SD 1/2/XL: 4 with the 1×1 quant convs; SD3 and Flux: 16
/// without).
fn vae(z: u64, format: WeightFormat) -> Part {
    part(
        PartRole::Vae,
        "vae",
        PartArch::Vae(VaeConfig {
            z_channels: z,
            ch: 128,
            ch_mult: vec![1, 2, 4, 4],
            num_res_blocks: 2,
            quant_conv: z == 4,
        }),
        format,
    )
}

fn sd_unet(context_dim: u64, linear_proj: bool) -> Part {
    part(
        PartRole::Denoiser,
        "unet",
        PartArch::Unet(UnetConfig {
            in_channels: 4,
            model_channels: 320,
            channel_mult: vec![1, 2, 4, 4],
            num_res_blocks: 2,
            transformer_depth: vec![1, 1, 1, 0],
            transformer_depth_middle: 1,
            context_dim,
            adm_in_channels: None,
            linear_proj,
        }),
        F16,
    )
}

fn flux(guidance_embed: bool) -> Part {
    part(
        PartRole::Denoiser,
        "flux",
        PartArch::Flux(FluxConfig {
            hidden: 3072,
            head_dim: 128,
            double_blocks: 19,
            single_blocks: 38,
            in_channels: 64,
            context_dim: 4096,
            vec_dim: 768,
            guidance_embed,
        }),
        BF16,
    )
}

fn sd35(depth: u64, x_attn2_blocks: u64, pos_embed_max: u64) -> Part {
    part(
        PartRole::Denoiser,
        "mmdit",
        PartArch::Mmdit(MmditConfig {
            depth,
            x_attn2_blocks,
            pos_embed_max,
            in_channels: 16,
            context_dim: 4096,
            pooled_dim: 2048,
        }),
        F16,
    )
}

/// Qwen-Image's text encoder: Qwen2.5-VL 7B as ComfyUI's and sd.cpp's `qwen_2.5_vl_7b` files
/// hold it, the text model with its vision tower (the catalog's text model and projector).
fn qwen25vl_7b() -> PartArch {
    let spec = &crate::models()
        .find("qwen2.5-vl-7b")
        .expect("qwen2.5-vl-7b is in the catalog")
        .spec;
    let text: u64 = llmrig_core::model::tensor_inventory(spec)
        .iter()
        .map(llmrig_core::model::TensorInfo::n_elements)
        .sum();
    let vision = crate::projectors::projector_for(spec).map_or(0, |p| p.params());
    PartArch::Llm {
        model: spec.id.clone(),
        hidden: spec.n_embd,
        layers: u64::from(spec.n_layer),
        params: text + vision,
    }
}

/// Every image model in the catalog.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn image_models() -> Vec<ImageEntry> {
    vec![
        ImageEntry {
            id: "sd-1.5",
            name: "Stable Diffusion 1.5",
            aliases: &[
                "sd15",
                "sd1.5",
                "stable-diffusion-v1-5",
                "v1-5-pruned-emaonly",
                "sd-v1-5",
            ],
            // runwayml/stable-diffusion-v1-5 (unet/text_encoder/vae config.json); 25 steps at
            // CFG 7.5 in the diffusers pipeline's defaults is 50, the common UIs' 20-30.
            pipeline: Pipeline {
                parts: vec![sd_unet(768, false), clip_l(), vae(4, F16)],
                steps: 20,
                width: 512,
                height: 512,
                guidance: Guidance::Cfg,
                text_tokens: 77,
                latent_channels: 4,
            },
            files: "v1-5-pruned-emaonly.safetensors (UNet, CLIP-L and VAE in one file)",
        },
        ImageEntry {
            id: "sd-2.1",
            name: "Stable Diffusion 2.1",
            aliases: &[
                "sd21",
                "sd2.1",
                "stable-diffusion-2-1",
                "v2-1_768-ema-pruned",
            ],
            pipeline: Pipeline {
                parts: vec![
                    sd_unet(1024, true),
                    // OpenCLIP ViT-H/14's text model: 24 × 1024 (SD 2.x text_encoder config).
                    part(
                        PartRole::TextEncoder,
                        "clip-h",
                        PartArch::ClipText(ClipTextConfig {
                            hidden: 1024,
                            layers: 24,
                            ff: 4096,
                            vocab: 49408,
                            positions: 77,
                            projection: false,
                        }),
                        F16,
                    ),
                    vae(4, F16),
                ],
                steps: 20,
                width: 768,
                height: 768,
                guidance: Guidance::Cfg,
                text_tokens: 77,
                latent_channels: 4,
            },
            files: "v2-1_768-ema-pruned.safetensors",
        },
        ImageEntry {
            id: "sdxl",
            name: "Stable Diffusion XL 1.0",
            aliases: &[
                "sdxl-base-1.0",
                "sd-xl",
                "stable-diffusion-xl-base-1.0",
                "sd_xl_base_1.0",
            ],
            pipeline: Pipeline {
                parts: vec![
                    part(
                        PartRole::Denoiser,
                        "unet",
                        PartArch::Unet(UnetConfig {
                            in_channels: 4,
                            model_channels: 320,
                            channel_mult: vec![1, 2, 4],
                            num_res_blocks: 2,
                            transformer_depth: vec![0, 2, 10],
                            transformer_depth_middle: 10,
                            context_dim: 2048,
                            adm_in_channels: Some(2816),
                            linear_proj: true,
                        }),
                        F16,
                    ),
                    clip_l(),
                    clip_g(),
                    vae(4, F16),
                ],
                steps: 30,
                width: 1024,
                height: 1024,
                guidance: Guidance::Cfg,
                text_tokens: 77,
                latent_channels: 4,
            },
            files: "sd_xl_base_1.0.safetensors (UNet, CLIP-L, CLIP-G and VAE in one file)",
        },
        ImageEntry {
            id: "sd-3.5-medium",
            name: "Stable Diffusion 3.5 Medium",
            aliases: &["sd3.5-medium", "sd35-medium", "stable-diffusion-3.5-medium"],
            pipeline: Pipeline {
                parts: vec![sd35(24, 13, 384), clip_l(), clip_g(), t5xxl(), vae(16, F16)],
                steps: 40,
                width: 1024,
                height: 1024,
                guidance: Guidance::Cfg,
                // CLIP's 77 tokens and T5's 256 (SD3's max_sequence_length default) side by side.
                text_tokens: 333,
                latent_channels: 16,
            },
            files: "sd3.5_medium.safetensors, clip_l, clip_g, t5xxl_fp16 (text_encoders/)",
        },
        ImageEntry {
            id: "sd-3.5-large",
            name: "Stable Diffusion 3.5 Large",
            aliases: &["sd3.5-large", "sd35-large", "stable-diffusion-3.5-large"],
            pipeline: Pipeline {
                parts: vec![sd35(38, 0, 192), clip_l(), clip_g(), t5xxl(), vae(16, F16)],
                steps: 28,
                width: 1024,
                height: 1024,
                guidance: Guidance::Cfg,
                text_tokens: 333,
                latent_channels: 16,
            },
            files: "sd3.5_large.safetensors, clip_l, clip_g, t5xxl_fp16 (text_encoders/)",
        },
        ImageEntry {
            id: "flux.1-dev",
            name: "FLUX.1 [dev]",
            aliases: &["flux-dev", "flux1-dev", "flux.1 dev", "FLUX.1-dev"],
            pipeline: Pipeline {
                parts: vec![flux(true), clip_l(), t5xxl(), vae(16, BF16)],
                steps: 20,
                width: 1024,
                height: 1024,
                guidance: Guidance::Distilled,
                // T5's 512 tokens (FluxPipeline max_sequence_length).
                text_tokens: 512,
                latent_channels: 16,
            },
            files: "flux1-dev.safetensors (or a GGUF), clip_l, t5xxl_fp16, ae.safetensors",
        },
        ImageEntry {
            id: "flux.1-schnell",
            name: "FLUX.1 [schnell]",
            aliases: &["flux-schnell", "flux1-schnell", "FLUX.1-schnell"],
            pipeline: Pipeline {
                parts: vec![flux(false), clip_l(), t5xxl(), vae(16, BF16)],
                steps: 4,
                width: 1024,
                height: 1024,
                guidance: Guidance::Distilled,
                // FLUX.1 schnell's pipeline caps T5 at 256 tokens.
                text_tokens: 256,
                latent_channels: 16,
            },
            files: "flux1-schnell.safetensors (or a GGUF), clip_l, t5xxl_fp16, ae.safetensors",
        },
        ImageEntry {
            id: "qwen-image",
            name: "Qwen-Image",
            aliases: &["qwen-image-2509", "Qwen/Qwen-Image", "qwen_image"],
            pipeline: Pipeline {
                parts: vec![
                    part(
                        PartRole::Denoiser,
                        "qwen-image",
                        PartArch::QwenImage(QwenImageConfig {
                            layers: 60,
                            hidden: 3072,
                            head_dim: 128,
                            in_channels: 64,
                            context_dim: 3584,
                        }),
                        BF16,
                    ),
                    part(PartRole::TextEncoder, "qwen2.5-vl-7b", qwen25vl_7b(), BF16),
                    // Wan 2.1's causal 3-D VAE, which Qwen-Image decodes with; sized as the 2-D
                    // KL VAE of 16 channels it generalises (its 127 M parameters are close).
                    vae(16, BF16),
                ],
                steps: 50,
                width: 1328,
                height: 1328,
                guidance: Guidance::Cfg,
                text_tokens: 256,
                latent_channels: 16,
            },
            files: "qwen_image_bf16.safetensors (or a GGUF), qwen_2.5_vl_7b, qwen_image_vae",
        },
    ]
}

/// The catalog image model `name` names (id or alias, any case, `_`/` ` as `-`).
#[must_use]
pub fn find_image(name: &str) -> Option<ImageEntry> {
    let norm = |s: &str| {
        s.trim()
            .to_ascii_lowercase()
            .replace(['_', ' '], "-")
            .trim_end_matches(".safetensors")
            .to_string()
    };
    let n = norm(name);
    image_models()
        .into_iter()
        .find(|e| norm(e.id) == n || e.aliases.iter().any(|a| norm(a) == n))
}

/// A published image-generation speed, one row of `data/calibration/image-speed.csv` (curated
/// from docs/research/image-speed.csv: CUDA and ROCm GPUs in the device catalog, 16-bit or
/// FP8-weight runs without torch.compile; each row names its source).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ImageSpeedRow {
    /// Row of docs/research/image-speed.csv.
    pub row: u32,
    /// Catalog image model.
    pub model: String,
    /// `torch` (diffusers, ComfyUI, A1111/Forge, SD.Next) or `sd.cpp`.
    pub engine: String,
    /// Catalog device.
    pub device: String,
    /// Image size.
    pub width: u32,
    /// Image size.
    pub height: u32,
    /// Images per forward.
    pub batch: u32,
    /// Steps of the run.
    pub steps: u32,
    /// Denoiser passes per step (2 with CFG).
    pub cfg_passes: u32,
    /// `steps_per_s` (the sampler's progress bar), `images_steps_per_s` (steps × batch over the
    /// whole run's wall time, text encoding and VAE included: the vladmandic/sd-data benchmark)
    /// or `seconds_per_image`.
    pub metric: String,
    /// The published number.
    pub value: f64,
    /// `CUDA`, `ROCm/ZLUDA`, ….
    pub backend: String,
    /// Weight format as published.
    pub precision: String,
    /// Where it was published.
    pub source: String,
}

/// The curated published speeds.
///
/// # Panics
/// If the embedded file does not parse (a test checks it).
#[must_use]
pub fn image_speed_rows() -> Vec<ImageSpeedRow> {
    let text = include_str!("../data/calibration/image-speed.csv");
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .map(|r| r.expect("image-speed.csv parses"))
        .collect()
}

/// llmrig's prediction of `r`'s published number with `params`.
///
/// # Panics
/// A row naming a model or device not in the catalogs (a test checks them all).
#[must_use]
pub fn predict_image_speed(
    r: &ImageSpeedRow,
    params: &llmrig_core::stack::image::ImageSpeedParams,
) -> f64 {
    use llmrig_core::stack::image::{estimate_image, ImageEngine, ImageSettings, Offload};
    use llmrig_core::system::{CpuSpec, SystemSpec};
    let e = find_image(&r.model).expect("catalog image model");
    let dev = crate::devices().find(&r.device).expect("catalog device");
    let sys = SystemSpec {
        gpus: vec![dev.to_spec(Some(1 << 40), None)],
        cpu: CpuSpec {
            name: "host".into(),
            ram_bytes: 1 << 40,
            bandwidth_bytes_per_s: 5e10,
            flops: 1e12,
            cores: 8,
            ..CpuSpec::default()
        },
        ..SystemSpec::default()
    };
    let mut pipe = e.pipeline.clone();
    if r.cfg_passes == 1 {
        pipe.guidance = Guidance::Distilled;
    } else {
        pipe.guidance = Guidance::Cfg;
    }
    let s = ImageSettings {
        engine: if r.engine == "sd.cpp" {
            ImageEngine::SdCpp
        } else {
            ImageEngine::Diffusers
        },
        width: r.width,
        height: r.height,
        steps: r.steps,
        batch_count: 1,
        batch_size: r.batch,
        denoiser_format: None,
        text_encoder_format: None,
        diffusion_fa: true,
        fa_all: false,
        vae_tiling: false,
        clip_on_cpu: false,
        vae_on_cpu: false,
        offload: Offload::None,
    };
    let llm = |_f: WeightFormat| 0u64;
    let est = estimate_image(&pipe, &s, &sys, &llm, params);
    match r.metric.as_str() {
        "steps_per_s" => 1.0 / est.seconds_per_step,
        "images_steps_per_s" => f64::from(r.steps) / est.seconds_per_image,
        _ => est.seconds_per_image,
    }
}

/// Relative error of a prediction against a published number, as a positive fraction.
#[must_use]
pub fn speed_error(predicted: f64, measured: f64) -> f64 {
    (predicted / measured - 1.0).abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_find_their_models() {
        for e in image_models() {
            assert_eq!(find_image(e.id).map(|x| x.id), Some(e.id));
            for a in e.aliases {
                assert_eq!(find_image(a).map(|x| x.id), Some(e.id), "{a}");
            }
        }
        assert!(find_image("llama-3.1-8b").is_none());
    }
}
