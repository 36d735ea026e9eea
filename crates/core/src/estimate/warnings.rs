//! What an estimate tells the user besides its numbers: one [`Warning`] variant per situation, each
//! with a stable code for scripts and a message for people, and [`collect`], the one place that
//! decides which apply to an estimate. Messages state facts; they name no llmrig command (a front
//! end adds its own hints).

use std::fmt;

use crate::quant::{GgmlType, Quant};
use crate::system::{DeviceKind, GpuApi, SystemSpec};
use crate::units::gib;

use super::fit::Fitted;
use super::memory::flash_attn_on;
use super::placement::WeightLayout;
use super::prompt_kernels::{
    amd_kernels, vulkan_amd_large_tiles, vulkan_bf16_on_scalar, vulkan_fa_scalar_width, Kernel,
};
use super::ram::{shared_limit_bytes, RamUse};
use super::settings::{Backend, Settings, SplitMode, VulkanDriver};
use super::usage::MemoryBreakdown;
use super::weights::{ModelWeights, WeightClass};

/// Something the user should know about an estimate.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// `--fit` kept the routed experts of the first `layers` layers in RAM (`--n-cpu-moe`).
    ExpertsInRam {
        /// Leading layers whose experts stay in RAM.
        layers: u32,
    },
    /// Another engine's memory rules (or, for vLLM, llama.cpp's in its place).
    BackendRules {
        /// The engine.
        backend: Backend,
    },
    /// The unset context was shrunk below the trained length to fit, as `--fit` does.
    ContextReduced {
        /// The trained context, tokens.
        trained: u64,
        /// The context chosen, tokens.
        chosen: u64,
        /// Memory kept free per GPU, bytes.
        margin_bytes: u64,
    },
    /// Some layers run on the CPU.
    SpillsToRam {
        /// Layers on the GPUs.
        gpu_layers: u32,
        /// `n_layer + 1`.
        total_layers: u32,
    },
    /// A device runs out of memory.
    DoesNotFit {
        /// The device.
        device: String,
        /// What it needs, bytes.
        needs_bytes: u64,
        /// What it has, bytes.
        has_bytes: u64,
    },
    /// The plan fits the RAM left for it with less than [`super::NEAR_LIMIT_BYTES`] to spare:
    /// at best "usable".
    NearMemoryLimit {
        /// What the plan takes of system RAM (CPU side, unified GPUs, shared GPU memory), bytes.
        used_bytes: u64,
        /// What the machine leaves for it, bytes.
        usable_bytes: u64,
    },
    /// Windows: part of a GPU's allocations went to shared GPU memory in system RAM, which the
    /// GPU reads over PCIe.
    SharedGpuMemory {
        /// The GPU.
        device: String,
        /// Its dedicated memory, bytes.
        dedicated_bytes: u64,
        /// What went to shared memory, bytes.
        shared_bytes: u64,
    },
    /// The context is longer than the model was trained for.
    ContextBeyondTraining {
        /// The context, tokens.
        ctx: u64,
        /// The trained context, tokens.
        trained: u64,
    },
    /// GPU APIs whose constants rest on few calibration rows (SYCL).
    SpeedUncalibrated {
        /// The APIs (`sycl`, `cpu`).
        apis: Vec<&'static str>,
    },
    /// Layers run on the CPU, whose constants come from other CPUs' published results.
    CpuSpeedUncalibrated,
    /// A GPU on a narrow PCIe link that the plan uses for transfers.
    NarrowPcieLink {
        /// The GPU.
        device: String,
        /// Lanes.
        width: u32,
    },
    /// MoE speed assumes uniform routing.
    MoeSpeedRough,
    /// A non-GGUF format sized by llama.cpp's context rules.
    NonGgufMemoryModel,
    /// `-sm row` speed rests on an assumed gather time.
    RowSplitSpeedAssumed,
    /// Pipeline parallelism's extra compute-buffer copies are not modelled.
    PipelineParallelBuffers,
    /// An AMD GPU on which this llama.cpp build multiplies the prompt's quantized weights with
    /// hipBLAS after dequantizing them (`prompt_kernels::amd_kernels`).
    PromptThroughHipblas {
        /// The GPU.
        device: String,
    },
    /// An AMD GPU under Vulkan on AMDVLK in a build that gives it ggml-vulkan's large prompt tiles
    /// (`prompt_kernels::vulkan_amd_tiles`), which AMDVLK runs slowly.
    AmdvlkLargeTiles {
        /// The GPU.
        device: String,
    },
    /// An AMD GPU with matrix cores under Vulkan whose flash attention over the model's K rows
    /// runs ggml-vulkan's scalar shader (`prompt_kernels::vulkan_fa_scalar`): the coopmat1
    /// shader needs more shared memory than the driver grants, or the build predates it.
    VulkanScalarFlashAttn {
        /// The GPU.
        device: String,
        /// The widest K rows that take the scalar shader.
        width: u64,
    },
    /// A GPU under Vulkan whose driver has no BF16 matrix cores, so the model's BF16 weights are
    /// multiplied in FP32 on ggml-vulkan's scalar shader (`prompt_kernels::vulkan_bf16_peak`).
    VulkanBf16Scalar {
        /// The GPU.
        device: String,
    },
}

impl Warning {
    /// The stable code scripts match on (`spills-to-ram`).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Warning::ExpertsInRam { .. } => "experts-in-ram",
            Warning::BackendRules { .. } => "backend-rules",
            Warning::ContextReduced { .. } => "context-reduced",
            Warning::SpillsToRam { .. } => "spills-to-ram",
            Warning::DoesNotFit { .. } => "does-not-fit",
            Warning::NearMemoryLimit { .. } => "near-memory-limit",
            Warning::SharedGpuMemory { .. } => "shared-gpu-memory",
            Warning::ContextBeyondTraining { .. } => "context-beyond-training",
            Warning::SpeedUncalibrated { .. } | Warning::CpuSpeedUncalibrated => {
                "speed-uncalibrated"
            }
            Warning::NarrowPcieLink { .. } => "narrow-pcie-link",
            Warning::MoeSpeedRough => "moe-speed-rough",
            Warning::NonGgufMemoryModel => "non-gguf-memory-model",
            Warning::RowSplitSpeedAssumed => "row-split-speed-assumed",
            Warning::PipelineParallelBuffers => "pipeline-parallel-buffers",
            Warning::PromptThroughHipblas { .. } => "prompt-through-hipblas",
            Warning::AmdvlkLargeTiles { .. } => "amdvlk-large-tiles",
            Warning::VulkanScalarFlashAttn { .. } => "vulkan-scalar-flash-attn",
            Warning::VulkanBf16Scalar { .. } => "vulkan-bf16-scalar",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::ExpertsInRam { layers } => write!(
                f,
                "the model does not fit on the GPU whole: the routed experts of the first {layers} layers stay in system RAM (--n-cpu-moe {layers}), attention and shared weights on the GPU"
            ),
            Warning::BackendRules { backend: Backend::Vllm } => f.write_str(
                "vLLM allocates a KV pool from --gpu-memory-utilization, not per context; this estimate follows llama.cpp's rules",
            ),
            Warning::BackendRules { backend } => write!(
                f,
                "{}: the KV cache, scratch buffers and runtime follow its source code (crates/core/src/estimate/engines.rs), not yet checked against measurements; speed uses llama.cpp's calibrated efficiencies",
                backend.name()
            ),
            Warning::ContextReduced {
                trained,
                chosen,
                margin_bytes,
            } => write!(
                f,
                "context reduced from the trained {trained} to {chosen} tokens to fit with {} MiB left free per GPU, as llama.cpp's --fit does (--fit-target); pass -c to choose",
                margin_bytes >> 20
            ),
            Warning::SpillsToRam {
                gpu_layers,
                total_layers,
            } => write!(
                f,
                "only {gpu_layers} of {total_layers} layers fit on the GPU; the rest run on the CPU from system RAM, which is much slower"
            ),
            Warning::DoesNotFit {
                device,
                needs_bytes,
                has_bytes,
            } => write!(
                f,
                "{device} needs {:.2} GiB but has {:.2} GiB",
                gib(*needs_bytes),
                gib(*has_bytes)
            ),
            Warning::NearMemoryLimit {
                used_bytes,
                usable_bytes,
            } => write!(
                f,
                "system RAM is nearly full: the plan takes {:.2} GiB of the {:.2} GiB left for it; other programs or a longer context push it into swap",
                gib(*used_bytes),
                gib(*usable_bytes)
            ),
            Warning::SharedGpuMemory {
                device,
                dedicated_bytes,
                shared_bytes,
            } => write!(
                f,
                "{device}: {:.2} GiB beyond its {:.2} GiB of dedicated memory go to shared GPU memory in system RAM (the Windows driver's fallback instead of an out-of-memory error), which the GPU reads over PCIe: much slower",
                gib(*shared_bytes),
                gib(*dedicated_bytes)
            ),
            Warning::ContextBeyondTraining { ctx, trained } => write!(
                f,
                "context {ctx} is longer than the {trained} tokens the model was trained for; quality degrades past it"
            ),
            Warning::SpeedUncalibrated { apis } => write!(
                f,
                "speed on {} rests on few published results (SYCL: 28 llama-bench rows of five Arc GPUs, off by a median 56% in decode and 34% in prompts on GPUs left out of the fit); treat it as a rough guide",
                apis.join(" and ")
            ),
            Warning::CpuSpeedUncalibrated => f.write_str(
                "CPU speed comes from other CPUs' published llama.cpp results, scaled by cores, SIMD and RAM bandwidth: off by a median 27% (decode) and 58% (prompt) on CPUs left out of the fit; this one's clocks, memory and threads can differ more",
            ),
            Warning::NarrowPcieLink { device, width } => write!(
                f,
                "{device} is on a PCIe x{width} link (a riser?): prompt processing with weights in RAM and transfers between GPUs are slowed by it"
            ),
            Warning::MoeSpeedRough => f.write_str(
                "mixture-of-experts speed assumes uniform routing; real routing is skewed",
            ),
            Warning::NonGgufMemoryModel => f.write_str(
                "weights are sized for this format, but the context memory follows llama.cpp's rules",
            ),
            Warning::RowSplitSpeedAssumed => f.write_str(
                "-sm row: each matrix is split across the GPUs by rows (memory as llama.cpp allocates it); the speed assumes 20 µs to gather each split matmul's result, which no measurement has checked yet",
            ),
            Warning::PipelineParallelBuffers => f.write_str(
                "several GPUs in layer mode turn on pipeline parallelism, whose extra compute-buffer copies are not modelled yet",
            ),
            Warning::PromptThroughHipblas { device } => write!(
                f,
                "{device}: this llama.cpp build multiplies the prompt's quantized weights with hipBLAS after dequantizing them, so prompt speed depends on rocBLAS's GEMM backend (Tensile, or hipBLASLt with ROCBLAS_USE_HIPBLASLT=1: 1.4-5.3x apart on Strix Halo in lhl/strix-halo-testing, which --hipblaslt on|off models there); llama.cpp's own kernels take them from b7148 on RDNA4, b7279 on RDNA3/3.5 and b5997 on MI300"
            ),
            Warning::AmdvlkLargeTiles { device } => write!(
                f,
                "{device}: under AMDVLK this llama.cpp build multiplies dense prompts in Vulkan tiles that AMDVLK runs slowly (since PR #18749, early 2026: Strix Halo's Llama 2 7B Q4_0 prompt fell from 1,262 to 350 tok/s on AMDVLK and rose to 1,356 on RADV, kyuz0/amd-strix-halo-toolboxes); Mesa's RADV (--vulkan-driver radv) is the faster driver"
            ),
            Warning::VulkanScalarFlashAttn { device, width } => write!(
                f,
                "{device}: with this Vulkan driver and llama.cpp build, flash attention over the model's {width}-wide K rows runs ggml-vulkan's scalar shader, not the matrix cores: the matrix-core shader needs more shared memory than the driver grants (AMD's own drivers grant 32 KiB, Mesa's RADV 64 KiB), so deep prompts run several times slower (Strix Halo's Gemma 4 26B-A4B at 32K context: 99 tok/s on AMDVLK, 673 on RADV, kyuz0/amd-strix-halo-toolboxes); RADV (--vulkan-driver radv) or -fa off avoid it"
            ),
            Warning::VulkanBf16Scalar { device } => write!(
                f,
                "{device}: this Vulkan driver has no BF16 matrix cores (ggml_vulkan's device line reads bf16: 0), so the BF16 weights are multiplied in FP32 on ggml-vulkan's scalar shader and prompts run several times slower than on the matrix cores (Strix Halo's Ministral 3 14B BF16 pp512: 255 tok/s under Vulkan, 801 under ROCm, kyuz0/amd-strix-halo-toolboxes); ROCm, an F16 or quantized file, or on RDNA4 Mesa's RADV avoid it"
            ),
        }
    }
}

/// Everything [`collect`] looks at.
pub(super) struct Facts<'a> {
    pub w: &'a ModelWeights,
    pub sys: &'a SystemSpec,
    pub fitted: &'a Fitted,
    pub layout: &'a WeightLayout,
    pub memory: &'a MemoryBreakdown,
    /// The plan's share of system RAM.
    pub ram: &'a RamUse,
    /// Whether every device and the RAM budget fit.
    pub fits: bool,
}

/// The warnings of one estimate, in the order they are shown.
pub(super) fn collect(x: &Facts<'_>) -> Vec<Warning> {
    let spec = &x.w.spec;
    let s: &Settings = &x.fitted.settings;
    let n_total = spec.n_layer + 1;
    let n_gpu = x.sys.gpus.len();
    let gpu_layers = x.layout.placement.gpu_layers;
    let mut out = Vec::new();
    if let Some(n) = x.fitted.planned_cpu_moe {
        out.push(Warning::ExpertsInRam {
            layers: n.min(spec.n_layer),
        });
    }
    if s.backend != Backend::LlamaCpp {
        out.push(Warning::BackendRules { backend: s.backend });
    }
    if let Some((trained, chosen, margin_bytes)) = x.fitted.context_reduced {
        out.push(Warning::ContextReduced {
            trained,
            chosen,
            margin_bytes,
        });
    }
    if n_gpu > 0 && gpu_layers < n_total {
        out.push(Warning::SpillsToRam {
            gpu_layers,
            total_layers: n_total,
        });
    }
    let shared_limit = shared_limit_bytes(x.sys);
    // A GPU spilling into shared memory within Windows' limit is not out of memory itself.
    let spills = |i: usize| {
        x.ram
            .shared_gpu_bytes
            .get(i)
            .is_some_and(|&s| s > 0 && s <= shared_limit)
    };
    if !x.fits {
        out.extend(
            x.memory
                .devices
                .iter()
                .enumerate()
                .filter(|&(i, d)| !d.fits() && !spills(i))
                .map(|(_, d)| Warning::DoesNotFit {
                    device: d.name.clone(),
                    needs_bytes: d.total_bytes,
                    has_bytes: d.capacity_bytes,
                }),
        );
        if !x.ram.fits() && x.memory.devices[n_gpu].fits() {
            // Each device fits on its own; together they overrun the RAM.
            let unified: Vec<&str> = x
                .sys
                .gpus
                .iter()
                .filter(|g| g.kind == DeviceKind::Unified)
                .map(|g| g.name.as_str())
                .collect();
            out.push(Warning::DoesNotFit {
                device: if unified.is_empty() {
                    "system RAM (CPU side and shared GPU memory together)".to_string()
                } else {
                    format!(
                        "unified memory ({} and the CPU side together)",
                        unified.join(", ")
                    )
                },
                needs_bytes: x.ram.used_bytes,
                has_bytes: x.ram.budget.usable_bytes,
            });
        }
    } else if x.ram.near_limit() {
        out.push(Warning::NearMemoryLimit {
            used_bytes: x.ram.used_bytes,
            usable_bytes: x.ram.budget.usable_bytes,
        });
    }
    for (i, d) in x.memory.devices[..n_gpu].iter().enumerate() {
        if spills(i) {
            out.push(Warning::SharedGpuMemory {
                device: d.name.clone(),
                dedicated_bytes: d.capacity_bytes,
                shared_bytes: x.ram.shared_gpu_bytes[i],
            });
        }
    }
    let trained = spec.context_length.clamp(1, super::settings::MAX_CTX);
    if x.fitted.ctx > trained {
        out.push(Warning::ContextBeyondTraining {
            ctx: x.fitted.ctx,
            trained,
        });
    }
    // SYCL's class is fitted on few rows of throughput.csv (`llmrig accuracy`, backend sycl: device
    // out 55.6% / 33.6% decode / prefill median on 2026-12-07).
    let apis: Vec<&'static str> = x
        .sys
        .gpus
        .iter()
        .filter(|g| matches!(g.api, GpuApi::Sycl | GpuApi::Cpu))
        .map(|g| g.api.name())
        .collect();
    if !apis.is_empty() {
        out.push(Warning::SpeedUncalibrated { apis });
    }
    let cpu_calibrated = x
        .sys
        .calibration
        .as_ref()
        .is_some_and(|c| c.backends.contains_key("cpu"));
    if (x.layout.layers[n_gpu] > 0 || n_gpu == 0) && !cpu_calibrated {
        // The CPU constants are fitted on throughput.csv's llama.cpp CPU rows, few and varied
        // (`llmrig accuracy`, backend cpu: device out 26.9% / 58.3% median on 2026-12-02).
        out.push(Warning::CpuSpeedUncalibrated);
    }
    for g in x
        .sys
        .gpus
        .iter()
        .filter(|g| g.pcie_width.is_some_and(|w| w <= 4))
    {
        let partial = gpu_layers < n_total || s.n_cpu_moe > 0 || !s.tensor_overrides.is_empty();
        if partial || n_gpu > 1 {
            out.push(Warning::NarrowPcieLink {
                device: g.name.clone(),
                width: g.pcie_width.unwrap_or(1),
            });
        }
    }
    if spec.n_expert > 1 {
        out.push(Warning::MoeSpeedRough);
    }
    if matches!(x.w.quant, Quant::Other(_)) && !s.backend.modelled_here() {
        out.push(Warning::NonGgufMemoryModel);
    }
    if n_gpu > 1 && s.split_mode == SplitMode::Row {
        out.push(Warning::RowSplitSpeedAssumed);
    }
    if n_gpu > 1 && gpu_layers == n_total && s.split_mode == SplitMode::Layer {
        out.push(Warning::PipelineParallelBuffers);
    }
    if let Some(device) = prompt_through_hipblas(x) {
        out.push(Warning::PromptThroughHipblas { device });
    }
    if let Some(device) = amdvlk_large_tiles(x) {
        out.push(Warning::AmdvlkLargeTiles { device });
    }
    if let Some((device, width)) = vulkan_scalar_flash_attn(x) {
        out.push(Warning::VulkanScalarFlashAttn { device, width });
    }
    if let Some(device) = vulkan_bf16_scalar(x) {
        out.push(Warning::VulkanBf16Scalar { device });
    }
    out
}

/// The first GPU under Vulkan, when GPUs hold layers of a model with BF16 weights, whose driver
/// multiplies BF16 on the scalar shader rather than the matrix cores.
fn vulkan_bf16_scalar(x: &Facts<'_>) -> Option<String> {
    let s = &x.fitted.settings;
    let bf16 =
        x.w.type_histogram()
            .into_iter()
            .any(|(ty, _, bytes)| ty == GgmlType::BF16 && bytes > 0);
    if s.backend != Backend::LlamaCpp || x.layout.placement.gpu_layers == 0 || !bf16 {
        return None;
    }
    let driver = s.vulkan_driver_on(x.sys.os);
    x.sys
        .gpus
        .iter()
        .find(|g| g.api == GpuApi::Vulkan && vulkan_bf16_on_scalar(g, driver))
        .map(|g| g.name.clone())
}

/// The first GPU holding layers whose flash attention runs ggml-vulkan's scalar shader on its
/// matrix cores, and the widest K rows that do.
fn vulkan_scalar_flash_attn(x: &Facts<'_>) -> Option<(String, u64)> {
    let s = &x.fitted.settings;
    if s.backend != Backend::LlamaCpp || x.layout.placement.gpu_layers == 0 || !flash_attn_on(s) {
        return None;
    }
    let driver = s.vulkan_driver_on(x.sys.os);
    x.sys.gpus.iter().find_map(|g| {
        vulkan_fa_scalar_width(g, s.llama_cpp, driver, &x.w.spec).map(|w| (g.name.clone(), w))
    })
}

/// The first AMD GPU holding layers that runs ggml-vulkan's large prompt tiles on AMDVLK.
fn amdvlk_large_tiles(x: &Facts<'_>) -> Option<String> {
    let s = &x.fitted.settings;
    if s.backend != Backend::LlamaCpp
        || x.layout.placement.gpu_layers == 0
        || s.vulkan_driver != Some(VulkanDriver::Amdvlk)
    {
        return None;
    }
    x.sys
        .gpus
        .iter()
        .find(|g| vulkan_amd_large_tiles(g, s.llama_cpp))
        .map(|g| g.name.clone())
}

/// The first ROCm GPU holding layers on which the build sends the prompt's main quantized type
/// (the one with most bytes) to hipBLAS at the settings' ubatch.
fn prompt_through_hipblas(x: &Facts<'_>) -> Option<String> {
    let s = &x.fitted.settings;
    if s.backend != Backend::LlamaCpp || x.layout.placement.gpu_layers == 0 {
        return None;
    }
    let main =
        x.w.type_histogram()
            .into_iter()
            .map(|(ty, _, bytes)| (WeightClass::of(Some(ty), x.w.quant), bytes))
            .filter(|(c, _)| *c != WeightClass::Float)
            .max_by_key(|&(_, bytes)| bytes)?
            .0;
    x.sys
        .gpus
        .iter()
        .filter(|g| g.api == GpuApi::Rocm)
        .find_map(|g| {
            let arch = g.amd_arch()?;
            #[allow(clippy::cast_precision_loss)]
            let k = amd_kernels(
                arch,
                g,
                s.llama_cpp,
                x.w.spec.n_expert,
                s.ubatch as f64,
                1.0,
                1.0,
            );
            (k.kernel[main.index()] == Kernel::DequantBlas).then(|| g.name.clone())
        })
}
