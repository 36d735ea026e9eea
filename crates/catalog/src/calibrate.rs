//! `llmrig calibrate`: one machine's speed efficiencies fitted to its own llama-bench results.
//!
//! The shipped constants ([`SpeedParams::default`]) are fitted across many machines; a user's
//! machine differs from them by its clocks, drivers, llama.cpp build and cooling. Calibrating
//! refits only the efficiencies of the device classes the results ran on (bandwidth share,
//! per-token cost, prompt compute shares, per-ubatch cost), with the same objective as the
//! shipped fit, and keeps the constants shared by all classes. A class's main efficiency of a
//! phase moves with one result of that phase, its fixed costs with four. The prompt shares then
//! move only part of the way to that fit ([`prompt_shrink`]): one model and quant's prompt speed
//! says much about its own kernels and less about the others'.

use std::collections::BTreeMap;

use llmrig_core::estimate::{
    device_class, lpddr_shared, Calibration, GpuLayers, ModelWeights, Settings, SpeedCase,
    SpeedParams, WeightClass, CPU_CLASS, DEVICE_CLASSES,
};
use llmrig_core::system::SystemSpec;

use crate::accuracy::{refit_with, score, stats, Case, Phase, Scope, Scored};
use crate::{models, ModelEntry};

/// One llama-bench result on this machine, with the model it ran and its settings.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// How the result is shown (`llama 8B Q4_K - Medium`).
    pub label: String,
    /// The model's weights.
    pub weights: ModelWeights,
    /// The run's settings (context, `-ngl`, ubatch, flash attention, threads, the test).
    pub settings: Settings,
    /// Prompt processing or generation.
    pub phase: Phase,
    /// The llama-bench test (`pp512`, `tg128 @ d4096`).
    pub test: String,
    /// Measured tokens/s.
    pub measured: f64,
}

/// A result with the prediction before and after calibrating.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Compared {
    /// The model as llama-bench named it.
    pub model: String,
    /// The test.
    pub test: String,
    /// Prompt processing or generation.
    pub phase: Phase,
    /// Measured tokens/s.
    pub measured: f64,
    /// llmrig's prediction with the shipped constants.
    pub before: f64,
    /// llmrig's prediction with the calibrated ones.
    pub after: f64,
}

/// The outcome of a calibration.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What to store with the machine.
    pub calibration: Calibration,
    /// Each result, before and after.
    pub rows: Vec<Compared>,
    /// How far the prompt shares moved towards this run's fit ([`prompt_shrink`]), 0–1.
    pub prompt_weight: f64,
    /// The prompt shares the run did not measure that moved with those it did, a line each.
    pub carried: Vec<String>,
}

/// Why a calibration could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalibrateError {
    /// No result could be reproduced on this machine.
    #[error("none of the results could be predicted on this machine: {0}")]
    NothingUsable(String),
}

/// The catalog model a llama-bench row describes by architecture (`general.architecture`) and
/// parameter count: the entry of that architecture whose parameters at `quant` are nearest,
/// within 2% (llama-bench prints them to 0.01 B).
#[must_use]
pub fn model_by_arch_params(
    arch: &str,
    params: f64,
    quant: llmrig_core::quant::Quant,
) -> Option<&'static ModelEntry> {
    let mut best: Option<(&ModelEntry, f64)> = None;
    for e in models().all() {
        if e.spec.arch.gguf_name() != arch {
            continue;
        }
        #[allow(clippy::cast_precision_loss)]
        let p = ModelWeights::new(&e.spec, quant).params() as f64;
        let off = (p / params - 1.0).abs();
        if off <= 0.02 && best.is_none_or(|(_, b)| off < b) {
            best = Some((e, off));
        }
    }
    best.map(|(e, _)| e)
}

/// Rows a class needs before its fixed costs (per token, per ubatch) move, given how many
/// different models the results ran: four, and results of at least two models. With one model a
/// fixed cost and the bandwidth or compute share trade against each other, and moving both fits
/// the run at the cost of every other model.
fn fixed_rows(models: usize) -> usize {
    if models >= 2 {
        4
    } else {
        usize::MAX
    }
}

/// How far the prompt scale of a machine llmrig has not seen sits from its prediction, and how
/// far one model–quant pair's prompt speed sits from its machine's scale: the variances of the
/// log of predicted / measured prompt speed between machines (τ², net of the pairs' noise) and
/// between one machine's pairs (σ²), over the device-out predictions of 89 machines with two or
/// more pairs (`llmrig accuracy --cv --rows --json`, `rows_device_out` grouped by device, GPU
/// count, backend and source, then by model and quant; 2026-12-05).
const PROMPT_SCALE_VAR: f64 = 0.109;
/// See [`PROMPT_SCALE_VAR`].
const PROMPT_PAIR_VAR: f64 = 0.059;

/// How far the prompt shares move towards the fit of a machine's results on `pairs` model–quant
/// pairs: the empirical-Bayes weight τ²/(τ² + σ²/n) of the machine's own evidence against the
/// shipped constants. One pair's prompt speed says as much about that pair's kernels as about
/// the machine (σ² is half of τ²), so one pair moves them 65% of the way, four pairs 88%.
#[must_use]
pub fn prompt_shrink(pairs: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let n = pairs.max(1) as f64;
    PROMPT_SCALE_VAR / (PROMPT_SCALE_VAR + PROMPT_PAIR_VAR / n)
}

/// Moves `fitted`'s prompt shares (quantized and float, per class) back towards `start`'s, to
/// `alpha` of the way in log terms ([`prompt_shrink`]).
fn shrink_prompt_shares(fitted: &mut SpeedParams, start: &SpeedParams, alpha: f64) {
    for (f, s) in fitted.backends.iter_mut().zip(&start.backends) {
        f.pp_quant = s.pp_quant * (f.pp_quant / s.pp_quant).powf(alpha);
        f.pp_float = s.pp_float * (f.pp_float / s.pp_float).powf(alpha);
    }
}

/// How far a machine's unmeasured prompt share follows the measured one, per device class, as
/// (quantized from float, float from quantized): the regression slopes, in log terms, of one share's
/// residual on the other's over machines with both kinds of prompt results. Apple's GPUs run
/// float and quantized prompts through the same simdgroup matrix kernels (ggml-metal's `mul_mm`
/// dequantizes each tile to half), and over the 27 Apple machines with F16 and quantized prompt
/// results the device-out residuals of the two move together (correlation 0.75; quantized on
/// float 1.03, float on quantized 0.54, used as 1.0 and 0.55; source out 0.88, 1.10 and 0.70;
/// leaving out each machine in turn, 0.95–1.10 and 0.45–0.64). Elsewhere float and
/// quantized weights take different libraries (cuBLAS or hipBLAS against MMQ), and the 10 CUDA
/// machines' slopes disagree between hold-outs (0.21 device out, 1.27 source out), so a run of
/// one kind leaves the other share where it was (`llmrig accuracy --cv --rows --json`, prompt
/// rows grouped by device, source and backend, then by float or quantized weights; 2026-12-05).
fn shared_prompt_slope(class: usize) -> (f64, f64) {
    if DEVICE_CLASSES[class] == "metal" {
        (1.0, 0.55)
    } else {
        (0.0, 0.0)
    }
}

/// Moves the prompt shares towards the run's fit: the share the run informed `alpha` of the way
/// ([`shrink_prompt_shares`]), the one it did not (`start`'s value kept by the fit) by
/// [`shared_prompt_slope`] times the informed share's whole move, the slope being a regression on
/// such one-run residuals: a Mac calibrated on an F16 model also moves its quantized prompts.
/// Returns a line per class whose unmeasured share moved.
fn carry_prompt_shares(fitted: &mut SpeedParams, start: &SpeedParams, alpha: f64) -> Vec<String> {
    let raw = fitted.clone();
    let mut carried = Vec::new();
    shrink_prompt_shares(fitted, start, alpha);
    for (class, ((f, r), s)) in fitted
        .backends
        .iter_mut()
        .zip(&raw.backends)
        .zip(&start.backends)
        .enumerate()
    {
        let (quant_from_float, float_from_quant) = shared_prompt_slope(class);
        let moved_float = (r.pp_float / s.pp_float).ln();
        let moved_quant = (r.pp_quant / s.pp_quant).ln();
        let name = DEVICE_CLASSES[class];
        if moved_quant == 0.0 && moved_float != 0.0 && quant_from_float != 0.0 {
            f.pp_quant = s.pp_quant * (quant_from_float * moved_float).exp();
            carried.push(format!(
                "{name}: the quantized prompt share moved {quant_from_float:.2} times as far as this run's float fit (the same kernels run both)"
            ));
        } else if moved_float == 0.0 && moved_quant != 0.0 && float_from_quant != 0.0 {
            f.pp_float = s.pp_float * (float_from_quant * moved_quant).exp();
            carried.push(format!(
                "{name}: the float prompt share moved {float_from_quant:.2} times as far as this run's quantized fit (the same kernels run both)"
            ));
        }
    }
    carried
}

/// How many model–quant pairs `measured` holds prompt results of.
fn prompt_pairs(measured: &[Measurement]) -> usize {
    distinct(
        measured
            .iter()
            .filter(|m| m.phase == Phase::Prefill)
            .map(|m| (m.weights.params(), m.weights.quant.name())),
    )
}

/// How many different models the results ran: two quants of one model are one (their
/// parameter counts agree). With one, the fixed costs stay shipped.
#[must_use]
pub fn distinct_models(measured: &[Measurement]) -> usize {
    distinct(measured.iter().map(|m| m.weights.params()))
}

/// How many different values `items` holds.
fn distinct<T: Ord>(items: impl Iterator<Item = T>) -> usize {
    let mut v: Vec<T> = items.collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

/// How many weight classes (float, k-quants, legacy quants …) the decode results read: the
/// classes' decode factors can be told apart only with two or more.
fn weight_classes(measured: &[Measurement]) -> usize {
    // Bytes per class over the decode results' models; a class counts when it holds a tenth of
    // a model (the f32 norms of every model do not make it a second class).
    let mut counted = [false; WeightClass::COUNT];
    for m in measured.iter().filter(|m| m.phase == Phase::Decode) {
        let mut bytes = [0u64; WeightClass::COUNT];
        for t in &m.weights.tensors {
            bytes[WeightClass::of(t.ggml_type, m.weights.quant).index()] += t.bytes;
        }
        let total: u64 = bytes.iter().sum();
        for (c, b) in bytes.iter().enumerate() {
            if *b * 10 >= total && total > 0 {
                counted[c] = true;
            }
        }
    }
    counted.iter().filter(|&&b| b).count()
}

/// Fits this machine's efficiencies to `measured` (each resolved on `sys` without any earlier
/// calibration), starting from the shipped constants.
///
/// # Errors
/// [`CalibrateError::NothingUsable`] when no result can be predicted on `sys` (settings llama.cpp
/// would reject, such as a model that does not fit).
pub fn calibrate(
    measured: &[Measurement],
    sys: &SystemSpec,
    source: &str,
    date: &str,
) -> Result<Outcome, CalibrateError> {
    let mut bare = sys.clone();
    bare.calibration = None;
    let start = SpeedParams::default();
    let mut cases = Vec::new();
    let mut reasons = Vec::new();
    let mut classes: Vec<usize> = Vec::new();
    // Whether a decode result ran on a GPU that reads shared LPDDR (`SpeedParams::lpddr_bw`).
    let mut lpddr_decoded = false;
    for m in measured {
        let run = match SpeedCase::new(&m.weights, &bare, &m.settings) {
            Ok(r) => r,
            Err(e) => {
                reasons.push(format!("{} {}: {e}", m.label, m.test));
                continue;
            }
        };
        // The classes this result informs: the GPU's when layers run there, the CPU's when
        // any stay in RAM.
        let cpu_class = CPU_CLASS;
        let layers = m.weights.spec.n_layer + 1;
        let on_gpu = match m.settings.gpu_layers {
            GpuLayers::Count(n) => n.min(layers),
            _ => layers,
        };
        if let Some(g) = bare.gpus.first().filter(|_| on_gpu > 0) {
            classes.push(device_class(g.api, g.memory_tech, g.vendor));
            lpddr_decoded |= m.phase == Phase::Decode && lpddr_shared(g);
        }
        if bare.gpus.is_empty() || on_gpu < layers {
            classes.push(cpu_class);
        }
        cases.push(Case::new(
            Scored {
                source: source.to_string(),
                hardware: "this machine".into(),
                engine: "llama.cpp".into(),
                device: "this machine".into(),
                model: m.label.clone(),
                quant: m.weights.quant.name(),
                gpus: bare.gpus.len(),
                backend: String::new(),
                class: String::new(),
                test: m.test.clone(),
                phase: m.phase,
                measured: m.measured,
                predicted: f64::NAN,
                low: f64::NAN,
                high: f64::NAN,
                naive: f64::NAN,
            },
            vec![run],
        ));
    }
    if cases.is_empty() {
        return Err(CalibrateError::NothingUsable(reasons.join("; ")));
    }
    let mut fitted = refit_with(
        &cases,
        &start,
        &Scope {
            global: false,
            class_factors: weight_classes(measured) > 1,
            min_main: 1,
            min_fixed: fixed_rows(distinct_models(measured)),
        },
    );
    let prompt_weight = prompt_shrink(prompt_pairs(measured));
    let carried = carry_prompt_shares(&mut fitted, &start, prompt_weight);
    let before = score(&cases, &start);
    let after = score(&cases, &fitted);
    classes.sort_unstable();
    classes.dedup();
    let backends: BTreeMap<String, _> = classes
        .iter()
        .map(|&c| (DEVICE_CLASSES[c].to_string(), fitted.backends[c]))
        .collect();
    let rows = before
        .iter()
        .zip(&after)
        .map(|(b, a)| Compared {
            model: b.model.clone(),
            test: b.test.clone(),
            phase: b.phase,
            measured: b.measured,
            before: b.predicted,
            after: a.predicted,
        })
        .collect();
    Ok(Outcome {
        calibration: Calibration {
            date: date.to_string(),
            source: source.to_string(),
            rows: cases.len(),
            error_before: stats(before.iter()).median,
            error_after: stats(after.iter()).median,
            backends,
            class_factor: (weight_classes(measured) > 1).then(|| fitted.class_factor.to_vec()),
            lpddr_bw: lpddr_decoded.then_some(fitted.lpddr_bw),
            cpu: classes.contains(&CPU_CLASS).then_some(fitted.cpu),
        },
        rows,
        prompt_weight,
        carried,
    })
}

/// One machine of the calibration data calibrated on one model and quant, and scored on its other
/// results: the check that a user's calibration carries over to the models they did not run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Holdout {
    /// The device (catalog id).
    pub device: String,
    /// The source of the machine's results.
    pub source: String,
    /// The backend.
    pub backend: String,
    /// The model and quant calibrated on.
    pub trained_on: String,
    /// Rows calibrated on.
    pub train_rows: usize,
    /// The other rows, decode: (count, median error with the starting constants, calibrated).
    pub decode: (usize, f64, f64),
    /// The same for prefill.
    pub prefill: (usize, f64, f64),
}

/// For every machine of `cases` (one device, GPU count, backend and source: one person's runs)
/// with results for at least two model–quant pairs: calibrates on the pair with most results
/// (`prefer`, when the machine has it) and scores the others before and after.
///
/// `starts`: the constants each machine starts from, by its device's fold
/// ([`crate::accuracy::device_fold_params`]: fitted without the device, as for a machine llmrig
/// has never seen); `None` starts every machine from the shipped constants, which were fitted on
/// its rows and flatter the "before" figures.
#[must_use]
pub fn holdouts(
    cases: &[Case],
    prefer: Option<(&str, &str)>,
    starts: Option<&[Option<SpeedParams>]>,
) -> Vec<Holdout> {
    let key = |c: &Case| {
        let m = c.meta();
        (
            m.device.clone(),
            m.gpus,
            m.backend.clone(),
            m.source.clone(),
        )
    };
    let mut machines: Vec<_> = cases
        .iter()
        .filter(|c| c.meta().engine == "llama.cpp")
        .map(key)
        .collect();
    machines.sort();
    machines.dedup();
    let shipped = SpeedParams::default();
    let mut out = Vec::new();
    for mk in machines {
        let start = starts
            .and_then(|s| s.get(crate::accuracy::device_fold(&mk.0)))
            .and_then(Option::as_ref)
            .unwrap_or(&shipped);
        let rows: Vec<&Case> = cases.iter().filter(|c| key(c) == mk).collect();
        let pair = |c: &Case| (c.meta().model.clone(), c.meta().quant.clone());
        let mut pairs: Vec<(String, String)> = rows.iter().map(|c| pair(c)).collect();
        pairs.sort();
        let count = |p: &(String, String)| rows.iter().filter(|c| &pair(c) == p).count();
        pairs.dedup();
        if pairs.len() < 2 {
            continue;
        }
        let chosen = prefer
            .and_then(|(m, q)| pairs.iter().find(|p| p.0 == m && p.1 == q).cloned())
            .unwrap_or_else(|| {
                pairs
                    .iter()
                    .max_by_key(|p| (count(p), std::cmp::Reverse((*p).clone())))
                    .cloned()
                    .unwrap_or_default()
            });
        let (train, test): (Vec<Case>, Vec<Case>) = rows
            .iter()
            .map(|c| (*c).clone())
            .partition(|c| pair(c) == chosen);
        if test.len() < 4 {
            continue;
        }
        let mut fitted = refit_with(
            &train,
            start,
            &Scope {
                global: false,
                class_factors: false,
                min_main: 1,
                min_fixed: fixed_rows(distinct(train.iter().map(|c| c.meta().model.as_str()))),
            },
        );
        // One pair trained on.
        let _ = carry_prompt_shares(&mut fitted, start, prompt_shrink(1));
        let (before, after) = (score(&test, start), score(&test, &fitted));
        let phase = |ph: Phase| {
            let b = stats(before.iter().filter(|r| r.phase == ph));
            let a = stats(after.iter().filter(|r| r.phase == ph));
            (b.n, b.median, a.median)
        };
        out.push(Holdout {
            device: mk.0,
            source: mk.3,
            backend: mk.2,
            trained_on: format!("{} {}", chosen.0, chosen.1),
            train_rows: train.len(),
            decode: phase(Phase::Decode),
            prefill: phase(Phase::Prefill),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One pair's prompt fit moves the shares about two thirds of the way, more pairs further,
    /// never past the fit. They move in log terms: half the way to four times the share is twice it;
    /// the decode constants stay at the fit.
    #[test]
    fn prompt_shares_move_further_with_more_pairs() {
        let one = prompt_shrink(1);
        assert!((one - 0.65).abs() < 0.01, "{one}");
        assert!(prompt_shrink(0) == one);
        assert!(prompt_shrink(2) > one && prompt_shrink(4) > prompt_shrink(2));
        assert!(prompt_shrink(1000) < 1.0 && prompt_shrink(1000) > 0.99);
        let start = SpeedParams::default();
        let mut fitted = start.clone();
        fitted.backends[0].pp_quant = start.backends[0].pp_quant * 4.0;
        fitted.backends[0].bw = 0.5;
        shrink_prompt_shares(&mut fitted, &start, 0.5);
        let moved = fitted.backends[0].pp_quant / start.backends[0].pp_quant;
        assert!((moved - 2.0).abs() < 1e-9, "{moved}");
        assert_eq!(fitted.backends[0].bw, 0.5);
        assert_eq!(fitted.backends[1], start.backends[1]);
    }

    /// A Mac's run of F16 weights moves its quantized prompt share with the float one, by the
    /// slope on the whole move, while the float share itself moves `alpha` of the way; a CUDA
    /// machine's F16 run leaves its quantized share, and a run of both kinds carries nothing.
    #[test]
    fn apple_float_runs_move_the_quantized_prompt_share() {
        let class = |n: &str| DEVICE_CLASSES.iter().position(|c| *c == n).unwrap();
        let (metal, cuda) = (class("metal"), class("cuda-gddr"));
        let start = SpeedParams::default();
        let mut fitted = start.clone();
        fitted.backends[metal].pp_float = start.backends[metal].pp_float * 2.0;
        fitted.backends[cuda].pp_float = start.backends[cuda].pp_float * 2.0;
        let carried = carry_prompt_shares(&mut fitted, &start, 0.5);
        let ratio = |b: &llmrig_core::estimate::BackendParams,
                     s: &llmrig_core::estimate::BackendParams| {
            (b.pp_float / s.pp_float, b.pp_quant / s.pp_quant)
        };
        let (float, quant) = ratio(&fitted.backends[metal], &start.backends[metal]);
        assert!((float - 2f64.sqrt()).abs() < 1e-9, "{float}");
        let (slope, _) = shared_prompt_slope(metal);
        assert!((quant - 2f64.powf(slope)).abs() < 1e-9, "{quant}");
        assert!(slope > 0.9, "{slope}");
        let (float, quant) = ratio(&fitted.backends[cuda], &start.backends[cuda]);
        assert!(
            (float - 2f64.sqrt()).abs() < 1e-9 && quant == 1.0,
            "{float} {quant}"
        );
        assert_eq!(carried.len(), 1, "{carried:?}");
        assert!(
            carried[0].starts_with("metal: the quantized"),
            "{carried:?}"
        );
        // A quantized run moves the float share by the other slope, a smaller one.
        let mut fitted = start.clone();
        fitted.backends[metal].pp_quant = start.backends[metal].pp_quant * 2.0;
        let _ = carry_prompt_shares(&mut fitted, &start, 0.5);
        let (float, _) = ratio(&fitted.backends[metal], &start.backends[metal]);
        let (_, back) = shared_prompt_slope(metal);
        assert!(
            back < slope && (float - 2f64.powf(back)).abs() < 1e-9,
            "{float}"
        );
        // Both kinds measured: each moves alone.
        let mut fitted = start.clone();
        fitted.backends[metal].pp_quant = start.backends[metal].pp_quant * 4.0;
        fitted.backends[metal].pp_float = start.backends[metal].pp_float * 0.25;
        assert!(carry_prompt_shares(&mut fitted, &start, 0.5).is_empty());
        let (float, quant) = ratio(&fitted.backends[metal], &start.backends[metal]);
        assert!((float - 0.5).abs() < 1e-9 && (quant - 2.0).abs() < 1e-9);
    }
}
