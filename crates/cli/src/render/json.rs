//! JSON output, a contract for scripts (DESIGN.md "`estimate --json`", schema_version 1): fields
//! may be added, never renamed. All sizes are bytes, all rates per second.
//!
//! ```text
//! schema_version  1
//! model           name, arch, source, params, active_params, n_layers, context_max
//! quant           name, bits_per_weight
//! settings        ctx, batch, ubatch, gpu_layers, flash_attn, cache_type_k, cache_type_v, parallel, backend
//! memory          weights_bytes, kv_cache_bytes, compute_bytes, output_bytes, overhead_bytes, total_bytes,
//!                 devices: [{name, kind, capacity_bytes, weights_bytes, repack_bytes, mapped_bytes,
//!                 kv_cache_bytes, compute_bytes, other_bytes, total_bytes, layers}]
//! offload         gpu_layers, total_layers, ram_fraction
//! performance     prefill_tokens_per_s, decode_tokens_per_s, time_to_first_token_s, decode_bound,
//!                 decode_low, decode_high
//! max_context     largest context that fits with these settings
//! verdict         works-well | usable | slow | does-not-fit
//! warnings        [{code, message}]
//! ```

use llmrig_core::estimate::{
    Estimate, MemoryBreakdown, ModelWeights, Offload, Performance, Settings, Verdict, Warning,
};
use serde::Serialize;

/// `estimate --json`.
#[derive(Serialize)]
pub struct EstimateJson<'a> {
    pub schema_version: u32,
    pub model: ModelJson<'a>,
    pub quant: QuantJson,
    pub settings: SettingsJson,
    pub memory: &'a MemoryBreakdown,
    pub offload: &'a Offload,
    pub performance: &'a Performance,
    pub max_context: u64,
    pub verdict: Verdict,
    pub warnings: Vec<Warning>,
}

#[derive(Serialize)]
pub struct ModelJson<'a> {
    pub name: &'a str,
    pub id: &'a str,
    pub arch: &'a str,
    pub source: &'a str,
    pub params: u64,
    pub active_params: u64,
    pub n_layers: u32,
    pub context_max: u64,
}

#[derive(Serialize)]
pub struct QuantJson {
    pub name: String,
    pub bits_per_weight: f64,
    pub weights_bytes: u64,
}

#[derive(Serialize)]
pub struct SettingsJson {
    pub ctx: u64,
    pub ctx_allocated: u64,
    pub batch: u64,
    pub ubatch: u64,
    pub gpu_layers: u32,
    pub flash_attn: bool,
    pub cache_type_k: String,
    pub cache_type_v: String,
    pub parallel: u32,
    pub backend: String,
    pub n_cpu_moe: u32,
}

/// Builds the wire form of an estimate.
pub fn estimate<'a>(
    w: &'a ModelWeights,
    source: &'a str,
    s: &Settings,
    backend: &str,
    e: &'a Estimate,
    extra_warnings: Vec<Warning>,
) -> EstimateJson<'a> {
    let mut warnings = e.warnings.clone();
    warnings.extend(extra_warnings);
    EstimateJson {
        schema_version: 1,
        model: ModelJson {
            name: &w.spec.name,
            id: &w.spec.id,
            arch: w.spec.arch.gguf_name(),
            source,
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
            backend: backend.to_string(),
            n_cpu_moe: e.resolved.n_cpu_moe,
        },
        memory: &e.memory,
        offload: &e.offload,
        performance: &e.performance,
        max_context: e.max_context,
        verdict: e.verdict,
        warnings,
    }
}

/// Pretty JSON with a trailing newline.
pub fn to_string<T: Serialize>(v: &T) -> String {
    let mut s =
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
