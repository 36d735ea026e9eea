//! The speed model's constants ([`SpeedParams`]): their meaning, the prior every fit starts from
//! and the shipped fit. The formulas that use them are in `speed.rs`.

use serde::Serialize;

use super::weights::WeightClass;
use crate::system::{
    BackendParams, Calibration, CpuKernels, DeviceSpec, GpuApi, GpuVendor, MemoryTech, SystemSpec,
};

/// Every constant of the speed model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedParams {
    /// Per device class, in the order of [`DEVICE_CLASSES`].
    pub backends: [BackendParams; N_CLASSES],
    /// Decode bandwidth factor per [`WeightClass`] (Float is 1 by definition).
    pub class_factor: [f64; WeightClass::COUNT],
    /// GPU decode: FP32-rate operations per weight of each [`WeightClass`] in the one-token
    /// kernels (unpacking, scaling, dot products); a GPU whose FP32 rate is low beside its
    /// bandwidth (A100, H100/H200, MI50) unpacks quantized weights slower than it reads them.
    pub gemv_ops: [f64; WeightClass::COUNT],
    /// Prefill: speed of each quantized [`WeightClass`]'s matrix kernels relative to Q8_0's (1 by
    /// definition; Float runs through cuBLAS/hipBLAS at `pp_float` and ignores it): MMQ unpacks
    /// each block to INT8 before the tensor-core product, and a k-quant's or IQ type's unpacking
    /// costs more than Q8_0's copy.
    pub pp_class: [f64; WeightClass::COUNT],
    /// Decode: the share of peak bandwidth that AMD's and NVIDIA's GPUs on LPDDR shared with the
    /// CPU (Strix Halo, DGX Spark, Radeon 780M) reach, in place of their class's `bw`, whatever
    /// the API ([`lpddr_shared`]). There the memory, not the kernels, limits: Strix Halo decodes
    /// large dense models at the same ~210 GB/s under ROCm and Vulkan (kyuz0's Gemma 3 27B
    /// BF16 3.9 and 3.8 tok/s, Llama 3.3 70B Q8 2.8 and 2.8), while the classes' shares, set by
    /// discrete GDDR cards, differ between the APIs. Apple's GPUs keep Metal's class (every
    /// Metal row is LPDDR), Intel's theirs (the Arc class's kernels reach far less than the
    /// memory allows).
    pub lpddr_bw: f64,
    /// Decode: efficiency of reading the KV cache relative to f16 weights.
    pub kv_factor: f64,
    /// Decode without flash attention: the per-token cost times this (the KQ product, softmax and
    /// KQV product are separate kernels with the score matrix between them; with flash attention
    /// one kernel).
    pub no_fa_step: f64,
    /// Decode without flash attention: the share of a grouped-query layer's extra reads of its
    /// cache that miss the GPU's caches. The KQ and KQV products are matrix-vector products
    /// broadcast over the query heads (`ggml_mul_mat` with `ne12 = n_head`, `ne02 = n_head_kv`),
    /// so each of the `n_head / n_head_kv` query heads of a group reads its K and V rows
    /// itself (ggml-cuda/mmvf.cu, llama.cpp of October 2026: a block per destination channel,
    /// `channel_x = channel_dst / channel_ratio`); the flash-attention kernels take a group's
    /// query heads together and read them once. 0: every re-read hits a cache; 1: the cache
    /// crosses memory once per query head. MLA's latent attention is left out (its heads share
    /// one latent row, which stays cached).
    pub nofa_kv_reread: f64,
    /// Decode: how a GPU's per-token cost scales with its speed: `step_s` is quoted for a GPU of
    /// 1 TB/s and scales as `(1 TB/s / bandwidth)^step_exp` (a token's small kernels and the gaps
    /// between them take less time on a faster GPU; 0: the same on every GPU of a class).
    /// Apple's GPUs keep `step_s`: Metal's per-token cost is mostly the CPU encoding the token's
    /// command buffers (ggml-metal), and a fit that scaled it put the M2 Ultra's decode 13% off
    /// out of sample instead of 5%.
    pub step_exp: f64,
    /// Decode: a mixture-of-experts layer's per-token cost relative to a dense layer's (the
    /// router's product, softmax and top-k, the expert-indexed products: more kernels a layer).
    pub moe_step: f64,
    /// Prefill: the tokens at which a GPU's expert-indexed products (`MUL_MAT_ID`) of quantized
    /// weights reach half their full-tile rate. A ubatch of `u` tokens gives each of `E` experts
    /// about `u·k/E` of them (32 of 512 for Qwen3-30B-A3B's top-8 of 128), which fill part of
    /// the kernels' tiles, so the expert products take `(1 + moe_tile/(u·k/E)) / (1 + moe_tile/u)`
    /// of a dense product's time per weight. `[0]`: llama.cpp's MMQ where it picks its tile width
    /// against all `u` tokens (CUDA, and HIP on CDNA, GCN and RDNA1/2). `[1]`: Vulkan's expert
    /// products. `[2]`: RDNA3/3.5/4 under HIP since their MMQ runs on WMMA (b7148 RDNA4, b7279
    /// RDNA3), quantized experts through MMQ and float ones through MMF (ggml-cuda/mmf.cu takes
    /// expert products of float weights on WMMA): MMQ there picks its tile width against `u·k/E`
    /// (mmq.cu, `ncols_opt`: "On RDNA3 and RDNA4 it is faster to pick the tile size against this
    /// value"), so no term was taken until the rows said otherwise: Strix Halo's MoE prompts at
    /// those builds measured 1.75× (quantized) and 1.83× (BF16) slower than the dense prompts'
    /// constants predict, where its dense quantized prompts are predicted within 1%. Before WMMA
    /// MMQ, RDNA3 sent prompts to hipBLAS, and no term applies.
    pub moe_tile: [f64; 3],
    /// Prefill: a GPU's attention rate (the flash-attention kernels, or the KQ and KQV products)
    /// relative to its float products' (`pp_float`), per device class in the order of
    /// [`DEVICE_CLASSES`]. Long prompts and deep contexts spend most of their time there, and
    /// the kernels differ from the GEMMs (llama.cpp's own FA kernels: tensor cores on CUDA, on
    /// AMD's matrix cores only for some shapes, fattn.cu `ggml_cuda_get_best_fattn_kernel`).
    /// For the ROCm classes with flash attention it is the tile kernel's share of its own
    /// ceiling, the vector units' packed FP16 rate (`prompt_kernels::amd_fa_tile_peak`);
    /// [`SpeedParams::amd_fa_matrix`] scales the blocks that run on the matrix cores, against
    /// the FP16 rate.
    pub attn_share: [f64; N_CLASSES],
    /// Prefill: AMDVLK's dense matrix products on ggml-vulkan's large tiles for AMD (llama.cpp
    /// #18749 on) relative to its products before them (RADV's are `RADV_LARGE_TILES` faster,
    /// AMD's Windows driver keeps the old tiles; `prompt_kernels::vulkan_amd_tiles`), and its
    /// attention after 2026's rewrites of the Vulkan flash attention
    /// (`prompt_kernels::vulkan_amd_attention`). Only Strix Halo's rows of
    /// kyuz0/amd-strix-halo-toolboxes inform it.
    pub amdvlk_tiles: f64,
    /// Prefill: flash attention on AMD's matrix cores (WMMA, MFMA) under HIP, as a multiple of
    /// `attn_share` of the GPU's FP16 rate (the tile kernel runs at `attn_share` of its vector
    /// rate, `prompt_kernels::amd_fa_tile_peak`); which kernel a block takes follows
    /// `prompt_kernels::amd_fa_matrix_tokens`.
    pub amd_fa_matrix: f64,
    /// Prefill: ggml-vulkan's scalar flash-attention shader on a GPU whose prompts use its matrix
    /// cores, as a multiple of the attention rate there (the blocks whose K rows the coopmat1
    /// shader cannot fit in the driver's shared memory, `prompt_kernels::vulkan_fa_scalar`). Only
    /// Strix Halo's AMDVLK rows of kyuz0/amd-strix-halo-toolboxes inform it.
    pub vk_scalar_fa: f64,
    /// Prefill: the ubatch tokens whose products in llama.cpp's MMQ kernels (CUDA, HIP) take as
    /// long as loading and unpacking the weight tiles they share, so that a ubatch of `u` tokens
    /// (more than MMVQ's 8) takes `(1 + mmq_tile/min(u, x)) / (1 + mmq_tile/x)` of the time per
    /// token and weight that `pp_quant` gives, with `x` MMQ's widest token tile (128 on matrix
    /// cores, 64 with dp4a; `prompt_kernels::mmq_fill`).
    pub mmq_tile: f64,
    /// Prefill without flash attention: times the f32 KQ matrix crosses memory (write, softmax
    /// read/write, read for KQV).
    pub attn_passes: f64,
    /// Time per device boundary per token in a layer split, seconds.
    pub hop_s: f64,
    /// Share of the ideal pipeline overlap that multi-GPU prefill achieves (0: sequential, 1:
    /// perfect overlap of ubatches across GPUs).
    pub pipeline_overlap: f64,
    /// The CPU's kernels other than the prompt's matrix products.
    pub cpu: CpuKernels,
    /// A BLAS build's prompt products on the CPU (`--cpu-build openblas|mkl|blis`).
    pub blas: BlasKernels,
    /// How wide the shown ranges are.
    pub ranges: Ranges,
}

/// How a BLAS build of llama.cpp multiplies a prompt's matrices on the CPU: ggml-blas takes every
/// product whose sizes are all 32 or more, converts the weights of any type to f32 in a work buffer
/// (`to_float`, on all threads) and calls `cblas_sgemm` (ggml-blas.cpp). So every weight type
/// prefills at the same f32 rate, and pays the conversion on every ubatch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BlasKernels {
    /// The BLAS sgemm's rate relative to the default build's float products (the CPU class's
    /// `pp_float` share of its f32 FMA rate), so that it follows that share when a refit moves it.
    pub share: f64,
    /// Seconds per weight per core to convert it to f32 (read, unpack, write 4 bytes).
    pub convert_s: f64,
}

/// The ranges around a prediction, as factors on it: the 10th and 90th percentiles of
/// measured / predicted over out-of-sample predictions of the calibration data (each device, and
/// each source, left out of the fit; the wider of the two at each end), so that the range holds
/// the measured value for at least 80% of machines and sources the constants were not fitted on
/// (split-conformal intervals). `llmrig accuracy` reports how often they hold under each hold-out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ranges {
    /// Decode (low, high) factors.
    pub decode: (f64, f64),
    /// Prefill (low, high) factors.
    pub prefill: (f64, f64),
}

/// Device classes with their own efficiencies: the backend, and for CUDA/ROCm whether the memory
/// is HBM (llama.cpp's single-stream kernels reach a smaller share of HBM's peak). Intel GPUs under
/// Vulkan form their own class (`intel`): their kernels reach far less of the peak than AMD's or
/// NVIDIA's under the same Vulkan backend (llama.cpp discussion #10879). SYCL has its own
/// (`sycl`): its prompts go through oneDNN's or oneMKL's GEMM on the XMX engines and its own
/// reordered one-token kernels, not the Vulkan shaders, so it runs 3–6× faster prompts than Vulkan
/// on the same Arc A770 (Llama 2 7B Q4_0 pp512 917 vs 158 tok/s at b3999, a public r/LocalLLaMA
/// comparison). NVIDIA's GPUs under
/// Vulkan form their own (`vulkan-nvidia`): there llama.cpp multiplies prompts through NVIDIA's
/// `VK_NV_cooperative_matrix2` shaders (`matrix cores: NV_coopmat2` in ggml_vulkan's device
/// line), written for their tensor cores, which reach a larger share of the peak than the
/// `VK_KHR_cooperative_matrix` shaders on AMD's GPUs (an RTX 4090 prefills Llama 2 7B Q4_0 at
/// 9,452 tok/s on Vulkan, #10879: 127 TFLOPS, 39% of its FP16-accumulate tensor peak; Strix
/// Halo at about 1,300 tok/s, 29% of its listed peak; over all rows, fitted shares of 0.60 and
/// 0.24); their decode differs too (an RTX 5090's per-token cost is below any Radeon's under
/// Vulkan), and pooled with them, the NVIDIA rows put Strix Halo's Vulkan decode 16% off device
/// out instead of 11%. The CPU is [`CPU_CLASS`].
pub const DEVICE_CLASSES: [&str; N_CLASSES] = [
    "cuda-gddr",
    "cuda-hbm",
    "rocm-gddr",
    "rocm-hbm",
    "vulkan",
    "metal",
    "intel",
    "cpu",
    "vulkan-nvidia",
    "sycl",
];

/// How many device classes there are ([`DEVICE_CLASSES`]).
pub const N_CLASSES: usize = 10;

/// The CPU's index in [`DEVICE_CLASSES`].
pub const CPU_CLASS: usize = 7;

impl SpeedParams {
    /// Where every fit starts, set without looking at any measurement of llama.cpp: bandwidth
    /// shares of 0.7 (0.75–0.80 for fp16 GEMV from the operator profiles published with Vidur,
    /// MLSys 2024; 0.70–0.75 for 4-bit MLC, mlc-ai/llm-perf-bench), prompt shares of 0.3 of the
    /// tensor peak, 1 ms per token and 5 ms per ubatch, weight classes read like f16, 16 FP32
    /// operations to unpack and dot a quantized weight (2 for f16: a multiply and an add), the
    /// KV cache read like weights, the same per-token cost with and without flash attention, the
    /// f32 score matrix crossing memory 4 times (write, softmax read and write, read).
    /// [`SpeedParams::default`] is the fit from here over all the calibration rows, and
    /// cross-validation refits each fold from here too, so no held-out row has a say in the
    /// constants that predict it.
    #[must_use]
    pub fn prior() -> SpeedParams {
        let mut backends = [BackendParams {
            bw: 0.7,
            step_s: 0.001,
            pp_float: 0.3,
            pp_quant: 0.2,
            ubatch_s: 0.005,
        }; N_CLASSES];
        backends[backend_index(GpuApi::Cpu, MemoryTech::Ddr)] = BackendParams {
            bw: 0.6,
            step_s: 0.0005,
            pp_float: 0.5,
            pp_quant: 0.5,
            ubatch_s: 0.001,
        };
        SpeedParams {
            backends,
            class_factor: [1.0; WeightClass::COUNT],
            gemv_ops: [2.0, 16.0, 16.0, 16.0, 16.0, 16.0],
            pp_class: [1.0; WeightClass::COUNT],
            // rocm_bandwidth_test on Strix Halo: 212 of 256 GB/s (lhl, llm-tracker.info
            // _TOORG/Strix-Halo), a copy benchmark, not llama.cpp.
            lpddr_bw: 0.83,
            kv_factor: 1.0,
            no_fa_step: 1.0,
            // Half of the re-reads miss: a middle guess, neither all cached nor none.
            nofa_kv_reread: 0.5,
            step_exp: 0.25,
            moe_step: 1.0,
            moe_tile: [16.0; 3],
            attn_share: [1.0; N_CLASSES],
            amdvlk_tiles: 1.0,
            amd_fa_matrix: 1.0,
            vk_scalar_fa: 1.0,
            // MMQ's narrowest token tile (8 tokens, `mmq_x`): a fit in log steps cannot leave 0.
            mmq_tile: 8.0,
            attn_passes: 4.0,
            hop_s: 0.0002,
            pipeline_overlap: 0.8,
            cpu: CpuKernels {
                gemv: 0.2,
                attn: 0.2,
            },
            blas: SpeedParams::default().blas,
            ranges: SpeedParams::default().ranges,
        }
    }

    /// The constants for `sys`: the shipped ones, with the device classes its calibration
    /// covers replaced by its fitted efficiencies.
    #[must_use]
    pub fn for_system(sys: &SystemSpec) -> SpeedParams {
        let mut p = SpeedParams::default();
        if let Some(c) = &sys.calibration {
            p.apply(c);
        }
        p
    }

    /// Replaces the efficiencies of the classes `c` covers (unknown class names are ignored: a
    /// file written by a later llmrig may know more).
    pub fn apply(&mut self, c: &Calibration) {
        for (name, b) in &c.backends {
            if let Some(i) = DEVICE_CLASSES.iter().position(|n| n == name) {
                self.backends[i] = *b;
            }
        }
        if let Some(b) = c.lpddr_bw.filter(|b| b.is_finite() && *b > 0.0) {
            self.lpddr_bw = b;
        }
        if let Some(k) = c.cpu.filter(|k| k.gemv > 0.0 && k.attn > 0.0) {
            self.cpu = k;
        }
        if let Some(f) = c
            .class_factor
            .as_ref()
            .filter(|f| f.len() == WeightClass::COUNT)
        {
            for (to, from) in self.class_factor.iter_mut().zip(f) {
                if from.is_finite() && *from > 0.0 {
                    *to = *from;
                }
            }
        }
    }
}

/// Whether `g` decodes at [`SpeedParams::lpddr_bw`] rather than its class's bandwidth share: an
/// AMD or NVIDIA GPU on LPDDR it shares with the CPU.
#[must_use]
pub fn lpddr_shared(g: &DeviceSpec) -> bool {
    g.memory_tech == MemoryTech::Lpddr
        && matches!(g.vendor, Some(GpuVendor::Amd | GpuVendor::Nvidia))
}

impl SpeedParams {
    /// The share of `g`'s peak bandwidth its decode kernels reach: [`SpeedParams::lpddr_bw`] on
    /// shared LPDDR ([`lpddr_shared`]), else its class's `bw`.
    #[must_use]
    pub fn bw_share(&self, g: &DeviceSpec) -> f64 {
        if lpddr_shared(g) {
            self.lpddr_bw
        } else {
            self.backends[device_class(g.api, g.memory_tech, g.vendor)].bw
        }
    }
}

/// Index of a device class in [`SpeedParams::backends`].
#[must_use]
pub fn backend_index(api: GpuApi, tech: MemoryTech) -> usize {
    device_class(api, tech, None)
}

/// Index of a device's class; `vendor` is the GPU's maker when known.
#[must_use]
pub fn device_class(api: GpuApi, tech: MemoryTech, vendor: Option<GpuVendor>) -> usize {
    match (vendor, api) {
        (Some(GpuVendor::Intel), GpuApi::Vulkan) => return 6,
        (Some(GpuVendor::Nvidia), GpuApi::Vulkan) => return 8,
        _ => {}
    }
    match (api, tech) {
        (GpuApi::Cuda, MemoryTech::Hbm) => 1,
        (GpuApi::Cuda, _) => 0,
        (GpuApi::Rocm, MemoryTech::Hbm) => 3,
        (GpuApi::Rocm, _) => 2,
        (GpuApi::Vulkan, _) => 4,
        (GpuApi::Metal, _) => 5,
        (GpuApi::Sycl, _) => 9,
        (GpuApi::Cpu, _) => 7,
    }
}

impl Default for SpeedParams {
    /// The fitted constants: `cargo run --release -p llmrig-catalog --example accuracy -- --refit`,
    /// coordinate descent from [`SpeedParams::prior`] over the 1,634 reproducible llama.cpp rows
    /// of throughput.csv (2026-12-04, each row at the llama.cpp build it states, `row_build`;
    /// LocalScore's llamafile rows are scored, never fitted). Fitted before the GLM-4.7-Flash
    /// rows (and the hybrid Qwen3.6 ones, never fitted) joined: a refit with them puts the
    /// k-quants' `gemv_ops` at its bound (0.5) and raises the in-sample medians (decode 6.0% →
    /// 6.3%, prefill 19.2% → 19.7%) for a lower prefill p90 (91.8% → 86.9%), so these stay.
    /// The rows of Unsloth's dynamic mixes and of Gemma 4 joined later still (2,094 rows): a
    /// refit with them (and `moe_step`) puts `gemv_ops` at that bound again and halves
    /// rocm-gddr's prompt share for quantized weights (0.36 → 0.19), fitting the slow prompts
    /// of its MoE rows at the cost of the dense ones (Strix Halo, today's build: Llama 2 7B
    /// Q4_0 measured 1,516–1,545 tok/s and predicted 1,539 as shipped; Llama 3.1 8B Q4_K_M
    /// 1,194 as shipped, 631 refitted), so only `moe_step` was fitted to them. The prompt terms
    /// of 2026-12-05 (`moe_tile`, `attn_share`) were fitted the same way, alone with every other
    /// constant as shipped (`--example accuracy -- --fit-moe-tile --with-attn`): a full refit
    /// with them reaches a lower in-sample prompt median (16.9% against 18.3%) but moves the
    /// decode constants too (`gemv_ops` of the k-quants to its bound again; Apple's decode
    /// median 3.7% → 5.1%). RDNA's expert tiles under WMMA MMQ (`moe_tile[2]`, 2026-12-05, late)
    /// were fitted alone too (`--example accuracy -- --fit-moe-tile-rdna`; only Strix Halo's
    /// rows inform it, so it is checked by holding out half its MoE models in turn:
    /// `cross_validated_rdna_expert_tiles_across_models`). `step_exp` (2026-12-05, later) was
    /// fitted with every class's per-token cost and bandwidth share over 2,174 rows (80 rows of
    /// discrete AMD, Intel and NVIDIA GPUs had joined), every other constant as shipped
    /// (`--example accuracy -- --fit-step-exp --with-bw`); 4 of those rows then turned out to repeat older rows of PR
    /// #5835 and were dropped, and the same fit without them gives 0.240 and moves cuda-gddr's
    /// bandwidth share 0.882 → 0.873 (in sample decode 5.6% either way), so these stay.
    /// Cross-validation refits every fold with all of them. A
    /// class's main efficiency of a phase moved where 2 rows inform it, its fixed costs where 8
    /// do; what no row informs keeps the prior (`gemv_ops` of IQ and FP4 weights: no GPU with a
    /// low FP32 rate per byte has such rows). Values at a bound of the fit (intel pp_float 0.02,
    /// rocm-hbm bw 0.3, cpu and intel ubatch_s) say the rows cannot tell that constant. Error:
    /// `llmrig accuracy --in-sample` and `llmrig accuracy` (device out, source out).
    fn default() -> SpeedParams {
        let b = |bw, step_s, pp_float, pp_quant, ubatch_s| BackendParams {
            bw,
            step_s,
            pp_float,
            pp_quant,
            ubatch_s,
        };
        SpeedParams {
            backends: [
                // Every class's prompt constants (`pp_float`, `pp_quant`, `ubatch_s`) refitted
                // together, every other constant as shipped, when a prompt ubatch got decode's
                // launch cost (`step_s`, per device) and a one-token ubatch lost `ubatch_s`
                // (`--example accuracy -- --fit-class=0,1,2,3,4,5,6,7,8 --prompt-only`, 2,418
                // rows: in sample prefill 15.7% / 56.3% → 15.1% / 55.7%); intel's and
                // vulkan-nvidia's float shares, which no row informs, kept. The notes below tell
                // the fits before.
                // The CUDA classes' prompt constants refitted alone when the quantized prompts of
                // builds before b3216 moved to cuBLAS (`prompt_kernels::cuda_kernels`;
                // `--example accuracy -- --fit-class=0,1 --prompt-only`, 2,449 rows: in sample
                // prefill 18.1% / 65.0% → 17.7% / 63.3%).
                // The CUDA and ROCm classes' prompt constants refitted from these with `mmq_tile`
                // when MMQ's weight-tile cost joined (`--fit-class=0,1,2,3 --prompt-only
                // --with-mmq-tile`, 2,418 rows: objective 0.5128 → 0.5101, in sample prefill
                // 14.8% / 55.3% → 15.0% / 53.9%).
                b(0.882, 0.00184, 0.5336, 0.2778, 0.002862), // cuda-gddr
                b(0.5684, 0.002886, 0.4903, 0.2134, 0.008543), // cuda-hbm
                // The ROCm classes' prompt constants and attention shares refitted alone with
                // `amd_fa_matrix` when the HIP flash attention's tile kernel moved to the vector
                // rate (`prompt_kernels::amd_fa_tile_peak`; `--example accuracy --
                // --fit-class=2,3 --prompt-only --with-attn --with-amd-fa`, 2,449 rows: in sample
                // prefill 17.1% / 60.5% → 15.9% / 57.5%), as when the HIP flash attention's
                // kernel choice joined; before, rocm-gddr's were fitted when kyuz0's
                // R9700 rows joined (`--fit-class=2 --prompt-only --with-attn
                // --with-rdna-tile`, 2,342 rows).
                b(0.9901, 0.002949, 0.2435, 0.3525, 0.003613), // rocm-gddr
                b(0.3933, 0.004351, 0.3305, 0.1896, 0.002714), // rocm-hbm
                // vulkan's prompt constants refitted alone with AMDVLK's tile factor when the
                // large Vulkan tiles of AMD's matrix cores joined (`--example accuracy --
                // --fit-class=4 --prompt-only --with-amdvlk`, 2,449 rows: in sample prefill
                // 17.6% / 63.3% → 17.2% / 60.1%); again with its attention share, AMDVLK's tile
                // factor and `vk_scalar_fa` when the flash attention's scalar shader on AMD's
                // matrix cores joined (`--fit-class=4 --prompt-only --with-attn --with-amdvlk
                // --with-vk-scalar-fa`, 2,418 rows: in sample prefill 15.1% / 55.7% → 14.8% /
                // 55.3%).
                // All of vulkan's constants, its attention share, AMDVLK's tile factor and
                // `vk_scalar_fa` refitted alone when two R9700s' Vulkan rows joined with BF16 on
                // the FP32 scalar shader (`prompt_kernels::vulkan_bf16_peak`) and Vulkan's serial
                // multi-GPU prompts before b8340 (`--fit-class=4 --with-attn --with-amdvlk
                // --with-vk-scalar-fa`, 2,767 rows: objective 0.5063); `pp_float` is now also the
                // BF16 scalar shader's share of the FP32 rate.
                b(0.7264, 0.0020, 0.1212, 0.2241, 0.0007553), // vulkan
                b(0.8908, 0.004584, 0.7996, 0.7238, 0.05),    // metal
                b(0.4813, 0.0023, 0.02, 0.1003, 1.016e-05),   // intel
                // cpu: fitted on the llama.cpp CPU rows (mostly a Ryzen 7 7840HS in llmfit's
                // cache; Xeon, Core and Arm rows from llama.cpp PRs and geerlingguy's issues).
                // `validation/run.sh` prints the error against the real llama.cpp on its machine.
                // The quantized prompt share refitted alone (`--example accuracy --
                // --fit-class=7 --prompt-only`, 2,418 rows: 0.5303 → 0.2811) once the catalog's
                // CPUs named AVX-512 VNNI as detection does: the 7840HS had read as plain AVX2, at
                // half the int8 rate a detected Zen 4 gets.
                b(0.606, 0.0006716, 1.1105, 0.2839, 1e-05),
                // vulkan-nvidia (`--example accuracy -- --fit-class=8`), and intel's prompt share
                // now that the Arc A-series runs the scalar shaders (`--fit-class=6,8
                // --prompt-only`): fitted alone, every other constant as shipped. No row of
                // either has float weights, so their float shares keep the prior's (0.3) and the
                // shipped intel one; bw at its bound says the rows cannot tell it from step_s.
                b(1.0, 0.00196, 0.3, 0.6326, 0.03045),
                // sycl: fitted alone from the prior, every other constant as shipped
                // (`--example accuracy -- --fit-class=9`, 2026-12-07: objective 0.5085 →
                // 0.5073), on 28 rows of the A770, A750, B580, Pro B60 and 140V. Three constants
                // end at a bound (bandwidth share, per-token and per-ubatch cost): the Arc
                // A-series decodes at 20–29% of its bandwidth, the B580 and 140V at 54–57% (Llama 2
                // 7B), which one share cannot hold; the quantized share, which no SYCL prompt uses
                // (`prompt_kernels::sycl_kernels`), keeps the prior's.
                b(1.0, 0.01, 0.2829, 0.2, 0.05),
            ],
            class_factor: [1.0, 1.04, 1.0605, 0.9803, 1.0, 1.371],
            gemv_ops: [2.0, 16.0, 17.93, 11.45, 16.0, 16.0],
            pp_class: [1.0, 1.0, 1.0, 0.8251, 0.8333, 1.625],
            // Fitted with the bandwidth shares and per-token costs of the classes whose LPDDR
            // GPUs moved to it (cuda-gddr, rocm-gddr, vulkan), every other constant as shipped
            // (`--example accuracy -- --fit-lpddr`, 2,449 rows).
            lpddr_bw: 0.8467,
            // The three fitted together alone, every other constant as shipped, when no-FA decode's
            // re-reads of a grouped-query layer's cache joined (`--example accuracy --
            // --fit-nofa-kv`, 2,767 rows; 0.733 and 1.265 before): a third of the re-reads miss.
            // XiongjieDai's tg512–tg8192 rows (no flash attention, Llama 3 8B and 70B: 4 and 8
            // query heads a KV head) lose speed along the context faster than one read of the
            // cache explains: predicted over measured rose 4–12% from tg512 to tg8192 on the
            // NVIDIA GPUs, 23–29% on the M2 Ultra and M3 Max; now 0–4% and 14–21%.
            kv_factor: 0.7850,
            no_fa_step: 1.2290,
            nofa_kv_reread: 0.3482,
            // Fitted with each class's per-token cost and bandwidth share, every other constant
            // as shipped (`--example accuracy -- --fit-step-exp --with-bw`, 2,174 rows).
            step_exp: 0.236,
            // Fitted alone on the 2,094 rows, every other constant as shipped (`--example
            // accuracy -- --fit-moe-step`); a full refit gives 1.45.
            moe_step: 1.55,
            // Fitted together alone, every other constant as shipped (`--example accuracy --
            // --fit-moe-tile --with-attn`; the classes with long-prompt rows): MMQ's expert
            // products reach half their rate at 53 tokens an expert, Vulkan's at 81; attention
            // runs at 0.32 of cuda-hbm's float share (H100/A100 long prompts, the V100's MLA
            // rows). RDNA's under WMMA MMQ at 112 (`--fit-moe-tile-rdna`, fitted alone on Strix
            // Halo's ROCm MoE prompts), 119 with rocm-gddr's attention share (0.7 → 0.48) when
            // the R9700's rows joined (refitted with the class's prompt constants, above). The
            // ROCm shares are the tile kernel's since the matrix cores' FA got its own factor
            // (rocm-gddr 0.481 → 0.467, rocm-hbm 1 → 0.384; `amd_fa_matrix`, below), and of its
            // vector rate since then (0.467 → 0.513; rocm-hbm 0.384 → 1.881, whose CDNA GPUs
            // list matrix FP16 at 8× FP32).
            moe_tile: [53.2, 81.0, 119.0],
            attn_share: [1.188, 0.319, 0.513, 1.881, 0.401, 1.426, 1.0, 1.0, 1.0, 1.0],
            // Fitted with vulkan's constants (above; 0.338 before the R9700's Vulkan rows joined,
            // which are all of b7423 and so do not inform it): 0.365 while it scaled AMDVLK's
            // flash attention too.
            amdvlk_tiles: 0.384,
            // Fitted with the ROCm classes' prompt constants and attention shares (above):
            // Strix Halo's grouped-query prompts at depth at b9187/b9193, the RX 9060 XT's
            // (PR #28102), the MI100's Gemma 2B on PR #22880's branch.
            amd_fa_matrix: 1.65,
            // Fitted with vulkan's constants (above), from Strix Halo's AMDVLK rows of Gemma 3
            // (b7423), Gemma 4 and GLM-4.7-Flash (b9187) and the R9700 pair's of Gemma 3 (b7423,
            // which run faster than the rule says; 0.211 before them); without Gemma 4's rows
            // 0.275, which predicts its 6 deep AMDVLK prompts within 17% (`--hold-models=
            // gemma-4-26b-a4b,gemma-4-31b`).
            vk_scalar_fa: 0.243,
            // Fitted with the CUDA and ROCm classes' prompt constants (above): loading and
            // unpacking MMQ's weight tiles costs what 29 tokens' products do.
            mmq_tile: 28.86,
            attn_passes: 4.955,
            hop_s: 0.0002573,
            pipeline_overlap: 0.6733,
            // Fitted with the rest (above) on the llama.cpp CPU rows; until 2026-12-02 they were
            // set from the validation harness's 2-core VM alone (gemv 0.14, attn 0.11).
            cpu: CpuKernels {
                gemv: 0.2376,
                attn: 0.3227,
            },
            // Fitted on the validation machine's OpenBLAS build against its default build
            // (validation/cpu-builds.md: llama-bench pp512 of F16, Q8_0, Q4_0 and Q4_K_M files);
            // no row of throughput.csv is a BLAS build, so the refit leaves them alone.
            blas: BlasKernels {
                share: BLAS_SHARE,
                convert_s: BLAS_CONVERT_S,
            },
            // The 10th and 90th percentiles of measured / predicted over the out-of-sample
            // predictions of the llama.cpp rows (`llmrig accuracy --cv --rows --json`,
            // 2026-12-07, 10 folds, each refitted from `SpeedParams::prior` with every constant
            // the refit moves), the wider of the two hold-outs at each end so that both hold 80%:
            // decode 0.796 / 1.205 device out and 0.757 / 1.184 source out over 1,038 rows,
            // prefill 0.652 / 1.819 and 0.608 / 1.913 over 1,380 rows; rounded outward. Prefill
            // reset from 0.61 / 1.92 when flash attention's scalar shader on AMD's matrix cores
            // joined (`vk_scalar_fa`), which moved the source-out low end through the constants
            // the folds share; both reset when
            // a prompt ubatch got decode's launch cost and one token's ubatch lost the rest of its
            // fixed cost (prefill from 0.61 / 2.28: the small-ubatch rows were predicted up to 7x
            // too slow), from 0.75 / 1.22 for decode; before, when the calibration rows lost 31
            // duplicates and the catalog's CPUs named AVX-512 VNNI, from 0.59 / 1.98 and 0.76 /
            // 1.22; when the HIP flash attention's tile kernel moved to the vector rate, from
            // 0.60 / 2.02, and when shared LPDDR got its own bandwidth share (`lpddr_bw`), from
            // 0.76 / 1.28 and 0.59 / 2.14.
            ranges: Ranges {
                decode: (0.75, 1.21),
                prefill: (0.60, 1.92),
            },
        }
    }
}

/// [`BlasKernels::share`]: fitted to the validation machine's OpenBLAS build (2 AMD EPYC cores,
/// AVX-512; llama.cpp of October 2026), so that llmrig's ratio of OpenBLAS to default prompt speed
/// matches llama-bench's pp512 for F16 (measured 0.86, predicted 0.98), Q8_0 (0.74 / 0.60) and
/// Q4_K_M (0.89 / 0.94); Q4_0 is repacked and stays in ggml's kernels (1.01 / 1.00). Fitted as
/// 1.3 of the CPU's f32 rate when the default build's `pp_float` was 1.18; kept as that ratio,
/// 1.3 / 1.18. validation/cpu-builds.md has the rows.
const BLAS_SHARE: f64 = 1.3 / 1.18;
/// [`BlasKernels::convert_s`]: about 1 ns per weight per core for `to_float` (assumed: the rows
/// above cannot tell it from the share; 3 ns fits them worse).
const BLAS_CONVERT_S: f64 = 1e-9;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvidia_and_intel_gpus_under_vulkan_have_their_own_classes() {
        let class = |api, vendor| DEVICE_CLASSES[device_class(api, MemoryTech::Gddr, vendor)];
        assert_eq!(
            class(GpuApi::Vulkan, Some(GpuVendor::Nvidia)),
            "vulkan-nvidia"
        );
        assert_eq!(class(GpuApi::Cuda, Some(GpuVendor::Nvidia)), "cuda-gddr");
        assert_eq!(class(GpuApi::Vulkan, Some(GpuVendor::Amd)), "vulkan");
        assert_eq!(class(GpuApi::Vulkan, None), "vulkan");
        assert_eq!(class(GpuApi::Vulkan, Some(GpuVendor::Intel)), "intel");
        assert_eq!(class(GpuApi::Sycl, Some(GpuVendor::Intel)), "sycl");
        assert_eq!(DEVICE_CLASSES[CPU_CLASS], "cpu");
        assert_eq!(
            DEVICE_CLASSES[backend_index(GpuApi::Cpu, MemoryTech::Ddr)],
            "cpu"
        );
    }

    #[test]
    fn amd_and_nvidia_gpus_on_shared_lpddr_read_at_its_share_whatever_the_api() {
        let p = SpeedParams::default();
        let gpu = |api, vendor, memory_tech| DeviceSpec {
            api,
            vendor: Some(vendor),
            memory_tech,
            ..DeviceSpec::default()
        };
        for (api, vendor) in [
            (GpuApi::Rocm, GpuVendor::Amd),
            (GpuApi::Vulkan, GpuVendor::Amd),
            (GpuApi::Cuda, GpuVendor::Nvidia),
        ] {
            let g = gpu(api, vendor, MemoryTech::Lpddr);
            assert!(lpddr_shared(&g));
            assert_eq!(p.bw_share(&g), p.lpddr_bw);
            // The same GPU on GDDR reads at its class's share.
            let d = gpu(api, vendor, MemoryTech::Gddr);
            let class = device_class(api, MemoryTech::Gddr, Some(vendor));
            assert_eq!(p.bw_share(&d), p.backends[class].bw);
        }
        // Apple's keep Metal's class, Intel's theirs.
        for (api, vendor) in [
            (GpuApi::Metal, GpuVendor::Apple),
            (GpuApi::Vulkan, GpuVendor::Intel),
        ] {
            let g = gpu(api, vendor, MemoryTech::Lpddr);
            assert!(!lpddr_shared(&g));
            let class = device_class(api, MemoryTech::Lpddr, Some(vendor));
            assert_eq!(p.bw_share(&g), p.backends[class].bw);
        }
    }
}
