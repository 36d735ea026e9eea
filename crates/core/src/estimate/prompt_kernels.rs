//! The kernels a device multiplies a prompt ubatch's weights with, and how long they take.
//!
//! Float weights go through the vendor's BLAS (cuBLAS, hipBLAS, …). Quantized weights go through
//! llama.cpp's own quantized kernels (MMQ), except where llama.cpp's `ggml_cuda_should_use_mmq`
//! (ggml-cuda/mmq.cu) sends them to BLAS instead: dequantized to F16 in a scratch buffer, then
//! multiplied at the float rate. On AMD GPUs that choice, and whether MMQ runs on matrix cores
//! (MFMA, WMMA) or on the int8 dot-product instruction, has changed with the architecture and
//! the build ([`amd_kernels`]), and prompt speed with it: Strix Halo's prompt speed fell and rose
//! with the builds that moved RDNA3.5 between them (llama.cpp issue #17917).

use super::settings::{LlamaCppVersion, VulkanDriver};
use super::speed_params::SpeedParams;
use super::weights::WeightClass;
use crate::model::ModelSpec;
use crate::system::{AmdArch, BackendParams, DeviceSpec, GpuApi, GpuVendor, NvidiaArch};

/// What multiplies one class of weights in a prompt ubatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    /// llama.cpp's quantized kernels at [`Kernels::quant_peak`] (float weights: BLAS at
    /// [`Kernels::float_peak`]).
    Own,
    /// Dequantized to F16, then the BLAS product at [`Kernels::float_peak`].
    DequantBlas,
}

/// How one device runs a prompt ubatch's matrix products.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Kernels {
    /// Peak of the BLAS product of float (or dequantized) weights, FLOP/s.
    pub float_peak: f64,
    /// Peak of the product of the model's own float weights, FLOP/s: [`Kernels::float_peak`]
    /// unless BF16 weights take another path ([`amd_bf16_rate`]).
    pub weights_float_peak: f64,
    /// Peak of the quantized kernels, OP/s.
    pub quant_peak: f64,
    /// Per [`WeightClass`]: which kernels.
    pub kernel: [Kernel; WeightClass::COUNT],
    /// Bytes/s of the dequantising pass (the device's achieved memory bandwidth).
    pub dequant_bw: f64,
    /// Where the quantized classes that are not [`Kernel::DequantBlas`] run llama.cpp's MMQ
    /// kernels (CUDA, HIP), MMQ's widest token tile on this GPU (`mmq_x`: 128 with INT8 matrix
    /// instructions, 64 with dp4a; ggml-cuda mmq.cuh's `get_mmq_x_max_host`), which shapes their
    /// cost at small ubatches ([`mmq_fill`]); `None` for other kernels.
    pub mmq_x_max: Option<f64>,
}

impl Kernels {
    /// Every class in llama.cpp's own kernels.
    pub fn own(float_peak: f64, quant_peak: f64) -> Kernels {
        Kernels {
            float_peak,
            weights_float_peak: float_peak,
            quant_peak,
            kernel: [Kernel::Own; WeightClass::COUNT],
            dequant_bw: f64::INFINITY,
            mmq_x_max: None,
        }
    }

    /// The model's own float weights where `bf16_share` of them (by elements) are BF16 and run
    /// at `bf16` FLOP/s, the rest at [`Kernels::weights_float_peak`].
    pub fn with_bf16(mut self, bf16_share: f64, bf16: f64) -> Kernels {
        if bf16_share > 0.0 && bf16 > 0.0 {
            self.weights_float_peak =
                1.0 / ((1.0 - bf16_share) / self.weights_float_peak + bf16_share / bf16);
        }
        self
    }
}

/// Bytes the dequantising pass moves per weight: it reads the quantized weight (0.5–1.06 bytes
/// for 4- to 8-bit types; 0.6 taken) and writes it as F16 (2 bytes), which the GEMM reads.
const DEQUANT_BYTES: f64 = 2.6;

/// Seconds of one ubatch of `u` tokens through the matmuls of `active` (elements per class) with
/// `k`; the output matrix (`output`) runs only for the prompt's last token, in the `last` ubatch.
/// `touched` is how many more expert weights the ubatch uses than one token does (1 without
/// experts), which the dequantising pass converts.
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul_s(
    active: &[f64; WeightClass::COUNT],
    output: &[f64; WeightClass::COUNT],
    u: f64,
    last: bool,
    k: &Kernels,
    bp: &BackendParams,
    p: &SpeedParams,
    touched: f64,
) -> f64 {
    active
        .iter()
        .zip(output)
        .enumerate()
        .map(|(c, (a, out))| {
            let work = (a - out) * u + if last { *out } else { 0.0 };
            if c == WeightClass::Float.index() {
                2.0 * work / (k.weights_float_peak * bp.pp_float)
            } else if k.kernel[c] == Kernel::DequantBlas {
                2.0 * work / (k.float_peak * bp.pp_float)
                    + (a - out) * touched * DEQUANT_BYTES / k.dequant_bw
            } else {
                2.0 * work / (k.quant_peak * bp.pp_quant * p.pp_class[c])
                    * k.mmq_x_max.map_or(1.0, |x| mmq_fill(p.mmq_tile, u, x))
            }
        })
        .sum()
}

/// How much longer per token and weight than at `x_max` tokens or more llama.cpp's MMQ kernels
/// take at a ubatch of `u` tokens, with `tile` (`SpeedParams::mmq_tile`) the tokens whose products
/// take as long as loading and unpacking the weight tiles they share:
/// `(1 + tile/min(u, x_max)) / (1 + tile/x_max)`. MMQ copies each tile of quantized weights to
/// shared memory and unpacks it to INT8 once for the tokens of one token tile, at most `x_max`
/// wide (`Kernels::mmq_x_max`), so a few tokens pay nearly what `x_max` do and beyond it every
/// token tile loads its weights again: the P40's Q5_0 prompt at 16 tokens ran at 0.52× and the
/// R9700's IQ3_S at 8–32 tokens at 0.62–0.66× of what a per-token cost alone predicted (PRs
/// #7716, #18816). 1 at or below MMVQ's 8 tokens, which run the one-token kernels.
pub(super) fn mmq_fill(tile: f64, u: f64, x_max: f64) -> f64 {
    if tile <= 0.0 || u <= MMVQ_MAX_TOKENS {
        1.0
    } else {
        (1.0 + tile / u.min(x_max)) / (1.0 + tile / x_max)
    }
}

/// Whether a ubatch of `u` tokens is one whose MMQ products `mmq_fill` makes dearer per token
/// on some GPU: above MMVQ's 8 tokens and below MMQ's widest token tile (128). The refit moves
/// `SpeedParams::mmq_tile` only with such rows.
#[must_use]
pub fn mmq_tile_shapes(u: f64) -> bool {
    u > MMVQ_MAX_TOKENS && u < MMQ_X_MAX_MMA
}

/// MMQ's widest token tile with INT8 matrix instructions (NVIDIA's `mma` from Turing, AMD's MFMA
/// and WMMA): `mmq_x` 128 (ggml-cuda mmq.cuh's `get_mmq_x_max_host` in August 2025; the
/// per-architecture tables of mmq-config-ampere.cuh and -rdna4.cuh in October 2026).
const MMQ_X_MAX_MMA: f64 = 128.0;
/// MMQ's widest token tile with dp4a only (Pascal, Volta, AMD without matrix MMQ): 64
/// (`MMQ_DP4A_MAX_BATCH_SIZE`; mmq-config-pascal-dp4a.cuh and -rdna2.cuh).
const MMQ_X_MAX_DP4A: f64 = 64.0;

/// MMQ's widest token tile on a GPU whose MMQ runs on INT8 matrix instructions (`matrix`) or on
/// dp4a.
fn mmq_x_max(matrix: bool) -> f64 {
    if matrix {
        MMQ_X_MAX_MMA
    } else {
        MMQ_X_MAX_DP4A
    }
}

/// How much longer than dense products of the same weights a ubatch of `u` tokens takes in `g`'s
/// expert-indexed products in build `v`, less one (0: no penalty), with the half-rate token counts
/// `tiles` (`SpeedParams::moe_tile`: `[0]` MMQ that picks its tile width against all `u` tokens,
/// `[1]` Vulkan, `[2]` RDNA3/3.5/4 once their MMQ runs on WMMA; RDNA3 before that sent prompts
/// to hipBLAS); other backends have no MoE prompt rows.
pub(super) fn expert_tile_slowdown(
    g: Option<&DeviceSpec>,
    tiles: [f64; 3],
    spec: &ModelSpec,
    u: f64,
    v: LlamaCppVersion,
) -> f64 {
    let Some(g) = g else { return 0.0 };
    if spec.n_expert < 2 || spec.n_expert_used == 0 {
        return 0.0;
    }
    let tile = match g.api {
        GpuApi::Cuda => tiles[0],
        GpuApi::Rocm => match g.amd_arch() {
            Some(AmdArch::Rdna3 | AmdArch::Rdna35 | AmdArch::Rdna4) if rdna_wmma_mmq(g, v) => {
                tiles[2]
            }
            Some(AmdArch::Rdna3 | AmdArch::Rdna35 | AmdArch::Rdna4) => 0.0,
            _ => tiles[0],
        },
        GpuApi::Vulkan => tiles[1],
        _ => 0.0,
    };
    if tile <= 0.0 {
        return 0.0;
    }
    let per_expert = (u * f64::from(spec.n_expert_used) / f64::from(spec.n_expert)).max(1.0);
    (1.0 + tile / per_expert) / (1.0 + tile / u) - 1.0
}

/// The most a matrix-core MMQ kernel (MFMA, WMMA) reaches, as a multiple of the same GPU's
/// int8 dot-product rate ([`AmdArch::dp4a_per_fp32`]). MMQ's tiles are loaded, unpacked to
/// INT8 and scaled by the vector units (per block: nibble unpacking, the FP32 scales and mins,
/// the activations' q8_1 quantization); only the multiply moves to the matrix cores, so where
/// the matrix rate outgrows the vector rate the vector work bounds the kernel. Set by RDNA4,
/// whose listed INT8 WMMA rate is 4× its dot-product rate and whose MMQ measures at 2× (the
/// FP16 WMMA rate: kyuz0's R9700 at b7423 and #26663's RX 9070 XT at b10298 were predicted
/// 1.4-2.1× too fast at the INT8 rate, within the class's spread at this one). It leaves
/// RDNA3/3.5 (INT8 WMMA = 2× dot product) and CDNA1/2 (MI100: 184.6 TOPS INT8 MFMA, 2 × 92.4)
/// where they were and caps CDNA3 (MI300X: 2,615 TOPS INT8 MFMA, 8× its 326.8 dot-product
/// TOPS) at 654: its MFMA MMQ prompts reach 28-30% of that (ROCm blogs' 8-GPU Llama 3.1 70B
/// Q4_K_M pp512, one ubatch through every GPU in turn: 1,341 tok/s ≈ 190 TOPS), where the
/// MI100's reach 28% of its INT8 rate (#22051: Llama 3 8B IQ1_S pp512 3,228-3,427 tok/s).
/// With the INT8 rate they were predicted 1.9× too fast in sample and dragged the class's
/// share down for the MI50 and MI100 (docs/research/amd-prompts.md).
pub(super) const MATRIX_MMQ_PER_DP4A: f64 = 2.0;

/// Whether `g`'s float expert products take [`expert_tile_slowdown`] in build `v`: under Vulkan
/// (its matrix-matrix shaders tile float experts like quantized ones) and on RDNA3/3.5/4 under
/// HIP once MMF takes them on WMMA; elsewhere MMF's tiles fit an expert's tokens (CUDA) or the
/// rows do not say.
pub(super) fn float_experts_tiled(g: &DeviceSpec, v: LlamaCppVersion) -> bool {
    g.api == GpuApi::Vulkan || rdna_wmma_mmq(g, v)
}

/// Whether `g` is an RDNA3/3.5/4 GPU under HIP whose MMQ runs on WMMA in build `v`.
fn rdna_wmma_mmq(g: &DeviceSpec, v: LlamaCppVersion) -> bool {
    g.api == GpuApi::Rocm
        && matches!(
            g.amd_arch(),
            Some(arch @ (AmdArch::Rdna3 | AmdArch::Rdna35 | AmdArch::Rdna4)) if matrix_mmq(arch, v)
        )
}

/// How llama.cpp's HIP backend runs a ubatch of `u` tokens on `g` (architecture `arch`) in build
/// `v`, for a model of `n_expert` experts per layer (0: dense), following
/// `ggml_cuda_should_use_mmq` through its history (each change with its PR and build; see
/// `settings::BUILD_MONTHS` for how builds map to months):
///
/// - before #4682 (b1728, Dec 2023) every AMD GPU used hipBLAS above 32 tokens;
/// - RDNA3 and later: hipBLAS from 64 tokens (#4682) until WMMA MMQ, for RDNA4 #17156 (b7148,
///   Nov 2025), for RDNA3/3.5 #17576 (b7279, Dec 2025);
/// - CDNA: dp4a MMQ until #11244 (b4567, Jan 2025) gave them hipBLAS from 64 tokens; MFMA MMQ
///   for CDNA3 from #14624 (b5997, Jul 2025), for CDNA1/2 from #14949 (b6036) but from 64
///   tokens only for Q4_0/Q4_1/Q5_0/Q5_1, Q4_K/Q5_K up to 256 and, from #18202 (b7564), MoE with
///   more than 64 experts;
/// - GCN5 (MI50): dp4a MMQ, but hipBLAS from b4567 to #11831 (b4699, Feb 2025);
/// - RDNA1/2: dp4a MMQ.
///
/// Left out, as class-level rules cannot hold them: since #18537/#18666 (Jan 2026) RDNA3 sends
/// Q2_K and Q6_K (and on RDNA3.0 IQ2_XS/S) above 128–256 tokens to hipBLAS; IQ4_NL on CDNA1/2.
pub(super) fn amd_kernels(
    arch: AmdArch,
    g: &DeviceSpec,
    v: LlamaCppVersion,
    n_expert: u32,
    u: f64,
    float_peak: f64,
    dequant_bw: f64,
) -> Kernels {
    let f16 = g.fp16_flops.max(1e11);
    let dp4a = match arch.dp4a_per_fp32() {
        Some(x) if g.fp32_flops > 0.0 => Some(x * g.fp32_flops),
        _ => None,
    };
    let matrix_cores = matrix_mmq(arch, v);
    let quant_peak = if matrix_cores {
        let matrix = if g.int8_ops > 0.0 { g.int8_ops } else { f16 };
        match dp4a {
            Some(d) => matrix.min(MATRIX_MMQ_PER_DP4A * d),
            None => matrix,
        }
    } else {
        dp4a.unwrap_or(f16)
    };
    let mut kernel = [Kernel::Own; WeightClass::COUNT];
    for class in QUANT_CLASSES {
        if amd_dequant_blas(arch, v, class, n_expert, u) {
            kernel[class.index()] = Kernel::DequantBlas;
        }
    }
    Kernels {
        float_peak,
        weights_float_peak: float_peak,
        quant_peak,
        kernel,
        dequant_bw,
        mmq_x_max: Some(mmq_x_max(matrix_cores)),
    }
}

/// The rate of a prompt's BF16 weights on an AMD GPU of `arch` under HIP in build `v`, where
/// `blas` is the FP16 BLAS rate (ggml-cuda's cuBLAS/hipBLAS product of BF16 weights, which no
/// other kernel takes at prompt sizes: MMF only up to 16 tokens, or expert batches):
///
/// - before ggml PR #1174 (merged 2025-04-02; b5050 taken for the llama.cpp sync that brought
///   it) BF16 weights were converted to F32 and multiplied by the FP32 GEMM (PR #11093);
/// - from #1174 every GPU got `GemmEx` in BF16, without a hardware check. Where the GPU has BF16
///   instructions that runs at its BF16 rate ([`AmdArch::bf16_per_fp16`]). Where it has none,
///   rocBLAS computes it in FP32 and is slower than llama.cpp's own F32 path: on the MI50
///   (gfx906), PR #28846's switch back to F32 took a Llama 3.2 1B BF16 pp1024 at ubatch 128
///   from 1,504 to 2,096 tok/s ([`BF16_EMULATED_PER_FP32`]);
/// - PR #28846 (merged 2026-09-13 on b10930; b10931 taken) brought back the F32 path for GPUs
///   without BF16 matrix instructions.
pub(super) fn amd_bf16_rate(arch: AmdArch, g: &DeviceSpec, v: LlamaCppVersion, blas: f64) -> f64 {
    let fp32 = if g.fp32_flops > 0.0 {
        g.fp32_flops
    } else {
        blas / 2.0
    };
    if !v.has_build(5050) {
        return fp32;
    }
    match arch.bf16_per_fp16() {
        Some(share) => blas * share,
        None if v.has_build(10931) => fp32,
        None => fp32 * BF16_EMULATED_PER_FP32,
    }
}

/// rocBLAS's BF16 `GemmEx` on a GPU without BF16 instructions over llama.cpp's F32 path: 1,504 /
/// 2,096 tok/s, the MI50's rows in PR #28846 (Llama 3.2 1B BF16, pp1024, ubatch 128, b10930 and
/// the PR's branch).
const BF16_EMULATED_PER_FP32: f64 = 1504.0 / 2096.0;

/// The share of hipBLASLt's GEMM rate that rocBLAS reaches on `arch` with the GEMM backend
/// `hipblaslt` selects (`ROCBLAS_USE_HIPBLASLT`; `None`: rocBLAS's choice) in the era of build `v`.
/// On RDNA3.5 (gfx1151, Strix Halo) rocBLAS's own Tensile kernels reach [`TENSILE_SHARE_RDNA35`]
/// of hipBLASLt's prompt speed. rocBLAS picks the backend itself when the variable is unset
/// (rocBLAS docs: "handled automatically based on the architecture and problem"), and what it
/// picked on gfx1151 changed with ROCm: Tensile in lhl/strix-halo-testing's default runs (builds
/// b5863–b6097, mid-2025), hipBLASLt's rate in kyuz0's May 2026 runs without the variable (b9187,
/// ROCm 6.4.4, 7.2.3 and nightlies: Gemma 4 31B BF16 pp512 410–428 tok/s, 26 TFLOPS, where
/// kyuz0's runs with `ROCBLAS_USE_HIPBLASLT=1` reached 25 on Gemma 3 27B at b7423). No run
/// between says when, so Tensile is taken until b9187.
pub(super) fn blas_library_share(
    arch: AmdArch,
    hipblaslt: Option<bool>,
    v: LlamaCppVersion,
) -> f64 {
    let tensile = match hipblaslt {
        Some(on) => !on,
        None => !v.has_build(9187),
    };
    if arch == AmdArch::Rdna35 && tensile {
        TENSILE_SHARE_RDNA35
    } else {
        1.0
    }
}

/// Tensile's prompt speed over hipBLASLt's on gfx1151: the median over the 48 pairs of
/// lhl/strix-halo-testing's pp512 results that differ only in `ROCBLAS_USE_HIPBLASLT` (default
/// vs 1; builds b5863–b6097, when RDNA3.5 sent prompts to hipBLAS), 0.19–0.74 (throughput.csv).
/// lhl's rows are in sample for it; kyuz0's toolbox rows of float weights are not.
pub(super) const TENSILE_SHARE_RDNA35: f64 = 0.315;

/// Whether llama.cpp's Vulkan backend multiplies a prompt on `g`'s matrix cores in build `v`
/// (ggml-vulkan.cpp, `ggml_vk_khr_cooperative_matrix_support`). Intel's GPUs only from Xe2 on
/// (Arc B-series, Lunar Lake's 140V), since #14001 (June 2025: the thread's master run is
/// b5583 and its own b5589; b5600 taken); discrete Xe1 (Arc A-series) never ("performance
/// regressions"), so it runs the scalar shaders (`matrix cores: none`; integrated Xe1 on
/// Windows since #24404, June 2026, is left out). Other makers' GPUs use the matrix cores they
/// have, and one without any is listed at its vector rate.
pub(super) fn vulkan_matrix_cores(g: &DeviceSpec, v: LlamaCppVersion) -> bool {
    if g.vendor != Some(GpuVendor::Intel) {
        return true;
    }
    let xe2 = g
        .name
        .to_ascii_uppercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| {
            let b_series =
                w.len() >= 3 && w.starts_with('B') && w[1..].chars().all(|c| c.is_ascii_digit());
            b_series || matches!(w, "140V" | "130V" | "LUNAR" | "BATTLEMAGE")
        });
    xe2 && v.has_build(5600)
}

/// The rate of BF16 weights' products on `g` under Vulkan with `driver`, where `matrix` is the
/// rate of its F16 products. ggml-vulkan multiplies BF16 on the matrix cores only where the driver
/// has BF16 cooperative matrices (`coopmat_bf16_support`, VK_KHR_shader_bfloat16: the device
/// line's `bf16: 1`); elsewhere its "BF16 fallback for coopmat devices" (ggml-vulkan.cpp
/// `matmul_bf16_fp32`, `matmul_id_bf16_fp32`) runs the scalar shader in FP32 (`FLOAT_TYPE=float`),
/// the dense products and the experts' alike. Of AMD's GPUs in the calibration logs only RDNA4
/// under RADV reads `bf16: 1` (the R9700, kyuz0/amd-r9700-ai-toolboxes); RDNA3 and 3.5 under
/// RADV and every GPU under AMDVLK read `bf16: 0`. Strix Halo's dense BF16 prompts under Vulkan
/// reach 5.8–8.3 TFLOPS (Gemma 3 27B, Ministral 3 14B, Gemma 4 31B, pp512 under RADV;
/// kyuz0/amd-strix-halo-toolboxes), a fifth to a quarter of its 29.7 FP32 TFLOPS and a seventh of
/// its 59.4 FP16 ones, where ROCm's reach 25; the R9700's under AMDVLK 14 (Ministral 3 14B, two
/// GPUs), under RADV 25. Intel's Xe2 reads `bf16: 1` under Mesa (the 140V of #22461); NVIDIA's
/// drivers are left at the matrix rate, with no row to tell.
pub(super) fn vulkan_bf16_peak(g: &DeviceSpec, driver: VulkanDriver, matrix: f64) -> f64 {
    if vulkan_bf16_on_scalar(g, driver) {
        g.fp32_flops
    } else {
        matrix
    }
}

/// Whether ggml-vulkan multiplies BF16 weights on `g` with `driver` in FP32 on its scalar shader
/// (the rule and its evidence: [`vulkan_bf16_peak`]); only where the FP32 rate is listed.
pub(super) fn vulkan_bf16_on_scalar(g: &DeviceSpec, driver: VulkanDriver) -> bool {
    let bf16_matrix = g.amd_arch() == Some(AmdArch::Rdna4) && driver == VulkanDriver::Radv;
    g.vendor == Some(GpuVendor::Amd) && !bf16_matrix && g.fp32_flops > 0.0
}

/// The first build whose ggml-vulkan lets several GPUs pipeline a prompt's ubatches. The scheduler
/// overlaps them only where every backend records and waits on events and copies between
/// devices without blocking; ggml-vulkan had neither in August 2025 (`async` and `events` false,
/// llama.cpp of llama-cpp-python 0.3.16), and its event waits were not submitted to the queue, so
/// they did nothing, until #20518 ("vulkan: async and event fixes", merged 2026-03-13, when master
/// printed version 8325 in #20495's thread; b8340 is taken). Two R9700s under Vulkan at b7423
/// (kyuz0/amd-r9700-ai-toolboxes) run as one GPU after the other.
pub const VULKAN_PIPELINE_BUILD: u32 = 8340;

/// The first build with ggml-vulkan's large prompt tiles for AMD GPUs with matrix cores: #18749
/// (merged 2026-01-11; between #18537's b7645 and b7772, both January 2026, so b7700 is taken;
/// the calibration rows of AMD GPUs under Vulkan are from b7423 or earlier, or b9187 or later).
const VULKAN_AMD_LARGE_TILES_BUILD: u32 = 7700;

/// The prompt speed of the large tiles under Mesa's RADV over the medium ones before them: the
/// geometric mean of #18749's own Strix Halo (RADV) pp512 gains for Llama 3 8B, Q4_0 1.357,
/// Q4_K_S 1.499 and Q8_0 1.758 (644.84 → 875.24, 529.50 → 793.51, 422.37 → 742.46 tok/s). They
/// are whole-prompt gains, so a floor for the products' own.
pub(super) const RADV_LARGE_TILES: f64 = 1.53;

/// How much faster than before #18749 a ubatch's dense matrix products run on `g` under Vulkan
/// with `driver` in build `v`, where `amdvlk` is AMDVLK's factor (`SpeedParams::amdvlk_tiles`):
/// 1 but on AMD's GPUs with Vulkan matrix cores (RDNA3, 3.5 and 4) from that PR on. #18749 gave
/// them 128×128 tiles (`l_warptile`, `mul_mat_l`) for the dense products, not the expert ones
/// (`mul_mat_id_l` stays off); the next day #18763 took them back from AMD's proprietary driver
/// (`eAmdProprietary`, Windows), where they were slower. AMDVLK reports itself as AMD's
/// open-source driver and keeps them, though it compiles shaders with the proprietary driver's
/// compiler: on Strix Halo its dense prompts fell from 1,306 tok/s (Llama 2 7B Q4_0, b6182) to 347
/// (b9187), where RADV's rose from 876 to 1,338 and its MoE prompts held (gpt-oss-120b 486 → 665;
/// kyuz0/amd-strix-halo-toolboxes).
#[must_use]
pub fn vulkan_amd_tiles(
    g: &DeviceSpec,
    v: LlamaCppVersion,
    driver: VulkanDriver,
    amdvlk: f64,
) -> f64 {
    if !vulkan_amd_large_tiles(g, v) {
        return 1.0;
    }
    match driver {
        VulkanDriver::Radv => RADV_LARGE_TILES,
        VulkanDriver::Amdvlk => amdvlk,
        VulkanDriver::Amd => 1.0,
    }
}

/// Whether build `v` gives `g` ggml-vulkan's large prompt tiles for AMD's matrix cores (on any
/// driver but AMD's Windows one): an RDNA3, 3.5 or 4 GPU under Vulkan from #18749 on.
#[must_use]
pub fn vulkan_amd_large_tiles(g: &DeviceSpec, v: LlamaCppVersion) -> bool {
    let matrix_cores = matches!(
        g.amd_arch(),
        Some(AmdArch::Rdna3 | AmdArch::Rdna35 | AmdArch::Rdna4)
    );
    g.api == GpuApi::Vulkan && matrix_cores && v.has_build(VULKAN_AMD_LARGE_TILES_BUILD)
}

/// How much faster than before 2026 a prompt's attention runs on `g` under Vulkan with `driver`
/// in build `v` when it is not one flash-attention kernel (`-fa 0`: the KQ and KQV products are
/// dense matrix products, and AMDVLK's take [`vulkan_amd_tiles`]'s factor); 1 with flash
/// attention, whose kernel [`vulkan_fa_scalar`] picks.
#[must_use]
pub fn vulkan_amd_attention(
    g: &DeviceSpec,
    v: LlamaCppVersion,
    driver: VulkanDriver,
    amdvlk: f64,
    flash_attn: bool,
) -> f64 {
    if driver == VulkanDriver::Amdvlk && !flash_attn {
        vulkan_amd_tiles(g, v, driver, amdvlk)
    } else {
        1.0
    }
}

/// The first build whose ggml-vulkan runs flash attention on `KHR_cooperative_matrix` (coopmat1,
/// the matrix cores of AMD's RDNA3+ and Intel's Xe2): #13506 (mid-May 2025, between b4966 of March
/// and b5863 of July, so b5400 is taken); before it, those GPUs had only #13324's scalar shader.
pub const VULKAN_FA_COOPMAT1_BUILD: u32 = 5400;

/// The first build with #19075's coopmat1 flash-attention shader (b7865, January 2026), which
/// stages K and V through far less shared memory than the shader before it.
const VULKAN_FA_REFACTOR_BUILD: u32 = 7865;

/// Shared memory a Vulkan driver grants a workgroup on AMD's RDNA GPUs
/// (`maxComputeSharedMemorySize`): 64 KiB under Mesa's RADV (the `shared memory: 65536` of
/// #18749's Strix Halo device line), 32 KiB under AMD's own drivers (AMDVLK on gfx1151:
/// GPUOpen-Drivers/AMDVLK#420, "shared memory: 32768" beside RADV's 65536; AMD's Windows driver
/// reports 32768 too since 2026, llama.cpp #26163, which AMDVLK shares its code base with).
fn vulkan_shared_memory(driver: VulkanDriver) -> u64 {
    match driver {
        VulkanDriver::Radv => 65_536,
        VulkanDriver::Amdvlk | VulkanDriver::Amd => 32_768,
    }
}

/// Bytes of shared memory ggml-vulkan's coopmat1 flash-attention shader asks for with K heads of
/// `hsk` in build `v`, as `ggml_vk_flash_attn_coopmat_shmem_support` counts them on AMD (f32
/// accumulators, which llama.cpp's graph always asks for: `ggml_prec_set_acc(.., GGML_PREC_F32)`;
/// an F16 cache; 16 query rows a workgroup). Since #19075 (llama.cpp of October 2026 read): the
/// Q tile, 16 × (hsk/4 + 2) f16vec4, beside 13,424 fixed bytes and the softmax tile (64 × 24 or,
/// past 128-wide heads, 64 × 16 floats), so 128-, 256- and 464-wide heads fit 32 KiB and 512- or
/// 576-wide ones (Gemma 4's global blocks, MLA's latent K) do not. Before (llama.cpp of August
/// 2025 read): the whole K tile too, 64 × (hsk/4 + 2) f16vec4, so 32 KiB held 128-wide heads
/// only and 64 KiB 256-wide ones but not 512-wide ones.
fn coopmat1_fa_shared_bytes(hsk: u64, v: LlamaCppVersion) -> u64 {
    let row = hsk.div_ceil(16) * 16 / 4 + 2;
    let softmax = 64 * if hsk <= 128 { 24 } else { 16 } * 4;
    if v.has_build(VULKAN_FA_REFACTOR_BUILD) {
        13_424 + 16 * row * 8 + softmax
    } else {
        // 128 threads' f32 and f32vec4 scratch, the Q and K tiles, the slopes.
        128 * 4 + 128 * 4 * 4 + 16 * row * 8 + softmax + 64 * row * 8 + 64
    }
}

/// Whether ggml-vulkan runs the flash attention of K heads `hsk` wide on `g` in its scalar shader
/// although `g` has matrix cores it uses for prompts (AMD's RDNA3, 3.5 and 4 under Vulkan):
/// before #13506 always; after, when the coopmat1 shader needs more shared memory than the driver
/// grants (`get_fa_tuning_params` falls back to the scalar path). On AMDVLK, Strix Halo's deep
/// prompts of Gemma 4 (512-wide global heads) and GLM-4.7-Flash (576-wide latent K) ran 6.7× and
/// 10.6× slower than RADV's at b9187, those of 64- and 128-wide heads (gpt-oss, Llama 2, MiniMax
/// M2) at 0.8–1.3× (kyuz0/amd-strix-halo-toolboxes); at b7423 Gemma 3's 256-wide heads 1.7–4.9×.
#[must_use]
pub(super) fn vulkan_fa_scalar(
    g: &DeviceSpec,
    v: LlamaCppVersion,
    driver: VulkanDriver,
    hsk: u64,
) -> bool {
    let matrix_cores = matches!(
        g.amd_arch(),
        Some(AmdArch::Rdna3 | AmdArch::Rdna35 | AmdArch::Rdna4)
    );
    if g.api != GpuApi::Vulkan || !matrix_cores {
        return false;
    }
    !v.has_build(VULKAN_FA_COOPMAT1_BUILD)
        || coopmat1_fa_shared_bytes(hsk, v) > vulkan_shared_memory(driver)
}

/// The widest K rows of `spec`'s attention blocks whose flash attention `vulkan_fa_scalar` sends
/// to the scalar shader on `g`; `None` where every block takes the matrix cores (or `g` has none).
#[must_use]
pub fn vulkan_fa_scalar_width(
    g: &DeviceSpec,
    v: LlamaCppVersion,
    driver: VulkanDriver,
    spec: &ModelSpec,
) -> Option<u64> {
    (0..spec.n_layer)
        .filter(|&il| !spec.is_recurrent_layer(il))
        .map(|il| spec.layer_fa_k_width(il))
        .filter(|&w| vulkan_fa_scalar(g, v, driver, w))
        .max()
}

/// The rate llama.cpp's HIP flash-attention tile kernel (ggml-cuda/fattn-tile.cuh) can reach on
/// `g`, where it differs from the FP16 rate the other attention blocks are scaled by: the tile
/// kernel runs on the vector units in packed FP16 (`half2`), not on the matrix cores, so its
/// ceiling is twice the FP32 rate the spec lists. On RDNA1-3.5, GCN5 and the RDNA2 cards the
/// listed FP16 rate is that twice-FP32 rate already; RDNA4's WMMA doubled per CU (1,024 FP16
/// FLOP/clk/CU dense against RDNA3's 512) and CDNA's MFMA lists 8x the FP32 rate, which the tile
/// kernel never touches. Without this, kyuz0's R9700 prompts at depth 16K-32K (b7423, before
/// #18481 moved RDNA4's to WMMA) came out 1.2-1.9x too fast in sample while the RDNA3 cards'
/// came out too slow. `None` for every other GPU and API.
pub(super) fn amd_fa_tile_peak(g: &DeviceSpec) -> Option<f64> {
    if g.api != GpuApi::Rocm || g.amd_arch().is_none() || g.fp32_flops <= 0.0 {
        return None;
    }
    Some(g.fp16_flops.max(1e11).min(2.0 * g.fp32_flops))
}

/// The first build whose HIP flash attention runs RDNA4's prompts on WMMA: #18481 (merged
/// 2026-01-13, two days after #18749's b7700 and before b7772, so b7720 is taken; no calibration
/// row of an RDNA4 GPU under ROCm lies between b7423 and September 2026).
pub const AMD_FA_RDNA4_BUILD: u32 = 7720;

/// The first build whose HIP flash attention runs CDNA's prompts on MFMA: #19806 (merged
/// 2026-02-28; b8041 and b8651 were released in mid-February and on April 3, so b8200 is taken).
pub const AMD_FA_CDNA_BUILD: u32 = 8200;

/// The first build whose HIP flash attention runs RDNA3's and 3.5's prompts on WMMA, and CDNA's
/// up to head size 256: #22880 (merged 2026-05-14 late; b9174 was released by May 16 and b9247
/// on May 20, about 18 builds a day, so b9150 is taken; kyuz0's Strix Halo rows at b9187 and b9193
/// show it: their grouped-query prompts at depth run 1.4–1.7× faster than the class's attention
/// rate, their one-query-head-a-KV-head ones do not).
pub const AMD_FA_RDNA3_BUILD: u32 = 9150;

/// The fewest tokens in a ubatch for which llama.cpp's HIP backend runs the flash attention of a
/// block with head size `head` (K and V) and `gqa` query heads a KV head on `g`'s matrix cores
/// (WMMA, MFMA) in build `v`, following `ggml_cuda_get_best_fattn_kernel` (ggml-cuda/fattn.cu);
/// `None` where it runs the scalar tile kernel at every size:
///
/// - RDNA4 from #18481 ([`AMD_FA_RDNA4_BUILD`]), RDNA3/3.5 from #22880
///   ([`AMD_FA_RDNA3_BUILD`]): only with the grouped-query optimisation (`gqa_opt_applies`: 2 or
///   more query heads a KV head, a mask, no ALiBi) and heads of at most 128 (not 40 or 72), once
///   tokens × `gqa_ratio_eff` (the largest power of two up to 8 dividing `gqa`) exceed 8: "AMD WMMA
///   is always faster than the tile kernel if the full tile width of 16 can be utilized"; the PR
///   found no head size above 128 where it beat the tile kernel;
/// - CDNA from #19806 ([`AMD_FA_CDNA_BUILD`]): heads of at most 128 (not 40 or 72) once tokens ×
///   `gqa` (1 without the optimisation) reach 128 (64 on CDNA1 for head size 64); from #22880
///   heads up to 256, once tokens × `gqa_ratio_eff` exceed 8 (head ≤ 64), 16 (≤ 128) or 64;
/// - MLA's latent attention (K 576, V 512) and every other AMD GPU: the tile kernel.
///
/// Left out: builds with `GGML_HIP_ROCWMMA_FATTN` (rocWMMA's kernel, removed in #26046), which
/// the calibration rows leave out too.
#[must_use]
pub fn amd_fa_matrix_tokens(
    g: &DeviceSpec,
    v: LlamaCppVersion,
    head: u64,
    gqa: u32,
    mla: bool,
) -> Option<f64> {
    if g.api != GpuApi::Rocm || mla || head == 40 || head == 72 {
        return None;
    }
    let arch = g.amd_arch()?;
    let mut gqa_eff = 1u32;
    while gqa % (2 * gqa_eff) == 0 && gqa_eff < 8 {
        gqa_eff *= 2;
    }
    // The fewest tokens for which tokens × `per_token` exceeds `over`.
    let above = |over: u32, per_token: u32| f64::from(over / per_token.max(1) + 1);
    match arch {
        AmdArch::Rdna3 | AmdArch::Rdna35 | AmdArch::Rdna4 => {
            let from = if arch == AmdArch::Rdna4 {
                AMD_FA_RDNA4_BUILD
            } else {
                AMD_FA_RDNA3_BUILD
            };
            (v.has_build(from) && gqa >= 2 && head <= 128).then(|| above(8, gqa_eff))
        }
        AmdArch::Cdna1 | AmdArch::Cdna2 | AmdArch::Cdna3 | AmdArch::Cdna4 => {
            if v.has_build(AMD_FA_RDNA3_BUILD) {
                let over = match head {
                    0..=64 => 8,
                    65..=128 => 16,
                    129..=256 => 64,
                    _ => return None,
                };
                Some(above(over, gqa_eff))
            } else if v.has_build(AMD_FA_CDNA_BUILD) && head <= 128 {
                let at_least: u32 = if arch == AmdArch::Cdna1 && head == 64 {
                    64
                } else {
                    128
                };
                let per_token = if gqa >= 2 { gqa } else { 1 };
                Some(f64::from(at_least.div_ceil(per_token)))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Whether MMQ runs on the matrix cores (MFMA, WMMA) in build `v`, else on `v_dot4_i32_i8`.
fn matrix_mmq(arch: AmdArch, v: LlamaCppVersion) -> bool {
    match arch {
        AmdArch::Cdna3 => v.has_build(5997),
        AmdArch::Cdna1 | AmdArch::Cdna2 | AmdArch::Cdna4 => v.has_build(6036),
        AmdArch::Rdna4 => v.has_build(7148),
        AmdArch::Rdna3 | AmdArch::Rdna35 => v.has_build(7279),
        _ => false,
    }
}

/// The quantized weight classes llama.cpp's MMQ kernels take (every quantized type llmrig
/// tells apart).
const QUANT_CLASSES: [WeightClass; 5] = [
    WeightClass::Q8,
    WeightClass::Legacy,
    WeightClass::KQuant,
    WeightClass::Iq,
    WeightClass::Fp4,
];

/// The most tokens llama.cpp multiplies with its one-token kernels (MMVQ, `MMVQ_MAX_BATCH_SIZE`
/// in ggml-cuda/mmvq.cuh); neither MMQ nor the BLAS path runs at or below it.
const MMVQ_MAX_TOKENS: f64 = 8.0;

/// How llama.cpp's CUDA backend multiplies a ubatch of `u` tokens of quantized weights on an
/// NVIDIA GPU of `arch` in build `v`, built with `force_mmq` (`Settings::force_mmq`), following
/// the MMQ choice through its history (ggml-cuda.cu's `ggml_cuda_mul_mat`, later mmq.cu's
/// `ggml_cuda_should_use_mmq`):
///
/// - from #3776 (Oct 2023) until #8075 (b3216, June 2024), a GPU with fast FP16
///   (`fp16_performance_good`: the P100, Volta and later) sent more than 32 tokens
///   (`MMQ_MAX_BATCH_SIZE`) to cuBLAS: each weight matrix dequantized to F16, then
///   `cublasGemmEx` with FP16 accumulation (`CUBLAS_COMPUTE_16F`: the rate GeForce cards list at
///   twice the FP32-accumulate one), unless built with `LLAMA_CUDA_FORCE_MMQ`. The int8
///   tensor-core MMQ of #7676/#7860/#7921 (June 2024) ran only when forced until #8075 made it
///   the default;
/// - from #8075: MMQ at every size on Turing and later (`turing_mma_available`); Volta (FP16
///   tensor cores, no INT8 ones) from 64 tokens (`MMQ_DP4A_MAX_BATCH_SIZE`) to cuBLAS, and
///   `GGML_CUDA_FORCE_MMQ` keeps MMQ; the P100 (no `__dp4a`) always to cuBLAS; Pascal's 6.1
///   (slow FP16) always MMQ on `__dp4a`.
///
/// `blas` is the cuBLAS FP16-accumulate rate, `mmq` the MMQ kernels' (Turing on: INT8 tensor
/// cores, else `__dp4a`). Left out: Pascal 6.1 between #3776 and #4682 (b1728), which took cuBLAS
/// too (#4682: P40 Q8_0 pp512 334 tok/s, 894 after); IQ types before their MMQ kernels (from
/// #8278, July 2024); the P100's MoE MMQ since #26264 (July 2026); MMQ's 48 KiB shared-memory
/// check; MMQ at every size between #2683 (Aug 2023) and #3776.
pub(super) fn cuda_kernels(
    arch: NvidiaArch,
    v: LlamaCppVersion,
    force_mmq: Option<bool>,
    u: f64,
    blas: f64,
    mmq: f64,
    dequant_bw: f64,
) -> Kernels {
    let blas_path = if u <= MMVQ_MAX_TOKENS {
        false
    } else if !arch.dp4a() {
        true
    } else {
        match force_mmq {
            Some(forced) => !forced,
            None if !v.has_build(3216) => arch.fast_fp16() && u > 32.0,
            None => arch == NvidiaArch::Volta && u >= 64.0,
        }
    };
    let mut kernel = [Kernel::Own; WeightClass::COUNT];
    if blas_path {
        for class in QUANT_CLASSES {
            kernel[class.index()] = Kernel::DequantBlas;
        }
    }
    Kernels {
        float_peak: blas,
        weights_float_peak: blas,
        quant_peak: mmq,
        kernel,
        dequant_bw,
        mmq_x_max: Some(mmq_x_max(arch.int8_mma())),
    }
}

/// How llama.cpp's SYCL backend multiplies a ubatch of `u` tokens: its MMQ kernels are off on
/// every type (ggml-sycl.cpp, `ggml_sycl_supports_mmq` returns false, "accuracy issues in MMQ"),
/// so past the one-token kernels (`mul_mat_vec_q`, up to 8 tokens) every quantized product is
/// dequantized to F16 and multiplied by oneDNN's or oneMKL's GEMM (`ggml_sycl_op_mul_mat_sycl`)
/// at the GPU's XMX FP16 rate `blas`; `dequant_bw` is the rate of the dequantizing pass.
pub(super) fn sycl_kernels(u: f64, blas: f64, dequant_bw: f64) -> Kernels {
    let mut k = Kernels::own(blas, blas);
    k.dequant_bw = dequant_bw;
    if u > MMVQ_MAX_TOKENS {
        for class in QUANT_CLASSES {
            k.kernel[class.index()] = Kernel::DequantBlas;
        }
    }
    k
}

/// A CUDA/HIP build's forced choice (`Settings::force_mmq`) over `k`'s quantized classes at a
/// ubatch of `u` tokens: `GGML_CUDA_FORCE_MMQ` keeps them in MMQ, `GGML_CUDA_FORCE_CUBLAS` sends
/// them to the BLAS path above the one-token kernels.
pub(super) fn force_kernels(k: &mut Kernels, force_mmq: Option<bool>, u: f64) {
    let Some(forced) = force_mmq else { return };
    if u <= MMVQ_MAX_TOKENS {
        return;
    }
    for class in QUANT_CLASSES {
        k.kernel[class.index()] = if forced {
            Kernel::Own
        } else {
            Kernel::DequantBlas
        };
    }
}

/// Whether build `v` dequantizes weights of `class` for hipBLAS on `arch` at a ubatch of `u`
/// tokens (the rules of [`amd_kernels`]).
pub(super) fn amd_dequant_blas(
    arch: AmdArch,
    v: LlamaCppVersion,
    class: WeightClass,
    n_expert: u32,
    u: f64,
) -> bool {
    if !v.has_build(1728) {
        return u > 32.0;
    }
    if u < 64.0 {
        return false;
    }
    let matrix = matrix_mmq(arch, v);
    match arch {
        AmdArch::Rdna3 | AmdArch::Rdna35 | AmdArch::Rdna4 => !matrix,
        AmdArch::Cdna3 => !matrix && v.has_build(4567),
        AmdArch::Cdna1 | AmdArch::Cdna2 | AmdArch::Cdna4 if matrix => {
            let mmq = class == WeightClass::Legacy
                || u <= 128.0
                || (class == WeightClass::KQuant && u <= 256.0)
                || (v.has_build(7564) && n_expert > 64);
            !mmq
        }
        AmdArch::Cdna1 | AmdArch::Cdna2 | AmdArch::Cdna4 => v.has_build(4567),
        AmdArch::Gcn5 => v.has_build(4567) && !v.has_build(4699),
        AmdArch::Gcn4 | AmdArch::Rdna1 | AmdArch::Rdna2 => false,
    }
}

#[cfg(test)]
mod tests;
