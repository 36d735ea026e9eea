//! Several components on one machine: the main text model and what runs beside it — a vision
//! projector and a draft model inside the same llama.cpp process, an embedder, a reranker or
//! another LLM as servers of their own — and whether they fit together; and image-generation
//! pipelines ([`image`]), whose parts one engine runs in turn.
//!
//! Each component's memory is a [`MemoryBreakdown`] over the same devices as the main model's
//! (GPUs in order, then the CPU). The main model is fitted into what the others leave
//! ([`remaining`]), as a user who starts the small servers first and then the big one with
//! `--fit` sees it; [`combine`] adds them up against the machine's real capacities.

pub mod draft;
pub mod image;
mod projector;

pub use projector::{projector_memory, ProjectorPlacement, ProjectorUse};

use serde::Serialize;

use crate::estimate::{memory_fits, DeviceUsage, MemoryBreakdown, Settings};
use crate::model::ModelSpec;
use crate::system::{DeviceKind, SystemSpec};

/// Context a server beside the main model gets unless it is shorter: llama-server would take the
/// trained length (`-c 0`), which for Qwen3-Embedding's 32768 tokens alone is 3.5 GiB of cache
/// nobody embedding 512-token chunks needs.
pub const COMPANION_CTX: u64 = 8192;

/// How llama-server runs an embedding model (`--embedding`, `--reranking`): it sets `-b` to `-ub`
/// (tools/server/server.cpp), and an encoder reads each document in one ubatch, so `-ub` must hold
/// a chunk of `chunk` tokens; the speed test is one chunk. `ubatch_given`: the user chose `-ub`,
/// which is kept (with a note when a chunk does not fit it); else it grows to a chunk.
pub fn embedder_settings(
    s: &mut Settings,
    spec: &ModelSpec,
    chunk: u64,
    ubatch_given: bool,
) -> Option<String> {
    if !spec.is_embedder() {
        return None;
    }
    s.prompt = chunk.min(s.ubatch.max(1));
    s.gen = 0;
    let mut note = None;
    if spec.is_encoder() && chunk > s.ubatch {
        if ubatch_given {
            note = Some(format!(
                "{}: llama-server refuses documents longer than -ub {} (\"input is too large to process\"); chunks of {chunk} tokens need -ub {chunk}",
                spec.name, s.ubatch
            ));
        } else {
            s.ubatch = chunk;
            s.prompt = chunk;
        }
    }
    s.batch = s.ubatch;
    note
}

/// Settings of a server beside the main model: llama-server's defaults with `base`'s engine,
/// rules and speed test, the context capped at [`COMPANION_CTX`], and an embedder's batch rules.
/// Returns them with what the user should know.
#[must_use]
pub fn companion_settings(
    spec: &ModelSpec,
    base: &Settings,
    chunk: u64,
) -> (Settings, Vec<String>) {
    let ctx = spec.context_length.clamp(1, COMPANION_CTX);
    let mut s = Settings {
        ctx: Some(ctx),
        backend: base.backend,
        llama_cpp: base.llama_cpp,
        good_tps: base.good_tps,
        usable_tps: base.usable_tps,
        threads: base.threads,
        prompt: base.prompt,
        gen: base.gen,
        ..Settings::default()
    };
    let mut notes = Vec::new();
    if ctx < spec.context_length {
        notes.push(format!(
            "{} runs beside it with -c {ctx} (trained: {})",
            spec.name, spec.context_length
        ));
    }
    notes.extend(embedder_settings(&mut s, spec, chunk, false));
    (s, notes)
}

/// What a component is in the stack (`components[].role` in the JSON contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentRole {
    /// The text model the stack is for.
    Main,
    /// Its multimodal projector (`--mmproj`), in the same process.
    Mmproj,
    /// A draft model for speculative decoding (`-md`), in the same process.
    Draft,
    /// An embedding model served beside it.
    Embedding,
    /// A reranker served beside it.
    Reranker,
    /// Another LLM served beside it.
    Llm,
}

impl ComponentRole {
    /// The name the JSON contract uses.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ComponentRole::Main => "main",
            ComponentRole::Mmproj => "mmproj",
            ComponentRole::Draft => "draft",
            ComponentRole::Embedding => "embedding",
            ComponentRole::Reranker => "reranker",
            ComponentRole::Llm => "llm",
        }
    }
}

/// One part of the stack and the memory it takes per device.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// What it is.
    pub role: ComponentRole,
    /// Model id or file name.
    pub model: String,
    /// Its quantization or file type (`Q4_K_M`, `F16`).
    pub quant: String,
    /// Its memory, over the same devices as the main model's.
    pub memory: MemoryBreakdown,
}

/// The machine as the next component finds it: each device's memory less what `taken` holds
/// there (a unified GPU's share comes out of the RAM too, as does everything on the CPU).
#[must_use]
pub fn remaining(sys: &SystemSpec, taken: &MemoryBreakdown) -> SystemSpec {
    let mut out = sys.clone();
    let n_gpu = sys.gpus.len();
    let mut ram_taken = taken.devices.get(n_gpu).map_or(0, |d| d.total_bytes);
    for (g, d) in out.gpus.iter_mut().zip(&taken.devices) {
        g.memory_bytes = g.memory_bytes.saturating_sub(d.total_bytes);
        g.memory_free_bytes = g.memory_free_bytes.map(|f| f.saturating_sub(d.total_bytes));
        if g.kind == DeviceKind::Unified {
            ram_taken += d.total_bytes;
        }
    }
    if out.gpus.iter().any(|g| g.kind == DeviceKind::Unified) {
        let unified: u64 = taken.devices[..n_gpu.min(taken.devices.len())]
            .iter()
            .filter(|d| d.kind == DeviceKind::Unified)
            .map(|d| d.total_bytes)
            .sum();
        out.gpu_wired_limit_bytes = out.gpu_wired_limit_bytes.map(|l| l.saturating_sub(unified));
    }
    // The RAM budget is total less the OS's reserve (or what is available): taking the same
    // bytes from both moves it by exactly what the component holds.
    out.cpu.ram_bytes = out.cpu.ram_bytes.saturating_sub(ram_taken);
    out.cpu.ram_available_bytes = out
        .cpu
        .ram_available_bytes
        .map(|a| a.saturating_sub(ram_taken));
    out
}

/// All components' memory together on `sys` (the whole machine): per device the sum of what each
/// holds, against the device's full capacity.
#[must_use]
pub fn combine(sys: &SystemSpec, parts: &[&MemoryBreakdown]) -> MemoryBreakdown {
    let capacities = crate::estimate::capacities(sys);
    let first = parts.first().map(|m| m.devices.clone()).unwrap_or_default();
    let mut devices: Vec<DeviceUsage> = first
        .into_iter()
        .zip(&capacities)
        .map(|(d, &cap)| DeviceUsage {
            capacity_bytes: cap,
            ..d
        })
        .collect();
    for m in parts.iter().skip(1) {
        for (acc, d) in devices.iter_mut().zip(&m.devices) {
            acc.weights_bytes += d.weights_bytes;
            acc.repack_bytes += d.repack_bytes;
            acc.kv_cache_bytes += d.kv_cache_bytes;
            acc.compute_bytes += d.compute_bytes;
            acc.other_bytes += d.other_bytes;
            acc.total_bytes += d.total_bytes;
        }
    }
    let sum = |f: fn(&MemoryBreakdown) -> u64| parts.iter().map(|m| f(m)).sum::<u64>();
    MemoryBreakdown {
        weights_bytes: sum(|m| m.weights_bytes),
        kv_cache_bytes: sum(|m| m.kv_cache_bytes),
        compute_bytes: sum(|m| m.compute_bytes),
        output_bytes: sum(|m| m.output_bytes),
        overhead_bytes: sum(|m| m.overhead_bytes),
        total_bytes: sum(|m| m.total_bytes),
        devices,
    }
}

/// Whether the stack's combined memory fits the machine (every device, and the RAM budget with
/// the unified GPUs and any spill into Windows' shared GPU memory).
#[must_use]
pub fn fits(sys: &SystemSpec, combined: &MemoryBreakdown) -> bool {
    memory_fits(combined, sys)
}
