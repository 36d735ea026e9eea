//! The speed model for llama-bench's tests: decode (`tgN @ dD`) and prefill (`ppN @ dD`).
//!
//! Decode reads, for every token, each device's active weights (only the used experts of an MoE
//! layer) and its part of the KV cache, devices in sequence: `t = Σ_dev Σ_class bytes / (BW ·
//! η_bw · f_class) + KV / (BW · η_bw · f_kv) + t_step + hops · t_hop`. Dequantising kernels read
//! their bytes less efficiently than plain f16 ones, hence the per-class factor `f_class`.
//!
//! Prefill processes the prompt in ubatches; each costs `2 · active params · tokens` FLOPs at the
//! device's FP16 rate times an efficiency (float or quantized weights), plus attention: without flash
//! attention the f32 KQ matrix of every head is written and read (`passes · n_kv · tokens · heads ·
//! 4` bytes per layer), with it the QK/AV FLOPs; never faster than reading the weights and the KV
//! cache once, and with decode's launch cost per ubatch (a one-token ubatch is a decoded token;
//! from two tokens on the fitted per-ubatch cost too). Several GPUs holding all layers pipeline the ubatches
//! of the whole prompt; CPU-resident weights are uploaded to GPU 0 over PCIe for each ubatch.
//! Quantized weights run through llama.cpp's MMQ kernels at the INT8 rate their instructions
//! reach ([`crate::system::DeviceSpec::mmq_int8_ops`]: half the listed peak on Hopper).
//!
//! The constants are fitted to crates/catalog/data/calibration/throughput.csv (published
//! llama-bench results, each row citing its source) by
//! `cargo run -p llmrig-catalog --example accuracy -- --refit`, which prints them and the error;
//! defaults for backends without data come from published achieved/peak ratios (see
//! `SpeedParams::default`).

use serde::Serialize;

pub use crate::system::{BackendParams, Calibration, CpuKernels};

use super::memory::{flash_attn_on, layer_kv_bytes, ContextShape};
use super::placement::{DeviceLoad, Placement, WeightLayout};
use super::prompt_kernels::{
    amd_bf16_rate, amd_fa_matrix_tokens, amd_fa_tile_peak, amd_kernels, blas_library_share,
    cuda_kernels, expert_tile_slowdown, float_experts_tiled, force_kernels, matmul_s, sycl_kernels,
    vulkan_amd_attention, vulkan_amd_tiles, vulkan_bf16_peak, vulkan_fa_scalar,
    vulkan_matrix_cores, Kernels, VULKAN_PIPELINE_BUILD,
};
use super::settings::Settings;
use super::speed_params::{backend_index, device_class, SpeedParams};
use super::weights::{ModelWeights, WeightClass};

use crate::system::{GpuApi, GpuVendor, MemoryTech, SystemSpec};

/// Speed for llama-bench's tests at the settings' `--prompt`, `--gen` and `--depth`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Performance {
    /// Prompt processing, tokens/s (llama-bench `ppN @ dD`).
    pub prefill_tokens_per_s: f64,
    /// Generation, tokens/s averaged over the generated tokens (llama-bench `tgN @ dD`).
    pub decode_tokens_per_s: f64,
    /// Time to process the prompt, seconds.
    pub time_to_first_token_s: f64,
    /// What limits decoding: `memory` or `compute`.
    pub decode_bound: &'static str,
    /// Low end of the decode range, tokens/s (see [`Ranges`](super::Ranges)).
    pub decode_low: f64,
    /// High end of the decode range, tokens/s.
    pub decode_high: f64,
    /// Low end of the prefill range, tokens/s.
    pub prefill_low: f64,
    /// High end of the prefill range, tokens/s.
    pub prefill_high: f64,
    /// Decode and prompt speed as the context fills: at depths 0, ¼, ½, ¾ and the whole
    /// allocated context.
    pub decode_by_depth: Vec<DepthPoint>,
}

/// Speed at one context depth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DepthPoint {
    /// Tokens already in the context.
    pub depth: u64,
    /// Generation speed there, tokens/s.
    pub decode_tokens_per_s: f64,
    /// Prompt processing of the settings' `--prompt` tokens from there, tokens/s (llama-bench's
    /// `-p N -d depth`).
    pub prefill_tokens_per_s: f64,
}

/// ggml-blas takes a product when all its sizes are at least this (`min_batch` in ggml-blas.cpp).
const BLAS_MIN_BATCH: f64 = 32.0;
/// Seconds of one ubatch of `u` tokens on the CPU of a BLAS build, less the output matrix (one row,
/// in ggml's kernels): the weights ggml-blas takes (`active` less the output matrix and less
/// `not_blas`, the repacked matrices and expert stacks it leaves to ggml) are converted to f32 and
/// multiplied at the BLAS share of the CPU's f32 rate, but never faster than the default build
/// multiplies them (`own`, seconds of ggml's kernels for a set of weights): on the validation
/// machine and in every published comparison since llamafile's sgemm went into llama.cpp (PR
/// #6414, April 2024) a BLAS build prefills at best as fast (validation/cpu-builds.md; llama.cpp
/// #6417 and #12237: OpenBLAS 7.5× and ~5× slower). `rate` is the BLAS product's FLOP/s,
/// `convert_s` the conversion's seconds per weight on all threads.
fn blas_s(
    active: &[f64; WeightClass::COUNT],
    output: &[f64; WeightClass::COUNT],
    not_blas: &[f64; WeightClass::COUNT],
    u: f64,
    (rate, convert_s): (f64, f64),
    own: impl Fn(&[f64; WeightClass::COUNT]) -> f64,
) -> f64 {
    let mut blas = [0f64; WeightClass::COUNT];
    let mut kept = [0f64; WeightClass::COUNT];
    for c in 0..WeightClass::COUNT {
        let matmul = (active[c] - output[c]).max(0.0);
        kept[c] = not_blas[c].min(matmul);
        blas[c] = matmul - kept[c];
    }
    let n: f64 = blas.iter().sum();
    (n * convert_s + 2.0 * n * u / rate).max(own(&blas)) + own(&kept)
}

/// Layers the per-token cost `BackendParams::step_s` is quoted for (Llama 3 8B's 32).
const STEP_LAYERS: f64 = 32.0;

/// `-sm row`: each split matmul ends with the partial results gathered on one GPU and a
/// synchronisation of the others: a CUDA peer copy and an event wait, assumed 20 µs. Not
/// calibrated: the calibration data has no `-sm row` runs.
const ROW_SYNC_S: f64 = 20e-6;

/// Effective PCIe host-to-device rate for weight uploads during prefill, bytes/s: PCIe 4.0 x16
/// peaks at 16 × 1.969 = 31.5 GB/s per direction (PCI-SIG PCIe 4.0 base specification), of which
/// about 25 GB/s (~80%) is assumed reachable; not measured in this repository.
const PCIE_BYTES_PER_S: f64 = 25e9;

/// The ubatch of the prompt rows `SpeedParams::moe_tile` and the classes' `pp_float` were fitted
/// on (llama-bench's and llama.cpp's default `n_ubatch`).
const FIT_UBATCH: f64 = 512.0;

/// Seconds one decoded token spends beyond reading them on `a` BF16 expert weights (elements per
/// token) of a GPU under Vulkan: ggml-vulkan sends BF16 expert stacks to its matrix-matrix
/// shaders even for one token (`ggml_vk_use_mul_mat_vec_id` takes F32, F16 and quantized stacks
/// only), whose tiles cost an expert's one token what a prompt's expert products cost for `tile`
/// more (`SpeedParams::moe_tile`), at the class's float rate `float_rate` (FLOP/s, at
/// [`FIT_UBATCH`]). `read_rate`: bytes/s at which the same weights are read. Other APIs' one-token
/// kernels read the weights, so the caller asks only for GPUs under Vulkan.
fn vulkan_bf16_expert_tile_s(a: f64, float_rate: f64, read_rate: f64, tile: f64) -> f64 {
    if a <= 0.0 || float_rate <= 0.0 {
        return 0.0;
    }
    let tiled = 2.0 * a * (1.0 + tile) / (1.0 + tile / FIT_UBATCH) / float_rate;
    (tiled - 2.0 * a / read_rate).max(0.0)
}

/// Host-to-device rate of a GPU's link: ~80% of the PCIe peak per lane (gen 3: 0.985 GB/s, gen 4:
/// 1.97, gen 5: 3.94 per lane and direction) when detection reported the link, else
/// [`PCIE_BYTES_PER_S`].
fn pcie_bytes_per_s(g: &crate::system::DeviceSpec) -> f64 {
    // Per lane and direction: 0.25, 0.5, 0.985, 1.97, 3.94, 7.88 GB/s for gens 1–6.
    const PER_LANE: [f64; 6] = [0.25e9, 0.5e9, 0.985e9, 1.969e9, 3.938e9, 7.877e9];
    match (g.pcie_gen, g.pcie_width) {
        (Some(gen), Some(w)) if (1..=6).contains(&gen) && w > 0 => {
            0.8 * PER_LANE[(gen - 1) as usize] * f64::from(w)
        }
        _ => PCIE_BYTES_PER_S,
    }
}

/// How much faster a CPU multiplies int8 than f32, per instruction width: llama.cpp's quantized
/// matmuls on the CPU quantize the activations to 8 bits (Q8_0/Q8_K) and run integer dot products.
/// AVX-512 VNNI / AVX-VNNI `vpdpbusd` does 4 int8 multiply-adds per 32-bit lane where an f32 FMA
/// does 1 (4×); plain AVX2 needs `vpmaddubsw` + `vpmaddwd` for the same (about 2×); Arm `sdot`
/// (dotprod) 4 per lane (4×), `smmla` (i8mm) a 2×8·8×2 tile per 128 bits, 32 multiply-adds where
/// `fmla` does 4 (8×). Intel and Arm instruction set references; an unknown x86 CPU is taken as
/// AVX2, as the rest of llmrig does.
#[must_use]
pub fn cpu_int8_factor(simd: &[String]) -> f64 {
    let has = |f: &str| simd.iter().any(|s| s.eq_ignore_ascii_case(f));
    let arm = has("neon") || has("asimd");
    if arm {
        if has("i8mm") {
            8.0
        } else if has("asimddp") || has("dotprod") {
            4.0
        } else {
            1.0
        }
    } else if has("avx512_vnni") || has("avx512vnni") || has("avx_vnni") || has("avxvnni") {
        4.0
    } else if has("avx2") || simd.is_empty() {
        2.0
    } else {
        1.0
    }
}

/// Speed for llama-bench's test at the settings' `--prompt`, `--gen` and `--depth`, plus the
/// decode curve: one token generated at each quarter of the allocated context. `shared`: per GPU,
/// the share of its memory the Windows driver placed in shared system memory (empty or zeros:
/// none), which the GPU reads over PCIe.
pub(super) fn estimate_speed(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
    lay: &WeightLayout,
    shape: &ContextShape,
    shared: &[f64],
    params: &SpeedParams,
) -> Performance {
    let fa = flash_attn_on(s);
    let at = |s: &Settings| {
        let devices = Devices {
            load: &lay.load,
            placement: &lay.placement,
            shared,
        };
        performance(w, sys, s, &devices, shape, params, fa)
    };
    let mut perf = at(s);
    let last = shape.n_ctx_seq.saturating_sub(1);
    perf.decode_by_depth = [0u64, 1, 2, 3, 4]
        .iter()
        .map(|q| {
            let depth = (last * q / 4).min(last);
            let one = at(&Settings {
                depth,
                gen: 1,
                ..s.clone()
            });
            DepthPoint {
                depth,
                decode_tokens_per_s: one.decode_tokens_per_s,
                prefill_tokens_per_s: one.prefill_tokens_per_s,
            }
        })
        .collect();
    perf
}

/// Speed for the settings' test alone, without the decode curve.
pub(super) fn point_speed(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
    (load, placement): (&DeviceLoad, &Placement),
    shape: &ContextShape,
    shared: &[f64],
    params: &SpeedParams,
) -> Performance {
    let devices = Devices {
        load,
        placement,
        shared,
    };
    performance(w, sys, s, &devices, shape, params, flash_attn_on(s))
}

/// What each device holds and reads.
struct Devices<'a> {
    load: &'a DeviceLoad,
    placement: &'a Placement,
    /// Per GPU, the share of its memory in Windows' shared GPU memory (read over PCIe).
    shared: &'a [f64],
}

#[allow(clippy::too_many_lines, clippy::cast_precision_loss)]
fn performance(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
    devices: &Devices<'_>,
    shape: &ContextShape,
    p: &SpeedParams,
    flash_attn: bool,
) -> Performance {
    let (load, placement) = (devices.load, devices.placement);
    // The share of a GPU's memory the Windows driver placed in shared system memory.
    let shared = |d: usize| devices.shared.get(d).copied().unwrap_or(0.0);
    let spec = &w.spec;
    let n_gpu = sys.gpus.len();
    let cpu = n_gpu;
    let class = |d: usize| {
        if d < n_gpu {
            let g = &sys.gpus[d];
            device_class(g.api, g.memory_tech, g.vendor)
        } else {
            backend_index(GpuApi::Cpu, MemoryTech::Ddr)
        }
    };
    let bp = |d: usize| &p.backends[class(d)];
    // The share of its peak bandwidth a device's kernels reach (`SpeedParams::bw_share`: shared
    // LPDDR has its own).
    let bw_share = |d: usize| {
        if d < n_gpu {
            p.bw_share(&sys.gpus[d])
        } else {
            bp(d).bw
        }
    };
    let bw = |d: usize| -> f64 {
        if d < n_gpu {
            sys.gpus[d].bandwidth_bytes_per_s
        } else {
            sys.cpu.bandwidth_bytes_per_s
        }
        .max(1e6)
    };
    // Bytes/s a device's kernels read at.
    let read_bw = |d: usize| bw(d) * bw_share(d);
    // The CPU's rate with the threads used: `-t` below the physical cores leaves cores idle; more
    // threads than cores (SMT siblings) add no FMA pipes.
    let cpu_flops = {
        let cores = sys.cpu.cores.max(1);
        let share = s
            .threads
            .map_or(1.0, |t| f64::from(t.clamp(1, cores)) / f64::from(cores));
        sys.cpu.flops.max(1e9) * share
    };
    let peak = |d: usize| -> f64 {
        if d < n_gpu {
            sys.gpus[d].fp16_flops.max(1e11)
        } else {
            cpu_flops
        }
    };
    // The rate of the attention blocks that do not run on matrix cores, per device: on AMD's GPUs
    // under HIP with flash attention the tile kernel's vector rate
    // (`prompt_kernels::amd_fa_tile_peak`), else the peak above. Told once per device, not per
    // ubatch (the architecture is read from the name).
    let tile_peak: Vec<f64> = (0..=n_gpu)
        .map(|d| {
            let tile = (flash_attn && d < n_gpu)
                .then(|| amd_fa_tile_peak(&sys.gpus[d]))
                .flatten();
            tile.unwrap_or_else(|| peak(d))
        })
        .collect();
    // The kernels prefill runs: F16 weights go through cuBLAS/hipBLAS with FP16 accumulate;
    // quantized weights through llama.cpp's MMQ kernels on INT8 tensor cores (CUDA), through
    // FP16 elsewhere, and on NVIDIA and AMD GPUs through what their architecture and the build
    // choose (`prompt_kernels::cuda_kernels`, `prompt_kernels::amd_kernels`). `choice` is the token count a CUDA build chooses its
    // quantized kernels by: the ubatch's, or for expert weights the tokens routed to one expert
    // (llama.cpp multiplies each expert's rows on their own wherever it does not run MMQ over
    // all experts at once; `prompt_kernels::cuda_kernels`).
    // The Vulkan driver of AMD's GPUs (`prompt_kernels::vulkan_amd_tiles`).
    let vk_driver = s.vulkan_driver_on(sys.os);
    // The share of `d`'s float weights (by elements per token) that are BF16.
    let bf16_share = |d: usize| {
        let float_active = load.active[d][WeightClass::Float.index()];
        if float_active > 0.0 {
            load.bf16_active[d] / float_active
        } else {
            0.0
        }
    };
    let kernels_at = |d: usize, u: f64, choice: f64, experts: bool| -> Kernels {
        if d >= n_gpu {
            return Kernels::own(cpu_flops, cpu_flops * cpu_int8_factor(&sys.cpu.simd));
        }
        let g = &sys.gpus[d];
        let f16 = g.fp16_flops.max(1e11);
        // The rate of the pass that dequantizes weights for a BLAS product (HIP, CUDA, SYCL).
        let dequant_bw = g.bandwidth_bytes_per_s.max(1e9) * bw_share(d);
        if let Some(f) = super::engines::float_peak(s, g) {
            return Kernels::own(f, f);
        }
        let acc16 = if g.fp16_acc16_flops > 0.0 {
            g.fp16_acc16_flops
        } else {
            f16
        };
        if g.api == GpuApi::Rocm {
            if let Some(arch) = g.amd_arch() {
                let blas = acc16 * blas_library_share(arch, s.hipblaslt, s.llama_cpp);
                let mut k = amd_kernels(arch, g, s.llama_cpp, spec.n_expert, u, blas, dequant_bw);
                force_kernels(&mut k, s.force_mmq, u);
                return k.with_bf16(bf16_share(d), amd_bf16_rate(arch, g, s.llama_cpp, blas));
            }
        }
        if g.api == GpuApi::Cuda {
            if let Some(arch) = g.nvidia_arch() {
                // MMQ runs on the INT8 tensor cores from Turing on, on `__dp4a` (4 multiply-adds
                // per FP32 lane) before.
                let mmq = if g.int8_ops > 0.0 {
                    g.mmq_int8_ops()
                } else if !arch.int8_mma() && g.fp32_flops > 0.0 {
                    4.0 * g.fp32_flops
                } else {
                    f16
                };
                return cuda_kernels(
                    arch,
                    s.llama_cpp,
                    s.force_mmq,
                    choice,
                    acc16,
                    mmq,
                    dequant_bw,
                );
            }
        }
        if g.api == GpuApi::Sycl {
            return sycl_kernels(u, f16, dequant_bw);
        }
        if g.api == GpuApi::Vulkan && g.fp32_flops > 0.0 && !vulkan_matrix_cores(g, s.llama_cpp) {
            // The scalar shaders compute in FP16 where the GPU has it (ggml_vulkan's `fp16: 1`),
            // which the GPUs without Vulkan matrix cores here (Intel's Xe1) pack two to an FP32
            // lane.
            let vector = 2.0 * g.fp32_flops;
            return Kernels::own(vector, vector);
        }
        let quant = match g.api {
            GpuApi::Cuda | GpuApi::Rocm if g.int8_ops > 0.0 => g.mmq_int8_ops(),
            // On NVIDIA's GPUs the Vulkan shaders multiply quantized weights as FP16 on the
            // tensor cores with FP16 accumulators (ggml-vulkan's `f16acc` pipelines, the default
            // precision), the rate GeForce cards list at twice the FP32-accumulate one.
            GpuApi::Vulkan if g.vendor == Some(GpuVendor::Nvidia) => acc16,
            _ => f16,
        };
        let mut k = Kernels::own(acc16, quant)
            .with_bf16(bf16_share(d), vulkan_bf16_peak(g, vk_driver, acc16));
        if !experts {
            // ggml-vulkan's large prompt tiles for AMD's matrix cores, which depend on the driver
            // and leave the expert products (`mul_mat_id`) as they were.
            let f = vulkan_amd_tiles(g, s.llama_cpp, vk_driver, p.amdvlk_tiles);
            k.float_peak *= f;
            k.weights_float_peak *= f;
            k.quant_peak *= f;
        }
        k
    };
    let kernels = |d: usize, u: f64| kernels_at(d, u, u, false);
    let moe = spec.n_expert > 1 && spec.n_expert_used > 0;
    // The expert weights' kernels (the dense ones' in a dense model).
    let expert_kernels = |d: usize, u: f64, dense: Kernels| {
        if moe {
            let per_expert = u * f64::from(spec.n_expert_used) / f64::from(spec.n_expert);
            kernels_at(d, u, per_expert.max(1.0), true)
        } else {
            dense
        }
    };
    let layer_dev = |il: u32| -> usize {
        if s.no_kv_offload {
            cpu
        } else {
            placement.layer_dev[il as usize].unwrap_or(cpu)
        }
    };
    let one = ContextShape {
        n_ctx: 1,
        n_ctx_seq: 1,
        n_stream: 1,
        n_seq: 1,
        n_tokens: 1,
    };
    // KV bytes per cached token and attention layers, per device.
    let mut kv_per_token = vec![0f64; n_gpu + 1];
    let mut swa_kv_per_token = vec![0f64; n_gpu + 1];
    // Of those, the bytes that decode without flash attention reads again for every query head
    // past the first of a grouped-query layer (`SpeedParams::nofa_kv_reread`).
    let mut kv_reread = vec![0f64; n_gpu + 1];
    let mut swa_kv_reread = vec![0f64; n_gpu + 1];
    let mut attn_layers = vec![0f64; n_gpu + 1];
    // Attention FLOPs per query token and cached token, per device: full-context blocks and
    // sliding-window ones (which attend to at most the window).
    let mut attn_full = vec![0f64; n_gpu + 1];
    let mut attn_swa = vec![0f64; n_gpu + 1];
    // The part of those FLOPs whose flash attention can run on an AMD GPU's matrix cores under
    // HIP (`prompt_kernels::amd_fa_matrix_tokens`), and the fewest ubatch tokens for which all
    // of it does.
    let mut matrix_full = vec![0f64; n_gpu + 1];
    let mut matrix_swa = vec![0f64; n_gpu + 1];
    let mut matrix_tokens = vec![0f64; n_gpu + 1];
    // The part whose flash attention runs ggml-vulkan's scalar shader on a GPU whose prompts use
    // its matrix cores (`prompt_kernels::vulkan_fa_scalar`), at `vk_scalar_fa` of the rate.
    let mut scalar_full = vec![0f64; n_gpu + 1];
    let mut scalar_swa = vec![0f64; n_gpu + 1];
    for il in 0..spec.n_layer {
        if spec.is_recurrent_layer(il) {
            continue;
        }
        let d = layer_dev(il);
        let (k, v) = layer_kv_bytes(spec, il, &one, s);
        let kv = (k + v) as f64;
        let flops = spec.layer_attn_flops_per_kv(il) as f64;
        let matrix = if d < n_gpu && flash_attn {
            amd_fa_matrix_tokens(
                &sys.gpus[d],
                s.llama_cpp,
                spec.layer_head_dim(il),
                spec.n_head / spec.layer_n_head_kv(il).max(1),
                spec.is_mla(),
            )
        } else {
            None
        };
        if let Some(t) = matrix {
            matrix_tokens[d] = matrix_tokens[d].max(t);
        }
        let m = if matrix.is_some() { flops } else { 0.0 };
        let scalar = d < n_gpu
            && flash_attn
            && vulkan_fa_scalar(
                &sys.gpus[d],
                s.llama_cpp,
                vk_driver,
                spec.layer_fa_k_width(il),
            );
        let sc = if scalar { flops } else { 0.0 };
        let reread = if spec.is_mla() {
            0.0
        } else {
            kv * f64::from((spec.n_head / spec.layer_n_head_kv(il).max(1)).max(1) - 1)
        };
        if spec.sliding_window.is_some() && spec.is_swa_layer(il) && !s.swa_full {
            swa_kv_reread[d] += reread;
            swa_kv_per_token[d] += kv;
            attn_swa[d] += flops;
            matrix_swa[d] += m;
            scalar_swa[d] += sc;
        } else {
            kv_reread[d] += reread;
            kv_per_token[d] += kv;
            attn_full[d] += flops;
            matrix_full[d] += m;
            scalar_full[d] += sc;
        }
        attn_layers[d] += 1.0;
    }
    let window = spec.sliding_window.unwrap_or(u64::MAX) as f64;
    let used: Vec<usize> = (0..=n_gpu)
        .filter(|&d| load.read[d].iter().sum::<f64>() > 0.0 || attn_layers[d] > 0.0)
        .collect();

    // Launches and synchronisation: a few kernels per layer, on the device that runs it;
    // `step_s` is quoted for a 32-layer model (Llama 3 8B) on a GPU of 1 TB/s. Per device: every
    // decoded token and every prompt ubatch pays it.
    let step_scale = |d: usize| {
        if d < n_gpu && p.step_exp != 0.0 && sys.gpus[d].api != GpuApi::Metal {
            (1e12 / bw(d)).powf(p.step_exp)
        } else {
            1.0
        }
    };
    let mut launch = vec![0f64; n_gpu + 1];
    for il in 0..spec.n_layer {
        let d = placement
            .layer_dev
            .get(il as usize)
            .copied()
            .flatten()
            .unwrap_or(cpu);
        let moe_step = if spec.is_moe_layer(il) {
            p.moe_step
        } else {
            1.0
        };
        launch[d] += bp(d).step_s / STEP_LAYERS
            * step_scale(d)
            * moe_step
            * if flash_attn { 1.0 } else { p.no_fa_step };
    }

    // ---- decode: average over the generated tokens, starting at `depth`.
    let mean_pos = (s.depth as f64 + s.gen as f64 / 2.0).min(shape.n_ctx_seq as f64);
    let (t_mid, mem, comp) = {
        let (mut t, mut mem, mut comp) = (0.0, 0.0, 0.0);
        for &d in &used {
            let b = read_bw(d);
            let mut m = 0.0;
            for (c, bytes) in load.read[d].iter().enumerate() {
                m += bytes / (b * p.class_factor[c]);
            }
            let kv = kv_per_token[d] * mean_pos + swa_kv_per_token[d] * mean_pos.min(window);
            m += kv / (b * p.kv_factor);
            if !flash_attn && d < n_gpu {
                let reread = kv_reread[d] * mean_pos + swa_kv_reread[d] * mean_pos.min(window);
                m += p.nofa_kv_reread * reread / (b * p.kv_factor);
            }
            if d < n_gpu && sys.gpus[d].api == GpuApi::Vulkan && load.bf16_expert_active[d] > 0.0 {
                m += vulkan_bf16_expert_tile_s(
                    load.bf16_expert_active[d],
                    // Expert products (`mul_mat_id`), which kept their tiles.
                    vulkan_bf16_peak(
                        &sys.gpus[d],
                        vk_driver,
                        kernels_at(d, 1.0, 1.0, true).float_peak,
                    ) * bp(d).pp_float,
                    b * p.class_factor[WeightClass::Float.index()],
                    p.moe_tile[1],
                );
            }
            // Windows' shared GPU memory: that share of what the GPU reads comes over PCIe.
            if shared(d) > 0.0 {
                let bytes = load.read[d].iter().sum::<f64>() + kv;
                m = m * (1.0 - shared(d)) + shared(d) * bytes / pcie_bytes_per_s(&sys.gpus[d]);
            }
            // The CPU can be compute-bound even at one token: its matrix-vector kernels reach a
            // small share of its f32 rate, far below the prompt's tiled products.
            let c = if d == cpu {
                let active: f64 = load.active[d].iter().sum();
                2.0 * active / (cpu_flops * p.cpu.gemv)
            } else if sys.gpus[d].fp32_flops > 0.0 {
                // A GPU's one-token kernels unpack every weight they read: on GPUs with little
                // FP32 rate per byte of bandwidth that work, not the read, bounds them.
                let ops: f64 = load.active[d]
                    .iter()
                    .zip(&p.gemv_ops)
                    .map(|(a, k)| a * k)
                    .sum();
                ops / sys.gpus[d].fp32_flops
            } else {
                0.0
            };
            mem += m;
            comp += c;
            t += m.max(c);
        }
        // -sm row: the GPUs read their rows of every split matrix at the same time.
        let mut split_t: f64 = 0.0;
        for d in 0..n_gpu {
            let b = read_bw(d);
            let m: f64 = load.read_split[d]
                .iter()
                .enumerate()
                .map(|(c, bytes)| bytes / (b * p.class_factor[c]))
                .sum();
            mem += m;
            split_t = split_t.max(m);
        }
        if load.split_matmuls > 0.0 {
            t += split_t + load.split_matmuls * ROW_SYNC_S;
        }
        let step: f64 = launch.iter().sum();
        let hops = used.len().saturating_sub(1) as f64;
        (t + step + hops * p.hop_s, mem, comp)
    };
    let rate = |x: f64| if x > 0.0 { 1.0 / x } else { 0.0 };

    // ---- prefill: ubatch by ubatch; devices pipeline when GPUs hold every layer.
    let prompt = s.prompt.max(1);
    let ub = shape.n_tokens.max(1);
    let batch = s.batch.max(ub);
    let all_on_gpus = n_gpu > 0 && placement.layer_dev.iter().all(Option::is_some);
    // With -sm row every layer uses every GPU, so ubatches do not pipeline across them; nor do
    // they under Vulkan before its events worked.
    let vulkan_serial = sys.gpus.iter().any(|g| g.api == GpuApi::Vulkan)
        && !s.llama_cpp.has_build(VULKAN_PIPELINE_BUILD);
    let pipeline = all_on_gpus && used.len() > 1 && load.split_matmuls == 0.0 && !vulkan_serial;
    // --no-op-offload keeps the CPU layers' prompt work on the CPU.
    let op_offload = n_gpu > 0 && ub >= 32 && !s.no_op_offload;
    // The pipeline runs across batches: the scheduler keeps several copies of the graph's inputs
    // in flight and a batch's llama_decode does not wait for the GPUs to drain (XiongjieDai's four
    // A100s process a 4096-token prompt, two batches of four ubatches, 2.6× faster than one, more
    // than the 2.3× a pipeline restarted per batch allows).
    let mut done = 0u64;
    let mut first = true;
    let (mut sum_first, mut rest_max_sum) = (0.0, 0.0);
    let mut seq_sum = 0.0;
    while done < prompt {
        let batch_end = (done + batch).min(prompt);
        while done < batch_end {
            let u = ub.min(batch_end - done) as f64;
            let n_kv = (s.depth + done) as f64 + u;
            let mut stage = Vec::with_capacity(used.len());
            for &d in &used {
                // Compute-side device: CPU layers run on GPU 0 when their ops are offloaded.
                let cd = if d == cpu && op_offload { 0 } else { d };
                let pk = peak(cd);
                let bpc = bp(cd);
                let k = kernels(cd, u);
                let ke = expert_kernels(cd, u, k);
                let touched = spec.expert_share_touched(u) / spec.expert_share_touched(1.0);
                // The ubatch holding the prompt's last token computes that token's logits.
                let last = done + u as u64 >= prompt;
                let mut t = if cd == cpu && s.cpu_build.is_blas() && u >= BLAS_MIN_BATCH {
                    let zero = [0f64; WeightClass::COUNT];
                    let out = &load.output_active[d];
                    blas_s(
                        &load.active[d],
                        out,
                        &load.cpu_not_blas,
                        u,
                        (
                            cpu_flops * p.blas.share * bp(cpu).pp_float,
                            p.blas.convert_s / f64::from(sys.cpu.cores.max(1)),
                        ),
                        |part| matmul_s(part, &zero, u, false, &k, bpc, p, touched),
                    ) + matmul_s(out, out, u, last, &k, bpc, p, touched)
                } else if ke == k {
                    matmul_s(
                        &load.active[d],
                        &load.output_active[d],
                        u,
                        last,
                        &k,
                        bpc,
                        p,
                        touched,
                    )
                } else {
                    // The experts take other kernels than the dense weights.
                    let experts = &load.expert_active[d];
                    let mut dense = load.active[d];
                    for (x, e) in dense.iter_mut().zip(experts) {
                        *x = (*x - e).max(0.0);
                    }
                    let zero = [0f64; WeightClass::COUNT];
                    matmul_s(&dense, &load.output_active[d], u, last, &k, bpc, p, 1.0)
                        + matmul_s(experts, &zero, u, false, &ke, bpc, p, touched)
                };
                // Expert products fill part of their tiles (`SpeedParams::moe_tile`); float
                // experts run through the float kernels (MMF takes expert products of up to 512
                // tokens, ggml-cuda/mmf.cu), whose tiles fit the tokens on CUDA; Vulkan's
                // matrix-matrix shaders tile them like quantized ones, and so, by its rows, does
                // RDNA's MMF on WMMA (`float_experts_tiled`).
                let slow = expert_tile_slowdown(sys.gpus.get(cd), p.moe_tile, spec, u, s.llama_cpp);
                if slow > 0.0 {
                    let mut quant = load.expert_active[d];
                    if sys
                        .gpus
                        .get(cd)
                        .is_none_or(|g| !float_experts_tiled(g, s.llama_cpp))
                    {
                        quant[WeightClass::Float.index()] = 0.0;
                    }
                    let zero = [0f64; WeightClass::COUNT];
                    t += slow * matmul_s(&quant, &zero, u, false, &ke, bpc, p, touched);
                }
                // A ubatch reads its weights at least once, from the memory that holds them: a
                // few tokens are as memory-bound as one (llama.cpp runs batches of up to 8 rows
                // through the same matrix-vector kernels), and an MoE ubatch reads every expert
                // one of its tokens routes to.
                if !(d == cpu && op_offload) {
                    let b = read_bw(d);
                    let floor: f64 = load.read[d]
                        .iter()
                        .enumerate()
                        .map(|(c, bytes)| bytes / (b * p.class_factor[c]))
                        .sum::<f64>()
                        * touched;
                    t = t.max(floor / super::engines::docs_per_forward(s));
                }
                // Sliding-window layers attend to at most the window (plus the ubatch's own
                // tokens, which the mask admits in turn).
                let kv_eff = n_kv;
                let swa_kv = n_kv.min(window + u);
                let attn_flops = (attn_full[d] * n_kv + attn_swa[d] * swa_kv) * u;
                // The FLOPs on AMD's matrix cores, at `amd_fa_matrix` times the class's attention share
                // of the FP16 rate.
                let matrix_flops = if u >= matrix_tokens[d] {
                    (matrix_full[d] * n_kv + matrix_swa[d] * swa_kv) * u
                } else {
                    0.0
                };
                let scalar_flops = (scalar_full[d] * n_kv + scalar_swa[d] * swa_kv) * u;
                let attn_eff = if cd == cpu {
                    p.cpu.attn
                } else {
                    bpc.pp_float
                        * p.attn_share[class(cd)]
                        * vulkan_amd_attention(
                            &sys.gpus[cd],
                            s.llama_cpp,
                            vk_driver,
                            p.amdvlk_tiles,
                            flash_attn,
                        )
                };
                // The rest at the tile kernel's rate (`tile_peak`), on AMD's GPUs under HIP the
                // vector units', not the matrix cores'.
                let attn_t = (attn_flops - matrix_flops - scalar_flops)
                    / (tile_peak[cd] * attn_eff)
                    + scalar_flops / (tile_peak[cd] * attn_eff * p.vk_scalar_fa)
                    + matrix_flops / (pk * attn_eff * p.amd_fa_matrix);
                // Attention reads the cached K and V at least once a ubatch, as decode does: a
                // few tokens deep in the context are as memory-bound as one.
                let kv = kv_per_token[d] * n_kv + swa_kv_per_token[d] * swa_kv;
                t += attn_t.max(kv / (read_bw(d) * p.kv_factor));
                if !flash_attn {
                    let kq_bytes =
                        p.attn_passes * kv_eff * u * f64::from(spec.n_head) * 4.0 * attn_layers[d];
                    t += kq_bytes / read_bw(cd);
                }
                if d == cpu && op_offload {
                    // A 512-token ubatch of gpt-oss-120b (top-4 of 128) uses all but 0.0001% of
                    // the experts, so op offload copies nearly all of them for each ubatch.
                    let upload = load.cpu_upload_bytes
                        + load.cpu_expert_bytes * spec.expert_share_touched(u);
                    t += upload / pcie_bytes_per_s(&sys.gpus[0]);
                }
                if shared(d) > 0.0 {
                    // Weights in Windows' shared GPU memory cross PCIe once per ubatch.
                    t += shared(d) * load.read[d].iter().sum::<f64>()
                        / pcie_bytes_per_s(&sys.gpus[d]);
                }
                // The ubatch's launches (as a decoded token's, `launch`), and past one token
                // the rest of its fixed cost (`ubatch_s`): a one-token ubatch is llama.cpp's
                // decode graph, which the decode rows time.
                let extra = launch[d] + bp(d).ubatch_s * f64::from(d == used[0] && u > 1.0);
                t += extra / super::engines::docs_per_forward(s);
                stage.push(t);
            }
            if load.split_matmuls > 0.0 {
                // -sm row: the split matmuls run on all GPUs at once; each broadcasts its input
                // to the other GPUs and gathers their output rows over the host link.
                let last = done + u as u64 >= prompt;
                let mut split_t: f64 = 0.0;
                for d in 0..n_gpu {
                    let t = matmul_s(
                        &load.active_split[d],
                        &load.output_split[d],
                        u,
                        last,
                        &kernels(d, u),
                        bp(d),
                        p,
                        1.0,
                    );
                    split_t = split_t.max(t);
                }
                let link = (0..n_gpu)
                    .map(|d| pcie_bytes_per_s(&sys.gpus[d]))
                    .fold(f64::INFINITY, f64::min);
                let moved = load.split_io * u * 4.0 * (n_gpu as f64 - 1.0);
                stage.push(split_t + moved / link + load.split_matmuls * ROW_SYNC_S);
            }
            let st_sum: f64 = stage.iter().sum();
            let st_max = stage.iter().copied().fold(0.0, f64::max);
            if first {
                sum_first = st_sum;
                first = false;
            } else {
                rest_max_sum += st_max;
            }
            seq_sum += st_sum;
            done += u as u64;
        }
    }
    let total = if pipeline {
        seq_sum - p.pipeline_overlap.clamp(0.0, 1.0) * (seq_sum - (sum_first + rest_max_sum))
    } else {
        seq_sum
    };
    let prefill = prompt as f64 / total.max(1e-12);
    let decode = rate(t_mid);
    let r = &p.ranges;
    Performance {
        prefill_tokens_per_s: prefill,
        decode_tokens_per_s: decode,
        time_to_first_token_s: total,
        decode_bound: if comp > mem { "compute" } else { "memory" },
        decode_low: decode * r.decode.0,
        decode_high: decode * r.decode.1,
        prefill_low: prefill * r.prefill.0,
        prefill_high: prefill * r.prefill.1,
        decode_by_depth: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{GgmlType, OtherFormat, Quant};

    #[test]
    fn cpu_int8_rate_follows_the_instruction_set() {
        let f = |flags: &[&str]| {
            cpu_int8_factor(&flags.iter().map(|s| (*s).to_string()).collect::<Vec<_>>())
        };
        assert_eq!(f(&["avx2", "fma", "avx512f", "avx512_vnni"]), 4.0);
        assert_eq!(f(&["avx2", "avx_vnni"]), 4.0);
        assert_eq!(f(&["avx2", "fma"]), 2.0);
        assert_eq!(f(&[]), 2.0);
        assert_eq!(f(&["sse4_2"]), 1.0);
        assert_eq!(f(&["asimd", "asimddp", "i8mm"]), 8.0);
        assert_eq!(f(&["asimd", "asimddp"]), 4.0);
        assert_eq!(f(&["asimd"]), 1.0);
    }

    #[test]
    fn classes() {
        let q = Quant::parse("Q4_K_M").unwrap();
        assert_eq!(
            WeightClass::of(Some(GgmlType::Q4_K), q),
            WeightClass::KQuant
        );
        assert_eq!(WeightClass::of(Some(GgmlType::F16), q), WeightClass::Float);
        assert_eq!(WeightClass::of(Some(GgmlType::MXFP4), q), WeightClass::Fp4);
        assert_eq!(
            WeightClass::of(None, Quant::Other(OtherFormat::Bf16)),
            WeightClass::Float
        );
    }
}
