use super::*;

fn gpu(name: &str, fp16: f64, fp32: f64, int8: f64) -> DeviceSpec {
    DeviceSpec {
        name: name.into(),
        fp16_flops: fp16 * 1e12,
        fp32_flops: fp32 * 1e12,
        int8_ops: int8 * 1e12,
        ..DeviceSpec::default()
    }
}

fn at(build: u32) -> LlamaCppVersion {
    LlamaCppVersion::Build(build)
}

/// An AMD GPU of that name under Vulkan.
fn amd_vulkan(name: &str) -> DeviceSpec {
    DeviceSpec {
        name: name.into(),
        vendor: Some(GpuVendor::Amd),
        api: GpuApi::Vulkan,
        ..DeviceSpec::default()
    }
}

#[test]
fn matrix_mmq_runs_at_most_at_twice_the_dot_product_rate() {
    let mfma = |g: &DeviceSpec, build| {
        amd_kernels(g.amd_arch().unwrap(), g, at(build), 0, 512.0, 1e14, 6e11).quant_peak
    };
    // RDNA4: INT8 WMMA at 4× the dot-product rate (2 × 47.8); MMQ at the FP16 WMMA rate.
    let r9700 = gpu("AMD Radeon AI PRO R9700", 191.4, 47.8, 382.7);
    assert_eq!(r9700.amd_arch(), Some(AmdArch::Rdna4));
    assert!((mfma(&r9700, 7423) - 191.2e12).abs() < 1e9);
    // CDNA3: INT8 MFMA at 8× the dot-product rate (2 × 163.4), capped at a quarter of it.
    let mi300 = gpu("AMD Instinct MI300X", 1307.4, 163.4, 2614.9);
    assert!((mfma(&mi300, 7423) - 653.6e12).abs() < 1e10);
    // CDNA1 and RDNA3 list INT8 matrix rates at twice their dot-product rates: uncapped.
    let mi100 = gpu("AMD Instinct MI100", 184.6, 23.1, 184.6);
    assert!((mfma(&mi100, 7423) - 184.6e12).abs() < 1e9);
    let xtx = gpu("AMD Radeon RX 7900 XTX", 122.8, 61.4, 122.8);
    assert!((mfma(&xtx, 7423) - 122.8e12).abs() < 1e9);
    // Without a listed FP32 rate there is nothing to cap with.
    let mi355 = gpu("AMD Instinct MI355X", 2500.0, 0.0, 0.0);
    assert!((mfma(&mi355, 7423) - 2500.0e12).abs() < 1e10);
}

#[test]
fn bf16_weights_follow_the_gpu_and_the_build() {
    let rate = |g: &DeviceSpec, build| {
        amd_bf16_rate(g.amd_arch().unwrap(), g, at(build), g.fp16_flops) / 1e12
    };
    let mi50 = gpu("AMD Instinct MI50", 26.5, 13.3, 53.0);
    let mi100 = gpu("AMD Instinct MI100", 184.6, 23.1, 184.6);
    let r9700 = gpu("AMD Radeon AI PRO R9700", 191.4, 47.8, 382.7);
    // Before ggml #1174: converted to F32 everywhere.
    assert!((rate(&mi100, 4966) - 23.1).abs() < 1e-9);
    assert!((rate(&r9700, 4966) - 47.8).abs() < 1e-9);
    // Then BF16 GEMM: at the BF16 rate where there is one, emulated on gfx906.
    assert!((rate(&mi100, 5890) - 92.3).abs() < 1e-9);
    assert!((rate(&r9700, 5890) - 191.4).abs() < 1e-9);
    assert!((rate(&mi50, 5890) - 13.3 * 1504.0 / 2096.0).abs() < 1e-9);
    // #28846: F32 again without BF16 instructions.
    assert!((rate(&mi50, 10931) - 13.3).abs() < 1e-9);
    assert!((rate(&mi100, 10931) - 92.3).abs() < 1e-9);
}

#[test]
fn strix_halo_moved_from_hipblas_to_wmma_mmq_in_b7279() {
    let g = gpu("AMD Ryzen AI Max+ 395", 59.4, 29.7, 59.4);
    let arch = g.amd_arch().unwrap();
    let before = amd_kernels(arch, &g, at(6077), 0, 512.0, 59.4e12, 2e11);
    assert_eq!(
        before.kernel[WeightClass::KQuant.index()],
        Kernel::DequantBlas
    );
    let after = amd_kernels(arch, &g, at(7279), 0, 512.0, 59.4e12, 2e11);
    assert_eq!(after.kernel[WeightClass::KQuant.index()], Kernel::Own);
    // Small ubatches stayed in MMQ (dp4a) throughout.
    let small = amd_kernels(arch, &g, at(6077), 0, 32.0, 59.4e12, 2e11);
    assert_eq!(small.kernel[WeightClass::KQuant.index()], Kernel::Own);
    assert!((small.quant_peak - 59.4e12).abs() < 1e9);
}

#[test]
fn mi300x_ran_dp4a_then_hipblas_then_mfma() {
    let g = gpu("AMD Instinct MI300X", 1307.4, 163.4, 2614.9);
    let arch = g.amd_arch().unwrap();
    let k = |b| amd_kernels(arch, &g, at(b), 0, 512.0, 1307.4e12, 4e12);
    // b3891 (Oct 2024): dp4a MMQ, 2 × the packed FP32 rate.
    assert_eq!(k(3891).kernel[WeightClass::Legacy.index()], Kernel::Own);
    assert!((k(3891).quant_peak - 326.8e12).abs() < 1e10);
    assert_eq!(
        k(5000).kernel[WeightClass::Legacy.index()],
        Kernel::DequantBlas
    );
    assert_eq!(k(5997).kernel[WeightClass::KQuant.index()], Kernel::Own);
    assert!((k(5997).quant_peak - 653.6e12).abs() < 1e10);
}

#[test]
fn cdna1_mfma_mmq_takes_legacy_types_only_at_512() {
    let g = gpu("AMD Instinct MI100", 184.6, 23.1, 184.6);
    let arch = g.amd_arch().unwrap();
    let k = amd_kernels(arch, &g, LlamaCppVersion::Current, 0, 512.0, 184.6e12, 1e12);
    assert_eq!(k.kernel[WeightClass::Legacy.index()], Kernel::Own);
    assert_eq!(k.kernel[WeightClass::KQuant.index()], Kernel::DequantBlas);
    let moe = amd_kernels(
        arch,
        &g,
        LlamaCppVersion::Current,
        128,
        512.0,
        184.6e12,
        1e12,
    );
    assert_eq!(moe.kernel[WeightClass::KQuant.index()], Kernel::Own);
    let early = amd_kernels(arch, &g, at(7000), 128, 512.0, 184.6e12, 1e12);
    assert_eq!(
        early.kernel[WeightClass::KQuant.index()],
        Kernel::DequantBlas
    );
}

#[test]
fn cuda_prompts_left_cublas_for_mmq_in_b3216() {
    let q = WeightClass::KQuant.index();
    let k = |arch, build: Option<u32>, force, u| {
        let v = build.map_or(LlamaCppVersion::Current, LlamaCppVersion::Build);
        cuda_kernels(arch, v, force, u, 330e12, 660e12, 1e12).kernel[q]
    };
    let ada = NvidiaArch::Ada;
    // Before #8075: cuBLAS above 32 tokens on GPUs with fast FP16, MMQ up to 32.
    assert_eq!(k(ada, Some(2843), None, 512.0), Kernel::DequantBlas);
    assert_eq!(k(ada, Some(2843), None, 32.0), Kernel::Own);
    // The June 2024 MMQ branches, built with LLAMA_CUDA_FORCE_MMQ.
    assert_eq!(k(ada, Some(3100), Some(true), 512.0), Kernel::Own);
    // From #8075: MMQ at every size on Turing and later, unless cuBLAS is forced.
    assert_eq!(k(ada, Some(3216), None, 512.0), Kernel::Own);
    assert_eq!(k(ada, None, Some(false), 512.0), Kernel::DequantBlas);
    // The one-token kernels below nine tokens, whatever is forced.
    assert_eq!(k(ada, None, Some(false), 8.0), Kernel::Own);
    // Pascal's slow FP16 kept MMQ; the P100, without __dp4a, never had it.
    assert_eq!(k(NvidiaArch::Pascal, Some(2843), None, 512.0), Kernel::Own);
    assert_eq!(
        k(NvidiaArch::PascalP100, None, Some(true), 512.0),
        Kernel::DequantBlas
    );
    // Volta: MMQ below 64 tokens, cuBLAS from 64 (no INT8 tensor cores).
    assert_eq!(k(NvidiaArch::Volta, None, None, 63.0), Kernel::Own);
    assert_eq!(k(NvidiaArch::Volta, None, None, 64.0), Kernel::DequantBlas);
    assert_eq!(k(NvidiaArch::Volta, None, Some(true), 512.0), Kernel::Own);
}

#[test]
fn expert_products_fill_part_of_their_tiles() {
    let moe = ModelSpec {
        n_expert: 128,
        n_expert_used: 8,
        ..ModelSpec::default()
    };
    let on = |api, g: DeviceSpec| DeviceSpec { api, ..g };
    let slowdown = |g: &DeviceSpec, spec: &ModelSpec, u: f64| {
        expert_tile_slowdown(
            Some(g),
            [32.0, 64.0, 48.0],
            spec,
            u,
            LlamaCppVersion::Current,
        )
    };
    let cuda = on(
        GpuApi::Cuda,
        gpu("NVIDIA GeForce RTX 3090", 71.0, 35.6, 284.0),
    );
    // 32 tokens an expert of a 512-token ubatch: (1 + 32/32) / (1 + 32/512) − 1.
    let s = slowdown(&cuda, &moe, 512.0);
    assert!(
        (s - (2.0 / (1.0 + 32.0 / 512.0) - 1.0)).abs() < 1e-12,
        "{s}"
    );
    // A dense model none; RDNA3.5's WMMA MMQ its own half-rate count, and none in the builds
    // that sent its prompts to hipBLAS.
    assert_eq!(slowdown(&cuda, &ModelSpec::default(), 512.0), 0.0);
    let strix = on(GpuApi::Rocm, gpu("AMD Ryzen AI Max+ 395", 59.4, 29.7, 59.4));
    let rdna = slowdown(&strix, &moe, 512.0);
    assert!(
        (rdna - ((1.0 + 48.0 / 32.0) / (1.0 + 48.0 / 512.0) - 1.0)).abs() < 1e-12,
        "{rdna}"
    );
    assert_eq!(
        expert_tile_slowdown(Some(&strix), [32.0, 64.0, 48.0], &moe, 512.0, at(7000)),
        0.0
    );
    assert!(float_experts_tiled(&strix, LlamaCppVersion::Current));
    assert!(!float_experts_tiled(&strix, at(7000)));
    assert!(!float_experts_tiled(&cuda, LlamaCppVersion::Current));
    let mi50 = on(GpuApi::Rocm, gpu("AMD Instinct MI50", 26.5, 13.3, 53.0));
    assert!((slowdown(&mi50, &moe, 512.0) - s).abs() < 1e-12);
    // Fewer tokens an expert, more of each tile empty.
    assert!(slowdown(&cuda, &moe, 128.0) > s);
}

#[test]
fn rocblas_default_backend_follows_the_era() {
    let share = |lt, b| blas_library_share(AmdArch::Rdna35, lt, LlamaCppVersion::Build(b));
    assert_eq!(share(None, 6077), TENSILE_SHARE_RDNA35);
    assert_eq!(share(None, 9187), 1.0);
    assert_eq!(share(Some(false), 9187), TENSILE_SHARE_RDNA35);
    assert_eq!(share(Some(true), 6077), 1.0);
    assert_eq!(
        blas_library_share(AmdArch::Rdna35, None, LlamaCppVersion::Current),
        1.0
    );
    assert_eq!(
        blas_library_share(AmdArch::Rdna3, Some(false), LlamaCppVersion::Current),
        1.0
    );
}

#[test]
fn intel_multiplies_vulkan_prompts_on_matrix_cores_from_xe2_and_pr_14001() {
    let now = LlamaCppVersion::Current;
    for (name, vendor, v, want) in [
        // Discrete Xe1 never; Xe2 once #14001 was in.
        ("Intel Arc A770 16GB", GpuVendor::Intel, now, false),
        ("Intel Arc B580", GpuVendor::Intel, now, true),
        ("Intel Arc Pro B50", GpuVendor::Intel, at(6715), true),
        ("Intel Arc 140V", GpuVendor::Intel, now, true),
        ("Intel Arc B580", GpuVendor::Intel, at(5583), false),
        // Other makers: what the GPU has (its listed rate says which).
        ("AMD Radeon RX 7900 XTX", GpuVendor::Amd, at(5583), true),
        ("NVIDIA GeForce RTX 4090", GpuVendor::Nvidia, now, true),
    ] {
        let g = DeviceSpec {
            name: name.into(),
            vendor: Some(vendor),
            ..DeviceSpec::default()
        };
        assert_eq!(vulkan_matrix_cores(&g, v), want, "{name} at {v:?}");
    }
}

#[test]
fn hip_flash_attention_takes_amds_matrix_cores_by_shape_and_build() {
    let rocm = |name: &str| DeviceSpec {
        name: name.into(),
        vendor: Some(GpuVendor::Amd),
        api: GpuApi::Rocm,
        ..DeviceSpec::default()
    };
    let strix = rocm("AMD Ryzen AI Max+ 395");
    let r9700 = rocm("AMD Radeon AI PRO R9700");
    let mi100 = rocm("AMD Instinct MI100");
    let now = LlamaCppVersion::Current;
    // Grouped-query heads of 128 (Ministral 3: 32 query heads, 8 KV heads) on RDNA: WMMA
    // once tokens × 4 exceed 8; RDNA4 from #18481, RDNA3.5 from #22880.
    assert_eq!(amd_fa_matrix_tokens(&strix, now, 128, 4, false), Some(3.0));
    assert_eq!(
        amd_fa_matrix_tokens(&strix, at(AMD_FA_RDNA3_BUILD - 1), 128, 4, false),
        None
    );
    assert_eq!(
        amd_fa_matrix_tokens(&r9700, at(AMD_FA_RDNA4_BUILD), 128, 4, false),
        Some(3.0)
    );
    assert_eq!(amd_fa_matrix_tokens(&r9700, at(7423), 128, 4, false), None);
    // One query head a KV head (Llama 2), heads above 128 (Gemma 3, Qwen3.5), MLA, 40 and
    // 72: the tile kernel on RDNA.
    for (head, gqa, mla) in [
        (128, 1, false),
        (256, 2, false),
        (576, 16, true),
        (72, 4, false),
    ] {
        assert_eq!(amd_fa_matrix_tokens(&strix, now, head, gqa, mla), None);
    }
    // A GQA ratio that is not a power of two counts its largest power-of-two divisor (6: 2).
    assert_eq!(amd_fa_matrix_tokens(&strix, now, 128, 6, false), Some(5.0));
    // CDNA: heads up to 128 from #19806 at 128 query rows (GQA-multiplied), up to 256 from
    // #22880 (Gemma 2B: head 256, 8 query heads a KV head, MMA above 8 tokens).
    assert_eq!(amd_fa_matrix_tokens(&mi100, at(7423), 128, 4, false), None);
    assert_eq!(
        amd_fa_matrix_tokens(&mi100, at(AMD_FA_CDNA_BUILD), 128, 4, false),
        Some(32.0)
    );
    assert_eq!(
        amd_fa_matrix_tokens(&mi100, at(AMD_FA_RDNA3_BUILD - 1), 256, 8, false),
        None
    );
    assert_eq!(amd_fa_matrix_tokens(&mi100, now, 256, 8, false), Some(9.0));
    assert_eq!(amd_fa_matrix_tokens(&mi100, now, 128, 1, false), Some(17.0));
    // No matrix cores (RDNA2, the MI50), or not HIP: never.
    for name in ["AMD Radeon RX 6800 XT", "AMD Instinct MI50"] {
        assert_eq!(amd_fa_matrix_tokens(&rocm(name), now, 128, 4, false), None);
    }
    let vulkan = DeviceSpec {
        api: GpuApi::Vulkan,
        ..strix.clone()
    };
    assert_eq!(amd_fa_matrix_tokens(&vulkan, now, 128, 4, false), None);
}

#[test]
fn amd_vulkan_tiles_follow_the_driver_from_pr_18749() {
    let strix = amd_vulkan("AMD Ryzen AI Max+ 395");
    let (radv, amdvlk, amd) = (VulkanDriver::Radv, VulkanDriver::Amdvlk, VulkanDriver::Amd);
    let now = LlamaCppVersion::Current;
    // RADV gains the PR's measured speed-up; AMDVLK takes its own factor; Windows's driver
    // was taken out of the large tiles (#18763).
    assert_eq!(vulkan_amd_tiles(&strix, now, radv, 0.5), RADV_LARGE_TILES);
    assert_eq!(vulkan_amd_tiles(&strix, now, amdvlk, 0.5), 0.5);
    assert_eq!(vulkan_amd_tiles(&strix, now, amd, 0.5), 1.0);
    // Before the PR, on GPUs without Vulkan matrix cores, and under another API: unchanged.
    assert_eq!(vulkan_amd_tiles(&strix, at(7423), radv, 0.5), 1.0);
    assert_eq!(
        vulkan_amd_tiles(&amd_vulkan("AMD Radeon RX 6800 XT"), now, radv, 0.5),
        1.0
    );
    assert_eq!(
        vulkan_amd_tiles(&amd_vulkan("AMD Radeon AI PRO R9700"), now, radv, 0.5),
        RADV_LARGE_TILES
    );
    let rocm = DeviceSpec {
        api: GpuApi::Rocm,
        ..strix.clone()
    };
    assert_eq!(vulkan_amd_tiles(&rocm, now, radv, 0.5), 1.0);
    let nvidia = DeviceSpec {
        name: "NVIDIA GeForce RTX 4090".into(),
        vendor: Some(GpuVendor::Nvidia),
        api: GpuApi::Vulkan,
        ..DeviceSpec::default()
    };
    assert_eq!(vulkan_amd_tiles(&nvidia, now, radv, 0.5), 1.0);
    // Attention without flash attention: only AMDVLK's factor; with it, the kernel choice of
    // `vulkan_fa_scalar`.
    assert_eq!(vulkan_amd_attention(&strix, now, radv, 0.5, false), 1.0);
    assert_eq!(vulkan_amd_attention(&strix, now, amdvlk, 0.5, false), 0.5);
    assert_eq!(vulkan_amd_attention(&strix, now, amdvlk, 0.5, true), 1.0);
    assert_eq!(
        vulkan_amd_attention(&strix, at(7423), amdvlk, 0.5, false),
        1.0
    );
}

#[test]
fn vulkan_flash_attention_takes_the_scalar_shader_where_shared_memory_runs_out() {
    // The coopmat1 shader's shared memory, as ggml_vk_flash_attn_coopmat_shmem_support counts it
    // on AMD, by hand: since #19075 13,424 fixed bytes + the Q tile 128·(hsk/4 + 2) + the softmax
    // tile (6,144 bytes up to 128-wide heads, else 4,096); before, 512 + 2,048 + 64 bytes + the Q
    // and K tiles 640·(hsk/4 + 2) + the softmax tile.
    let now = LlamaCppVersion::Current;
    for (hsk, bytes) in [(128, 23_920), (256, 25_968), (512, 34_160), (576, 36_208)] {
        assert_eq!(coopmat1_fa_shared_bytes(hsk, now), bytes, "{hsk}");
    }
    for (hsk, bytes) in [(128, 30_528), (256, 48_960)] {
        assert_eq!(coopmat1_fa_shared_bytes(hsk, at(7423)), bytes, "{hsk}");
    }
    let strix = amd_vulkan("AMD Ryzen AI Max+ 395");
    let (radv, amdvlk, amd) = (VulkanDriver::Radv, VulkanDriver::Amdvlk, VulkanDriver::Amd);
    // RADV's 64 KiB hold every head today; AMD's drivers' 32 KiB not Gemma 4's 512-wide global
    // heads nor MLA's 576-wide latent K.
    for w in [64, 128, 256, 512, 576] {
        assert!(!vulkan_fa_scalar(&strix, now, radv, w), "{w}");
        assert_eq!(vulkan_fa_scalar(&strix, now, amdvlk, w), w >= 512, "{w}");
        assert_eq!(vulkan_fa_scalar(&strix, now, amd, w), w >= 512, "{w}");
    }
    // Before #19075 the shader held 256-wide heads in 64 KiB only, and 512-wide ones nowhere.
    assert!(vulkan_fa_scalar(&strix, at(7423), amdvlk, 256));
    assert!(!vulkan_fa_scalar(&strix, at(7423), amdvlk, 128));
    assert!(!vulkan_fa_scalar(&strix, at(7423), radv, 256));
    assert!(vulkan_fa_scalar(&strix, at(7423), radv, 512));
    // Before #13506 there was no coopmat1 shader at all.
    assert!(vulkan_fa_scalar(&strix, at(5000), radv, 128));
    // GPUs without Vulkan matrix cores, and HIP, keep their own rates.
    assert!(!vulkan_fa_scalar(
        &amd_vulkan("AMD Radeon RX 6800 XT"),
        now,
        amdvlk,
        576
    ));
    let rocm = DeviceSpec {
        api: GpuApi::Rocm,
        ..strix.clone()
    };
    assert!(!vulkan_fa_scalar(&rocm, now, amdvlk, 576));
}

#[test]
fn mi50_keeps_dp4a_mmq_but_for_a_fortnight_of_2025() {
    let g = gpu("AMD Instinct MI50", 26.5, 13.3, 53.0);
    let arch = g.amd_arch().unwrap();
    for (b, want) in [
        (3000, Kernel::Own),
        (4600, Kernel::DequantBlas),
        (4699, Kernel::Own),
    ] {
        let k = amd_kernels(arch, &g, at(b), 0, 512.0, 26.5e12, 5e11);
        assert_eq!(k.kernel[WeightClass::Q8.index()], want, "b{b}");
    }
}

#[test]
fn hip_flash_attention_tile_kernel_runs_at_the_vector_rate() {
    let rocm = |name: &str, fp16: f64, fp32: f64| DeviceSpec {
        api: GpuApi::Rocm,
        vendor: Some(GpuVendor::Amd),
        ..gpu(name, fp16, fp32, fp16)
    };
    // RDNA4 and CDNA list matrix FP16 rates above twice their FP32 rates: the tile kernel's
    // packed FP16 reaches only the latter.
    let r9700 = rocm("AMD Radeon AI PRO R9700", 191.4, 47.8);
    assert_eq!(amd_fa_tile_peak(&r9700), Some(95.6e12));
    let mi100 = rocm("AMD Instinct MI100", 184.6, 23.1);
    assert_eq!(amd_fa_tile_peak(&mi100), Some(46.2e12));
    // RDNA3 and GCN5 list FP16 at twice FP32 already: unchanged.
    let xtx = rocm("AMD Radeon RX 7900 XTX", 122.8, 61.4);
    assert_eq!(amd_fa_tile_peak(&xtx), Some(122.8e12));
    let mi50 = rocm("AMD Instinct MI50", 26.5, 13.3);
    assert_eq!(amd_fa_tile_peak(&mi50), Some(26.5e12));
    // Not HIP, not AMD, or no FP32 rate listed: the attention keeps the FP16 rate.
    let vulkan = DeviceSpec {
        api: GpuApi::Vulkan,
        ..r9700.clone()
    };
    assert_eq!(amd_fa_tile_peak(&vulkan), None);
    let nvidia = DeviceSpec {
        api: GpuApi::Cuda,
        vendor: Some(GpuVendor::Nvidia),
        ..gpu("NVIDIA GeForce RTX 4090", 165.2, 82.6, 660.6)
    };
    assert_eq!(amd_fa_tile_peak(&nvidia), None);
    assert_eq!(
        amd_fa_tile_peak(&rocm("AMD Instinct MI355X", 2500.0, 0.0)),
        None
    );
}

#[test]
fn mmq_weight_tiles_cost_small_ubatches_more_per_token() {
    // No term, or MMVQ's one-token kernels at 8 tokens or fewer: unchanged.
    assert_eq!(mmq_fill(0.0, 16.0, 128.0), 1.0);
    assert_eq!(mmq_fill(24.0, 8.0, 128.0), 1.0);
    // From the widest token tile on the per-token rate `pp_quant` gives; below, the shared tiles
    // weigh more.
    assert_eq!(mmq_fill(24.0, 128.0, 128.0), 1.0);
    assert_eq!(mmq_fill(24.0, 2048.0, 128.0), 1.0);
    assert_eq!(mmq_fill(24.0, 64.0, 64.0), 1.0);
    let at16 = mmq_fill(24.0, 16.0, 128.0);
    assert!((at16 - 2.5 / (1.0 + 24.0 / 128.0)).abs() < 1e-12);
    let at64 = mmq_fill(24.0, 64.0, 128.0);
    assert!(at64 < at16 && at64 > 1.0);
    // dp4a's 64-token tiles: 16 tokens against 64.
    assert!((mmq_fill(24.0, 16.0, 64.0) - 2.5 / (1.0 + 24.0 / 64.0)).abs() < 1e-12);
}

#[test]
fn sycl_dequantizes_every_quantized_prompt_for_onednn() {
    // One-token kernels up to 8 tokens; past them, dequantized to F16 for the XMX GEMM.
    let small = sycl_kernels(8.0, 137.6e12, 450e9);
    assert!(small.kernel.iter().all(|k| *k == Kernel::Own));
    let prompt = sycl_kernels(512.0, 137.6e12, 450e9);
    for class in QUANT_CLASSES {
        assert_eq!(prompt.kernel[class.index()], Kernel::DequantBlas);
    }
    assert_eq!(prompt.kernel[WeightClass::Float.index()], Kernel::Own);
    assert_eq!(prompt.float_peak, 137.6e12);
    assert_eq!(prompt.dequant_bw, 450e9);
    // Not MMQ: no token-tile term.
    assert_eq!(prompt.mmq_x_max, None);
}

#[test]
fn vulkan_bf16_takes_the_matrix_cores_only_where_the_driver_has_bf16_ones() {
    let amd = |name: &str, fp16: f64, fp32: f64| DeviceSpec {
        fp16_flops: fp16 * 1e12,
        fp32_flops: fp32 * 1e12,
        ..amd_vulkan(name)
    };
    let rate = |g: &DeviceSpec, driver| vulkan_bf16_peak(g, driver, g.fp16_flops) / 1e12;
    // Strix Halo (RDNA3.5) reads `bf16: 0` under both Linux drivers: the FP32 scalar shader.
    let strix = amd("AMD Radeon 8060S (Ryzen AI Max+ 395)", 59.4, 29.7);
    assert_eq!(strix.amd_arch(), Some(AmdArch::Rdna35));
    assert!((rate(&strix, VulkanDriver::Radv) - 29.7).abs() < 1e-9);
    assert!((rate(&strix, VulkanDriver::Amdvlk) - 29.7).abs() < 1e-9);
    // RDNA4 reads `bf16: 1` under RADV, `bf16: 0` under AMDVLK (the R9700's device lines).
    let r9700 = amd("AMD Radeon AI PRO R9700", 191.4, 47.8);
    assert!((rate(&r9700, VulkanDriver::Radv) - 191.4).abs() < 1e-9);
    assert!((rate(&r9700, VulkanDriver::Amdvlk) - 47.8).abs() < 1e-9);
    // Other makers keep their matrix rate.
    let nvidia = DeviceSpec {
        vendor: Some(GpuVendor::Nvidia),
        ..gpu("NVIDIA GeForce RTX 4090", 165.2, 82.6, 660.6)
    };
    assert!((rate(&nvidia, VulkanDriver::Radv) - 165.2).abs() < 1e-9);
}
