//! Where llama.cpp puts each layer for `-ngl N` (`llama_model::load_tensors` in src/llama-model.cpp):
//! the input embedding on the CPU; the output layer counts as layer `n_layer`, and the last `N` of
//! the `n_layer + 1` layers go to the GPUs, split in proportion to free memory (or `-ts`). So the
//! output layer goes first (`i_gpu_start = n_layer + 1 - N`, PR #18148, Dec 2025); before that
//! the last `N` blocks went first and the output only when `N > n_layer`
//! (`i_gpu_start = n_layer - N`).

use crate::model::Role;
use crate::quant::{GgmlType, OtherFormat, Quant};
use crate::system::{GpuApi, SystemSpec};

use super::settings::{Settings, SplitMode};
use super::weights::{ModelWeights, WeightClass, WeightTensor};

/// A device index: `Some(g)` for GPU `g`, `None` for the CPU.
pub type Dev = Option<usize>;

/// The layer-to-device map for one `-ngl` value.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Device of blocks `0..n_layer` and, at index `n_layer`, of the output layer.
    pub layer_dev: Vec<Dev>,
    /// Layers (blocks plus the output layer) on GPUs: `min(ngl, n_layer + 1)` when there are GPUs.
    pub gpu_layers: u32,
}

impl Placement {
    /// Places `n_layer + 1` layers for `ngl` over GPUs with split weights `split` (free memory or
    /// `-ts`; empty for CPU-only); `output_first`: the output layer is the first to go to a GPU
    /// (llama.cpp since Dec 2025), else the last.
    #[must_use]
    pub fn new(n_layer: u32, ngl: u32, split: &[f64], output_first: bool) -> Placement {
        let total = n_layer + 1;
        if split.is_empty() || ngl == 0 {
            return Placement {
                layer_dev: vec![None; total as usize],
                gpu_layers: 0,
            };
        }
        let act = ngl.min(total);
        let i_gpu_start = if output_first {
            total.saturating_sub(ngl)
        } else {
            n_layer.saturating_sub(ngl)
        };
        // Cumulative, normalized split points; layer il goes to the first GPU whose point exceeds
        // its fraction of the offloaded range (std::upper_bound in llama.cpp).
        let sum: f64 = split.iter().sum();
        let mut acc = 0.0;
        let points: Vec<f64> = split
            .iter()
            .map(|w| {
                acc += if sum > 0.0 {
                    w / sum
                } else {
                    1.0 / split.len() as f64
                };
                acc
            })
            .collect();
        let layer_dev = (0..total)
            .map(|il| {
                if il < i_gpu_start || il - i_gpu_start >= act {
                    return None;
                }
                let x = f64::from(il - i_gpu_start) / f64::from(act);
                let g = points
                    .iter()
                    .position(|&p| p > x)
                    .unwrap_or(split.len() - 1);
                Some(g)
            })
            .collect();
        Placement {
            layer_dev,
            gpu_layers: act,
        }
    }

    /// The device of the output layer.
    #[must_use]
    pub fn output_dev(&self) -> Dev {
        *self.layer_dev.last().unwrap_or(&None)
    }

    /// Where llama.cpp loads tensor `t`: where the first `-ot` pattern found in its name says;
    /// else the input embedding on the CPU, the routed experts of the first `n_cpu_moe` layers in
    /// RAM (`--n-cpu-moe`, itself an override llama.cpp appends after the user's), a block's
    /// tensors with the block, the rest with the output layer. An override to a GPU the machine
    /// does not have is refused before this (`settings::check`).
    #[must_use]
    pub fn tensor_dev(&self, t: &WeightTensor, s: &Settings) -> Dev {
        if let Some(o) = s.tensor_overrides.iter().find(|o| o.matches(&t.info.name)) {
            return o.device;
        }
        match (t.info.role, t.info.layer) {
            (Role::TokenEmbd | Role::LayerInput, _) => None,
            (Role::Experts, Some(il)) if il < s.n_cpu_moe => None,
            // A block beyond the model's (readers refuse such files) sits with the output.
            (_, Some(il)) => self
                .layer_dev
                .get(il as usize)
                .copied()
                .unwrap_or_else(|| self.output_dev()),
            (_, None) => self.output_dev(),
        }
    }
}

/// The split weights llama.cpp uses: `-ts`, else each GPU's memory.
pub(super) fn split_weights(sys: &SystemSpec, s: &Settings) -> Vec<f64> {
    if s.split_mode == SplitMode::None {
        // Every layer on the main GPU (`-mg`), none on the others.
        if sys.gpus.is_empty() {
            return Vec::new();
        }
        let mut w = vec![0.0; sys.gpus.len()];
        w[s.main_gpu.min(sys.gpus.len() - 1)] = 1.0;
        return w;
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
pub(super) fn gpu_alloc_bytes(t: &WeightTensor, api: GpuApi) -> u64 {
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

/// What each device reads and computes per token under one layout: the speed model's input.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceLoad {
    /// Bytes read per token, per device (GPUs then CPU), per weight class.
    pub read: Vec<[f64; WeightClass::COUNT]>,
    /// Matmul weights (elements) used per token, per device, per class.
    pub active: Vec<[f64; WeightClass::COUNT]>,
    /// The output matrix's share of `active`: a prompt computes logits for its last token only
    /// (llama-bench and llama-server decode prompts with one output), so prefill runs it once.
    pub output_active: Vec<[f64; WeightClass::COUNT]>,
    /// The routed experts' share of `active`: in a prompt each expert multiplies only the tokens
    /// routed to it.
    pub expert_active: Vec<[f64; WeightClass::COUNT]>,
    /// The BF16 part of `expert_active[d][Float]` (elements per token): ggml-vulkan multiplies
    /// BF16 expert stacks through its matrix-matrix shaders even for one token.
    pub bf16_expert_active: Vec<f64>,
    /// The BF16 part of `active[d][Float]` (elements per token): HIP multiplies BF16 weights by
    /// rules of their own (`prompt_kernels::amd_bf16_rate`).
    pub bf16_active: Vec<f64>,
    /// Matmul weights (elements per token, per class) on the CPU that a BLAS build leaves to ggml's
    /// own kernels: those in the CPU's repack buffer and the expert stacks (ggml-blas takes plain
    /// MUL_MAT only, of weights in ordinary CPU buffers). The output matrix is not counted.
    pub cpu_not_blas: [f64; WeightClass::COUNT],
    /// Bytes of CPU-resident dense matmul weights (uploaded to GPU 0 per ubatch when offloading
    /// ops).
    pub cpu_upload_bytes: f64,
    /// Bytes of CPU-resident expert stacks, of which a ubatch uploads the experts its tokens
    /// route to.
    pub cpu_expert_bytes: f64,
    /// `-sm row`: per GPU, the bytes of the split matrices it reads per token (these run in
    /// parallel across GPUs), their matmul weights, and the output matrix's part of those.
    pub read_split: Vec<[f64; WeightClass::COUNT]>,
    /// See `read_split`.
    pub active_split: Vec<[f64; WeightClass::COUNT]>,
    /// See `read_split`.
    pub output_split: Vec<[f64; WeightClass::COUNT]>,
    /// `-sm row`: split matmuls per token and the activation elements they move per token.
    pub split_matmuls: f64,
    /// See `split_matmuls`.
    pub split_io: f64,
}

/// Context-independent part: where every tensor sits for one `-ngl`.
pub(super) struct WeightLayout {
    pub placement: Placement,
    /// Weight bytes per GPU, then the CPU last.
    pub bytes: Vec<u64>,
    /// Layers per GPU, then the CPU last.
    pub layers: Vec<u32>,
    /// Largest single CPU-resident matrix used in a matmul (op_offload copies it to GPU 0), bytes.
    pub largest_cpu_matrix: u64,
    /// Its output rows plus input width (for the result it produces on the GPU).
    pub largest_cpu_matrix_io: u64,
    /// CPU-resident weights llama.cpp repacks into `CPU_REPACK`, bytes.
    pub repack: u64,
    /// The `CPU_Mapped` buffer's file range (see `DeviceUsage::mapped_bytes`).
    pub mapped: u64,
    /// What each device reads and computes per token: the speed model's input.
    pub load: DeviceLoad,
    /// Where each weight the scheduler replay looks up sits, built on first use.
    pub sched_weights: std::cell::OnceCell<super::graph::sched::WeightTable>,
}

impl WeightLayout {
    /// Share of the weight bytes read per token that sit in system RAM (the CPU is the last
    /// device).
    pub fn ram_fraction(&self) -> f64 {
        let read = &self.load.read;
        let total: f64 = read.iter().flatten().sum();
        match read.last() {
            Some(cpu) if total > 0.0 => cpu.iter().sum::<f64>() / total,
            _ => 0.0,
        }
    }
}

/// Where every tensor of `w` sits on `sys` for `-ngl ngl` with these settings, and what each
/// device then reads per token.
pub(super) fn layout(w: &ModelWeights, sys: &SystemSpec, s: &Settings, ngl: u32) -> WeightLayout {
    let spec = &w.spec;
    let n_gpu = sys.gpus.len();
    let cpu = n_gpu;
    let split = split_weights(sys, s);
    let placement = Placement::new(
        spec.n_layer,
        if n_gpu == 0 { 0 } else { ngl },
        &split,
        s.llama_cpp.rules().ngl_output_first,
    );
    let mut bytes = vec![0u64; n_gpu + 1];
    let mut layers = vec![0u32; n_gpu + 1];
    let mut read = vec![[0f64; WeightClass::COUNT]; n_gpu + 1];
    let mut active = vec![[0f64; WeightClass::COUNT]; n_gpu + 1];
    let mut output_active = vec![[0f64; WeightClass::COUNT]; n_gpu + 1];
    let mut expert_active = vec![[0f64; WeightClass::COUNT]; n_gpu + 1];
    let mut bf16_expert_active = vec![0f64; n_gpu + 1];
    let mut bf16_active = vec![0f64; n_gpu + 1];
    let mut cpu_not_blas = [0f64; WeightClass::COUNT];
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
    let mut cpu_expert_bytes = 0f64;
    let mut repack = 0u64;
    // CPU weights go to the first buffer type in llama.cpp's CPU list that takes them
    // (make_cpu_buft_list in src/llama-model.cpp): a GPU backend's pinned host buffer comes before
    // the CPU's extra (repack) buffers, so with a CUDA, ROCm, SYCL or Vulkan GPU the CPU layers stay
    // in the mapped file (the H200 logs show CPU_Mapped and no CPU_REPACK at -ngl 20). Metal has no
    // host buffer type.
    let extra_bufts = !sys.gpus.iter().any(|g| {
        matches!(
            g.api,
            GpuApi::Cuda | GpuApi::Rocm | GpuApi::Sycl | GpuApi::Vulkan
        )
    });
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
        let dev = placement.tensor_dev(t, s);
        let idx = dev.unwrap_or(cpu);
        #[allow(clippy::cast_precision_loss)]
        let (b, p) = (t.bytes as f64, t.info.n_elements() as f64);
        let c = WeightClass::of(t.ggml_type, w.quant).index();
        let bf16 = match t.ggml_type {
            Some(ty) => ty == GgmlType::BF16,
            None => w.quant == Quant::Other(OtherFormat::Bf16),
        };
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
                if spec.output_reads_embeddings() {
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
                expert_active[idx][c] += p * expert_share;
                if bf16 {
                    bf16_expert_active[idx] += p * expert_share;
                    bf16_active[idx] += p * expert_share;
                }
            }
            Role::Small | Role::OutputNorm => read[idx][c] += b,
            // One row per token of a table that stays on the CPU.
            Role::LayerInput => {}
            Role::Matrix | Role::Output => {
                read[idx][c] += b;
                active[idx][c] += p;
                if bf16 {
                    bf16_active[idx] += p;
                }
                if t.info.role == Role::Output {
                    output_active[idx][c] += p;
                }
            }
        }
        let is_matmul = matches!(t.info.role, Role::Matrix | Role::Output | Role::Experts);
        let repacked = extra_bufts
            && dev.is_none()
            && is_matmul
            && t.ggml_type
                .is_some_and(|ty| repacks(ty, t.info.ne, &sys.cpu.simd));
        if repacked {
            repack += t.bytes;
        }
        if dev.is_none() && is_matmul && t.info.role != Role::Output {
            if t.info.role == Role::Experts {
                cpu_not_blas[c] += p * expert_share;
            } else if repacked {
                cpu_not_blas[c] += p;
            }
        }
        if dev.is_none() && !repacked {
            map_first = map_first.min(ti);
            map_last = ti;
        }
        if dev.is_none() && is_matmul {
            // Prefill uploads dense weights whole and, of an expert stack, the experts the
            // ubatch's tokens route to (ggml/src/ggml-backend.cpp, ggml_backend_sched_compute_splits
            // copies the MUL_MAT_ID experts the batch's ids select): the speed model takes the
            // share per ubatch.
            if t.info.role == Role::Experts {
                cpu_expert_bytes += b;
            } else {
                cpu_matmul_bytes += b;
            }
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
    if spec.output_reads_embeddings() && out_dev.is_none() {
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
        mapped,
        sched_weights: std::cell::OnceCell::new(),
        load: DeviceLoad {
            read,
            active,
            output_active,
            expert_active,
            bf16_expert_active,
            bf16_active,
            cpu_not_blas,
            cpu_upload_bytes: cpu_matmul_bytes,
            cpu_expert_bytes,
            read_split,
            active_split,
            output_split,
            split_matmuls,
            split_io,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_layer_goes_first() {
        // llama.cpp 0c1e57098 on an H200, Llama-3.1-8B `-ngl 20` logs "offloaded 20/33 layers"
        // with the output and blocks 13-31 on CUDA0 (crates/catalog/tests/data/h200-memory.csv,
        // log q4km-ngl20-fa1.err; its buffers are checked in the catalog's tests).
        let p = Placement::new(32, 20, &[1.0], true);
        assert_eq!(p.gpu_layers, 20);
        assert_eq!(p.output_dev(), Some(0));
        assert_eq!(p.layer_dev[12], None);
        assert_eq!(p.layer_dev[13], Some(0));
        assert_eq!(Placement::new(32, 1, &[1.0], true).layer_dev[31], None);
        assert_eq!(Placement::new(32, 1, &[1.0], true).output_dev(), Some(0));
    }

    #[test]
    fn before_dec_2025_blocks_went_first() {
        let p = Placement::new(32, 10, &[1.0], false);
        assert_eq!(p.layer_dev.iter().filter(|d| d.is_some()).count(), 10);
        assert_eq!(p.layer_dev[21], None);
        assert_eq!(p.layer_dev[22], Some(0));
        assert_eq!(p.output_dev(), None, "output needs ngl > n_layer");
        for output_first in [false, true] {
            let full = Placement::new(32, 33, &[1.0], output_first);
            assert_eq!(full.output_dev(), Some(0));
            assert_eq!(full.gpu_layers, 33);
            assert_eq!(Placement::new(32, 999, &[1.0], output_first).gpu_layers, 33);
        }
    }

    #[test]
    fn two_gpus_split_by_weight() {
        let p = Placement::new(32, 33, &[1.0, 1.0], true);
        let on0 = p.layer_dev.iter().filter(|d| **d == Some(0)).count();
        let on1 = p.layer_dev.iter().filter(|d| **d == Some(1)).count();
        assert_eq!((on0, on1), (17, 16));
        assert_eq!(p.output_dev(), Some(1));
    }
}
