//! The estimator: (model weights, machine, settings) → memory per device, layers on GPU, largest
//! context, speed and a verdict. Pure: no files, devices or catalog.
//!
//! The memory side reproduces llama.cpp's allocations (weights per device, KV cache, compute and output
//! buffers) plus the runtime overhead it does not log; the speed side is a first roofline that a later
//! calibration replaces. System RAM is one budget (`ram`): the CPU side, unified GPUs and Windows'
//! shared GPU memory against what the machine leaves for the model.

mod engines;
mod fit;
pub mod graph;
mod memory;
mod placement;
mod programs;
mod prompt_kernels;
mod ram;
mod settings;
mod speed;
mod speed_params;
mod usage;
mod warnings;
mod weights;

use serde::Serialize;

pub use memory::{
    flash_attn_on, graph_peaks, layer_cells, layer_kv_bytes, output_buffer_bytes, ContextShape,
    GraphPeaks, CTX_PAD,
};
pub use placement::{Dev, Placement};
pub use programs::{Default as ProgramDefault, Given, Program, ProgramDefaults, PROGRAMS};
pub use prompt_kernels::{
    amd_fa_matrix_tokens, mmq_tile_shapes, vulkan_amd_large_tiles, vulkan_amd_tiles,
    vulkan_fa_scalar_width, AMD_FA_CDNA_BUILD, AMD_FA_RDNA3_BUILD, AMD_FA_RDNA4_BUILD,
    VULKAN_FA_COOPMAT1_BUILD,
};
pub use ram::{shared_limit_bytes, spills_to_shared, RamUse, NEAR_LIMIT_BYTES};
pub use settings::{
    check as check_settings, Backend, CpuBuild, EstimateError, FlashAttn, GpuLayers,
    LlamaCppVersion, Rules, Settings, SplitMode, TensorOverride, VulkanDriver, CPU_BUILDS,
    KV_CACHE_TYPES, MAX_CTX,
};
pub use speed::{BackendParams, Calibration, CpuKernels, DepthPoint, Performance};
pub use speed_params::{
    backend_index, device_class, lpddr_shared, BlasKernels, Ranges, SpeedParams, CPU_CLASS,
    DEVICE_CLASSES, N_CLASSES,
};
pub use usage::{DeviceUsage, MemoryBreakdown};
pub use warnings::Warning;
pub use weights::{ModelWeights, WeightClass, WeightTensor};

use crate::system::SystemSpec;

/// Tokens/s an embedder or reranker must read to "work well": two 512-token documents a second,
/// which indexes a 1000-page book (about 500k tokens) in minutes.
pub const EMBED_GOOD_TPS: f64 = 1000.0;
/// Tokens/s below which an embedder is "slow": the same book then takes over an hour.
pub const EMBED_USABLE_TPS: f64 = 100.0;

/// How much of the model runs outside the GPUs.
#[derive(Debug, Clone, PartialEq)]
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

/// The settings after defaults and `auto` were resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Context as requested or chosen (before padding).
    pub ctx: u64,
    /// Context shape after llama.cpp's padding.
    pub shape: ContextShape,
    /// Layers on GPUs.
    pub gpu_layers: u32,
    /// Flash attention on.
    pub flash_attn: bool,
    /// Leading layers whose routed experts stay in RAM (`--n-cpu-moe`, chosen or given).
    pub n_cpu_moe: u32,
}

/// Everything the estimator says about one (model, machine, settings).
#[derive(Debug, Clone, PartialEq)]
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
    /// The plan's share of system RAM against what the machine leaves for it.
    pub ram: RamUse,
    /// Overall judgement: "does not fit" when a device or the RAM budget runs out, at best
    /// "usable" when the RAM budget is nearly full.
    pub verdict: Verdict,
    /// Things the user should know.
    pub warnings: Vec<Warning>,
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
    estimate_with(w, sys, s, &SpeedParams::for_system(sys))
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
    settings::check(&w.spec, s, sys)?;
    let spec = &w.spec;
    let (fitted, lay) = fit::resolve_with_layout(w, sys, s);
    let s = &fitted.settings;
    let p = fit::Problem { w, sys, s };
    let (shape, mem) = p.eval(&lay, fitted.ctx);
    let ram = ram::ram_use(&mem, sys);
    let fits = ram::fits(&mem, sys, &ram);
    let ctx_train = spec.context_length.clamp(1, MAX_CTX);
    let max_context = p
        .largest_ctx(&lay, CTX_PAD, ctx_train, fit::placement_margin(sys, s))
        .unwrap_or(0);
    // What spilled into shared GPU memory is read over PCIe: per GPU, its share of what the GPU
    // holds.
    let shared = ram.shared_shares(&mem);
    let performance = speed::estimate_speed(w, sys, s, &lay, &shape, &shared, params);
    let warnings = warnings::collect(&warnings::Facts {
        w,
        sys,
        fitted: &fitted,
        layout: &lay,
        memory: &mem,
        ram: &ram,
        fits,
    });
    let verdict = if !fits {
        Verdict::DoesNotFit
    } else if spec.is_embedder() {
        // An embedder or reranker is judged by how fast it reads documents, not by generation.
        let tps = performance.prefill_tokens_per_s;
        if tps >= EMBED_GOOD_TPS && !ram.near_limit() {
            Verdict::WorksWell
        } else if tps >= EMBED_USABLE_TPS {
            Verdict::Usable
        } else {
            Verdict::Slow
        }
    } else if performance.decode_tokens_per_s >= s.good_tps && !ram.near_limit() {
        Verdict::WorksWell
    } else if performance.decode_tokens_per_s >= s.usable_tps {
        Verdict::Usable
    } else {
        Verdict::Slow
    };
    Ok(Estimate {
        resolved: Resolved {
            ctx: fitted.ctx,
            shape,
            gpu_layers: lay.placement.gpu_layers,
            flash_attn: flash_attn_on(s),
            n_cpu_moe: s.n_cpu_moe.min(spec.n_layer),
        },
        memory: mem,
        offload: Offload {
            gpu_layers: lay.placement.gpu_layers,
            total_layers: spec.n_layer + 1,
            ram_fraction: lay.ram_fraction(),
        },
        performance,
        max_context,
        ram,
        verdict,
        warnings,
    })
}

/// Speed alone, with the placement [`estimate_with`] resolves, without the memory figures and
/// the context search (for fitting the speed constants, where the exact compute buffers would
/// only cost time).
///
/// # Errors
/// [`EstimateError`] for settings llama.cpp would reject.
pub fn performance_with(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
    params: &SpeedParams,
) -> Result<Performance, EstimateError> {
    settings::check(&w.spec, s, sys)?;
    let (fitted, lay) = fit::resolve_with_layout(w, sys, s);
    let s = &fitted.settings;
    let shape = ContextShape::new(fitted.ctx, s);
    // Only Windows' spill into shared GPU memory needs the memory here: the closed form will do.
    let mem = usage::memory(w, sys, s, &lay, &shape, false);
    let ram = ram::ram_use(&mem, sys);
    let shared = ram.shared_shares(&mem);
    Ok(speed::estimate_speed(
        w, sys, s, &lay, &shape, &shared, params,
    ))
}

/// One run resolved for the speed model: placement, context shape and the share in Windows'
/// shared GPU memory worked out once, so that scoring many sets of constants against the same run
/// (refits, cross-validation, `llmrig calibrate`) costs only the speed formulas.
#[derive(Debug, Clone)]
pub struct SpeedCase {
    w: ModelWeights,
    sys: SystemSpec,
    s: Settings,
    placement: Placement,
    load: placement::DeviceLoad,
    shape: ContextShape,
    shared: Vec<f64>,
}

impl SpeedCase {
    /// Resolves the run as [`performance_with`] does.
    ///
    /// # Errors
    /// [`EstimateError`] for settings llama.cpp would reject.
    pub fn new(
        w: &ModelWeights,
        sys: &SystemSpec,
        s: &Settings,
    ) -> Result<SpeedCase, EstimateError> {
        settings::check(&w.spec, s, sys)?;
        let (fitted, lay) = fit::resolve_with_layout(w, sys, s);
        let s = fitted.settings;
        let shape = ContextShape::new(fitted.ctx, &s);
        let mem = usage::memory(w, sys, &s, &lay, &shape, false);
        let ram = ram::ram_use(&mem, sys);
        let shared = ram.shared_shares(&mem);
        Ok(SpeedCase {
            w: w.clone(),
            sys: sys.clone(),
            s,
            placement: lay.placement,
            load: lay.load,
            shape,
            shared,
        })
    }

    /// The run's speed with `params`, without the decode-by-depth curve.
    #[must_use]
    pub fn performance(&self, params: &SpeedParams) -> Performance {
        speed::point_speed(
            &self.w,
            &self.sys,
            &self.s,
            (&self.load, &self.placement),
            &self.shape,
            &self.shared,
            params,
        )
    }

    /// The settings the run was resolved to.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.s
    }

    /// The system the run was resolved on.
    #[must_use]
    pub fn system(&self) -> &SystemSpec {
        &self.sys
    }

    /// The model the run runs.
    #[must_use]
    pub fn spec(&self) -> &crate::model::ModelSpec {
        &self.w.spec
    }
}

/// The largest context that fits with these settings and `-ngl` (auto resolved at `--fit-ctx`),
/// a multiple of 256 up to the trained length; `None` if not even 256 tokens fit.
///
/// # Errors
/// [`EstimateError`] for settings llama.cpp would reject.
pub fn max_context(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
) -> Result<Option<u64>, EstimateError> {
    settings::check(&w.spec, s, sys)?;
    Ok(fit::max_context(w, sys, s))
}

/// Memory each device offers the model, GPUs in order then the CPU (the RAM budget), as the
/// estimate's `capacity_bytes` reports it.
#[must_use]
pub fn capacities(sys: &SystemSpec) -> Vec<u64> {
    let ram = sys.ram_budget();
    sys.gpus
        .iter()
        .map(|g| usage::gpu_capacity(g, &ram))
        .chain(std::iter::once(ram.usable_bytes))
        .collect()
}

/// What `m` (memory over `sys`'s devices) takes of the RAM budget.
#[must_use]
pub fn ram_usage(m: &MemoryBreakdown, sys: &SystemSpec) -> RamUse {
    ram::ram_use(m, sys)
}

/// Whether `m` (memory over `sys`'s devices) fits, as the estimate's verdict judges it: every
/// device, and the RAM budget with the unified GPUs and any spill into shared GPU memory.
#[must_use]
pub fn memory_fits(m: &MemoryBreakdown, sys: &SystemSpec) -> bool {
    let ram = ram::ram_use(m, sys);
    ram::fits(m, sys, &ram)
}

/// How many parts llama.cpp's scheduler cuts this run's prompt graph into (its log's
/// `sched_reserve: graph: ... splits = N`): 2 with everything on one GPU, hundreds when weights in
/// RAM are copied to the GPU op by op. `None` where llmrig does not replay the scheduler (no GPU,
/// several GPUs, another engine, an architecture whose graph is not annotated).
///
/// # Errors
/// [`EstimateError`] for settings llama.cpp would reject.
pub fn graph_splits(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
) -> Result<Option<usize>, EstimateError> {
    settings::check(&w.spec, s, sys)?;
    if s.backend.modelled_here() {
        return Ok(None);
    }
    let (fitted, lay) = fit::resolve_with_layout(w, sys, s);
    let shape = ContextShape::new(fitted.ctx, &fitted.settings);
    Ok(usage::sched_compute(w, sys, &fitted.settings, &lay, &shape).map(|r| r.splits))
}
