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
