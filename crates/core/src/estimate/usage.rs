//! Memory per device for one context on one weight layout: the weights placed there, the KV
//! cache, the compute buffers (replayed over llama.cpp's graph where llmrig has it, else closed
//! forms), the output buffer and the backend's runtime; and whether it all fits.

use serde::Serialize;

use crate::model::Role;
use crate::system::{DeviceKind, GpuApi, SystemSpec};

use super::engines;
use super::graph;
use super::memory::{graph_peaks, layer_kv_bytes, output_buffer_bytes, ContextShape};
use super::placement::{gpu_alloc_bytes, WeightLayout};
use super::settings::{Backend, Settings};
use super::weights::ModelWeights;

/// Memory on one device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceUsage {
    /// Device name.
    pub name: String,
    /// `gpu`, `cpu` or `unified`.
    pub kind: DeviceKind,
    /// Memory the device offers, bytes: a GPU's own (a unified one's at most the RAM left for
    /// the model); for the CPU, the RAM left for the model ([`SystemSpec::ram_budget`]).
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

/// Memory per device for one context on one layout; `replay`: the CPU-only compute buffer from
/// the graph replay where available (else the closed form, tens of microseconds cheaper).
pub(super) fn memory(
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
    if (backend == Backend::Transformers || backend.is_embedding()) && n_gpu > 0 {
        // accelerate's device_map puts the input embeddings on the first GPU, and tied
        // embeddings are one shared tensor (llama.cpp copies them next to the output instead);
        // TEI and sentence-transformers load the whole model onto the GPU.
        if let Some(e) = w.tensors.iter().find(|t| t.info.role == Role::TokenEmbd) {
            wbytes[cpu] = wbytes[cpu].saturating_sub(e.bytes);
            if let (true, Some(o)) = (spec.output_reads_embeddings(), lay.placement.output_dev()) {
                wbytes[o] = wbytes[o].saturating_sub(gpu_alloc_bytes(e, sys.gpus[o].api));
            }
            wbytes[0] += e.bytes;
        }
        if backend.is_embedding() {
            // The positions and token types too: nothing of the model stays in RAM.
            wbytes[0] += std::mem::take(&mut wbytes[cpu]);
        }
    }
    let out_dev = lay.placement.output_dev();
    let (compute, output) = if other_engine {
        let head = out_dev.unwrap_or(cpu);
        let scratch = (0..=n_gpu)
            .map(|d| engines::scratch_bytes(backend, spec, shape, s, lay.layers[d] > 0, d == head))
            .collect();
        (scratch, 0)
    } else if let Some(c) = replay
        .then(|| sched_compute(w, sys, s, lay, shape))
        .flatten()
    {
        (c.buffers, output_buffer_bytes(spec, shape))
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
            if g == 0 && lay.largest_cpu_matrix > 0 && shape.n_tokens >= 32 && !s.no_op_offload {
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
            // With op offload a GPU runs the CPU layers' ops for prompt batches of 32+ tokens;
            // their activations then live in its buffer.
            let offloaded = !s.no_op_offload && shape.n_tokens >= 32;
            let layers_here = if cpu_has_layers && !offloaded {
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
            capacity_bytes: gpu_capacity(gpu, &sys.ram_budget()),
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
        // What the machine leaves of its RAM for the model.
        capacity_bytes: sys.ram_budget().usable_bytes,
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

/// Memory a GPU offers: its own, or for a unified-memory GPU no more than the RAM the machine
/// leaves for the model (the GPU-visible share and the CPU side come out of one pool).
pub(super) fn gpu_capacity(g: &crate::system::DeviceSpec, ram: &crate::system::RamBudget) -> u64 {
    if g.kind == DeviceKind::Unified {
        g.memory_bytes.min(ram.usable_bytes)
    } else {
        g.memory_bytes
    }
}

/// Whether every GPU that holds something keeps `margin` free (the `--fit` target); GPUs left
/// empty always fit.
pub(super) fn gpus_fit(m: &MemoryBreakdown, n_gpu: usize, margin: u64) -> bool {
    m.devices[..n_gpu].iter().all(|d| {
        d.layers == 0 && d.weights_bytes == 0 || d.total_bytes + margin <= d.capacity_bytes
    })
}

/// Whether every device fits in its own memory, and the CPU side with the unified GPUs in the RAM
/// left for the model; `margin` is kept free on each GPU (the `--fit` target). Spilling into
/// Windows' shared GPU memory does not count here (the fit searches keep to dedicated memory, as
/// llama.cpp's `--fit` does): `ram::fits` judges that.
pub(super) fn fits(m: &MemoryBreakdown, sys: &SystemSpec, margin: u64) -> bool {
    let n_gpu = sys.gpus.len();
    let cpu = &m.devices[n_gpu];
    // Unified memory: the GPU's allocations come out of the same RAM.
    let unified: u64 = m.devices[..n_gpu]
        .iter()
        .filter(|d| d.kind == DeviceKind::Unified)
        .map(|d| d.total_bytes)
        .sum();
    gpus_fit(m, n_gpu, margin) && cpu.total_bytes + unified <= cpu.capacity_bytes
}

/// Whether the compute buffers of this run come from the scheduler replay: llama.cpp on one CUDA
/// or ROCm GPU (several GPUs pipeline ubatches with `n_copies` > 1, which the replay does not
/// model yet) for an architecture whose graph is annotated.
pub(super) fn sched_applies(
    spec: &crate::model::ModelSpec,
    sys: &SystemSpec,
    s: &Settings,
) -> bool {
    // The op-offload and fusion rules replayed are ggml-cuda's (HIP builds the same code); Metal
    // offloads only matrix products and Vulkan has its own, so they keep the closed forms.
    sys.gpus.len() == 1
        && matches!(sys.gpus[0].api, GpuApi::Cuda | GpuApi::Rocm)
        && !s.backend.modelled_here()
        && s.llama_cpp.rules().graph_replay
        && graph::sched_arch(spec)
}

/// The GPU's and the host's compute buffers of a llama.cpp run on one GPU, from the scheduler
/// replay (`graph::sched`), where llmrig has the annotated graph.
pub(super) fn sched_compute(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
    lay: &WeightLayout,
    shape: &ContextShape,
) -> Option<graph::sched::Sched> {
    let spec = &w.spec;
    if !sched_applies(spec, sys, s) {
        return None;
    }
    let g = graph::sched_graph(spec, shape, s)?;
    let gpu = &sys.gpus[0];
    let cuda = matches!(gpu.api, GpuApi::Cuda | GpuApi::Rocm);
    let pl = &lay.placement;
    let out_dev = pl.output_dev();
    let weights = lay.sched_weights.get_or_init(|| {
        let mut table = graph::sched::WeightTable::new(spec.n_layer);
        for t in &w.tensors {
            let n = t.info.name.as_str();
            let within = match t.info.layer {
                Some(_) => n.splitn(3, '.').nth(2).unwrap_or(n),
                None => n,
            };
            let Some(wt) = graph::W::from_name(within) else {
                continue;
            };
            let dev = pl.tensor_dev(t, s);
            table.set(t.info.layer, wt, dev, gpu_alloc_bytes(t, gpu.api));
            // Tied embeddings: the output matmul reads the copy placed with the output layer.
            if wt == graph::W::TokenEmbd && spec.output_reads_embeddings() {
                table.set(None, graph::W::Output, out_dev, gpu_alloc_bytes(t, gpu.api));
            }
        }
        table
    });
    let layer_dev = |il: u32| pl.layer_dev[il as usize];
    let kv_dev = |il: u32| {
        if s.no_kv_offload {
            None
        } else {
            pl.layer_dev[il as usize]
        }
    };
    let kv_view_bytes = |il: u32| layer_kv_bytes(spec, il, shape, s);
    // CUDA's flash attention for a batch (the MMA and tile kernels) reads f16 K and V: a quantized
    // cache is converted into memory allocated right after the result, 128-byte aligned
    // (`ggml_cuda_flash_attn_ext_get_f16_extra_data`, ggml-cuda/fattn-common.cuh). One token uses
    // the vector kernel, which reads the quantized cache directly.
    let fattn_extra = |il: u32| -> u64 {
        if !cuda || shape.n_tokens <= 2 {
            return 0;
        }
        let cells = super::memory::layer_cells(spec, il, shape, s) * shape.n_stream;
        let mut extra = 0;
        if s.cache_type_k.is_quantized() {
            extra += (cells * spec.n_embd_k_gqa(il) * 2).div_ceil(128) * 128;
        }
        if s.cache_type_v.is_quantized() {
            extra += (cells * spec.n_embd_v_gqa(il) * 2).div_ceil(128) * 128;
        }
        extra
    };
    let l = graph::sched::Layout {
        n_gpu: 1,
        layer_dev: &layer_dev,
        kv_dev: &kv_dev,
        weights,
        kv_view_bytes: &kv_view_bytes,
        fattn_extra: &fattn_extra,
        n_tokens: shape.n_tokens,
        op_offload: !s.no_op_offload,
        full_offload: pl.gpu_layers > spec.n_layer,
        cuda_fusions: cuda,
        gpu_align: 128,
    };
    Some(graph::sched::compute_bytes(&g, &l))
}
