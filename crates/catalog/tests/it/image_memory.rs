//! stable-diffusion.cpp's denoiser compute buffers against sd-cli runs that were predicted before
//! they ran (none of them entered the closed forms: those were read from a replay of ggml-alloc
//! over sd.cpp's graphs; docs/research/image-engines.md).

use llmrig_catalog::image::find_image;
use llmrig_core::model::diffusion::Latent;
use llmrig_core::stack::image::sdcpp_compute_bytes;

fn compute(model: &str, w: u32, h: u32, text: u64, fa: bool) -> u64 {
    let e = find_image(model).unwrap();
    let lat = Latent {
        text_tokens: text,
        ..e.pipeline.latent(w, h)
    };
    sdcpp_compute_bytes(e.pipeline.denoiser(), lat, fa)
}

#[test]
fn unet_buffers_match_sd_cli_to_the_byte() {
    // sd-cli's exact-bytes log (a log-only patch), runs made after the prediction was written.
    let cases: [(&str, u32, u32, bool, u64); 8] = [
        ("sd-1.5", 2560, 2048, true, 2_576_456_800),
        ("sd-2.1", 2560, 2048, true, 2_576_535_648),
        ("sdxl", 2304, 2048, true, 2_319_240_288),
        ("sdxl", 2240, 2112, true, 3_393_540_704),
        ("sdxl", 2304, 2048, false, 14_308_529_248),
        // sd.cpp rounds the image up to 64 px: 500×500 runs as 512².
        ("sd-1.5", 500, 500, true, 129_047_648),
        ("sdxl", 1000, 760, false, 540_562_528),
        // The validation harness's cases (sd-cli logs 559.90 and 830.86 MiB).
        ("sd-1.5", 512, 512, false, 587_098_720),
    ];
    for (m, w, h, fa, want) in cases {
        assert_eq!(compute(m, w, h, 77, fa), want, "{m} {w}x{h} fa={fa}");
    }
    let sdxl_1024 = compute("sdxl", 1024, 1024, 77, false);
    assert!((sdxl_1024 as f64 / 1_048_576.0 - 830.86).abs() < 0.005);
}

#[test]
fn flux_buffers_match_sd_cli_above_640_tokens() {
    // sd-cli (MiB): 1024² without flash attention, 1216×832 without and with it (the last two
    // predicted before they ran).
    let mib = |b: u64| b as f64 / 1_048_576.0;
    for (w, h, fa, want) in [
        (1024, 1024, false, 2361.25),
        (1216, 832, false, 2227.98),
        (1216, 832, true, 815.19),
    ] {
        let got = mib(compute("flux.1-dev", w, h, 256, fa));
        assert!(
            (got - want).abs() < 0.006,
            "{w}x{h} fa={fa}: {got} vs {want}"
        );
    }
    // Below that the form errs high, never low: 640² with flash attention is 350.46 MiB.
    let small = mib(compute("flux.1-dev", 640, 640, 256, true));
    assert!((350.46..350.46 * 1.03).contains(&small), "{small}");
}

#[test]
fn mmdit_without_flash_attention_holds_past_1050_tokens() {
    // sd-cli: SD 3.5 Medium at 1024², 1834.11 MiB.
    let got = compute("sd-3.5-medium", 1024, 1024, 154, false) as f64 / 1_048_576.0;
    assert!((got / 1834.11 - 1.0).abs() < 0.01, "{got}");
}
