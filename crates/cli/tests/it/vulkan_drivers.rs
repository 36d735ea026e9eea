//! Under llama.cpp's Vulkan backend an AMD GPU's prompt speed depends on its driver
//! (crates/core/src/estimate/prompt_kernels.rs, `vulkan_amd_tiles`): since PR #18749 (taken as
//! b7700) RDNA3/4 GPUs multiply dense prompts in larger tiles, faster on Mesa's RADV, slower on
//! AMDVLK, and not at all on AMD's Windows driver (#18763). Decode never used them.

use super::{json, warning_codes};

fn strix_vulkan_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec![
        "estimate",
        "llama-3.1-8b",
        "-q",
        "Q4_K_M",
        "--gpu",
        "ryzen-ai-max-395",
        "--api",
        "vulkan",
    ];
    all.extend_from_slice(args);
    json(&all)
}

fn strix_vulkan(args: &[&str]) -> (f64, f64) {
    let v = strix_vulkan_json(args);
    let p = &v["performance"];
    (
        p["prefill_tokens_per_s"].as_f64().unwrap(),
        p["decode_tokens_per_s"].as_f64().unwrap(),
    )
}

#[test]
fn strix_halo_vulkan_prompts_follow_the_driver_and_the_build() {
    let radv = strix_vulkan(&["--vulkan-driver", "radv"]);
    let amdvlk = strix_vulkan(&["--vulkan-driver", "amdvlk"]);
    let windows = strix_vulkan(&["--vulkan-driver", "amd"]);
    let same = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b;
    // Unset on an unknown OS: RADV, the Linux default; on Windows AMD's own driver.
    assert!(same(strix_vulkan(&[]).0, radv.0));
    assert!(same(strix_vulkan(&["--os", "windows"]).0, windows.0));
    // Today: RADV fastest, AMDVLK slowest, the Windows driver on the old tiles between.
    assert!(radv.0 > windows.0 * 1.2, "{radv:?} vs {windows:?}");
    assert!(amdvlk.0 < windows.0 * 0.9, "{amdvlk:?} vs {windows:?}");
    // Before #18749 the drivers ran the same tiles, and the Windows driver still does.
    let old = |d: &str| strix_vulkan(&["--vulkan-driver", d, "--llama-cpp", "b7423"]).0;
    assert!(same(old("radv"), old("amdvlk")));
    assert!(same(old("radv"), windows.0));
    // Only an explicit AMDVLK at a build with the large tiles is warned about.
    let amdvlk_warned =
        |args: &[&str]| warning_codes(&strix_vulkan_json(args)).contains(&"amdvlk-large-tiles");
    assert!(amdvlk_warned(&["--vulkan-driver", "amdvlk"]));
    assert!(!amdvlk_warned(&[
        "--vulkan-driver",
        "amdvlk",
        "--llama-cpp",
        "b7423"
    ]));
    assert!(!amdvlk_warned(&["--vulkan-driver", "radv"]));
    // The prompt's products, not the decode's.
    assert!(same(radv.1, amdvlk.1) && same(radv.1, windows.1));
}

fn gemma4_deep_prompt(driver: &str, build: Option<&str>) -> (f64, Vec<String>) {
    let mut args = vec![
        "estimate",
        "gemma-4-26b-a4b",
        "-q",
        "Q8_0",
        "--gpu",
        "ryzen-ai-max-395",
        "--api",
        "vulkan",
        "--prompt",
        "2048",
        "--depth",
        "32768",
        "-fa",
        "on",
        "--vulkan-driver",
        driver,
    ];
    if let Some(b) = build {
        args.extend_from_slice(&["--llama-cpp", b]);
    }
    let v = json(&args);
    let codes = warning_codes(&v).into_iter().map(String::from).collect();
    (
        v["performance"]["prefill_tokens_per_s"].as_f64().unwrap(),
        codes,
    )
}

#[test]
fn amd_drivers_shared_memory_sends_wide_heads_to_the_scalar_flash_attention() {
    // Gemma 4's global blocks attend with 512-wide heads, whose coopmat1 flash attention needs
    // more than the 32 KiB of shared memory AMD's own drivers grant (RADV grants 64 KiB): kyuz0's
    // toolboxes measured its 26B-A4B Q8 `pp2048 @ d32768` on Strix Halo at 673 tok/s on RADV and
    // 99 on AMDVLK (b9187).
    let (radv, radv_codes) = gemma4_deep_prompt("radv", None);
    let (amdvlk, amdvlk_codes) = gemma4_deep_prompt("amdvlk", None);
    assert!(radv > 2.5 * amdvlk, "RADV {radv} vs AMDVLK {amdvlk}");
    let scalar = "vulkan-scalar-flash-attn".to_string();
    assert!(amdvlk_codes.contains(&scalar) && !radv_codes.contains(&scalar));
    // Llama 3.1 8B's 128-wide heads fit both drivers: no warning.
    let llama = strix_vulkan_json(&["--vulkan-driver", "amdvlk", "-fa", "on"]);
    assert!(!warning_codes(&llama).contains(&"vulkan-scalar-flash-attn"));
    // Before #19075 the shader needed more: 512-wide heads went scalar on RADV too.
    let (_, old_radv) = gemma4_deep_prompt("radv", Some("b7423"));
    assert!(old_radv.contains(&scalar));
}

/// Two GPUs holding every layer pipeline a long prompt's ubatches, but under Vulkan only from
/// #20518 (b8340), when its events first made the other GPU wait (`VULKAN_PIPELINE_BUILD`).
#[test]
fn two_gpus_pipeline_vulkan_prompts_only_once_its_events_work() {
    let prefill = |gpu: &str, api: &str, build: &str| {
        json(&[
            "estimate",
            "llama-3.1-8b",
            "-q",
            "Q4_K_M",
            "--gpu",
            gpu,
            "--api",
            api,
            "--prompt",
            "2048",
            "--llama-cpp",
            build,
        ])["performance"]["prefill_tokens_per_s"]
            .as_f64()
            .unwrap()
    };
    let two = "2x radeon-ai-pro-r9700";
    let (before, after) = (
        prefill(two, "vulkan", "b8339"),
        prefill(two, "vulkan", "b8340"),
    );
    assert!(after > before * 1.3, "{before} -> {after}");
    // HIP's events worked all along; one GPU has nothing to pipeline.
    let rocm = (prefill(two, "rocm", "b8339"), prefill(two, "rocm", "b8340"));
    assert!((rocm.0 - rocm.1).abs() <= 1e-9 * rocm.1, "{rocm:?}");
    let one = "radeon-ai-pro-r9700";
    let single = (
        prefill(one, "vulkan", "b8339"),
        prefill(one, "vulkan", "b8340"),
    );
    assert!((single.0 - single.1).abs() <= 1e-9 * single.1, "{single:?}");
}

/// BF16 weights under Vulkan on a driver without BF16 matrix cores take ggml-vulkan's FP32 scalar
/// shader (`prompt_kernels::vulkan_bf16_peak`): slower prompts, and a warning that says why.
#[test]
fn bf16_under_vulkan_warns_where_the_driver_has_no_bf16_matrix_cores() {
    let run = |gpu: &str, api: &str, driver: &str, quant: &str| {
        let v = json(&[
            "estimate",
            "ministral-3-14b",
            "-q",
            quant,
            "--gpu",
            gpu,
            "--api",
            api,
            "--vulkan-driver",
            driver,
        ]);
        let warned = warning_codes(&v).contains(&"vulkan-bf16-scalar");
        (
            v["performance"]["prefill_tokens_per_s"].as_f64().unwrap(),
            warned,
        )
    };
    let strix = "ryzen-ai-max-395";
    let (vulkan, warned) = run(strix, "vulkan", "radv", "BF16");
    assert!(warned);
    let (rocm, rocm_warned) = run(strix, "rocm", "radv", "BF16");
    assert!(
        !rocm_warned && rocm > 2.0 * vulkan,
        "ROCm {rocm} vs Vulkan {vulkan}"
    );
    assert!(!run(strix, "vulkan", "radv", "Q8_0").1);
    // RDNA4 has BF16 matrix cores under RADV, not under AMDVLK.
    let r9700 = "radeon-ai-pro-r9700";
    let (radv, radv_warned) = run(r9700, "vulkan", "radv", "BF16");
    let (amdvlk, amdvlk_warned) = run(r9700, "vulkan", "amdvlk", "BF16");
    assert!(!radv_warned && amdvlk_warned);
    assert!(radv > amdvlk, "RADV {radv} vs AMDVLK {amdvlk}");
}
