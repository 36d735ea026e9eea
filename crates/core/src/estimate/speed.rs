//! A first roofline for llama-bench's tests: decode (`tgN @ dD`) reads every active weight and the KV
//! cache once per token on each device in turn; prefill (`ppN @ dD`) is bound by compute, plus the
//! upload of CPU-resident weights when llama.cpp offloads their matmuls. Efficiencies are the
//! published defaults of shared/notes/perf-models.md §6, to be replaced by a calibration.

use serde::Serialize;

use super::memory::{layer_kv_bytes, ContextShape};
use super::placement::Placement;
use super::settings::Settings;
use super::weights::ModelWeights;
use crate::system::{DeviceKind, SystemSpec};

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
    /// Decode at pessimistic efficiencies, tokens/s.
    pub decode_low: f64,
    /// Decode at optimistic efficiencies, tokens/s.
    pub decode_high: f64,
}

/// Memory-bandwidth efficiency (low, typical, high) of llama.cpp decode by device kind
/// (perf-models.md §2.5/§6: 0.65 for k-quants on GPU, 0.65 Apple, 0.7 desktop CPU).
fn bw_efficiency(kind: DeviceKind) -> (f64, f64, f64) {
    match kind {
        DeviceKind::Gpu => (0.5, 0.65, 0.8),
        DeviceKind::Unified => (0.45, 0.65, 0.8),
        DeviceKind::Cpu => (0.5, 0.7, 0.8),
    }
}

/// Fixed time per generated token on GPUs (kernel launches, sampling), seconds (perf-models.md §6:
/// 0.1–0.3 ms).
const GPU_STEP_OVERHEAD_S: f64 = 0.2e-3;
/// Effective PCIe host-to-device rate for weight uploads during prefill, bytes/s (PCIe 4.0 x16
/// achieves about 25 GB/s, perf-models.md §2.8).
const PCIE_BYTES_PER_S: f64 = 25e9;
/// Compute efficiency of GPU prompt processing (perf-models.md §6: MFU ≈ 0.7 for long prompts;
/// llama.cpp's MMQ kernels reach less).
const GPU_COMPUTE_EFF: f64 = 0.5;
/// Compute efficiency of CPU prompt processing (perf-models.md §3: 0.3–0.6 of SIMD peak).
const CPU_COMPUTE_EFF: f64 = 0.4;

#[allow(clippy::too_many_arguments, clippy::cast_precision_loss)]
pub(super) fn performance(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
    read_per_token: &[f64],
    active_params: &[f64],
    placement: &Placement,
    shape: &ContextShape,
) -> Performance {
    let spec = &w.spec;
    let n_gpu = sys.gpus.len();
    let cpu = n_gpu;
    // KV bytes read per generated token at the mean position of the generated tokens, per device.
    let mean_pos = (s.depth + s.gen / 2).min(shape.n_ctx_seq) as f64;
    let mut kv_read = vec![0f64; n_gpu + 1];
    let mut attn_flops = vec![0f64; n_gpu + 1];
    let one = ContextShape {
        n_ctx: 1,
        n_ctx_seq: 1,
        n_stream: 1,
        n_seq: 1,
        n_tokens: 1,
    };
    for il in 0..spec.n_layer {
        let d = if s.no_kv_offload {
            None
        } else {
            placement.layer_dev[il as usize]
        };
        let (k, v) = layer_kv_bytes(spec, il, &one, s);
        let window = match spec.sliding_window {
            Some(n) if spec.is_swa_layer(il) && !s.swa_full => (n as f64).min(mean_pos),
            _ => mean_pos,
        };
        kv_read[d.unwrap_or(cpu)] += (k + v) as f64 * window;
        // QK^T and AV: 4 · q_width FLOPs per cached token per layer.
        attn_flops[placement.layer_dev[il as usize].unwrap_or(cpu)] +=
            4.0 * spec.q_width() as f64 * (s.depth as f64 + s.prompt as f64 / 2.0);
    }
    let bw = |d: usize| -> (f64, DeviceKind) {
        if d < n_gpu {
            (sys.gpus[d].bandwidth_bytes_per_s, sys.gpus[d].kind)
        } else {
            (sys.cpu.bandwidth_bytes_per_s, DeviceKind::Cpu)
        }
    };
    let mut t = [0f64; 3];
    let mut compute_time = 0f64;
    let mut mem_time = 0f64;
    for d in 0..=n_gpu {
        let bytes = read_per_token[d] + kv_read[d];
        if bytes == 0.0 {
            continue;
        }
        let (b, kind) = bw(d);
        let (lo, mid, hi) = bw_efficiency(kind);
        let b = b.max(1.0);
        let m = bytes / (b * mid);
        // Decode compute: 2 FLOPs per active weight.
        let flops = 2.0 * active_params[d];
        let rate = if d < n_gpu {
            sys.gpus[d].fp16_flops.max(1e12) * GPU_COMPUTE_EFF
        } else {
            sys.cpu.flops.max(1e9) * CPU_COMPUTE_EFF
        };
        let c = flops / rate;
        mem_time += m;
        compute_time += c;
        t[0] += (bytes / (b * lo)).max(c);
        t[1] += m.max(c);
        t[2] += (bytes / (b * hi)).max(c);
        if d < n_gpu {
            for x in &mut t {
                *x += GPU_STEP_OVERHEAD_S / n_gpu as f64;
            }
        }
    }
    let rate = |x: f64| if x > 0.0 { 1.0 / x } else { 0.0 };

    // Prefill: compute for every device's share; with GPUs, CPU-resident matmuls run on GPU 0 after
    // their weights are uploaded once per ubatch (op_offload).
    let prompt = s.prompt.max(1) as f64;
    let mut prefill = 0f64;
    let ubatches = (s.prompt.max(1)).div_ceil(shape.n_tokens.max(1)) as f64;
    for d in 0..=n_gpu {
        let flops = (2.0 * active_params[d] + attn_flops[d]) * prompt;
        if flops == 0.0 {
            continue;
        }
        if d < n_gpu || (n_gpu > 0 && shape.n_tokens >= 32) {
            let g = if d < n_gpu { d } else { 0 };
            let gpu = &sys.gpus[g];
            let peak = gpu.int8_ops.max(gpu.fp16_flops).max(1e12);
            prefill += flops / (peak * GPU_COMPUTE_EFF);
            if d == cpu {
                prefill += ubatches * read_per_token[cpu] / PCIE_BYTES_PER_S;
            }
        } else {
            prefill += flops / (sys.cpu.flops.max(1e9) * CPU_COMPUTE_EFF);
        }
    }
    let prefill_rate = rate(prefill / prompt);
    Performance {
        prefill_tokens_per_s: prefill_rate,
        decode_tokens_per_s: rate(t[1]),
        time_to_first_token_s: prefill,
        decode_bound: if compute_time > mem_time {
            "compute"
        } else {
            "memory"
        },
        decode_low: rate(t[0]),
        decode_high: rate(t[2]),
    }
}
