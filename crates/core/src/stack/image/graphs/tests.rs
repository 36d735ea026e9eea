use super::*;

fn flux(double: u64, single: u64, guidance: bool) -> FluxConfig {
    FluxConfig {
        hidden: 3072,
        head_dim: 128,
        double_blocks: double,
        single_blocks: single,
        in_channels: 64,
        context_dim: 4096,
        vec_dim: 768,
        guidance_embed: guidance,
    }
}

fn sd35(depth: u64, x_attn2_blocks: u64, pos_embed_max: u64) -> MmditConfig {
    MmditConfig {
        depth,
        x_attn2_blocks,
        pos_embed_max,
        in_channels: 16,
        context_dim: 4096,
        pooled_dim: 2048,
    }
}

/// sd-cli's own numbers (crates/core/tests/data/sd-cli-dit-compute.csv): every run, to the byte.
#[test]
fn replay_matches_sd_cli_to_the_byte() {
    let csv = include_str!("../../../../tests/data/sd-cli-dit-compute.csv");
    let mut n = 0;
    for line in csv.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (w, h): (u64, u64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        let fa = f[3] == "1";
        let want: u64 = f[4].parse().unwrap();
        let lat = |text_tokens| Latent {
            w: w.div_ceil(8),
            h: h.div_ceil(8),
            text_tokens,
        };
        let got = match f[0] {
            "flux" => flux_compute(&flux(1, 1, true), lat(256), fa),
            "flux22" => flux_compute(&flux(2, 2, true), lat(256), fa),
            "schnell" => flux_compute(&flux(1, 1, false), lat(256), fa),
            "sd35m" => mmdit_compute(&sd35(24, 13, 384), lat(154), fa),
            "sd35l" => mmdit_compute(&sd35(38, 0, 192), lat(154), fa),
            other => panic!("unknown model {other}"),
        };
        assert_eq!(got, want, "{line}: replay {got} B, sd-cli {want} B");
        n += 1;
    }
    assert_eq!(n, 38);
}

/// The truncation `flux_compute` applies: FLUX's buffer is the same at 2 + 1 blocks as at the
/// released 19 + 38, with and without flash attention, at sizes where the small-sequence layouts
/// differ (256², 264×200 and 384×256) and above.
#[test]
fn flux_depth_past_two_double_blocks_and_one_single_changes_nothing() {
    for (w, h) in [(256, 256), (264, 200), (384, 256), (512, 512), (1216, 832)] {
        let lat = Latent {
            w: w / 8,
            h: h / 8,
            text_tokens: 256,
        };
        for fa in [false, true] {
            let full =
                super::cpu_buffer_bytes(&flux::graph(&flux(19, 38, true), lat.w, lat.h, 256, fa));
            assert_eq!(
                flux_compute(&flux(19, 38, true), lat, fa),
                full,
                "{w}x{h} fa={fa}"
            );
        }
    }
}

/// T5-XXL in sd-cli 0.4.7 (validation/sd_check.py's `flux-t5q8-256` and `sd35m-t5q8-256`, Q8_0
/// weights; the buffer does not depend on them): 68.25 MiB for FLUX's 256-token chunk and 11.94
/// for SD 3.5's 77, as logged (two decimals). The closed form this replaced said 66.00 at 256.
#[test]
fn t5_matches_sd_cli_log() {
    let c = T5Config {
        d_model: 4096,
        inner: 4096,
        d_ff: 10240,
        layers: 24,
        vocab: 32128,
        heads: 64,
    };
    for (tokens, logged) in [(256, 68.25), (77, 11.94)] {
        let mib = t5_compute(&c, tokens) as f64 / 1_048_576.0;
        assert!(
            (mib - logged).abs() < 0.005,
            "{tokens} tokens: {mib:.4} MiB, sd-cli {logged}"
        );
    }
}
