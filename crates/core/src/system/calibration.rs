//! A machine's own speed efficiencies, fitted by `llmrig calibrate` to its llama-bench results and
//! kept with the machine (its machine file or the user config). The speed model
//! (`estimate::SpeedParams`) reads them; they live with the machine because they describe it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Efficiencies of one backend.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BackendParams {
    /// Share of peak memory bandwidth decode achieves on f16 weights.
    pub bw: f64,
    /// Fixed time per generated token (launches, sampling, synchronisation), seconds.
    pub step_s: f64,
    /// Share of the FP16 (FP32-accumulate) peak prefill achieves on float weights.
    pub pp_float: f64,
    /// Share of that peak prefill achieves on quantized weights.
    pub pp_quant: f64,
    /// Fixed time per prompt ubatch of two or more tokens beyond the launches `step_s` counts
    /// (a one-token ubatch is a decoded token), seconds.
    pub ubatch_s: f64,
}

/// One machine's efficiencies, fitted to its own llama-bench results (`llmrig calibrate`), kept
/// in its machine file or the user config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// When the llama-bench run was made (its `test_time`, else the day of calibrating), as
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The results file the efficiencies came from.
    pub source: String,
    /// llama-bench results fitted.
    pub rows: usize,
    /// Median absolute error over those results with the shipped constants, then with these.
    pub error_before: f64,
    /// See `error_before`.
    pub error_after: f64,
    /// Per device class (`DEVICE_CLASSES`), the fitted efficiencies.
    pub backends: BTreeMap<String, BackendParams>,
    /// The decode factors of the weight classes (`SpeedParams::class_factor`), when the results
    /// read several classes of weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_factor: Option<Vec<f64>>,
    /// The share of peak bandwidth the machine's GPU reached on LPDDR it shares with the CPU
    /// (`SpeedParams::lpddr_bw`), when the results decoded there: the memory's, whatever the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lpddr_bw: Option<f64>,
    /// The CPU's kernel efficiencies, when the results ran layers on the CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuKernels>,
}

/// Efficiencies of llama.cpp's CPU kernels that are not tiled matrix products, as shares of the
/// CPU's f32 FMA rate. Fitted with the other speed constants (`estimate::SpeedParams`), and per
/// machine by `llmrig calibrate`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuKernels {
    /// Decode's matrix-vector products, two operations per weight: a dot product per block with
    /// its unpacking (`ggml_vec_dot_q4_K_q8_K` and kin; `ggml_vec_dot_f16` converts f16 to f32).
    /// Relative to the f32 rate rather than the int8 rate: the unpacking, not the multiply,
    /// bounds them, so the int8 dot-product instructions that speed up the prompt's tiled
    /// products do not speed these up alike.
    pub gemv: f64,
    /// Attention of a prompt batch (`ggml_compute_forward_flash_attn_ext`, a dot product and an
    /// online softmax per query row and cached token), and the other per-token work of a layer
    /// (norms, RoPE, softmax) that small models spend most of their prompt time in.
    pub attn: f64,
}
