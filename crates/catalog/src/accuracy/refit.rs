//! Fitting the speed constants to the calibration rows: the full refit ([`refit`], what
//! cross-validation runs in every fold and `llmrig calibrate` runs within a [`Scope`]), and the fit
//! of a few new constants alone ([`fit_knobs`]).

use llmrig_core::estimate::{
    amd_fa_matrix_tokens, device_class, flash_attn_on, lpddr_shared, mmq_tile_shapes,
    vulkan_amd_large_tiles, vulkan_fa_scalar_width, SpeedParams, VulkanDriver, CPU_CLASS,
    N_CLASSES,
};
use llmrig_core::system::GpuApi;

use super::{objective, score, stats, Case, ErrorStats, Phase};

/// Refits the speed constants to the calibration rows by coordinate descent in log space
/// (multiplicative steps of 20%, 5%, 1%), starting from `start` (`SpeedParams::prior` for the
/// shipped constants and every cross-validation fold). Every constant stays inside a
/// physical range. A device class's main efficiency of a phase moves when 2 rows inform it, its
/// fixed costs when 8 do; what no row moves keeps its value at `start`.
#[must_use]
pub fn refit(cases: &[Case], start: &SpeedParams) -> SpeedParams {
    refit_with(cases, start, &Scope::ALL)
}

/// What a refit may move.
pub(crate) struct Scope {
    /// The constants shared by all device classes (weight-class factors, KV, attention passes,
    /// hops, pipelining); off when calibrating one machine, whose few rows cannot tell them.
    pub global: bool,
    /// The decode factors of the weight classes (how a dequantising kernel reads its bytes
    /// compared with f16); on for one machine whose results span several weight classes.
    pub class_factors: bool,
    /// Rows of a phase a class needs before its main efficiency of that phase moves.
    pub min_main: usize,
    /// Rows of a phase a class needs before its fixed costs move.
    pub min_fixed: usize,
}

impl Scope {
    const ALL: Scope = Scope {
        global: true,
        class_factors: true,
        min_main: 2,
        min_fixed: 8,
    };
}

/// [`refit`] within `scope`.
#[allow(clippy::too_many_lines)]
pub(crate) fn refit_with(cases: &[Case], start: &SpeedParams, scope: &Scope) -> SpeedParams {
    let fitted: Vec<Case> = cases
        .iter()
        .filter(|c| c.meta.engine == "llama.cpp")
        .cloned()
        .collect();
    let cases = &fitted[..];
    let (min_main, min_rows) = (scope.min_main, scope.min_fixed);
    // Rows per class and phase, and of those the prefill rows of float weights (F16, BF16, F32).
    let is_float = |c: &Case| matches!(c.meta.quant.as_str(), "F16" | "BF16" | "F32");
    let class_rows = |keep: &dyn Fn(&Case) -> bool| {
        let mut counts = [0usize; N_CLASSES];
        for c in cases.iter().filter(|c| keep(c)) {
            let sys = c.runs[0].system();
            let class = sys
                .gpus
                .first()
                .map_or(CPU_CLASS, |g| device_class(g.api, g.memory_tech, g.vendor));
            counts[class] += 1;
        }
        counts
    };
    let (dec, pre) = (
        class_rows(&|c| c.meta.phase == Phase::Decode),
        class_rows(&|c| c.meta.phase == Phase::Prefill),
    );
    // Decode rows of GPUs on shared LPDDR, which read at `lpddr_bw` rather than their class's
    // bandwidth share (`estimate::lpddr_shared`).
    let on_lpddr = |c: &Case| c.runs[0].system().gpus.first().is_some_and(lpddr_shared);
    let dec_bw = class_rows(&|c| c.meta.phase == Phase::Decode && !on_lpddr(c));
    let lpddr_rows = cases
        .iter()
        .filter(|c| c.meta.phase == Phase::Decode && on_lpddr(c))
        .count();
    let (pre_float, pre_quant) = (
        class_rows(&|c| c.meta.phase == Phase::Prefill && is_float(c)),
        class_rows(&|c| c.meta.phase == Phase::Prefill && !is_float(c)),
    );
    // Prefill rows whose attention spans 4,096 tokens or more (long prompts, deep contexts).
    let long = class_rows(&|c| {
        let s = c.runs[0].settings();
        c.meta.phase == Phase::Prefill && s.prompt + s.depth >= 4096
    });
    // Deep prefill rows whose flash attention runs on AMD's matrix cores (`amd_fa_matrix`).
    let amd_fa_rows = cases
        .iter()
        .filter(|c| c.meta.phase == Phase::Prefill && amd_fa_on_matrix(c))
        .count();
    // Prefill rows on AMDVLK with the large Vulkan tiles (`SpeedParams::amdvlk_tiles`).
    let amdvlk_rows = cases
        .iter()
        .filter(|c| c.meta.phase == Phase::Prefill && amdvlk_large_tiles(c))
        .count();
    // Deep prefill rows whose flash attention runs ggml-vulkan's scalar shader on matrix cores
    // (`vk_scalar_fa`).
    let vk_scalar_rows = cases
        .iter()
        .filter(|c| c.meta.phase == Phase::Prefill && vulkan_fa_on_scalar(c))
        .count();
    // Prompt rows of quantized weights on CUDA or HIP at ubatches between MMVQ's 8 tokens and
    // MMQ's widest token tile (`mmq_tile`).
    let mmq_rows = cases
        .iter()
        .filter(|c| c.meta.phase == Phase::Prefill && mmq_small_ubatch(c))
        .count();
    let mut knobs: Vec<Knob> = Vec::new();
    for b in 0..N_CLASSES {
        // With a couple of rows only the main efficiency of the phase moves; with 8 or more, the
        // fixed costs too.
        if dec_bw[b] >= min_main {
            knobs.push((Box::new(move |p| &mut p.backends[b].bw), 0.3, 1.0));
        }
        if dec[b] >= min_rows {
            knobs.push((Box::new(move |p| &mut p.backends[b].step_s), 1e-5, 10e-3));
        }
        // Across machines a compute share moves with the phase's rows; on one machine only with
        // rows of its own kind of weights (a Q8_0 run says nothing of cuBLAS's F16 rate).
        let (quant_rows, float_rows) = if scope.global {
            (pre[b], if pre[b] >= min_rows { pre[b] } else { 0 })
        } else {
            (pre_quant[b], pre_float[b])
        };
        if quant_rows >= min_main {
            knobs.push((Box::new(move |p| &mut p.backends[b].pp_quant), 0.02, 2.0));
        }
        if float_rows >= min_main {
            knobs.push((Box::new(move |p| &mut p.backends[b].pp_float), 0.02, 2.0));
        }
        if pre[b] >= min_rows {
            knobs.push((Box::new(move |p| &mut p.backends[b].ubatch_s), 1e-5, 50e-3));
        }
        if scope.global && b != CPU_CLASS && long[b] >= min_rows {
            knobs.push((Box::new(move |p| &mut p.attn_share[b]), 0.05, 4.0));
        }
    }
    if scope.class_factors {
        for c in 1..llmrig_core::estimate::WeightClass::COUNT {
            knobs.push((Box::new(move |p| &mut p.class_factor[c]), 0.3, 1.5));
        }
    }
    if scope.global {
        for c in 0..llmrig_core::estimate::WeightClass::COUNT {
            knobs.push((Box::new(move |p| &mut p.gemv_ops[c]), 0.5, 200.0));
        }
        // Prefill per quantized class relative to Q8_0 (Float and Q8_0 fixed at 1).
        for c in 2..llmrig_core::estimate::WeightClass::COUNT {
            knobs.push((Box::new(move |p| &mut p.pp_class[c]), 0.2, 3.0));
        }
    }
    if lpddr_rows >= min_main {
        knobs.push((Box::new(|p| &mut p.lpddr_bw), 0.3, 1.0));
    }
    // The CPU's decode kernels: a main efficiency across machines only with many rows (their
    // bandwidth trades against it), on one machine with one result.
    if dec[CPU_CLASS] >= if scope.global { min_rows } else { min_main } {
        knobs.push((Box::new(|p| &mut p.cpu.gemv), 0.02, 1.0));
    }
    if pre[CPU_CLASS] >= min_rows {
        knobs.push((Box::new(|p| &mut p.cpu.attn), 0.02, 1.0));
    }
    if scope.global {
        knobs.push((Box::new(|p| &mut p.kv_factor), 0.1, 1.5));
        knobs.push((Box::new(|p| &mut p.no_fa_step), 0.5, 3.0));
        knobs.push((Box::new(|p| &mut p.nofa_kv_reread), 0.01, 1.0));
        knobs.push((Box::new(|p| &mut p.attn_passes), 1.0, 20.0));
        knobs.push((Box::new(|p| &mut p.hop_s), 1e-6, 5e-3));
        knobs.push((Box::new(|p| &mut p.pipeline_overlap), 0.05, 1.0));
        // Last, so that the other knobs take the steps they took before it joined.
        knobs.push((Box::new(|p| &mut p.moe_step), 0.5, 6.0));
        for b in 0..3 {
            knobs.push((Box::new(move |p| &mut p.moe_tile[b]), 0.0, 128.0));
        }
        knobs.push((Box::new(|p| &mut p.step_exp), 0.01, 1.5));
        if amdvlk_rows >= min_main {
            knobs.push((Box::new(|p| &mut p.amdvlk_tiles), 0.05, 2.0));
        }
        if amd_fa_rows >= min_main {
            knobs.push((Box::new(|p| &mut p.amd_fa_matrix), 0.2, 8.0));
        }
        if vk_scalar_rows >= min_main {
            knobs.push((Box::new(|p| &mut p.vk_scalar_fa), 0.02, 2.0));
        }
        if mmq_rows >= min_rows {
            knobs.push((Box::new(|p| &mut p.mmq_tile), 0.0, 256.0));
        }
    }
    descend(cases, start.clone(), &knobs)
}

/// Whether `c` ran on AMDVLK in a build whose Vulkan backend gives AMD's GPUs the large prompt
/// tiles, which `SpeedParams::amdvlk_tiles` scales: the rows that inform it.
pub(crate) fn amdvlk_large_tiles(c: &Case) -> bool {
    let s = c.runs[0].settings();
    s.vulkan_driver == Some(VulkanDriver::Amdvlk)
        && c.runs[0]
            .system()
            .gpus
            .first()
            .is_some_and(|g| vulkan_amd_large_tiles(g, s.llama_cpp))
}

/// Whether `c` is a prompt at a depth of 4,096 tokens or more whose flash attention runs on an
/// AMD GPU's matrix cores (`prompt_kernels::amd_fa_matrix_tokens` at its ubatch), which
/// `SpeedParams::amd_fa_matrix` scales: the rows that inform it.
pub fn amd_fa_on_matrix(c: &Case) -> bool {
    let run = &c.runs[0];
    let (s, spec) = (run.settings(), run.spec());
    s.prompt + s.depth >= 4096
        && flash_attn_on(s)
        && run.system().gpus.first().is_some_and(|g| {
            amd_fa_matrix_tokens(
                g,
                s.llama_cpp,
                spec.head_dim(),
                spec.n_head / spec.n_head_kv.max(1),
                spec.is_mla(),
            )
            .is_some_and(|t| s.ubatch.min(s.prompt.max(1)) as f64 >= t)
        })
}

/// Whether `c` is a prompt at a depth of 4,096 tokens or more with flash attention in which some
/// block's attention runs ggml-vulkan's scalar shader on a GPU with matrix cores
/// (`prompt_kernels::vulkan_fa_scalar`), which `SpeedParams::vk_scalar_fa` scales: the rows
/// that inform it.
pub fn vulkan_fa_on_scalar(c: &Case) -> bool {
    let run = &c.runs[0];
    let (s, sys) = (run.settings(), run.system());
    s.prompt + s.depth >= 4096
        && flash_attn_on(s)
        && sys.gpus.first().is_some_and(|g| {
            vulkan_fa_scalar_width(g, s.llama_cpp, s.vulkan_driver_on(sys.os), run.spec()).is_some()
        })
}

/// Whether `c` is a prompt of quantized weights on a CUDA or HIP GPU at a ubatch that
/// `SpeedParams::mmq_tile` shapes (`estimate::mmq_tile_shapes`: above MMVQ's 8 tokens, below MMQ's
/// widest token tile): the rows that inform it.
fn mmq_small_ubatch(c: &Case) -> bool {
    let run = &c.runs[0];
    let s = run.settings();
    let u = s.ubatch.min(s.prompt.max(1));
    !matches!(c.meta.quant.as_str(), "F16" | "BF16" | "F32")
        && mmq_tile_shapes(f64::from(u32::try_from(u).unwrap_or(u32::MAX)))
        && run
            .system()
            .gpus
            .first()
            .is_some_and(|g| matches!(g.api, GpuApi::Cuda | GpuApi::Rocm))
}

/// A constant a fit may move (how to reach it in the constants) and its lower and upper bounds.
pub type Knob = (Box<dyn Fn(&mut SpeedParams) -> &mut f64>, f64, f64);

/// `knobs` alone fitted on the llama.cpp rows of `cases` from `start`, every other constant kept:
/// how a new term is fitted without moving the shipped ones (`--example accuracy --
/// --fit-moe-tile`).
#[must_use]
pub fn fit_knobs(cases: &[Case], start: &SpeedParams, knobs: &[Knob]) -> SpeedParams {
    let fitted: Vec<Case> = cases
        .iter()
        .filter(|c| c.meta.engine == "llama.cpp")
        .cloned()
        .collect();
    descend(&fitted, start.clone(), knobs)
}

/// RDNA's expert tile fill under WMMA MMQ (`SpeedParams::moe_tile[2]`) held out by model within
/// Strix Halo, the one machine whose rows inform it: fitted alone from the prior's value (every
/// other constant as shipped) on every row but those of the `held` models, then those models'
/// Strix Halo ROCm prompt rows scored without the term and with it. Returns the fitted constants
/// and the two scores.
#[must_use]
pub fn rdna_tile_holdout(cases: &[Case], held: &[&str]) -> (SpeedParams, ErrorStats, ErrorStats) {
    let mut start = SpeedParams::default();
    start.moe_tile[2] = SpeedParams::prior().moe_tile[2];
    let train: Vec<Case> = cases
        .iter()
        .filter(|c| !held.contains(&c.meta.model.as_str()))
        .cloned()
        .collect();
    let knobs: Vec<Knob> = vec![(Box::new(|p| &mut p.moe_tile[2]), 0.0, 256.0)];
    let fitted = fit_knobs(&train, &start, &knobs);
    let test: Vec<Case> = cases
        .iter()
        .filter(|c| {
            let m = &c.meta;
            held.contains(&m.model.as_str())
                && m.device == "ryzen-ai-max-395"
                && m.backend == "rocm"
                && m.phase == Phase::Prefill
        })
        .cloned()
        .collect();
    let mut without = fitted.clone();
    without.moe_tile[2] = 0.0;
    let (before, after) = (
        stats(score(&test, &without).iter()),
        stats(score(&test, &fitted).iter()),
    );
    (fitted, before, after)
}

/// Coordinate descent of the objective over `knobs` from `p`: each knob stepped by ×1.2, then
/// ×1.05, then ×1.01 (up to four rounds each) while the objective falls.
fn descend(cases: &[Case], mut p: SpeedParams, knobs: &[Knob]) -> SpeedParams {
    let mut best = objective(&score(cases, &p));
    for step in [1.2f64, 1.05, 1.01] {
        for _round in 0..4 {
            let mut improved = false;
            for (k, lo, hi) in knobs {
                for dir in [step, 1.0 / step] {
                    loop {
                        let mut q = p.clone();
                        let v = k(&mut q);
                        let next = (*v * dir).clamp(*lo, *hi);
                        if (next - *v).abs() < 1e-12 {
                            break;
                        }
                        *v = next;
                        let o = objective(&score(cases, &q));
                        if o + 1e-9 < best {
                            best = o;
                            p = q;
                            improved = true;
                        } else {
                            break;
                        }
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }
    p
}
