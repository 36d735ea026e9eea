//! `llmrig estimate whisper-…`: a Whisper model as whisper.cpp loads and runs it — the weights, the
//! three KV caches and four compute buffers it reserves at init, and its speed as a real-time factor.

use std::fmt::Write as _;

use anyhow::Result;
use llmrig_catalog::speech::SpeechEntry;
use llmrig_contract::estimate::{
    verdict_name, ModelJson, OffloadJson, PerformanceJson, QuantJson, SettingsJson, SystemRamJson,
};
use llmrig_contract::{ComponentJson, EstimateJson, MemoryJson, WarningJson};
use llmrig_core::estimate::{
    capacities, memory_fits, ram_usage, DeviceUsage, FlashAttn, MemoryBreakdown, Verdict,
};
use llmrig_core::quant::GgmlType;
use llmrig_core::system::{DeviceKind, SystemSpec};

use crate::args::EstimateArgs;
use crate::options;
use crate::render::{self, json, table};

/// Share of a GPU's dense FP16 rate whisper.cpp's encoder reaches: large-v3 on a V100 SXM2 encodes
/// 30 s in 135 ms without flash attention (ggml-org/ci whisper.cpp bench, 2025-03-21), 2273 GFLOP
/// in 0.135 s = 16.8 TFLOP/s of its 125. Rough: the same bench puts an RTX 2060 near 0.2 and an
/// Apple M4 near 0.4 of theirs.
const GPU_ENCODER_EFFICIENCY: f64 = 0.135;
/// Share of a CPU's FP32 rate the encoder reaches: tiny on a 4-thread AVX-512 x86 runner encodes
/// in 562 ms, 66 GFLOP/s (ggml-org/ci whisper.cpp bench); about a tenth of such a runner's peak.
const CPU_ENCODER_EFFICIENCY: f64 = 0.1;
/// Share of memory bandwidth a one-token decode reads at (the small decoder matrices and the
/// token table per token).
const DECODE_BANDWIDTH_EFFICIENCY: f64 = 0.5;
/// Tokens whisper decodes per 30 s window of speech (60–100 for ordinary speech).
const TOKENS_PER_WINDOW: f64 = 80.0;

/// Real-time factor from which the model "works well" (4× faster than real time) and below which
/// it is "slow" (slower than real time).
const GOOD_RTF: f64 = 0.25;

/// The matrix type `-q` names (whisper.cpp's quantizer: q4_0, q4_1, q5_0, q5_1, q8_0; or f16/f32).
fn wtype(q: Option<&str>) -> Result<GgmlType> {
    let Some(q) = q else {
        return Ok(GgmlType::F16);
    };
    match GgmlType::from_name(&q.to_ascii_lowercase()) {
        Some(
            t @ (GgmlType::F16
            | GgmlType::F32
            | GgmlType::Q8_0
            | GgmlType::Q5_0
            | GgmlType::Q5_1
            | GgmlType::Q4_0
            | GgmlType::Q4_1),
        ) => Ok(t),
        _ => anyhow::bail!(
            "-q {q}: expected a whisper.cpp type (f16, f32, q8_0, q5_1, q5_0, q4_1, q4_0)"
        ),
    }
}

/// Whisper at one weight type on one machine: its memory, where it runs and how fast.
pub struct SpeechRun {
    /// Memory per device.
    pub memory: MemoryBreakdown,
    /// Whether it fits.
    pub fits: bool,
    /// Seconds of work per second of audio.
    pub rtf: f64,
    /// The verdict by real-time factor.
    pub verdict: Verdict,
    encode_s: f64,
    token_s: f64,
    mem: llmrig_core::model::WhisperMemory,
    on_gpu: bool,
}

/// Sizes and times `w` at weight type `t` (flash attention `fa`) on `sys`.
#[must_use]
pub fn evaluate(w: &SpeechEntry, t: GgmlType, fa: bool, sys: &SystemSpec) -> SpeechRun {
    let spec = &w.spec;
    let mem = spec.memory(t, fa);
    let n_gpu = sys.gpus.len();
    let caps = capacities(sys);
    let mut per = vec![(0u64, 0u64, 0u64, 0u64); n_gpu + 1];
    let on_gpu = n_gpu > 0;
    if on_gpu {
        let runtime = sys.gpus[0].api.runtime_overhead_bytes();
        per[0] = (mem.weights, mem.kv, mem.compute, runtime);
        per[n_gpu].2 = mem.host_inputs;
    } else {
        per[n_gpu] = (mem.weights, mem.kv, mem.compute, 0);
    }
    let devices: Vec<DeviceUsage> = per
        .iter()
        .enumerate()
        .map(|(i, &(wb, kv, c, o))| {
            let (name, kind) = if i < n_gpu {
                (sys.gpus[i].name.clone(), sys.gpus[i].kind)
            } else {
                (sys.cpu.name.clone(), DeviceKind::Cpu)
            };
            DeviceUsage {
                name,
                kind,
                capacity_bytes: caps[i],
                weights_bytes: wb,
                repack_bytes: 0,
                mapped_bytes: 0,
                kv_cache_bytes: kv,
                compute_bytes: c,
                other_bytes: o,
                total_bytes: wb + kv + c + o,
                layers: if kind == DeviceKind::Cpu && on_gpu {
                    0
                } else {
                    1
                },
            }
        })
        .collect();
    let sum = |f: fn(&DeviceUsage) -> u64| devices.iter().map(f).sum::<u64>();
    let memory = MemoryBreakdown {
        weights_bytes: sum(|d| d.weights_bytes),
        kv_cache_bytes: sum(|d| d.kv_cache_bytes),
        compute_bytes: sum(|d| d.compute_bytes),
        output_bytes: 0,
        overhead_bytes: if on_gpu { per[0].3 } else { 0 },
        total_bytes: sum(|d| d.total_bytes),
        devices,
    };
    let fits = memory_fits(&memory, sys);

    // Speed: the encoder is compute-bound, a decoded token reads the decoder.
    let (rate, bw) = if on_gpu {
        let g = &sys.gpus[0];
        (
            g.fp16_flops.max(1e11) * GPU_ENCODER_EFFICIENCY,
            g.bandwidth_bytes_per_s,
        )
    } else {
        (
            sys.cpu.flops.max(1e9) * CPU_ENCODER_EFFICIENCY,
            sys.cpu.bandwidth_bytes_per_s,
        )
    };
    let encode_s = spec.encoder_flops() / rate;
    let token_s = spec.decoder_bytes(t) / (bw.max(1e6) * DECODE_BANDWIDTH_EFFICIENCY);
    let rtf = (encode_s + TOKENS_PER_WINDOW * token_s) / 30.0;
    let verdict = if !fits {
        Verdict::DoesNotFit
    } else if rtf <= GOOD_RTF {
        Verdict::WorksWell
    } else if rtf <= 1.0 {
        Verdict::Usable
    } else {
        Verdict::Slow
    };
    SpeechRun {
        memory,
        fits,
        rtf,
        verdict,
        encode_s,
        token_s,
        mem,
        on_gpu,
    }
}

/// Estimates a Whisper model and renders it.
///
/// # Errors
/// A bad `-q` or machine description.
pub fn run(a: &EstimateArgs, w: &SpeechEntry, as_json: bool) -> Result<String> {
    let t = wtype(a.quant.as_deref())?;
    let (sys, machine_notes) = options::machine(&a.machine)?;
    let spec = &w.spec;
    // whisper.cpp 1.8.5 defaults to flash attention (whisper_context_default_params).
    let fa = !matches!(a.flash_attn.map(FlashAttn::from), Some(FlashAttn::Off));
    let SpeechRun {
        memory,
        fits: _,
        rtf,
        verdict,
        encode_s,
        token_s,
        mem,
        on_gpu,
    } = evaluate(w, t, fa, &sys);
    let mut warnings = vec![WarningJson::new(
        "speech-speed-rough",
        format!(
            "speed is a roofline with one efficiency per device class ({:.0}% of a GPU's FP16 rate, {:.0}% of a CPU's, from whisper.cpp's published bench): NVIDIA GPUs within 32% median (63% at worst) of that bench, Apple GPUs 2–4× faster than this says",
            GPU_ENCODER_EFFICIENCY * 100.0,
            CPU_ENCODER_EFFICIENCY * 100.0
        ),
    )];
    warnings.extend(
        machine_notes
            .iter()
            .map(|n| WarningJson::new("machine-assumed", n.to_string())),
    );
    let quant = t.name().to_ascii_lowercase();
    if as_json {
        #[allow(clippy::cast_precision_loss)]
        let bpw = memory.weights_bytes as f64 * 8.0 / spec.params() as f64;
        let mj = MemoryJson::from(&memory);
        let j = EstimateJson {
            schema_version: llmrig_contract::SCHEMA_VERSION,
            model: ModelJson {
                name: w.name.to_string(),
                id: w.id.to_string(),
                arch: "whisper".into(),
                source: "catalog".into(),
                params: spec.params(),
                active_params: spec.params(),
                n_layers: u32::try_from(spec.n_audio_layer + spec.n_text_layer).unwrap_or(u32::MAX),
                context_max: spec.n_text_ctx,
            },
            quant: QuantJson {
                name: quant.clone(),
                bits_per_weight: bpw,
                weights_bytes: mem.weights,
            },
            settings: SettingsJson {
                ctx: spec.n_text_ctx,
                ctx_allocated: 512,
                batch: spec.n_text_ctx,
                ubatch: spec.n_text_ctx,
                gpu_layers: u32::from(on_gpu),
                flash_attn: fa,
                cache_type_k: "f16".into(),
                cache_type_v: "f16".into(),
                parallel: 1,
                backend: "whisper.cpp".into(),
                program: None,
                n_cpu_moe: 0,
            },
            memory: MemoryJson {
                system_ram: SystemRamJson::from(&ram_usage(&memory, &sys)),
                ..mj.clone()
            },
            offload: OffloadJson {
                gpu_layers: u32::from(on_gpu),
                total_layers: 1,
                ram_fraction: if on_gpu { 0.0 } else { 1.0 },
            },
            performance: PerformanceJson {
                prefill_tokens_per_s: 0.0,
                decode_tokens_per_s: 1.0 / token_s,
                time_to_first_token_s: encode_s,
                decode_bound: "memory".into(),
                decode_low: 0.5 / token_s,
                decode_high: 1.5 / token_s,
                prefill_low: 0.0,
                prefill_high: 0.0,
                decode_by_depth: Vec::new(),
                tokens_per_s: None,
                documents_per_s: None,
                speculative: None,
                realtime_factor: Some(rtf),
                seconds_per_step: None,
                seconds_per_image: None,
            },
            max_context: spec.n_text_ctx,
            verdict: verdict_name(verdict).to_string(),
            warnings,
            launch: None,
            components: vec![ComponentJson {
                role: "main".into(),
                model: w.id.to_string(),
                quant: quant.clone(),
                ctx: spec.n_text_ctx,
                gpu_layers: u32::from(on_gpu),
                memory: mj,
                prefill_tokens_per_s: 0.0,
                decode_tokens_per_s: 1.0 / token_s,
                documents_per_s: None,
                image_tokens: None,
                params: None,
                seconds: None,
            }],
            connect: None,
            program_defaults: Vec::new(),
        };
        return Ok(json::to_string(&j));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · {quant} ({}) · whisper.cpp · {}",
        w.name,
        render::gib(mem.weights),
        if on_gpu {
            sys.gpus[0].name.clone()
        } else {
            "CPU only".to_string()
        }
    );
    let mut tb = table::new(
        &[
            "device", "weights", "KV cache", "compute", "other", "total", "capacity", "fits",
        ],
        &[1, 2, 3, 4, 5, 6],
    );
    for d in &memory.devices {
        tb.add_row(vec![
            render::short_device_name(&d.name),
            render::size(d.weights_bytes),
            render::size(d.kv_cache_bytes),
            render::size(d.compute_bytes),
            render::size(d.other_bytes),
            render::size(d.total_bytes),
            render::size(d.capacity_bytes),
            if d.fits() { "yes" } else { "NO" }.to_string(),
        ]);
    }
    let _ = writeln!(out, "{tb}");
    let _ = writeln!(
        out,
        "speed          encoder {:.2} s per 30 s window · {:.1} ms per token · real-time factor {rtf:.3} ({:.0}× real time, {} tokens per window)",
        encode_s,
        token_s * 1000.0,
        1.0 / rtf,
        TOKENS_PER_WINDOW
    );
    let _ = writeln!(out, "verdict        {}", render::verdict(verdict));
    for wn in &warnings {
        let _ = writeln!(out, "note: {}", wn.message);
    }
    Ok(out)
}
