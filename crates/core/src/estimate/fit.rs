//! The fit search, as llama.cpp's `--fit` does it: the largest context that fits, the most layers
//! that fit, and the fewest leading layers whose experts go to RAM (`--n-cpu-moe`) for an MoE
//! model that does not fit whole.

use crate::system::SystemSpec;

use super::memory::{ContextShape, CTX_PAD};
use super::placement::{layout, WeightLayout};
use super::settings::{GpuLayers, Settings, MAX_CTX};
use super::usage::{self, fits, gpus_fit, memory, MemoryBreakdown};
use super::weights::ModelWeights;

/// A prepared estimator for one model on one machine with one set of settings; `ctx` and `ngl` vary.
pub(super) struct Problem<'a> {
    pub w: &'a ModelWeights,
    pub sys: &'a SystemSpec,
    pub s: &'a Settings,
}

impl Problem<'_> {
    pub fn eval(&self, lay: &WeightLayout, ctx: u64) -> (ContextShape, MemoryBreakdown) {
        let shape = ContextShape::new(ctx, self.s);
        let m = memory(self.w, self.sys, self.s, lay, &shape, true);
        (shape, m)
    }

    /// Whether this run's compute buffers come from a graph replay (CPU only, or the scheduler
    /// replay on one GPU), which costs tens of microseconds to milliseconds per evaluation on a
    /// large model: searches then run on the closed form and correct its answer with a few replays.
    fn replays(&self) -> bool {
        let rules = self.s.llama_cpp.rules();
        (self.sys.gpus.is_empty() && rules.graph_replay)
            || usage::sched_applies(&self.w.spec, self.sys, self.s)
    }

    fn fits_at(&self, lay: &WeightLayout, ctx: u64, margin: u64) -> bool {
        fits(&self.eval(lay, ctx).1, self.sys, margin)
    }

    /// Like `fits_at` with the closed-form compute buffer (a few MiB from the replayed one).
    fn fits_at_approx(&self, lay: &WeightLayout, ctx: u64, margin: u64) -> bool {
        let shape = ContextShape::new(ctx, self.s);
        fits(
            &memory(self.w, self.sys, self.s, lay, &shape, false),
            self.sys,
            margin,
        )
    }

    /// Largest multiple of 256 in `lo..=hi` that fits, if any, by binary search over multiples of
    /// 256: memory grows with context, except that a replayed CPU compute buffer can dip by tens of
    /// MiB where the KV cache grows slowly (Gemma 3's few full-attention layers), so near such a
    /// dip the answer is a fitting context, not always the largest. Where the compute buffer is replayed, the
    /// search runs on the closed form and the answer is then corrected with the replay: a
    /// galloping search from the approximate answer, a few replays instead of one per step.
    pub fn largest_ctx(&self, lay: &WeightLayout, lo: u64, hi: u64, margin: u64) -> Option<u64> {
        let (lo, hi) = (lo.div_ceil(CTX_PAD), hi / CTX_PAD);
        if lo > hi {
            return None;
        }
        if !self.replays() {
            return last_true(lo, hi, |i| self.fits_at(lay, i * CTX_PAD, margin))
                .map(|i| i * CTX_PAD);
        }
        let exact = |i: u64| self.fits_at(lay, i * CTX_PAD, margin);
        let guess =
            last_true(lo, hi, |i| self.fits_at_approx(lay, i * CTX_PAD, margin)).unwrap_or(lo);
        refine_last(guess, lo, hi, exact).map(|i| i * CTX_PAD)
    }

    /// `-ngl` as given (at most `n_layer + 1`), or for `auto` the most layers that fit at `ctx`
    /// with the `--fit` margin.
    pub fn resolve_ngl(&self, ctx: u64) -> u32 {
        match self.s.gpu_layers {
            GpuLayers::Count(n) => n.min(self.w.spec.n_layer + 1),
            GpuLayers::Auto => self.most_layers(ctx, self.s.fit_margin_bytes),
        }
    }

    /// Most layers (0..=n_layer+1) that fit at `ctx` with `margin`, by binary search (more layers on
    /// the GPU never use less GPU memory).
    fn most_layers(&self, ctx: u64, margin: u64) -> u32 {
        let total = self.w.spec.n_layer + 1;
        if self.sys.gpus.is_empty() {
            return 0;
        }
        let ok = |n: u64, replay: bool| {
            if n == 0 {
                // Zero layers always "fit" the GPUs (nothing is placed there).
                return true;
            }
            let lay = layout(
                self.w,
                self.sys,
                self.s,
                u32::try_from(n).unwrap_or(u32::MAX),
            );
            let shape = ContextShape::new(ctx, self.s);
            let m = memory(self.w, self.sys, self.s, &lay, &shape, replay);
            gpus_fit(&m, self.sys.gpus.len(), margin)
        };
        let total64 = u64::from(total);
        let best = if self.replays() {
            let guess = last_true(0, total64, |n| ok(n, false)).unwrap_or(0);
            refine_last(guess, 0, total64, |n| ok(n, true))
        } else {
            last_true(0, total64, |n| ok(n, true))
        };
        u32::try_from(best.unwrap_or(0)).unwrap_or(total)
    }
}

/// What the fit decided for one estimate: the settings as run, the context and `-ngl`.
pub(super) struct Fitted {
    /// The settings with `--n-cpu-moe` as planned and, for engines that keep every layer on the
    /// GPUs, all layers there.
    pub settings: Settings,
    /// Context in tokens (before padding).
    pub ctx: u64,
    /// Layers on the GPUs.
    pub ngl: u32,
    /// `--n-cpu-moe` chosen by the fit (the user gave none), before clamping to `n_layer`.
    pub planned_cpu_moe: Option<u32>,
    /// The unset context was shrunk below the trained length: (trained, chosen, margin kept free
    /// per GPU in bytes).
    pub context_reduced: Option<(u64, u64, u64)>,
    /// The layout for `ngl`, when the search already built it.
    pub layout: Option<WeightLayout>,
}

/// Resolves `-c` and `-ngl` the way llama.cpp's `--fit` does: experts to RAM first for an MoE
/// model that does not fit whole, then keep everything on the GPUs if possible, shrinking an unset
/// context toward `--fit-ctx`, then give up layers.
pub(super) fn resolve(w: &ModelWeights, sys: &SystemSpec, s: &Settings) -> Fitted {
    let spec = &w.spec;
    let n_total = spec.n_layer + 1;
    let ctx_train = spec.context_length.clamp(1, MAX_CTX);
    let margin = s.fit_margin_bytes;
    let planned_cpu_moe = if s.backend.gpu_only() {
        None
    } else {
        plan_cpu_moe(w, sys, s)
    };
    let mut settings = s.clone();
    if let Some(n) = planned_cpu_moe {
        settings.n_cpu_moe = n;
    }
    // ExLlama and MLX keep every layer on the GPUs: there is no partial offload to trade for.
    if settings.backend.gpu_only() {
        settings.gpu_layers = GpuLayers::Count(n_total);
        settings.n_cpu_moe = 0;
    }
    let s = &settings;
    let p = Problem { w, sys, s };
    let mut context_reduced = None;
    let (ctx, ngl, lay) = match s.ctx {
        Some(c) => (c, p.resolve_ngl(c), None),
        None => {
            let ngl_full = match s.gpu_layers {
                GpuLayers::Count(n) => n.min(n_total),
                GpuLayers::Auto => n_total,
            };
            let lay = layout(w, sys, s, ngl_full);
            let min_ctx = s.fit_min_ctx.min(ctx_train);
            let gpu_margin = if sys.gpus.is_empty() { 0 } else { margin };
            match p.largest_ctx(&lay, min_ctx, ctx_train, gpu_margin) {
                Some(c) if c >= ctx_train => (ctx_train, ngl_full, Some(lay)),
                Some(c) => {
                    context_reduced = Some((ctx_train, c, gpu_margin));
                    (c, ngl_full, Some(lay))
                }
                None => (min_ctx, p.resolve_ngl(min_ctx), None),
            }
        }
    };
    Fitted {
        ctx,
        ngl,
        planned_cpu_moe,
        context_reduced,
        layout: lay,
        settings,
    }
}

/// [`resolve`] and the layout of the `-ngl` it chose (the one its search built, or a new one).
pub(super) fn resolve_with_layout(
    w: &ModelWeights,
    sys: &SystemSpec,
    s: &Settings,
) -> (Fitted, WeightLayout) {
    let mut fitted = resolve(w, sys, s);
    let lay = fitted
        .layout
        .take()
        .unwrap_or_else(|| layout(w, sys, &fitted.settings, fitted.ngl));
    (fitted, lay)
}

/// The largest context at which the placement of `-ngl` as given (auto: resolved at `--fit-ctx`)
/// holds, a multiple of 256 up to the trained length; `None` if not even 256 tokens fit.
pub(super) fn max_context(w: &ModelWeights, sys: &SystemSpec, s: &Settings) -> Option<u64> {
    let p = Problem { w, sys, s };
    let ctx_train = w.spec.context_length.clamp(1, MAX_CTX);
    let ngl = p.resolve_ngl(s.fit_min_ctx.min(ctx_train));
    p.largest_ctx(
        &layout(w, sys, s, ngl),
        CTX_PAD,
        ctx_train,
        placement_margin(sys, s),
    )
}

/// What each GPU must keep free for a placement to hold at another context: with `-ngl auto`,
/// llama.cpp's `--fit` margin, since at a context where the layers fit only without it, auto
/// would place fewer layers (one placement for every figure: the max context an estimate shows
/// is one at which the same command gives the same placement); with `-ngl N`, nothing.
pub(super) fn placement_margin(sys: &SystemSpec, s: &Settings) -> u64 {
    if s.gpu_layers == GpuLayers::Auto && !sys.gpus.is_empty() {
        s.fit_margin_bytes
    } else {
        0
    }
}

/// `-ngl auto` for an MoE model that does not fit whole (llama.cpp's `--fit` puts expert tensors in
/// RAM before it gives up layers): the fewest leading layers whose routed experts stay in RAM so
/// that everything else fits on the GPUs with the margin, at the context asked (or `--fit-ctx`):
/// the GPUs are filled as far as they go.
/// `None` when not applicable or not needed; `Some(n_layer)` when even all experts in RAM do not
/// make the rest fit (layers are then given up as usual).
fn plan_cpu_moe(w: &ModelWeights, sys: &SystemSpec, s: &Settings) -> Option<u32> {
    let spec = &w.spec;
    if !s.auto_cpu_moe
        || s.n_cpu_moe > 0
        || !s.tensor_overrides.is_empty()
        || s.gpu_layers != GpuLayers::Auto
        || spec.n_expert < 2
        || sys.gpus.is_empty()
    {
        return None;
    }
    let ctx = s
        .ctx
        .unwrap_or_else(|| s.fit_min_ctx.min(spec.context_length.clamp(1, MAX_CTX)));
    let n_total = spec.n_layer + 1;
    let replays = Problem { w, sys, s }.replays();
    let fits_with = |n: u32, replay: bool| {
        let t = Settings {
            n_cpu_moe: n,
            ..s.clone()
        };
        // The GPUs alone decide: more experts in RAM never need more GPU memory, so the counts
        // that fit them are a tail of 1..=n_layer. Whether system RAM then holds the experts is
        // the estimate's verdict, not a reason to keep them all in RAM (which only needs more).
        let shape = ContextShape::new(ctx, &t);
        let m = memory(w, sys, &t, &layout(w, sys, &t, n_total), &shape, replay);
        gpus_fit(&m, sys.gpus.len(), s.fit_margin_bytes)
    };
    if fits_with(0, true) {
        return None;
    }
    // When even n_layer does not fit the GPUs, layers are given up as usual.
    let n = spec.n_layer;
    let ok = |i: u64, replay: bool| fits_with(u32::try_from(i).unwrap_or(n), replay);
    let found = if replays {
        let guess = first_true(1, u64::from(n), |i| ok(i, false)).unwrap_or(u64::from(n));
        refine_first(guess, 1, u64::from(n), |i| ok(i, true))
    } else {
        first_true(1, u64::from(n), |i| ok(i, true))
    };
    Some(found.map_or(n, |i| u32::try_from(i).unwrap_or(n)))
}

/// The smallest `i` in `lo..=hi` with `exact(i)` (false up to some point, true after), starting
/// from a guess (see `refine_last`).
fn refine_first(guess: u64, lo: u64, hi: u64, exact: impl Fn(u64) -> bool) -> Option<u64> {
    match refine_last(guess.saturating_sub(1).max(lo), lo, hi, |i| !exact(i)) {
        None => Some(lo),
        Some(j) if j >= hi => None,
        Some(j) => Some(j + 1),
    }
}

/// The largest `i` in `lo..=hi` with `exact(i)` (true up to some point, false after), starting
/// from a guess: a galloping search from `guess`, a few evaluations instead of one per bisection
/// step when the guess is close.
fn refine_last(guess: u64, lo: u64, hi: u64, exact: impl Fn(u64) -> bool) -> Option<u64> {
    let guess = guess.clamp(lo, hi);
    if exact(guess) {
        // Gallop up to the first step that does not fit, then search between.
        let mut step = 1;
        let mut good = guess;
        loop {
            let next = (good + step).min(hi);
            if next == good {
                return Some(good);
            }
            if !exact(next) {
                return Some(last_true(good + 1, next - 1, &exact).unwrap_or(good));
            }
            good = next;
            step *= 2;
        }
    }
    let mut step = 1;
    let mut bad = guess;
    loop {
        if bad == lo {
            return None;
        }
        let next = bad.saturating_sub(step).max(lo);
        if exact(next) {
            return Some(last_true(next + 1, bad - 1, &exact).unwrap_or(next));
        }
        bad = next;
        step *= 2;
    }
}

/// The largest `i` in `lo..=hi` with `ok(i)`, for `ok` true up to some point and false after;
/// `None` when `ok(lo)` is false. The one monotone search of the fit: [`first_true`] is its mirror.
fn last_true(lo: u64, hi: u64, ok: impl Fn(u64) -> bool) -> Option<u64> {
    if lo > hi || !ok(lo) {
        return None;
    }
    let (mut lo, mut hi) = (lo, hi);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(lo)
}

/// The smallest `i` in `lo..=hi` with `ok(i)`, for `ok` false up to some point and true after;
/// `None` when `ok(hi)` is false.
fn first_true(lo: u64, hi: u64, ok: impl Fn(u64) -> bool) -> Option<u64> {
    if lo > hi || !ok(hi) {
        return None;
    }
    match last_true(lo, hi, |i| !ok(i)) {
        Some(last_false) => Some(last_false + 1),
        None => Some(lo),
    }
}
