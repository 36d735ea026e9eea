//! `llmrig estimate --json`: one model on one machine with one set of settings.
//!
//! ```text
//! schema_version  1
//! model           name, id, arch, source, params, active_params, n_layers, context_max
//! quant           name, bits_per_weight, weights_bytes
//! settings        ctx, ctx_allocated, batch, ubatch, gpu_layers, flash_attn, cache_type_k,
//!                 cache_type_v, parallel, backend, n_cpu_moe
//! memory          weights_bytes, kv_cache_bytes, compute_bytes, output_bytes, overhead_bytes,
//!                 total_bytes, devices: [{name, kind, capacity_bytes, weights_bytes, repack_bytes,
//!                 mapped_bytes, kv_cache_bytes, compute_bytes, other_bytes, total_bytes, layers}],
//!                 system_ram: {total_bytes, usable_bytes, reserved_bytes, basis, os, used_bytes,
//!                 shared_gpu_bytes}
//! offload         gpu_layers, total_layers, ram_fraction
//! performance     prefill_tokens_per_s, decode_tokens_per_s, time_to_first_token_s, decode_bound,
//!                 decode_low, decode_high, prefill_low, prefill_high, decode_by_depth: [{depth, decode_tokens_per_s,
//!                 prefill_tokens_per_s}]
//! max_context     largest context that fits with these settings
//! verdict         works-well | usable | slow | does-not-fit
//! warnings        [{code, message}]
//! launch          {backend, command}, only when a launch command was asked for
//! components      [{role (main|mmproj|draft|embedding|reranker|llm), model, quant, ctx, gpu_layers,
//!                 memory {as memory, without system_ram}, prefill_tokens_per_s,
//!                 decode_tokens_per_s, documents_per_s, image_tokens}]: every part of the stack, the main model
//!                 first; `memory` above is their sum per device
//! ```
//!
//! An embedding model or reranker adds `performance.tokens_per_s` and `documents_per_s` (its
//! throughput at `--chunk` tokens per document); a draft model adds `performance.speculative`; a
//! Whisper model (`arch` "whisper") adds `performance.realtime_factor`.

use serde::{Deserialize, Serialize};

use llmrig_core::estimate::{
    DepthPoint, DeviceUsage, Estimate, MemoryBreakdown, ModelWeights, Performance, RamUse,
    Settings, Verdict, Warning,
};
use llmrig_core::system::{DeviceKind, RamBasis};

/// `estimate --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimateJson {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The model.
    pub model: ModelJson,
    /// Its quantization.
    pub quant: QuantJson,
    /// The settings after defaults and `auto` were resolved.
    pub settings: SettingsJson,
    /// Memory over the machine and per device.
    pub memory: MemoryJson,
    /// How much runs outside the GPUs.
    pub offload: OffloadJson,
    /// Speed at the settings' prompt, generation and depth.
    pub performance: PerformanceJson,
    /// Largest context (tokens, a multiple of 256) that fits with these settings and layers, up
    /// to the trained length; 0 when not even the smallest does.
    pub max_context: u64,
    /// `works-well`, `usable`, `slow` or `does-not-fit`.
    pub verdict: String,
    /// What the user should know, each with a stable code.
    pub warnings: Vec<WarningJson>,
    /// The command that starts this plan, when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<LaunchJson>,
    /// Every part of the stack, the main model first (`memory` is their sum).
    #[serde(default)]
    pub components: Vec<ComponentJson>,
    /// With `--connect FRONTEND`: how to point that frontend at the plan's server (frontend,
    /// server, api, base_url, model, steps, embedder, source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<serde_json::Value>,
    /// With `--backend PROGRAM`: each default that program applies, with its source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub program_defaults: Vec<ProgramDefaultJson>,
}

/// One default of a program built on llama.cpp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramDefaultJson {
    /// The setting as the program names it (`num_ctx`, `--contextsize`).
    pub setting: String,
    /// Its default there.
    pub value: String,
    /// Where the program sets or documents it.
    pub source: String,
}

/// One part of the stack: the main model, its projector or draft, or a server beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentJson {
    /// `main`, `mmproj`, `draft`, `embedding`, `reranker` or `llm`; an image model's parts:
    /// `unet` or `dit`, `text-encoder`, `vae`.
    pub role: String,
    /// Model id or file.
    pub model: String,
    /// Quantization or file type.
    pub quant: String,
    /// Context it runs with, tokens (0 for a projector).
    pub ctx: u64,
    /// Its layers on the GPUs (a projector: 1 when on a GPU).
    pub gpu_layers: u32,
    /// Its memory per device.
    pub memory: MemoryJson,
    /// Prompt processing, tokens/s (0 for a projector).
    pub prefill_tokens_per_s: f64,
    /// Generation, tokens/s (0 for embedders, rerankers and projectors).
    pub decode_tokens_per_s: f64,
    /// Embedders and rerankers: documents of `--chunk` tokens per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents_per_s: Option<f64>,
    /// A projector: context tokens each image takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tokens: Option<u64>,
    /// An image model's part: parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<u64>,
    /// An image model's part: seconds per run (the denoiser: one pass of one step; a text
    /// encoder: one prompt; the VAE: one decode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

/// Speculative decoding with a draft model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeculativeJson {
    /// The draft model.
    pub draft: String,
    /// Tokens drafted per step (`--draft-max`).
    pub draft_max: u32,
    /// Chance each drafted token is accepted (the setting used).
    pub acceptance: f64,
    /// Tokens each verification step yields on average.
    pub tokens_per_step: f64,
    /// Generation with the draft against without it.
    pub speedup: f64,
    /// Generation without the draft, tokens/s.
    pub decode_without_draft: f64,
}

/// The model estimated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelJson {
    /// Display name.
    pub name: String,
    /// Catalog id, or the name the file gives.
    pub id: String,
    /// GGUF architecture name (`llama`, `qwen3moe`).
    pub arch: String,
    /// Where the description came from (`catalog`, `file`, `hf`, `size`, …).
    pub source: String,
    /// All weights, parameters.
    pub params: u64,
    /// Weights used per token (routed experts counted at the used share), parameters.
    pub active_params: u64,
    /// Transformer blocks.
    pub n_layers: u32,
    /// Trained context, tokens.
    pub context_max: u64,
}

/// The quantization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantJson {
    /// `Q4_K_M`, `fp8`, `exl2:4.65`, …
    pub name: String,
    /// Effective bits per weight over all weights.
    pub bits_per_weight: f64,
    /// All weights, bytes.
    pub weights_bytes: u64,
}

/// The settings as resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsJson {
    /// Context asked for or chosen, tokens.
    pub ctx: u64,
    /// Context allocated after llama.cpp's padding, tokens.
    pub ctx_allocated: u64,
    /// `-b`, tokens.
    pub batch: u64,
    /// `-ub`, tokens.
    pub ubatch: u64,
    /// Layers on the GPUs (the output layer counts as one).
    pub gpu_layers: u32,
    /// Flash attention on.
    pub flash_attn: bool,
    /// `-ctk`, lower case (`f16`, `q8_0`).
    pub cache_type_k: String,
    /// `-ctv`, lower case.
    pub cache_type_v: String,
    /// `-np`.
    pub parallel: u32,
    /// The engine (`llama.cpp`, `exllamav2`, …).
    pub backend: String,
    /// The program whose defaults apply (`ollama`, `lmstudio`, …), when `--backend` named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Leading layers whose routed experts stay in RAM (given or chosen).
    pub n_cpu_moe: u32,
}

/// Memory over the whole machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryJson {
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
    pub devices: Vec<DeviceJson>,
    /// System RAM: what the plan takes of it against what the machine leaves for the model.
    #[serde(default, skip_serializing_if = "SystemRamJson::is_unset")]
    pub system_ram: SystemRamJson,
}

/// System RAM as one budget: the CPU side, unified-memory GPUs and Windows' shared GPU memory
/// together, against the RAM available when detected or the total less a reserve for the OS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemRamJson {
    /// Physical RAM, bytes.
    pub total_bytes: u64,
    /// What the model may take, bytes.
    pub usable_bytes: u64,
    /// What is kept from it for the OS and other programs, bytes (`total_bytes - usable_bytes`).
    pub reserved_bytes: u64,
    /// `available` (the RAM available when the machine was detected) or `os-reserve` (the total
    /// less a reserve for the OS: its default or `--os-reserve`).
    pub basis: String,
    /// With `os-reserve`: the OS whose reserve applies (`linux`, `linux-server`, `macos`,
    /// `windows`); null when not known or given.
    pub os: Option<String>,
    /// What the plan takes: the CPU side, unified GPUs and shared GPU memory, bytes.
    pub used_bytes: u64,
    /// GPU allocations the Windows driver placed in shared system memory, bytes (part of
    /// `used_bytes`).
    pub shared_gpu_bytes: u64,
}

impl SystemRamJson {
    /// Whether nothing was filled in (a component's memory, which has no RAM budget of its own).
    #[must_use]
    pub fn is_unset(&self) -> bool {
        *self == SystemRamJson::default()
    }
}

impl From<&RamUse> for SystemRamJson {
    fn from(r: &RamUse) -> SystemRamJson {
        let b = &r.budget;
        let (basis, os) = match b.basis {
            RamBasis::Available => ("available", None),
            RamBasis::Reserve { os, given, .. } => (
                "os-reserve",
                os.filter(|_| !given).map(|o| o.name().to_string()),
            ),
        };
        SystemRamJson {
            total_bytes: b.total_bytes,
            usable_bytes: b.usable_bytes,
            reserved_bytes: b.reserved_bytes(),
            basis: basis.to_string(),
            os,
            used_bytes: r.used_bytes,
            shared_gpu_bytes: r.shared_gpu_bytes.iter().sum(),
        }
    }
}

/// Memory on one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceJson {
    /// Device name.
    pub name: String,
    /// `gpu`, `cpu` or `unified`.
    pub kind: String,
    /// Memory the device offers, bytes.
    pub capacity_bytes: u64,
    /// Weights placed here, bytes.
    pub weights_bytes: u64,
    /// CPU only: weights copied into llama.cpp's `CPU_REPACK` buffer, bytes (not in the total:
    /// they replace the mapped pages).
    pub repack_bytes: u64,
    /// CPU only: llama.cpp's `CPU_Mapped` buffer as its log prints it, bytes.
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

/// How much of the model runs outside the GPUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OffloadJson {
    /// Layers on GPUs (the output layer counts as one).
    pub gpu_layers: u32,
    /// `n_layers + 1`.
    pub total_layers: u32,
    /// Share of the weight bytes read per token that sit in system RAM.
    pub ram_fraction: f64,
}

/// Speed, like llama-bench's tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceJson {
    /// Prompt processing, tokens/s (llama-bench `ppN @ dD`).
    pub prefill_tokens_per_s: f64,
    /// Generation, tokens/s averaged over the generated tokens (llama-bench `tgN @ dD`).
    pub decode_tokens_per_s: f64,
    /// Time to process the prompt, seconds.
    pub time_to_first_token_s: f64,
    /// What limits decoding: `memory` or `compute`.
    pub decode_bound: String,
    /// Low end of the decode range, tokens/s: about 80% of machines llmrig was not fitted on
    /// measured within the range.
    pub decode_low: f64,
    /// High end of the decode range, tokens/s.
    pub decode_high: f64,
    /// Low end of the prefill range, tokens/s.
    pub prefill_low: f64,
    /// High end of the prefill range, tokens/s.
    pub prefill_high: f64,
    /// Decode speed as the context fills: at depths 0, ¼, ½, ¾ and the whole allocated context.
    pub decode_by_depth: Vec<DepthPointJson>,
    /// Embedders and rerankers: tokens read per second (documents of `--chunk` tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_s: Option<f64>,
    /// Embedders and rerankers: documents per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents_per_s: Option<f64>,
    /// With a draft model: the speculative decoding that `decode_tokens_per_s` includes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speculative: Option<SpeculativeJson>,
    /// Speech models: seconds of compute per second of audio (below 1: faster than real time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime_factor: Option<f64>,
    /// Image models: seconds per sampling step (all guidance passes of one image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_per_step: Option<f64>,
    /// Image models: seconds per image (text encoding, the steps and the VAE decode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_per_image: Option<f64>,
}

/// Speed at one depth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepthPointJson {
    /// Tokens already in the context.
    pub depth: u64,
    /// Generation speed there, tokens/s.
    pub decode_tokens_per_s: f64,
    /// Prompt processing of `--prompt` tokens from there, tokens/s.
    #[serde(default)]
    pub prefill_tokens_per_s: f64,
}

/// A warning or note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningJson {
    /// Stable identifier (`spills-to-ram`).
    pub code: String,
    /// Text for people.
    pub message: String,
}

impl WarningJson {
    /// A note with this code and message.
    #[must_use]
    pub fn new(code: &str, message: impl Into<String>) -> WarningJson {
        WarningJson {
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// An estimate's warning, with the front end's `hint` (how to act on it there) appended.
    #[must_use]
    pub fn from_warning(w: &Warning, hint: Option<&str>) -> WarningJson {
        let mut message = w.to_string();
        if let Some(h) = hint {
            message.push_str("; ");
            message.push_str(h);
        }
        WarningJson::new(w.code(), message)
    }
}

/// How to start the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchJson {
    /// The program (`llama.cpp`, `ollama`, …).
    pub backend: String,
    /// The command line.
    pub command: String,
}

impl EstimateJson {
    /// The wire form of estimate `e` of `w` (described by `source`) with settings `s`; `warnings`
    /// are the estimate's own, mapped by the front end, then its notes.
    #[must_use]
    pub fn new(
        w: &ModelWeights,
        source: &str,
        s: &Settings,
        e: &Estimate,
        warnings: Vec<WarningJson>,
        launch: Option<LaunchJson>,
    ) -> EstimateJson {
        EstimateJson {
            schema_version: crate::SCHEMA_VERSION,
            model: ModelJson {
                name: w.spec.name.clone(),
                id: w.spec.id.clone(),
                arch: w.spec.arch.gguf_name().to_string(),
                source: source.to_string(),
                params: w.params(),
                active_params: w.active_params(),
                n_layers: w.spec.n_layer,
                context_max: w.spec.context_length,
            },
            quant: QuantJson {
                name: w.quant.name(),
                bits_per_weight: w.bits_per_weight(),
                weights_bytes: w.total_bytes(),
            },
            settings: SettingsJson {
                ctx: e.resolved.ctx,
                ctx_allocated: e.resolved.shape.n_ctx,
                batch: s.batch,
                ubatch: s.ubatch,
                gpu_layers: e.resolved.gpu_layers,
                flash_attn: e.resolved.flash_attn,
                cache_type_k: s.cache_type_k.name().to_ascii_lowercase(),
                cache_type_v: s.cache_type_v.name().to_ascii_lowercase(),
                parallel: s.parallel,
                backend: s.backend.name().to_string(),
                program: None,
                n_cpu_moe: e.resolved.n_cpu_moe,
            },
            memory: MemoryJson {
                system_ram: SystemRamJson::from(&e.ram),
                ..MemoryJson::from(&e.memory)
            },
            offload: OffloadJson {
                gpu_layers: e.offload.gpu_layers,
                total_layers: e.offload.total_layers,
                ram_fraction: e.offload.ram_fraction,
            },
            performance: PerformanceJson::from(&e.performance),
            max_context: e.max_context,
            verdict: verdict_name(e.verdict).to_string(),
            warnings,
            launch,
            components: Vec::new(),
            connect: None,
            program_defaults: Vec::new(),
        }
    }
}

impl From<&MemoryBreakdown> for MemoryJson {
    fn from(m: &MemoryBreakdown) -> MemoryJson {
        MemoryJson {
            weights_bytes: m.weights_bytes,
            kv_cache_bytes: m.kv_cache_bytes,
            compute_bytes: m.compute_bytes,
            output_bytes: m.output_bytes,
            overhead_bytes: m.overhead_bytes,
            total_bytes: m.total_bytes,
            devices: m.devices.iter().map(DeviceJson::from).collect(),
            system_ram: SystemRamJson::default(),
        }
    }
}

impl From<&DeviceUsage> for DeviceJson {
    fn from(d: &DeviceUsage) -> DeviceJson {
        DeviceJson {
            name: d.name.clone(),
            kind: device_kind_name(d.kind).to_string(),
            capacity_bytes: d.capacity_bytes,
            weights_bytes: d.weights_bytes,
            repack_bytes: d.repack_bytes,
            mapped_bytes: d.mapped_bytes,
            kv_cache_bytes: d.kv_cache_bytes,
            compute_bytes: d.compute_bytes,
            other_bytes: d.other_bytes,
            total_bytes: d.total_bytes,
            layers: d.layers,
        }
    }
}

impl From<&Performance> for PerformanceJson {
    fn from(p: &Performance) -> PerformanceJson {
        PerformanceJson {
            prefill_tokens_per_s: p.prefill_tokens_per_s,
            decode_tokens_per_s: p.decode_tokens_per_s,
            time_to_first_token_s: p.time_to_first_token_s,
            decode_bound: p.decode_bound.to_string(),
            decode_low: p.decode_low,
            decode_high: p.decode_high,
            prefill_low: p.prefill_low,
            prefill_high: p.prefill_high,
            decode_by_depth: p
                .decode_by_depth
                .iter()
                .map(|d: &DepthPoint| DepthPointJson {
                    depth: d.depth,
                    decode_tokens_per_s: d.decode_tokens_per_s,
                    prefill_tokens_per_s: d.prefill_tokens_per_s,
                })
                .collect(),
            tokens_per_s: None,
            documents_per_s: None,
            speculative: None,
            realtime_factor: None,
            seconds_per_step: None,
            seconds_per_image: None,
        }
    }
}

/// The contract's name of a verdict.
#[must_use]
pub fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::WorksWell => "works-well",
        Verdict::Usable => "usable",
        Verdict::Slow => "slow",
        Verdict::DoesNotFit => "does-not-fit",
    }
}

/// The contract's name of a device kind.
#[must_use]
pub fn device_kind_name(k: DeviceKind) -> &'static str {
    match k {
        DeviceKind::Gpu => "gpu",
        DeviceKind::Cpu => "cpu",
        DeviceKind::Unified => "unified",
    }
}
