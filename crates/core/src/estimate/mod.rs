//! The estimator: (model weights, machine, settings) → memory per device, layers on GPU, largest
//! context, speed and a verdict. Pure: no files, devices or catalog.
//!
//! The memory side reproduces llama.cpp's allocations (weights per device, KV cache, compute and output
//! buffers) plus the runtime overhead it does not log; the speed side is a first roofline that a later
//! calibration replaces.

mod engines;
pub mod graph;
mod memory;
mod placement;
mod settings;
mod speed;
mod weights;

use serde::Serialize;

pub use engines::Backend;
pub use memory::{
    flash_attn_on, graph_peaks, layer_cells, layer_kv_bytes, output_buffer_bytes, ContextShape,
    GraphPeaks, CTX_PAD,
};
pub use placement::{Dev, Placement};
pub use settings::{
    FlashAttn, GpuLayers, LlamaCppVersion, Rules, Settings, SplitMode, KV_CACHE_TYPES,
};
pub use speed::{
    backend_index, device_class, is_intel, BackendParams, DepthPoint, Performance, SpeedParams,
    WeightClass, DEVICE_CLASSES,
};
pub use weights::{ModelWeights, WeightTensor};

use crate::model::{ModelSpec, Role};
use crate::quant::GgmlType;
use crate::system::{DeviceKind, GpuApi, SystemSpec};

/// Largest context the estimator accepts, in tokens (16 Mi; no model is trained longer).
pub const MAX_CTX: u64 = 1 << 24;

/// Memory on one device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceUsage {
    /// Device name.
    pub name: String,
    /// `gpu`, `cpu` or `unified`.
    pub kind: DeviceKind,
    /// Memory the device offers, bytes.
    pub capacity_bytes: u64,
    /// Model weights placed here, bytes.
    pub weights_bytes: u64,
    /// CPU only: weights llama.cpp copies into its `CPU_REPACK` buffer (interleaved for SIMD
    /// matmuls), bytes. Logged as a buffer of its own; not added to `total_bytes`, because the
    /// copies replace the mapped file pages of the same tensors, which become evictable cache.
    pub repack_bytes: u64,
    /// CPU only: the size of llama.cpp's `CPU_Mapped` model buffer, the file range it maps from
    /// the first to the last tensor that stays in it (repacked or offloaded tensors in between
    /// count, those at the ends do not), as its log prints it. RAM is `weights_bytes`.
    pub mapped_bytes: u64,
    /// KV cache (and recurrent state) here, bytes.
    pub kv_cache_bytes: u64,
    /// Compute buffers here, bytes.
    pub compute_bytes: u64,
    /// Output buffer and runtime overhead, bytes.
    pub other_bytes: u64,
    /// Sum of the above, bytes.
    pub total_bytes: u64,
    /// Layers (blocks, and the output layer) whose weights are here.
    pub layers: u32,
}

impl DeviceUsage {
    /// Whether the usage fits the device.
    #[must_use]
    pub fn fits(&self) -> bool {
        self.total_bytes <= self.capacity_bytes
    }
}

/// Memory over the whole machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryBreakdown {
    /// All weights, bytes (tied embeddings copied to a GPU count twice, as allocated).
    pub weights_bytes: u64,
    /// All KV cache, bytes.
    pub kv_cache_bytes: u64,
    /// All compute buffers, bytes.
    pub compute_bytes: u64,
    /// Output (logits) buffer, bytes.
    pub output_bytes: u64,
    /// Backend runtime overhead on the GPUs, bytes.
    pub overhead_bytes: u64,
    /// Sum, bytes.
    pub total_bytes: u64,
    /// Per device, GPUs first, then the CPU.
    pub devices: Vec<DeviceUsage>,
}

/// How much of the model runs outside the GPUs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offload {
    /// Layers on GPUs (the output layer counts as one).
    pub gpu_layers: u32,
    /// `n_layer + 1`.
    pub total_layers: u32,
    /// Share of the weight bytes read per token that sit in system RAM (the input embedding, a
    /// lookup table, is left out).
    pub ram_fraction: f64,
}

/// How well the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Fits on the GPUs (or fast enough) for interactive use.
    WorksWell,
    /// Fits and runs at a readable speed.
    Usable,
    /// Fits but generates slower than reading speed.
    Slow,
    /// Some device runs out of memory.
    DoesNotFit,
}

/// A warning with a stable code for scripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Stable identifier (`spills-to-ram`).
    pub code: &'static str,
    /// Text for people.
    pub message: String,
}

/// The settings after defaults and `auto` were resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    /// Context as requested or chosen (before padding).
    pub ctx: u64,
    /// Context shape after llama.cpp's padding.
    #[serde(skip)]
    pub shape: ContextShape,
    /// Layers on GPUs.
    pub gpu_layers: u32,
    /// Flash attention on.
    pub flash_attn: bool,
    /// Leading layers whose routed experts stay in RAM (`--n-cpu-moe`, chosen or given).
    pub n_cpu_moe: u32,
}

/// Everything the estimator says about one (model, machine, settings).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Resolved settings.
    pub resolved: Resolved,
    /// Memory.
    pub memory: MemoryBreakdown,
    /// Offload summary.
    pub offload: Offload,
    /// Speed.
    pub performance: Performance,
    /// Largest context (tokens, a multiple of 256) that fits with these settings and layers, up to the
    /// trained length; 0 when not even the smallest does.
    pub max_context: u64,
    /// Overall judgement.
    pub verdict: Verdict,
    /// Things the user should know.
    pub warnings: Vec<Warning>,
}

/// Settings that llama.cpp would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EstimateError {
    /// A numeric setting out of range.
    #[error("{flag} {value} is out of range: expected {expected}")]
    OutOfRange {
        /// The flag (`-c`).
        flag: &'static str,
        /// What was given.
        value: String,
        /// The accepted range.
        expected: String,
    },
    /// A KV cache type llama.cpp does not accept.
    #[error("{flag} {value} is not a KV cache type: expected one of f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1")]
    CacheType {
        /// `-ctk` or `-ctv`.
        flag: &'static str,
        /// The type given.
        value: String,
    },
    /// Quantized V cache without flash attention.
    #[error("-ctv {0} needs flash attention: llama.cpp refuses a quantized V cache with -fa off")]
    QuantizedVNeedsFa(String),
    /// Different K and V cache types on an MLA model.
    #[error("-ctk {k} with -ctv {v}: llama.cpp refuses different K and V cache types for MLA models (DeepSeek V2/V3, Kimi K2); give both the same type")]
    MlaKvTypes {
        /// The K type.
        k: String,
        /// The V type.
        v: String,
    },
    /// An engine that cannot run on this machine.
    #[error("--backend {backend} needs {needs}; this machine has none (pass --gpu)")]
    BackendNeeds {
        /// The engine.
        backend: &'static str,
        /// What it needs.
        needs: &'static str,
    },
    /// `-sm row` on a backend without split buffers.
    #[error(
        "-sm row: {0} does not support split buffers (only CUDA, ROCm and SYCL do); use -sm layer"
    )]
    RowSplitUnsupported(String),
    /// More `-ts` entries than GPUs.
    #[error("-ts has {given} entries but the machine has {gpus} GPU(s)")]
    TensorSplit {
        /// Entries given.
        given: usize,
        /// GPUs present.
        gpus: usize,
    },
}

fn check_settings(spec: &ModelSpec, s: &Settings, sys: &SystemSpec) -> Result<(), EstimateError> {
    let range = |flag: &'static str, v: u64, lo: u64, hi: u64| {
        if v < lo || v > hi {
            Err(EstimateError::OutOfRange {
                flag,
                value: v.to_string(),
                expected: format!("{lo}..={hi}"),
            })
        } else {
            Ok(())
        }
    };
    if let Some(c) = s.ctx {
        range("-c", c, 1, MAX_CTX)?;
    }
    range("-b", s.batch, 1, MAX_CTX)?;
    range("-ub", s.ubatch, 1, MAX_CTX)?;
    range("-np", u64::from(s.parallel), 1, 1024)?;
    range("--prompt", s.prompt, 0, MAX_CTX)?;
    range("--gen", s.gen, 0, MAX_CTX)?;
    range("--depth", s.depth, 0, MAX_CTX)?;
    for (flag, t) in [("-ctk", s.cache_type_k), ("-ctv", s.cache_type_v)] {
        if !KV_CACHE_TYPES.contains(&t) {
            return Err(EstimateError::CacheType {
                flag,
                value: t.name().to_ascii_lowercase(),
            });
        }
    }
    let needs = match s.backend {
        Backend::ExLlamaV2 | Backend::ExLlamaV3 => Some((
            "an NVIDIA (CUDA) or AMD (ROCm) GPU",
            sys.gpus
                .iter()
                .any(|g| matches!(g.api, GpuApi::Cuda | GpuApi::Rocm)),
        )),
        Backend::Mlx => Some((
            "Apple silicon (Metal, unified memory)",
            sys.gpus.iter().any(|g| g.api == GpuApi::Metal),
        )),
        _ => None,
    };
    if let Some((needs, false)) = needs {
        return Err(EstimateError::BackendNeeds {
            backend: s.backend.name(),
            needs,
        });
    }
    if s.backend.modelled_here() {
        // The llama.cpp-specific refusals below do not apply.
        return Ok(());
    }
    if s.cache_type_v.is_quantized() && s.flash_attn == FlashAttn::Off {
        return Err(EstimateError::QuantizedVNeedsFa(
            s.cache_type_v.name().to_ascii_lowercase(),
        ));
    }
    // MLA caches V as a view of the latent K, so llama_init_from_model refuses different types
    // (llama-context.cpp, "model does not support different K and V cache types").
    if spec.is_mla()
        && !spec.mla_legacy_kv
        && s.cache_type_k != s.cache_type_v
        && s.llama_cpp.rules().mla_v_less
    {
        return Err(EstimateError::MlaKvTypes {
            k: s.cache_type_k.name().to_ascii_lowercase(),
            v: s.cache_type_v.name().to_ascii_lowercase(),
        });
    }
    // -sm row puts matrices into a split buffer, which only CUDA, ROCm (HIP) and SYCL have:
    // llama.cpp stops with "device ... does not support split buffers" elsewhere.
    if s.split_mode == SplitMode::Row {
        if let Some(g) = sys
            .gpus
            .iter()
            .find(|g| !matches!(g.api, GpuApi::Cuda | GpuApi::Rocm | GpuApi::Sycl))
        {
            return Err(EstimateError::RowSplitUnsupported(g.name.clone()));
        }
    }
    if s.tensor_split.len() > sys.gpus.len() {
        return Err(EstimateError::TensorSplit {
            given: s.tensor_split.len(),
            gpus: sys.gpus.len(),
        });
    }
    if s.tensor_split.iter().any(|w| !w.is_finite() || *w < 0.0) {
        return Err(EstimateError::OutOfRange {
            flag: "-ts",
            value: format!("{:?}", s.tensor_split),
            expected: "non-negative proportions".into(),
        });
    }
    Ok(())
}

/// The split weights llama.cpp uses: `-ts`, else each GPU's memory.
fn split_weights(sys: &SystemSpec, s: &Settings) -> Vec<f64> {
    if s.split_mode == SplitMode::None {
        return sys.gpus.first().map(|_| vec![1.0]).unwrap_or_default();
    }
    if !s.tensor_split.is_empty() && s.tensor_split.iter().any(|w| *w > 0.0) {
        let mut w = s.tensor_split.clone();
        w.resize(sys.gpus.len(), 0.0);
        return w;
    }
    #[allow(clippy::cast_precision_loss)]
    sys.gpus.iter().map(|g| g.memory_bytes as f64).collect()
}

/// CUDA/ROCm pad each quantized tensor whose rows are not a multiple of 512 by part of a row
/// (`ggml_backend_cuda_buffer_type_get_alloc_size`, MATRIX_ROW_PADDING = 512).
fn gpu_alloc_bytes(t: &WeightTensor, api: GpuApi) -> u64 {
    const MATRIX_ROW_PADDING: u64 = 512;
    let mut bytes = t.bytes;
    if matches!(api, GpuApi::Cuda | GpuApi::Rocm) {
        if let Some(ty) = t.ggml_type {
            let rem = t.info.ne[0] % MATRIX_ROW_PADDING;
            if ty.is_quantized() && rem != 0 {
                bytes += ty.row_size(MATRIX_ROW_PADDING - rem);
            }
        }
    }
    bytes
}

/// Whether llama.cpp's CPU backend repacks a weight of this type and shape into its
/// `CPU_REPACK` buffer for this CPU (`ggml_repack_get_optimal_repack_type` in
/// ggml-cpu/repack.cpp): on x86 with AVX2, Q4_0, Q4_K, IQ4_NL and MXFP4 matrices with a multiple of
/// 8 rows (Q2_K with AVX-512); on ARM with dot-product/int8-matmul instructions also Q5_K, Q6_K and
/// Q8_0 (rows a multiple of 4 or 8). A CPU whose SIMD features are unknown is taken as x86 AVX2,
/// the common case. The copy is the same size as the original.
fn repacks(ty: GgmlType, ne: [u64; 3], simd: &[String]) -> bool {
    let has = |f: &str| simd.iter().any(|s| s.eq_ignore_ascii_case(f));
    let arm = has("neon") || has("asimd");
    let avx2 = has("avx2") || (simd.is_empty() && !arm);
    let avx512 = has("avx512") || has("avx512f");
    let dot = arm && (has("dotprod") || has("asimddp") || has("i8mm"));
    let rows = ne[1];
    use GgmlType as G;
    match ty {
        G::Q4_0 | G::IQ4_NL | G::MXFP4 => (avx2 && rows % 8 == 0) || (dot && rows % 4 == 0),
        G::Q4_K => (avx2 || dot) && rows % 8 == 0,
        G::Q2_K => avx512 && rows % 8 == 0,
        G::Q5_K | G::Q6_K => dot && rows % 8 == 0,
        G::Q8_0 => dot && rows % 4 == 0,
        _ => false,
    }
}

/// Context-independent part: where every tensor sits for one `-ngl`.
struct WeightLayout {
    placement: Placement,
    /// Weight bytes per GPU, then the CPU last.
    bytes: Vec<u64>,
    /// Layers per GPU, then the CPU last.
    layers: Vec<u32>,
    /// Largest single CPU-resident matrix used in a matmul (op_offload copies it to GPU 0), bytes.
    largest_cpu_matrix: u64,
    /// CPU-resident weights llama.cpp repacks into `CPU_REPACK`, bytes.
    repack: u64,
    /// Its output rows plus input width (for the result it produces on the GPU).
    largest_cpu_matrix_io: u64,
    /// Bytes read per generated token, per GPU then CPU (experts scaled to the used ones), per
    /// weight class.
    read: Vec<[f64; WeightClass::COUNT]>,
    /// Matmul weights (elements) used per token, per GPU then CPU, per weight class.
    active: Vec<[f64; WeightClass::COUNT]>,
    /// The part of `active` that is the output matrix (lm_head, or the tied embeddings).
    output_active: Vec<[f64; WeightClass::COUNT]>,
    /// `-sm row`: the share of each split matrix every GPU reads per token (per class); these
    /// parts run in parallel, not in sequence like layers.
    read_split: Vec<[f64; WeightClass::COUNT]>,
    /// `-sm row`: matmul weights (elements) of the split matrices per GPU.
    active_split: Vec<[f64; WeightClass::COUNT]>,
    /// `-sm row`: the output matrix's part of `active_split`.
    output_split: Vec<[f64; WeightClass::COUNT]>,
    /// `-sm row`: split matmuls per token, and the activation elements they move per token
    /// (input broadcast to every GPU, results gathered on the main one).
    split_matmuls: f64,
    split_io: f64,
    /// CPU-resident matmul weight bytes (uploaded to GPU 0 for each prompt ubatch).
    cpu_matmul_bytes: f64,
    /// The `CPU_Mapped` buffer's file range (see `DeviceUsage::mapped_bytes`).
    mapped: u64,
}

fn layout(w: &ModelWeights, sys: &SystemSpec, s: &Settings, ngl: u32) -> WeightLayout {
    let spec = &w.spec;
    let n_gpu = sys.gpus.len();
    let cpu = n_gpu;
    let split = split_weights(sys, s);
    let placement = Placement::new(spec.n_layer, if n_gpu == 0 { 0 } else { ngl }, &split);
    let mut bytes = vec![0u64; n_gpu + 1];
    let mut layers = vec![0u32; n_gpu + 1];
    let mut read = vec![[0f64; WeightClass::COUNT]; n_gpu + 1];
    let mut active = vec![[0f64; WeightClass::COUNT]; n_gpu + 1];
    let mut output_active = vec![[0f64; WeightClass::COUNT]; n_gpu + 1];
    let mut read_split = vec![[0f64; WeightClass::COUNT]; n_gpu + 1];
    let mut active_split = vec![[0f64; WeightClass::COUNT]; n_gpu + 1];
    let mut output_split = vec![[0f64; WeightClass::COUNT]; n_gpu + 1];
    let (mut split_matmuls, mut split_io) = (0f64, 0f64);
    // -sm row: each layer's 2D matmul weights go into its device's split buffer, whose rows are
    // spread over all GPUs by the -ts proportions (llama-model.cpp make_gpu_buft_list; CUDA's
    // split buffer supports no 3D tensors, so expert stacks stay whole on the layer's GPU).
    let row_split = s.split_mode == SplitMode::Row && n_gpu > 1;
    let shares: Vec<f64> = {
        let total: f64 = split.iter().sum();
        split
            .iter()
            .map(|w| if total > 0.0 { w / total } else { 0.0 })
            .collect()
    };
    let mut cpu_matmul_bytes = 0f64;
    let mut repack = 0u64;
    for d in &placement.layer_dev {
        layers[d.unwrap_or(cpu)] += 1;
    }
    let out_dev = placement.output_dev();
    let mut largest = 0u64;
    let mut largest_io = 0u64;
    let expert_share = if spec.n_expert > 1 {
        f64::from(spec.n_expert_used) / f64::from(spec.n_expert)
    } else {
        1.0
    };
    // The CPU_Mapped range: tensors in file order (GGUF data is laid out in header order, each
    // padded to the 32-byte alignment).
    let (mut map_first, mut map_last) = (usize::MAX, 0usize);
    for (ti, t) in w.tensors.iter().enumerate() {
        let dev = match (t.info.role, t.info.layer) {
            (Role::TokenEmbd, _) => None,
            (Role::Experts, Some(il)) if il < s.n_cpu_moe => None,
            (_, Some(il)) => placement.layer_dev[il as usize],
            (_, None) => out_dev,
        };
        let idx = dev.unwrap_or(cpu);
        #[allow(clippy::cast_precision_loss)]
        let (b, p) = (t.bytes as f64, t.info.n_elements() as f64);
        let c = WeightClass::of(t.ggml_type, w.quant).index();
        if row_split
            && dev.is_some()
            && matches!(t.info.role, Role::Matrix | Role::Output)
            && t.info.ne[2] <= 1
        {
            for (g, share) in shares.iter().enumerate() {
                #[allow(
                    clippy::cast_precision_loss,
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss
                )]
                {
                    bytes[g] += (gpu_alloc_bytes(t, sys.gpus[g].api) as f64 * share).round() as u64;
                }
                read_split[g][c] += b * share;
                active_split[g][c] += p * share;
            }
            split_matmuls += 1.0;
            #[allow(clippy::cast_precision_loss)]
            {
                split_io += (t.info.ne[0] + t.info.ne[1]) as f64;
            }
            if t.info.role == Role::Output {
                for (g, share) in shares.iter().enumerate() {
                    output_split[g][c] += p * share;
                }
            }
            continue;
        }
        bytes[idx] += match dev {
            Some(g) => gpu_alloc_bytes(t, sys.gpus[g].api),
            None => t.bytes,
        };
        match t.info.role {
            Role::TokenEmbd => {
                if spec.tied_embeddings {
                    // The output matmul reads the (duplicated) embedding matrix where the output is.
                    let o = out_dev.unwrap_or(cpu);
                    if let Some(g) = out_dev {
                        bytes[g] += gpu_alloc_bytes(t, sys.gpus[g].api);
                    }
                    read[o][c] += b;
                    active[o][c] += p;
                    output_active[o][c] += p;
                }
            }
            Role::Experts => {
                read[idx][c] += b * expert_share;
                active[idx][c] += p * expert_share;
            }
            Role::Small | Role::OutputNorm => read[idx][c] += b,
            Role::Matrix | Role::Output => {
                read[idx][c] += b;
                active[idx][c] += p;
                if t.info.role == Role::Output {
                    output_active[idx][c] += p;
                }
            }
        }
        let is_matmul = matches!(t.info.role, Role::Matrix | Role::Output | Role::Experts);
        let repacked = dev.is_none()
            && is_matmul
            && t.ggml_type
                .is_some_and(|ty| repacks(ty, t.info.ne, &sys.cpu.simd));
        if repacked {
            repack += t.bytes;
        }
        if dev.is_none() && !repacked {
            map_first = map_first.min(ti);
            map_last = ti;
        }
        if dev.is_none() && is_matmul {
            // Prefill uploads the used experts only (perf-models.md §2.6); dense weights whole.
            cpu_matmul_bytes += if t.info.role == Role::Experts {
                b * expert_share
            } else {
                b
            };
        }
        if dev.is_none() && is_matmul && t.bytes > largest {
            largest = t.bytes;
            largest_io = t.info.ne[0] + t.info.ne[1];
        }
    }
    let mapped = if map_first == usize::MAX {
        0
    } else {
        let range = &w.tensors[map_first..=map_last];
        range[..range.len() - 1]
            .iter()
            .map(|t| t.bytes.div_ceil(32) * 32)
            .sum::<u64>()
            + range[range.len() - 1].bytes
    };
    if spec.tied_embeddings && out_dev.is_none() {
        // Output on the CPU with tied embeddings: the matmul uses token_embd, a CPU matrix.
        if let Some(e) = w.tensors.iter().find(|t| t.info.role == Role::TokenEmbd) {
            if e.bytes > largest {
                largest = e.bytes;
                largest_io = e.info.ne[0] + e.info.ne[1];
            }
        }
    }
    WeightLayout {
        placement,
        bytes,
        layers,
        largest_cpu_matrix: largest,
        largest_cpu_matrix_io: largest_io,
        repack,
        read,
        active,
        output_active,
        read_split,
        active_split,
        output_split,
        split_matmuls,
        split_io,
        cpu_matmul_bytes,
        mapped,
    }
}

/// Memory per device for one context on one layout.
fn memory(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
    lay: &WeightLayout,
    shape: &ContextShape,
    replay: bool,
) -> MemoryBreakdown {
    let spec = &w.spec;
    let n_gpu = sys.gpus.len();
    let cpu = n_gpu;
    let backend = s.backend;
    let other_engine = backend.modelled_here();
    let kv = if other_engine {
        let layer_dev = |il: u32| lay.placement.layer_dev[il as usize].unwrap_or(cpu);
        engines::kv_bytes(backend, spec, shape, s, &layer_dev, n_gpu + 1)
    } else {
        let mut kv = vec![0u64; n_gpu + 1];
        for il in 0..spec.n_layer {
            let dev = if s.no_kv_offload {
                None
            } else {
                lay.placement.layer_dev[il as usize]
            };
            let (k, v) = layer_kv_bytes(spec, il, shape, s);
            kv[dev.unwrap_or(cpu)] += k + v;
        }
        kv
    };
    // Weights per device as this engine places them.
    let mut wbytes = lay.bytes.clone();
    if backend == Backend::Transformers && n_gpu > 0 {
        // accelerate's device_map puts the input embeddings on the first GPU, and tied
        // embeddings are one shared tensor (llama.cpp copies them next to the output instead).
        if let Some(e) = w.tensors.iter().find(|t| t.info.role == Role::TokenEmbd) {
            wbytes[cpu] = wbytes[cpu].saturating_sub(e.bytes);
            if let (true, Some(o)) = (spec.tied_embeddings, lay.placement.output_dev()) {
                wbytes[o] = wbytes[o].saturating_sub(gpu_alloc_bytes(e, sys.gpus[o].api));
            }
            wbytes[0] += e.bytes;
        }
    }
    let out_dev = lay.placement.output_dev();
    let (compute, output) = if other_engine {
        let head = out_dev.unwrap_or(cpu);
        let scratch = (0..=n_gpu)
            .map(|d| engines::scratch_bytes(backend, spec, shape, lay.layers[d] > 0, d == head))
            .collect();
        (scratch, 0)
    } else {
        let peaks = graph_peaks(spec, shape, s);
        let mut compute = vec![0u64; n_gpu + 1];
        let cpu_has_layers = lay.placement.layer_dev[..spec.n_layer as usize]
            .iter()
            .any(Option::is_none);
        for (g, c) in compute.iter_mut().enumerate().take(n_gpu) {
            let has_layers = lay.layers[g] > 0;
            let mut peak = 0;
            if has_layers {
                peak = peak.max(peaks.attention).max(peaks.ffn);
            }
            if out_dev == Some(g) {
                peak = peak.max(peaks.logits);
            }
            // op_offload: with a batch of 32+ tokens, CPU weights are copied into GPU 0's compute
            // buffer for the matmul, next to its result (ggml_backend_sched,
            // GGML_OP_OFFLOAD_MIN_BATCH = 32).
            if g == 0 && lay.largest_cpu_matrix > 0 && shape.n_tokens >= 32 {
                peak = peak
                    .max(lay.largest_cpu_matrix + lay.largest_cpu_matrix_io * shape.n_tokens * 4);
            }
            *c = peak;
        }
        compute[cpu] = if n_gpu == 0 {
            // CPU only: replay ggml-alloc over the graph where llmrig has it, else the closed form.
            let replayed = if replay && s.llama_cpp.rules().graph_replay {
                graph::cpu_compute_bytes(spec, shape, s)
            } else {
                None
            };
            replayed.unwrap_or_else(|| {
                peaks.attention.max(peaks.ffn).max(peaks.logits_cpu_only) + peaks.small_inputs
            })
        } else {
            let layers_here = if cpu_has_layers {
                peaks.attention.max(peaks.ffn)
            } else {
                0
            };
            peaks.host_inputs + layers_here
        };
        (compute, output_buffer_bytes(spec, shape))
    };
    let mut devices = Vec::with_capacity(n_gpu + 1);
    let mut overhead_total = 0;
    for (g, gpu) in sys.gpus.iter().enumerate() {
        let used = lay.layers[g] > 0 || wbytes[g] > 0;
        let overhead = if used {
            backend
                .runtime_bytes()
                .unwrap_or_else(|| gpu.api.runtime_overhead_bytes())
        } else {
            0
        };
        overhead_total += overhead;
        let total = wbytes[g] + kv[g] + compute[g] + overhead;
        devices.push(DeviceUsage {
            name: gpu.name.clone(),
            kind: gpu.kind,
            capacity_bytes: gpu.memory_bytes,
            weights_bytes: wbytes[g],
            repack_bytes: 0,
            mapped_bytes: 0,
            kv_cache_bytes: kv[g],
            compute_bytes: compute[g],
            other_bytes: overhead,
            total_bytes: total,
            layers: lay.layers[g],
        });
    }
    devices.push(DeviceUsage {
        name: sys.cpu.name.clone(),
        kind: DeviceKind::Cpu,
        capacity_bytes: sys.cpu.ram_bytes,
        weights_bytes: wbytes[cpu],
        repack_bytes: if other_engine { 0 } else { lay.repack },
        mapped_bytes: if other_engine { 0 } else { lay.mapped },
        kv_cache_bytes: kv[cpu],
        compute_bytes: compute[cpu],
        other_bytes: output,
        // The repacked copies replace the mapped file pages of the same tensors, which are read
        // once at load and then only evictable page cache: RAM needs them once.
        total_bytes: wbytes[cpu] + kv[cpu] + compute[cpu] + output,
        layers: lay.layers[cpu],
    });
    let weights_bytes = wbytes.iter().sum::<u64>();
    let kv_cache_bytes = kv.iter().sum();
    let compute_bytes = compute.iter().sum();
    MemoryBreakdown {
        weights_bytes,
        kv_cache_bytes,
        compute_bytes,
        output_bytes: output,
        overhead_bytes: overhead_total,
        total_bytes: weights_bytes + kv_cache_bytes + compute_bytes + output + overhead_total,
        devices,
    }
}

/// Whether every device fits; `margin` is kept free on each GPU (the `--fit` target).
fn fits(m: &MemoryBreakdown, sys: &SystemSpec, margin: u64) -> bool {
    let n_gpu = sys.gpus.len();
    let gpus_ok = m.devices[..n_gpu].iter().all(|d| {
        d.layers == 0 && d.weights_bytes == 0 || d.total_bytes + margin <= d.capacity_bytes
    });
    let cpu = &m.devices[n_gpu];
    // Unified memory: the GPU's allocations come out of the same RAM.
    let unified: u64 = m.devices[..n_gpu]
        .iter()
        .filter(|d| d.kind == DeviceKind::Unified)
        .map(|d| d.total_bytes)
        .sum();
    gpus_ok && cpu.total_bytes + unified <= cpu.capacity_bytes
}

/// A prepared estimator for one model on one machine with one set of settings; `ctx` and `ngl` vary.
struct Problem<'a> {
    w: &'a ModelWeights,
    sys: &'a SystemSpec,
    s: &'a Settings,
}

impl Problem<'_> {
    fn eval(&self, lay: &WeightLayout, ctx: u64) -> (ContextShape, MemoryBreakdown) {
        let shape = ContextShape::new(ctx, self.s);
        let m = memory(self.w, self.sys, self.s, lay, &shape, true);
        (shape, m)
    }

    /// Whether this run's CPU compute buffer comes from the graph replay (CPU only), which costs
    /// tens of microseconds per evaluation on a large model.
    fn replays(&self) -> bool {
        self.sys.gpus.is_empty() && self.s.llama_cpp.rules().graph_replay
    }

    fn fits_at(&self, lay: &WeightLayout, ctx: u64, margin: u64) -> bool {
        fits(&self.eval(lay, ctx).1, self.sys, margin)
    }

    /// Like `fits_at` with the closed-form compute buffer (a few MiB from the replayed one).
    fn fits_at_approx(&self, lay: &WeightLayout, ctx: u64, margin: u64) -> bool {
        let shape = ContextShape::new(ctx, self.s);
        fits(
            &memory(self.w, self.sys, self.s, lay, &shape, false),
            self.sys,
            margin,
        )
    }

    /// Largest multiple of 256 in `lo..=hi` that fits, if any, by binary search over multiples of
    /// 256: memory grows with context, except that a replayed CPU compute buffer can dip by tens of
    /// MiB where the KV cache grows slowly (Gemma 3's few full-attention layers), so near such a
    /// dip the answer is a fitting context, not always the largest. Where the compute buffer is replayed, the
    /// search runs on the closed form and the answer is then corrected with the replay: a
    /// galloping search from the approximate answer, a few replays instead of one per step.
    fn largest_ctx(&self, lay: &WeightLayout, lo: u64, hi: u64, margin: u64) -> Option<u64> {
        let (lo, hi) = (lo.div_ceil(CTX_PAD), hi / CTX_PAD);
        if lo > hi {
            return None;
        }
        if !self.replays() {
            return last_true(lo, hi, |i| self.fits_at(lay, i * CTX_PAD, margin))
                .map(|i| i * CTX_PAD);
        }
        let exact = |i: u64| self.fits_at(lay, i * CTX_PAD, margin);
        let guess =
            last_true(lo, hi, |i| self.fits_at_approx(lay, i * CTX_PAD, margin)).unwrap_or(lo);
        let found = if exact(guess) {
            // Gallop up to the first step that does not fit, then search between.
            let mut step = 1;
            let mut good = guess;
            loop {
                let next = (guess + step).min(hi);
                if next == good || !exact(next) {
                    break last_true(good, next.saturating_sub(1).max(good), exact);
                }
                good = next;
                step *= 2;
            }
        } else {
            let mut step = 1;
            let mut bad = guess;
            loop {
                if bad == lo {
                    break None;
                }
                let next = bad.saturating_sub(step).max(lo);
                if exact(next) {
                    break last_true(next, bad - 1, exact);
                }
                bad = next;
                step *= 2;
            }
        };
        found.map(|i| i * CTX_PAD)
    }

    /// Most layers (0..=n_layer+1) that fit at `ctx` with `margin`, by binary search (more layers on
    /// the GPU never use less GPU memory).
    fn most_layers(&self, ctx: u64, margin: u64) -> u32 {
        let total = self.w.spec.n_layer + 1;
        if self.sys.gpus.is_empty() {
            return 0;
        }
        let ok = |n: u64| {
            let lay = layout(
                self.w,
                self.sys,
                self.s,
                u32::try_from(n).unwrap_or(u32::MAX),
            );
            let m = self.eval(&lay, ctx).1;
            let n_gpu = self.sys.gpus.len();
            m.devices[..n_gpu].iter().all(|d| {
                d.layers == 0 && d.weights_bytes == 0 || d.total_bytes + margin <= d.capacity_bytes
            })
        };
        // Zero layers always "fit" the GPUs (nothing is placed there).
        let best = last_true(0, u64::from(total), |n| n == 0 || ok(n)).unwrap_or(0);
        u32::try_from(best).unwrap_or(total)
    }
}

/// `-ngl auto` for an MoE model that does not fit whole (llama.cpp's `--fit` puts expert tensors in
/// RAM before it gives up layers): the fewest leading layers whose routed experts stay in RAM so
/// that everything else fits on the GPUs with the margin, at the context asked (or `--fit-ctx`).
/// `None` when not applicable or not needed; `Some(n_layer)` when even all experts in RAM do not
/// make the rest fit (layers are then given up as usual).
fn plan_cpu_moe(w: &ModelWeights, sys: &SystemSpec, s: &Settings) -> Option<u32> {
    let spec = &w.spec;
    if !s.auto_cpu_moe
        || s.n_cpu_moe > 0
        || s.gpu_layers != GpuLayers::Auto
        || spec.n_expert < 2
        || sys.gpus.is_empty()
    {
        return None;
    }
    let ctx = s
        .ctx
        .unwrap_or_else(|| s.fit_min_ctx.min(spec.context_length.clamp(1, MAX_CTX)));
    let n_total = spec.n_layer + 1;
    let fits_with = |n: u32| {
        let t = Settings {
            n_cpu_moe: n,
            ..s.clone()
        };
        let p = Problem { w, sys, s: &t };
        p.fits_at(&layout(w, sys, &t, n_total), ctx, s.fit_margin_bytes)
    };
    if fits_with(0) {
        return None;
    }
    let (mut lo, mut hi) = (1, spec.n_layer);
    if !fits_with(hi) {
        return Some(hi);
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fits_with(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

/// Estimates memory, placement, context and speed with the fitted speed constants.
///
/// # Errors
/// [`EstimateError`] for settings llama.cpp would reject.
pub fn estimate(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
) -> Result<Estimate, EstimateError> {
    estimate_with(w, sys, s, &SpeedParams::default())
}

/// [`estimate`] with explicit speed constants (for fitting them).
///
/// # Errors
/// [`EstimateError`] for settings llama.cpp would reject.
pub fn estimate_with(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
    params: &SpeedParams,
) -> Result<Estimate, EstimateError> {
    check_settings(&w.spec, s, sys)?;
    let spec = &w.spec;
    let n_total = spec.n_layer + 1;
    let ctx_train = spec.context_length.clamp(1, MAX_CTX);
    let margin = s.fit_margin_bytes;
    let mut warnings = Vec::new();
    let moe_plan = if s.backend.gpu_only() {
        None
    } else {
        plan_cpu_moe(w, sys, s)
    };
    let planned;
    let s = match moe_plan {
        Some(n) => {
            planned = Settings {
                n_cpu_moe: n,
                ..s.clone()
            };
            warnings.push(Warning {
                code: "experts-in-ram",
                message: format!(
                    "the model does not fit on the GPU whole: the routed experts of the first {} layers stay in system RAM (--n-cpu-moe {}), attention and shared weights on the GPU",
                    n.min(spec.n_layer),
                    n.min(spec.n_layer)
                ),
            });
            &planned
        }
        None => s,
    };

    // ExLlama and MLX keep every layer on the GPUs: there is no partial offload to trade for.
    let gpu_only;
    let s = if s.backend.gpu_only() {
        gpu_only = Settings {
            gpu_layers: GpuLayers::Count(n_total),
            n_cpu_moe: 0,
            ..s.clone()
        };
        &gpu_only
    } else {
        s
    };
    let p = Problem { w, sys, s };
    warnings.extend(backend_warnings(s.backend));

    // Resolve -c and -ngl the way llama.cpp's --fit does: keep everything on the GPUs if possible,
    // shrinking an unset context toward --fit-ctx first, then give up layers.
    let (ctx, ngl) = match (s.ctx, s.gpu_layers) {
        (Some(c), GpuLayers::Count(n)) => (c, n.min(n_total)),
        (Some(c), GpuLayers::Auto) => (c, p.most_layers(c, margin)),
        (None, gl) => {
            let ngl_full = match gl {
                GpuLayers::Count(n) => n.min(n_total),
                GpuLayers::Auto => n_total,
            };
            let lay = layout(w, sys, s, ngl_full);
            let min_ctx = s.fit_min_ctx.min(ctx_train);
            let gpu_margin = if sys.gpus.is_empty() { 0 } else { margin };
            match p.largest_ctx(&lay, min_ctx, ctx_train, gpu_margin) {
                Some(c) if c >= ctx_train => (ctx_train, ngl_full),
                Some(c) => {
                    warnings.push(Warning {
                        code: "context-reduced",
                        message: format!(
                            "context reduced from the trained {ctx_train} to {c} tokens to fit with {} MiB left free per GPU, as llama.cpp's --fit does (--fit-target); pass -c to choose",
                            gpu_margin >> 20
                        ),
                    });
                    (c, ngl_full)
                }
                None => {
                    let ngl = match gl {
                        GpuLayers::Count(n) => n.min(n_total),
                        GpuLayers::Auto => p.most_layers(min_ctx, margin),
                    };
                    (min_ctx, ngl)
                }
            }
        }
    };
    let lay = layout(w, sys, s, ngl);
    let (shape, mem) = p.eval(&lay, ctx);
    let fit = fits(&mem, sys, 0);
    let max_context = p.largest_ctx(&lay, CTX_PAD, ctx_train, 0).unwrap_or(0);

    let load = speed::DeviceLoad {
        read: &lay.read,
        active: &lay.active,
        output_active: &lay.output_active,
        read_split: &lay.read_split,
        active_split: &lay.active_split,
        output_split: &lay.output_split,
        split_matmuls: lay.split_matmuls,
        split_io: lay.split_io,
        cpu_upload_bytes: lay.cpu_matmul_bytes,
    };
    let mut perf = speed::performance(
        w,
        sys,
        s,
        &load,
        &lay.placement,
        &shape,
        params,
        flash_attn_on(s),
    );
    // The decode curve: one token generated at each depth of the allocated context.
    perf.decode_by_depth = [0u64, 1, 2, 3, 4]
        .iter()
        .map(|q| {
            let depth =
                (shape.n_ctx_seq.saturating_sub(1) * q / 4).min(shape.n_ctx_seq.saturating_sub(1));
            let at = Settings {
                depth,
                gen: 1,
                ..s.clone()
            };
            let p = speed::performance(
                w,
                sys,
                &at,
                &load,
                &lay.placement,
                &shape,
                params,
                flash_attn_on(s),
            );
            DepthPoint {
                depth,
                decode_tokens_per_s: p.decode_tokens_per_s,
            }
        })
        .collect();
    let ram_fraction = {
        let n_gpu = sys.gpus.len();
        let total: f64 = lay.read.iter().flatten().sum();
        if total > 0.0 {
            lay.read[n_gpu].iter().sum::<f64>() / total
        } else {
            0.0
        }
    };

    if !sys.gpus.is_empty() && lay.placement.gpu_layers < n_total {
        warnings.push(Warning {
            code: "spills-to-ram",
            message: format!(
                "only {} of {} layers fit on the GPU; the rest run on the CPU from system RAM, which is much slower",
                lay.placement.gpu_layers, n_total
            ),
        });
    }
    if !fit {
        for d in mem.devices.iter().filter(|d| !d.fits()) {
            warnings.push(Warning {
                code: "does-not-fit",
                message: format!(
                    "{} needs {:.2} GiB but has {:.2} GiB",
                    d.name,
                    gib(d.total_bytes),
                    gib(d.capacity_bytes)
                ),
            });
        }
    }
    if ctx > ctx_train {
        warnings.push(Warning {
            code: "context-beyond-training",
            message: format!(
                "context {ctx} is longer than the {ctx_train} tokens the model was trained for; quality degrades past it"
            ),
        });
    }
    {
        // Backends with rows in the calibration data (throughput.csv); others use published defaults.
        let uncalibrated: Vec<&str> = sys
            .gpus
            .iter()
            .filter(|g| matches!(g.api, GpuApi::Sycl | GpuApi::Cpu))
            .map(|g| g.api.name())
            .collect();
        if !uncalibrated.is_empty() {
            warnings.push(Warning {
                code: "speed-uncalibrated",
                message: format!(
                    "speed on {} is not calibrated against measurements yet; treat it as a rough guide",
                    uncalibrated.join(" and ")
                ),
            });
        }
        if lay.layers[sys.gpus.len()] > 0 || sys.gpus.is_empty() {
            // The CPU's constants come from one machine (validation/report.md), not from
            // throughput.csv, which has no CPU rows.
            warnings.push(Warning {
                code: "speed-uncalibrated",
                message: "CPU speed is calibrated on one machine only (prefill within ~30% there, decode from the RAM bandwidth with a default efficiency); `llmrig hw --measure` makes the bandwidth this machine's".into(),
            });
        }
    }
    for g in sys
        .gpus
        .iter()
        .filter(|g| g.pcie_width.is_some_and(|w| w <= 4))
    {
        let partial = lay.placement.gpu_layers < n_total || s.n_cpu_moe > 0;
        if partial || sys.gpus.len() > 1 {
            warnings.push(Warning {
                code: "narrow-pcie-link",
                message: format!(
                    "{} is on a PCIe x{} link (a riser?): prompt processing with weights in RAM and transfers between GPUs are slowed by it",
                    g.name,
                    g.pcie_width.unwrap_or(1)
                ),
            });
        }
    }
    if spec.n_expert > 1 {
        warnings.push(Warning {
            code: "moe-speed-rough",
            message: "mixture-of-experts speed assumes uniform routing; real routing is skewed"
                .into(),
        });
    }
    if matches!(w.quant, crate::quant::Quant::Other(_)) && !s.backend.modelled_here() {
        warnings.push(Warning {
            code: "non-gguf-memory-model",
            message: "weights are sized for this format, but the context memory follows llama.cpp's rules; pass --backend exllamav2|exllamav3|mlx|transformers for that engine's".into(),
        });
    }
    if sys.gpus.len() > 1 && s.split_mode == SplitMode::Row {
        warnings.push(Warning {
            code: "row-split-speed-assumed",
            message: "-sm row: each matrix is split across the GPUs by rows (memory as llama.cpp allocates it); the speed assumes 20 µs to gather each split matmul's result, which no measurement has checked yet".into(),
        });
    }
    if sys.gpus.len() > 1 && lay.placement.gpu_layers == n_total && s.split_mode == SplitMode::Layer
    {
        warnings.push(Warning {
            code: "pipeline-parallel-buffers",
            message: "several GPUs in layer mode turn on pipeline parallelism, whose extra compute-buffer copies are not modelled yet".into(),
        });
    }

    let verdict = if !fit {
        Verdict::DoesNotFit
    } else if perf.decode_tokens_per_s >= s.good_tps {
        Verdict::WorksWell
    } else if perf.decode_tokens_per_s >= s.usable_tps {
        Verdict::Usable
    } else {
        Verdict::Slow
    };
    Ok(Estimate {
        resolved: Resolved {
            ctx,
            shape,
            gpu_layers: lay.placement.gpu_layers,
            flash_attn: flash_attn_on(s),
            n_cpu_moe: s.n_cpu_moe.min(spec.n_layer),
        },
        memory: mem,
        offload: Offload {
            gpu_layers: lay.placement.gpu_layers,
            total_layers: n_total,
            ram_fraction,
        },
        performance: perf,
        max_context,
        verdict,
        warnings,
    })
}

/// The largest context that fits with these settings and `-ngl` (auto resolved at the trained
/// context), a multiple of 256 up to the trained length; `None` if not even 256 tokens fit.
///
/// # Errors
/// [`EstimateError`] for settings llama.cpp would reject.
pub fn max_context(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
) -> Result<Option<u64>, EstimateError> {
    check_settings(&w.spec, s, sys)?;
    let p = Problem { w, sys, s };
    let n_total = w.spec.n_layer + 1;
    let ctx_train = w.spec.context_length.clamp(1, MAX_CTX);
    let ngl = match s.gpu_layers {
        GpuLayers::Count(n) => n.min(n_total),
        GpuLayers::Auto => p.most_layers(s.fit_min_ctx.min(ctx_train), s.fit_margin_bytes),
    };
    let lay = layout(w, sys, s, ngl);
    Ok(p.largest_ctx(&lay, CTX_PAD, ctx_train, 0))
}

#[allow(clippy::cast_precision_loss)]
/// What an estimate for another engine rests on.
fn backend_warnings(b: Backend) -> Vec<Warning> {
    let msg = match b {
        Backend::LlamaCpp => return Vec::new(),
        Backend::Vllm => "vLLM allocates a KV pool from --gpu-memory-utilization, not per context: `llmrig plan` models it; this estimate follows llama.cpp's rules".to_string(),
        _ => format!(
            "{}: the KV cache, scratch buffers and runtime follow its source code (crates/core/src/estimate/engines.rs), not yet checked against measurements; speed uses llama.cpp's calibrated efficiencies",
            b.name()
        ),
    };
    vec![Warning {
        code: "backend-rules",
        message: msg,
    }]
}

/// The largest `i` in `lo..=hi` with `ok(i)`, for `ok` true up to some point and false after;
/// `None` when `ok(lo)` is false.
fn last_true(lo: u64, hi: u64, ok: impl Fn(u64) -> bool) -> Option<u64> {
    if lo > hi || !ok(lo) {
        return None;
    }
    let (mut lo, mut hi) = (lo, hi);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(lo)
}

fn gib(b: u64) -> f64 {
    b as f64 / f64::from(1u32 << 30)
}
