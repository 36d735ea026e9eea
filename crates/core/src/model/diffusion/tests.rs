//! Parameter counts and work of the parts against their published figures.

use super::*;

fn sd15_unet() -> PartArch {
    PartArch::Unet(UnetConfig {
        in_channels: 4,
        model_channels: 320,
        channel_mult: vec![1, 2, 4, 4],
        num_res_blocks: 2,
        transformer_depth: vec![1, 1, 1, 0],
        transformer_depth_middle: 1,
        context_dim: 768,
        adm_in_channels: None,
        linear_proj: false,
    })
}

#[test]
fn sdxl_and_flux_have_their_published_sizes() {
    let sdxl = PartArch::Unet(UnetConfig {
        in_channels: 4,
        model_channels: 320,
        channel_mult: vec![1, 2, 4],
        num_res_blocks: 2,
        transformer_depth: vec![0, 2, 10],
        transformer_depth_middle: 10,
        context_dim: 2048,
        adm_in_channels: Some(2816),
        linear_proj: true,
    });
    let flux = PartArch::Flux(FluxConfig {
        hidden: 3072,
        head_dim: 128,
        double_blocks: 19,
        single_blocks: 38,
        in_channels: 64,
        context_dim: 4096,
        vec_dim: 768,
        guidance_embed: true,
    });
    assert_eq!(sdxl.params(), 2_567_463_684);
    // black-forest-labs/FLUX.1-dev: 11,901,408,320 parameters (flux1-dev.safetensors, BF16,
    // 23.8 GB).
    assert_eq!(flux.params(), 11_901_408_320);
    // One SDXL UNet pass at 1024² is about 3.4 T multiply-adds; FLUX's at 1024² with T5's 512
    // tokens about 37 T (2 × params × tokens for the blocks' matrices, attention on top).
    let big = Latent {
        h: 128,
        w: 128,
        text_tokens: 512,
    };
    let m = flux.macs(big);
    assert!(m.weights > 29e12 && m.weights < 31e12, "{m:?}");
    let clip = Latent {
        text_tokens: 77,
        ..big
    };
    let x = sdxl.macs(clip).weights;
    assert!(x > 2.9e12 && x < 3.1e12, "{x}");
}

#[test]
fn sd15_parts_have_their_published_sizes() {
    // diffusers' UNet2DConditionModel for runwayml/stable-diffusion-v1-5 counts 859,520,964
    // parameters; CLIPTextModel (openai/clip-vit-large-patch14) 123,060,480; AutoencoderKL
    // 83,653,863.
    assert_eq!(sd15_unet().params(), 859_520_964);
    let clip_l = PartArch::ClipText(ClipTextConfig {
        hidden: 768,
        layers: 12,
        ff: 3072,
        vocab: 49408,
        positions: 77,
        projection: false,
    });
    assert_eq!(clip_l.params(), 123_060_480);
    let vae = PartArch::Vae(VaeConfig {
        z_channels: 4,
        ch: 128,
        ch_mult: vec![1, 2, 4, 4],
        num_res_blocks: 2,
        quant_conv: true,
    });
    assert_eq!(vae.params(), 83_653_863);
}

#[test]
fn t5_xxl_encoder_has_its_published_size() {
    let t5 = PartArch::T5(T5Config {
        d_model: 4096,
        inner: 4096,
        d_ff: 10240,
        layers: 24,
        vocab: 32128,
        heads: 64,
    });
    // google/t5-v1_1-xxl's encoder: 4,762,310,656 parameters (T5EncoderModel).
    assert_eq!(t5.params(), 4_762_310_656);
}

#[test]
fn unet_work_grows_with_the_latent() {
    let u = sd15_unet();
    let small = u.macs(Latent {
        h: 64,
        w: 64,
        text_tokens: 77,
    });
    let big = u.macs(Latent {
        h: 128,
        w: 128,
        text_tokens: 77,
    });
    assert!(big.weights > 3.9 * small.weights && big.weights < 4.1 * small.weights);
    assert!(big.attention > 10.0 * small.attention);
}
