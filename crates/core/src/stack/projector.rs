//! A multimodal projector's memory in the llama.cpp process that serves its model: weights and
//! the encoder's compute buffer on the main GPU (llama-server's default) or in RAM
//! (`--no-mmproj-offload`), with the graph inputs in host memory.

use crate::estimate::{DeviceUsage, MemoryBreakdown};
use crate::model::ProjectorSpec;
use crate::quant::GgmlType;
use crate::system::{DeviceKind, SystemSpec};

/// How a projector is loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectorUse {
    /// Its numbers.
    pub spec: ProjectorSpec,
    /// Its matrices' type (F16 as published by default).
    pub wtype: GgmlType,
    /// Its weights, bytes, when read from a file (else from `spec` and `wtype`).
    pub weights_bytes: Option<u64>,
    /// Where it goes: a GPU index, or RAM.
    pub placement: ProjectorPlacement,
    /// Tiles encoded at once ([`ProjectorSpec::encode_batch`]: InternVL's batched tiles; 1 for
    /// the others), which the compute buffer grows to after the first such image.
    pub batch: u64,
    /// Flash attention in the encoder (llama-server passes its `-fa`; `auto` is on wherever the
    /// backend has the kernel, which CPU, CUDA, ROCm, Metal and Vulkan do).
    pub flash_attn: bool,
}

/// Where the projector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectorPlacement {
    /// On this GPU (llama-server uses the first one).
    Gpu(usize),
    /// In RAM, on the CPU.
    Cpu,
}

/// The projector's memory over `sys`'s devices (GPUs in order, then the CPU).
#[must_use]
pub fn projector_memory(u: &ProjectorUse, sys: &SystemSpec) -> MemoryBreakdown {
    let n_gpu = sys.gpus.len();
    let weights = u
        .weights_bytes
        .unwrap_or_else(|| u.spec.weights_bytes(u.wtype));
    let compute = u.spec.compute_bytes_batched(u.flash_attn, u.batch);
    let mut per = vec![(0u64, 0u64); n_gpu + 1];
    match u.placement {
        ProjectorPlacement::Gpu(g) if g < n_gpu => {
            per[g] = (weights, compute);
            per[n_gpu].1 = u.spec.host_input_bytes();
        }
        _ => per[n_gpu] = (weights, compute),
    }
    let devices: Vec<DeviceUsage> = per
        .iter()
        .enumerate()
        .map(|(i, &(w, c))| {
            let (name, kind) = if i < n_gpu {
                (sys.gpus[i].name.clone(), sys.gpus[i].kind)
            } else {
                (sys.cpu.name.clone(), DeviceKind::Cpu)
            };
            DeviceUsage {
                name,
                kind,
                capacity_bytes: 0,
                weights_bytes: w,
                repack_bytes: 0,
                mapped_bytes: 0,
                kv_cache_bytes: 0,
                compute_bytes: c,
                other_bytes: 0,
                total_bytes: w + c,
                layers: 0,
            }
        })
        .collect();
    let weights_bytes = devices.iter().map(|d| d.weights_bytes).sum();
    let compute_bytes = devices.iter().map(|d| d.compute_bytes).sum();
    MemoryBreakdown {
        weights_bytes,
        kv_cache_bytes: 0,
        compute_bytes,
        output_bytes: 0,
        overhead_bytes: 0,
        total_bytes: weights_bytes + compute_bytes,
        devices,
    }
}
