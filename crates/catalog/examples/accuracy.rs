//! Prints the speed model's error on the calibration data: `cargo run -p llmrig-catalog --example accuracy [-- --rows]`.
#![allow(clippy::print_stdout)]

use llmrig_catalog::accuracy::{fit_knobs, objective, prepare, refit, score, stats, Knob, Phase};
use llmrig_core::estimate::SpeedParams;

fn main() {
    let (cases, skipped) = prepare();
    // `--hold-models=A,B`: those models' rows stay out of `--fit-class`'s fit, and their Vulkan
    // prompt rows are scored with the constants before and after it (a hold-out for a term that
    // only one machine's rows inform).
    let held: Vec<String> = std::env::args()
        .find_map(|a| a.strip_prefix("--hold-models=").map(String::from))
        .map(|l| l.split(',').map(String::from).collect())
        .unwrap_or_default();
    let (held_cases, cases): (Vec<_>, Vec<_>) = cases
        .into_iter()
        .partition(|c| held.contains(&c.meta().model));
    let mut params = SpeedParams::default();
    if std::env::args().any(|a| a == "--refit") {
        params = refit(&cases, &SpeedParams::prior());
        println!("refitted constants (paste into SpeedParams::default in crates/core/src/estimate/speed.rs):\n{params:#?}");
    }
    if std::env::args().any(|a| a == "--fit-moe-step") {
        // `--fit-moe-step`: the MoE layers' per-token cost alone, every other constant as
        // shipped (a full refit moves the prompt shares the MoE rows disagree with).
        let fitted: Vec<_> = cases
            .iter()
            .filter(|c| c.meta().engine == "llama.cpp")
            .cloned()
            .collect();
        let best = (10..=80)
            .map(|i| f64::from(i) * 0.05)
            .map(|m| {
                let mut p = params.clone();
                p.moe_step = m;
                (objective(&score(&fitted, &p)), m)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap_or_default();
        println!("moe_step {:.2} (objective {:.4})", best.1, best.0);
        return;
    }
    if std::env::args().any(|a| a == "--fit-nofa-kv") {
        // `--fit-nofa-kv`: the share of a grouped-query layer's cache re-reads that miss without
        // flash attention, with the cache's read efficiency and the per-token cost without flash
        // attention, from the prior's values, every other constant as shipped.
        let prior = SpeedParams::prior();
        params.nofa_kv_reread = prior.nofa_kv_reread;
        let knobs: Vec<Knob> = vec![
            (Box::new(|p| &mut p.nofa_kv_reread), 0.01, 1.0),
            (Box::new(|p| &mut p.kv_factor), 0.1, 1.5),
            (Box::new(|p| &mut p.no_fa_step), 0.5, 3.0),
        ];
        let p = fit_knobs(&cases, &params, &knobs);
        println!(
            "nofa_kv_reread {:.4}, kv_factor {:.4}, no_fa_step {:.4}",
            p.nofa_kv_reread, p.kv_factor, p.no_fa_step
        );
        return;
    }
    if std::env::args().any(|a| a == "--fit-moe-tile-rdna") {
        // `--fit-moe-tile-rdna`: RDNA's expert tile fill under WMMA MMQ alone, from the prior's
        // value, every other constant as shipped; `--held-out=MODEL,MODEL`: fitted without those
        // models' rows, then their Strix Halo ROCm prompt rows scored without the term and with
        // it (`accuracy::rdna_tile_holdout`).
        let held: String = std::env::args()
            .find_map(|a| a.strip_prefix("--held-out=").map(String::from))
            .unwrap_or_default();
        let held: Vec<&str> = held.split(',').filter(|m| !m.is_empty()).collect();
        let (p, before, after) = llmrig_catalog::accuracy::rdna_tile_holdout(&cases, &held);
        println!("moe_tile (MMQ, Vulkan, RDNA WMMA) {:.1?}", p.moe_tile);
        if !held.is_empty() {
            for (name, s) in [("without the term", before), ("fitted without them", after)] {
                println!(
                    "{name}: {} rows, median {:.1}% p90 {:.1}%",
                    s.n,
                    s.median * 100.0,
                    s.p90 * 100.0
                );
            }
        }
        return;
    }
    if std::env::args().any(|a| a == "--fit-moe-tile") {
        // `--fit-moe-tile`: the expert products' tile fill (and with `--with-attn` the attention
        // shares of the classes with long-prompt rows, as `refit` moves them) alone, from the
        // prior's values, every other constant as shipped.
        let prior = SpeedParams::prior();
        params.moe_tile = prior.moe_tile;
        params.attn_share = prior.attn_share;
        let mut knobs: Vec<Knob> = Vec::new();
        for b in 0..3 {
            knobs.push((Box::new(move |p| &mut p.moe_tile[b]), 0.0, 128.0));
        }
        if std::env::args().any(|a| a == "--with-attn") {
            for b in [0, 1, 2, 4, 5] {
                knobs.push((Box::new(move |p| &mut p.attn_share[b]), 0.05, 4.0));
            }
        }
        let p = fit_knobs(&cases, &params, &knobs);
        println!(
            "moe_tile (MMQ, Vulkan, RDNA WMMA) {:.1?}, attn_share {:.3?}",
            p.moe_tile, p.attn_share
        );
        return;
    }
    if let Some(list) =
        std::env::args().find_map(|a| a.strip_prefix("--fit-class=").map(String::from))
    {
        // `--fit-class=6,8`: the constants of the listed device classes (indices into
        // DEVICE_CLASSES) alone, every other constant as shipped: how a new class is fitted
        // (`--prompt-only`: their prompt constants; `--with-attn`: their attention shares too;
        // `--with-rdna-tile`: and RDNA's expert tile under WMMA MMQ, `moe_tile[2]`).
        let prompt_only = std::env::args().any(|a| a == "--prompt-only");
        let with_attn = std::env::args().any(|a| a == "--with-attn");
        let mut knobs: Vec<Knob> = Vec::new();
        for b in list.split(',').filter_map(|x| x.parse::<usize>().ok()) {
            if !prompt_only {
                knobs.push((Box::new(move |p| &mut p.backends[b].bw), 0.3, 1.0));
                knobs.push((Box::new(move |p| &mut p.backends[b].step_s), 1e-5, 10e-3));
            }
            knobs.push((Box::new(move |p| &mut p.backends[b].pp_quant), 0.02, 2.0));
            knobs.push((Box::new(move |p| &mut p.backends[b].pp_float), 0.02, 2.0));
            knobs.push((Box::new(move |p| &mut p.backends[b].ubatch_s), 1e-5, 50e-3));
            if with_attn {
                knobs.push((Box::new(move |p| &mut p.attn_share[b]), 0.05, 4.0));
            }
        }
        if std::env::args().any(|a| a == "--with-rdna-tile") {
            knobs.push((Box::new(|p| &mut p.moe_tile[2]), 0.0, 256.0));
        }
        if std::env::args().any(|a| a == "--with-amdvlk") {
            // `--with-amdvlk`: and AMDVLK's factor on the large Vulkan tiles (`amdvlk_tiles`).
            params.amdvlk_tiles = SpeedParams::prior().amdvlk_tiles;
            knobs.push((Box::new(|p| &mut p.amdvlk_tiles), 0.05, 2.0));
        }
        if std::env::args().any(|a| a == "--with-vk-scalar-fa") {
            // `--with-vk-scalar-fa`: and ggml-vulkan's scalar flash attention on matrix cores
            // (`vk_scalar_fa`).
            params.vk_scalar_fa = SpeedParams::prior().vk_scalar_fa;
            knobs.push((Box::new(|p| &mut p.vk_scalar_fa), 0.02, 2.0));
        }
        if std::env::args().any(|a| a == "--with-mmq-tile") {
            // `--with-mmq-tile`: and the MMQ kernels' weight-tile cost in tokens (`mmq_tile`).
            params.mmq_tile = SpeedParams::prior().mmq_tile;
            knobs.push((Box::new(|p| &mut p.mmq_tile), 0.0, 256.0));
        }
        if std::env::args().any(|a| a == "--with-amd-fa") {
            // `--with-amd-fa`: and the HIP flash attention on AMD's matrix cores over the tile
            // kernel (`amd_fa_matrix`).
            params.amd_fa_matrix = SpeedParams::prior().amd_fa_matrix;
            knobs.push((Box::new(|p| &mut p.amd_fa_matrix), 0.2, 8.0));
        }
        let p = fit_knobs(&cases, &params, &knobs);
        if !held_cases.is_empty() {
            for (label, q) in [("before", &params), ("after", &p)] {
                let rows = score(&held_cases, q);
                let sel = rows
                    .iter()
                    .filter(|r| r.phase == Phase::Prefill && r.backend == "vulkan");
                let s = stats(sel.clone());
                println!(
                    "held-out {held:?} Vulkan prompts, {label}: {} rows, median {:.1}%, p90 {:.1}%",
                    s.n,
                    s.median * 100.0,
                    s.p90 * 100.0
                );
                for r in sel {
                    println!(
                        "  {:<28} {:<10} {:<16} measured {:>8.1} predicted {:>8.1}",
                        r.model, r.quant, r.test, r.measured, r.predicted
                    );
                }
            }
        }
        for (n, b) in llmrig_core::estimate::DEVICE_CLASSES
            .iter()
            .zip(&p.backends)
        {
            println!("  {n}: {b:?}");
        }
        println!(
            "attn_share {:.3?} moe_tile {:.1?} amdvlk_tiles {:.3} amd_fa_matrix {:.3} vk_scalar_fa {:.3} mmq_tile {:.2}",
            p.attn_share, p.moe_tile, p.amdvlk_tiles, p.amd_fa_matrix, p.vk_scalar_fa, p.mmq_tile
        );
        params = p;
    }
    if std::env::args().any(|a| a == "--fit-step-exp") {
        // `--fit-step-exp`: how the per-token cost scales with the GPU, with each class's
        // per-token cost and bandwidth share, every other constant as shipped.
        let control = std::env::args().any(|a| a == "--control");
        params.step_exp = if control {
            0.0
        } else {
            SpeedParams::prior().step_exp
        };
        let mut knobs: Vec<Knob> = Vec::new();
        if !control {
            knobs.push((Box::new(|p| &mut p.step_exp), 0.01, 1.5));
        }
        for b in 0..llmrig_core::estimate::N_CLASSES {
            knobs.push((Box::new(move |p| &mut p.backends[b].step_s), 1e-5, 10e-3));
            if std::env::args().any(|a| a == "--with-bw") {
                knobs.push((Box::new(move |p| &mut p.backends[b].bw), 0.3, 1.0));
            }
        }
        let p = fit_knobs(&cases, &params, &knobs);
        println!("step_exp {:.3}", p.step_exp);
        print_decode_constants(&p);
        params = p;
    }
    if std::env::args().any(|a| a == "--fit-lpddr") {
        // `--fit-lpddr`: the shared LPDDR's bandwidth share (`lpddr_bw`) with the bandwidth
        // shares and per-token costs of the classes whose GPUs on LPDDR moved to it, every other
        // constant as shipped.
        params.lpddr_bw = SpeedParams::prior().lpddr_bw;
        let mut knobs: Vec<Knob> = vec![(Box::new(|p| &mut p.lpddr_bw), 0.3, 1.0)];
        let mut classes: Vec<usize> = cases
            .iter()
            .filter_map(|c| c.system().gpus.first().cloned())
            .filter(llmrig_core::estimate::lpddr_shared)
            .map(|g| llmrig_core::estimate::device_class(g.api, g.memory_tech, g.vendor))
            .collect();
        classes.sort_unstable();
        classes.dedup();
        for b in classes {
            knobs.push((Box::new(move |p| &mut p.backends[b].bw), 0.3, 1.0));
            knobs.push((Box::new(move |p| &mut p.backends[b].step_s), 1e-5, 10e-3));
        }
        let p = fit_knobs(&cases, &params, &knobs);
        println!("lpddr_bw {:.4}", p.lpddr_bw);
        print_decode_constants(&p);
        params = p;
    }
    if std::env::args().any(|a| a == "--amd-fa-rows") {
        // `--amd-fa-rows`: the deep prompts whose flash attention runs on AMD's matrix cores
        // (the rows that inform `amd_fa_matrix`), by device and source.
        let mut n = std::collections::BTreeMap::new();
        for c in cases
            .iter()
            .filter(|c| llmrig_catalog::accuracy::amd_fa_on_matrix(c))
        {
            let m = c.meta();
            *n.entry((m.device.clone(), m.source.clone())).or_insert(0) += 1;
        }
        for ((device, source), k) in n {
            println!("{k:>4} {device} {source}");
        }
        return;
    }
    // `--fold=DEVICE` / `--source-fold=SOURCE` (as `llmrig accuracy` shortens it): the constants
    // of the device-out or source-out fold that holds it, and the fold's devices or sources.
    use llmrig_catalog::accuracy::{device_fold, source_fold, Scored};
    let by_device = |m: &Scored| m.device.clone();
    let by_source = |m: &Scored| m.source.clone();
    for (flag, group, fold_of) in [
        (
            "--fold=",
            &by_device as &dyn Fn(&Scored) -> String,
            device_fold as fn(&str) -> usize,
        ),
        ("--source-fold=", &by_source, source_fold),
    ] {
        let Some(name) = std::env::args().find_map(|a| a.strip_prefix(flag).map(String::from))
        else {
            continue;
        };
        let f = fold_of(&name);
        let (test, train): (Vec<_>, Vec<_>) = cases
            .iter()
            .cloned()
            .partition(|c| fold_of(&group(c.meta())) == f);
        let mut names: Vec<_> = test.iter().map(|c| group(c.meta())).collect();
        names.sort();
        names.dedup();
        println!("fold {f}: {names:?}");
        let p = refit(&train, &SpeedParams::prior());
        println!("{p:#?}");
        // The held-out fold's own figures, per phase and backend, so that a change can be judged
        // on one fold in a minute rather than on all twenty in ten.
        let rows = score(&test, &p);
        if std::env::args().any(|a| a == "--rows") {
            // `--rows`: each held-out row, measured over predicted.
            for r in &rows {
                println!(
                    "row {} {} {} {} {} {:?} measured {:.2} predicted {:.2} ratio {:.2}",
                    r.device,
                    r.backend,
                    r.model,
                    r.quant,
                    r.test,
                    r.phase,
                    r.measured,
                    r.predicted,
                    r.measured / r.predicted
                );
            }
        }
        let mut backends: Vec<&str> = rows.iter().map(|r| r.backend.as_str()).collect();
        backends.sort_unstable();
        backends.dedup();
        for phase in [Phase::Decode, Phase::Prefill] {
            for b in std::iter::once("all").chain(backends.iter().copied()) {
                let sel = rows
                    .iter()
                    .filter(|r| r.phase == phase && (b == "all" || r.backend == b));
                let s = stats(sel);
                if s.n > 0 {
                    println!(
                        "held out {phase:?} {b}: {} rows, median {:.2}%, p90 {:.2}%",
                        s.n,
                        100.0 * s.median,
                        100.0 * s.p90
                    );
                }
            }
        }
        return;
    }
    if std::env::args().any(|a| a == "--holdouts") {
        // `--holdouts`: each machine starts from its device-out fold's constants (a machine llmrig
        // has never seen); `--holdouts --shipped` from the shipped ones (fitted on its rows).
        let folds = (!std::env::args().any(|a| a == "--shipped"))
            .then(|| llmrig_catalog::accuracy::device_fold_params(&cases));
        let h = llmrig_catalog::calibrate::holdouts(
            &cases,
            Some(("llama-3.1-8b", "Q8_0")),
            folds.as_deref(),
        );
        for m in &h {
            println!(
                "{:<28} {:<48} {:<7} on {:<28} ({:>3} rows) | decode {:>3} rows {:>6.1}% -> {:>6.1}% | prefill {:>3} rows {:>6.1}% -> {:>6.1}%",
                m.device, m.source, m.backend, m.trained_on, m.train_rows,
                m.decode.0, m.decode.1 * 100.0, m.decode.2 * 100.0,
                m.prefill.0, m.prefill.1 * 100.0, m.prefill.2 * 100.0
            );
        }
        return;
    }
    let rows = if std::env::args().any(|a| a == "--cv") {
        println!("device-out cross-validation: each device's rows predicted by constants fitted without it");
        llmrig_catalog::accuracy::cross_validate(&cases)
    } else if std::env::args().any(|a| a == "--cv-sources") {
        println!("source-out cross-validation: each source's rows predicted by constants fitted without it");
        llmrig_catalog::accuracy::cross_validate_sources(&cases)
    } else {
        score(&cases, &params)
    };
    println!(
        "objective (mean |ln error| decode + prefill): {:.4}",
        objective(&rows)
    );
    let show_rows = std::env::args().any(|a| a == "--rows");
    if show_rows {
        for r in &rows {
            println!(
                "{:<40} {:<22} {:<9} {}x {:<16} measured {:>9.2} predicted {:>9.2} ({:+.0}%) naive {:>9.2}",
                r.hardware, r.model, r.quant, r.gpus, r.test, r.measured, r.predicted,
                (r.predicted / r.measured - 1.0) * 100.0, r.naive
            );
        }
    }
    let mut sources: Vec<String> = rows.iter().map(|r| r.source.clone()).collect();
    sources.sort();
    sources.dedup();
    println!(
        "{:<44} {:>5} {:>8} {:>8} {:>8} {:>8}",
        "source / phase", "rows", "median", "p90", "naive", "naive90"
    );
    for phase in [Phase::Decode, Phase::Prefill] {
        for src in sources.iter().map(Some).chain([None]) {
            let sel: Vec<_> = rows
                .iter()
                .filter(|r| {
                    r.phase == phase && src.map_or(r.engine == "llama.cpp", |s| &r.source == s)
                })
                .collect();
            if sel.is_empty() {
                continue;
            }
            let s = stats(sel.iter().copied());
            println!(
                "{:<44} {:>5} {:>7.1}% {:>7.1}% {:>7.1}% {:>7.1}%",
                format!("{} {:?}", src.map_or("ALL", |s| s.as_str()), phase),
                s.n,
                s.median * 100.0,
                s.p90 * 100.0,
                s.naive_median * 100.0,
                s.naive_p90 * 100.0
            );
        }
    }
    println!("skipped {} rows", skipped.len());
    if std::env::args().any(|a| a == "--skipped") {
        for s in &skipped {
            println!("  skipped: {} — {}", s.row, s.reason);
        }
    }
    let mut reasons: Vec<&str> = skipped.iter().map(|s| s.reason.as_str()).collect();
    reasons.sort_unstable();
    reasons.dedup();
    for r in reasons {
        println!(
            "  {r}: {}",
            skipped.iter().filter(|s| s.reason == r).count()
        );
    }
}

/// Each device class's decode constants: bandwidth share and per-token cost.
fn print_decode_constants(p: &SpeedParams) {
    for (n, b) in llmrig_core::estimate::DEVICE_CLASSES
        .iter()
        .zip(&p.backends)
    {
        println!("  {n}: bw {:.4} step_s {:.6}", b.bw, b.step_s);
    }
}
