//! `llmrig need MODEL`: the hardware that runs a model at a context, speed and number of users,
//! cheapest first. Every option is a machine `llmrig estimate` would build from the same flags
//! (`--gpu NxDEVICE --ram SIZE`, `--gpu CHIP:SIZE`, `--no-gpu --cpu CPU --ram SIZE`) and is
//! estimated on the same path, so `estimate` confirms each one; prices are the catalog's launch
//! prices with their source and date (`data/prices.csv`). With `--engine vllm|sglang` the options
//! are GPU nodes (1, 2, 4 or 8 GPUs, then 2–4 nodes of 8) planned as `llmrig plan` plans them.

use std::fmt::Write as _;

use anyhow::Result;
use llmrig_catalog::{devices, prices, DeviceEntry, EntryKind};
use llmrig_core::estimate::{estimate, Estimate, GpuLayers, Settings, Verdict};
use serde::Serialize;

use crate::args::values::{GpuArg, NeedEngine};
use crate::args::{MachineArgs, NeedArgs};
use crate::launch::Launcher;
use crate::options;
use crate::render::{self, gib, json, table};
use llmrig_core::quant::Quant;
use llmrig_core::serve::{plan_serving, Engine, Fit, InterNode, ServeSettings};

const GIB: u64 = 1 << 30;

/// System RAM given to a GPU host: a desktop's 64 GiB for one or two cards, a workstation's
/// 128 GiB for up to four, a server's 256 GiB beyond.
fn host_ram(gpus: u32) -> u64 {
    match gpus {
        0..=2 => 64 * GIB,
        3..=4 => 128 * GIB,
        _ => 256 * GIB,
    }
}

/// RAM sizes a CPU server is offered with, GiB.
const SERVER_RAM_GIB: [u64; 8] = [64, 128, 192, 256, 384, 512, 768, 1024];

/// One piece of hardware in an option.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    /// Catalog device id.
    pub device: String,
    /// How many.
    pub count: u32,
}

/// One way to run the model.
#[derive(Debug, Clone, Serialize)]
pub struct NeedOption {
    /// `gpu`, `unified` or `cpu`.
    pub kind: &'static str,
    /// The devices.
    pub hardware: Vec<Part>,
    /// System RAM, bytes.
    pub ram_bytes: u64,
    /// The CPU (for a CPU server), or the host's.
    pub cpu: Option<String>,
    /// Memory the plan takes over all devices, bytes.
    pub memory_bytes: u64,
    /// Layers on GPUs.
    pub gpu_layers: u32,
    /// Generation speed, tokens/s.
    pub decode_tokens_per_s: f64,
    /// Prompt speed, tokens/s.
    pub prefill_tokens_per_s: f64,
    /// `works-well`, `usable` or `slow`.
    pub verdict: Verdict,
    /// The hardware's launch price, USD (GPUs: per card times the count), when published.
    pub price_usd: Option<f64>,
    /// The price is that of a smaller base configuration: a lower bound.
    pub price_lower_bound: bool,
    /// Where the price comes from.
    pub price_source: Option<String>,
    /// The price's date.
    pub price_date: Option<String>,
    /// `llama.cpp`, `vllm` or `sglang`.
    pub engine: &'static str,
    /// The command that starts the plan (llama-server, `vllm serve`, SGLang's launch_server).
    pub launch: String,
    /// The flags that check this option: `llmrig estimate MODEL` (llama.cpp) or `llmrig plan
    /// MODEL` (vLLM, SGLang) + these.
    pub estimate_args: Vec<String>,
    /// That command in full.
    pub check: String,
    /// Why it qualifies.
    pub why: String,
    #[serde(skip)]
    label: String,
}

/// The JSON document (DESIGN.md `need --json`).
#[derive(Serialize)]
struct NeedJson<'a> {
    schema_version: u32,
    model: serde_json::Value,
    quant: serde_json::Value,
    target: Target,
    options: &'a [NeedOption],
    notes: Vec<String>,
}

#[derive(Serialize)]
struct Target {
    ctx: u64,
    tokens_per_s: f64,
    users: u32,
    engine: &'static str,
}

/// GPU counts per node and node counts tried for vLLM/SGLang, fewest GPUs first: TP sizes the
/// engines take (powers of two), then whole nodes of 8.
const SERVED_SHAPES: [(u32, u32); 7] = [(1, 1), (2, 1), (4, 1), (8, 1), (8, 2), (8, 3), (8, 4)];

/// A candidate machine: its `llmrig estimate` flags and how `MachineArgs` spells them.
struct Candidate {
    kind: &'static str,
    parts: Vec<Part>,
    machine: MachineArgs,
    flags: Vec<String>,
    label: String,
    price: Option<(f64, &'static prices::Price)>,
}

fn gpu_candidate(e: &'static DeviceEntry, n: u32) -> Candidate {
    let ram = host_ram(n);
    Candidate {
        kind: "gpu",
        parts: vec![Part {
            device: e.id.clone(),
            count: n,
        }],
        machine: MachineArgs {
            gpu: vec![GpuArg {
                count: n as usize,
                entry: e,
                memory_bytes: None,
            }],
            ram: Some(ram),
            ..MachineArgs::default()
        },
        flags: vec![
            "--gpu".into(),
            format!("{n}x {}", e.id),
            "--ram".into(),
            format!("{}GiB", ram / GIB),
        ],
        label: format!("{n}× {}", e.name),
        price: prices::price(&e.id).map(|p| (p.price_usd * f64::from(n), p)),
    }
}

fn unified_candidate(e: &'static DeviceEntry, gb: f64) -> Candidate {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let bytes = (gb * GIB as f64) as u64;
    Candidate {
        kind: "unified",
        parts: vec![Part {
            device: e.id.clone(),
            count: 1,
        }],
        machine: MachineArgs {
            gpu: vec![GpuArg {
                count: 1,
                entry: e,
                memory_bytes: Some(bytes),
            }],
            ..MachineArgs::default()
        },
        flags: vec!["--gpu".into(), format!("{}:{gb}GiB", e.id)],
        label: format!("{} {gb} GB", e.name),
        price: prices::price(&e.id).map(|p| (p.price_usd, p)),
    }
}

fn cpu_candidate(e: &'static DeviceEntry, gib_ram: u64) -> Candidate {
    Candidate {
        kind: "cpu",
        parts: vec![Part {
            device: e.id.clone(),
            count: 1,
        }],
        machine: MachineArgs {
            no_gpu: true,
            cpu: Some(e),
            ram: Some(gib_ram * GIB),
            ..MachineArgs::default()
        },
        flags: vec![
            "--no-gpu".into(),
            "--cpu".into(),
            e.id.clone(),
            "--ram".into(),
            format!("{gib_ram}GiB"),
        ],
        label: format!("{}, {gib_ram} GB RAM", e.name),
        price: None,
    }
}

/// Estimates the model on a candidate: `Some` when it fits and is fast enough. `base` is the host
/// (or `--system` file) detected once for all candidates.
fn check(
    model: &options::ResolvedModel,
    s: &Settings,
    c: &Candidate,
    tps: f64,
    base: &llmrig_detect::Detected,
) -> Option<(Estimate, llmrig_core::system::SystemSpec)> {
    let (sys, _) = options::machine_from(&c.machine, base.clone(), true).ok()?;
    let e = estimate(&model.weights, &sys, s).ok()?;
    (e.verdict != Verdict::DoesNotFit && e.performance.decode_tokens_per_s >= tps)
        .then_some((e, sys))
}

/// Runs `need`.
pub fn run(a: &NeedArgs, as_json: bool) -> Result<String> {
    if a.engine != NeedEngine::LlamaCpp {
        return served(a, as_json);
    }
    let model = options::model(&a.model, a.quant.as_deref())?;
    let settings = Settings {
        ctx: Some(a.ctx),
        parallel: a.users,
        gpu_layers: GpuLayers::Auto,
        ..Settings::default()
    };
    llmrig_core::estimate::check_settings(&model.weights.spec, &settings, &Default::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let tps = a.tps;
    let base = options::detect(&MachineArgs {
        system: a.system.clone(),
        ..MachineArgs::default()
    })?;
    let mut found: Vec<NeedOption> = Vec::new();
    let mut keep = |c: Candidate, e: &Estimate, sys: &llmrig_core::system::SystemSpec| {
        let launch = crate::commands::estimate::launch_for(
            Launcher::LlamaCpp,
            &model,
            &settings,
            e,
            sys,
            Vec::new(),
        )
        .unwrap_or_default();
        let where_ = llmrig_catalog::recommend::where_placed(e, sys);
        found.push(NeedOption {
            kind: c.kind,
            hardware: c.parts,
            ram_bytes: sys.cpu.ram_bytes,
            cpu: (c.kind == "cpu").then(|| sys.cpu.name.clone()),
            memory_bytes: e.memory.total_bytes,
            gpu_layers: e.offload.gpu_layers,
            decode_tokens_per_s: e.performance.decode_tokens_per_s,
            prefill_tokens_per_s: e.performance.prefill_tokens_per_s,
            verdict: e.verdict,
            price_usd: c.price.map(|p| p.0),
            price_lower_bound: c.price.is_some_and(|p| p.1.lower_bound()),
            price_source: c.price.map(|p| p.1.source.clone()),
            price_date: c.price.map(|p| p.1.date.clone()),
            engine: "llama.cpp",
            launch,
            check: check_line("estimate", &a.model, &c.flags, a.ctx, a.users),
            estimate_args: c.flags,
            why: format!(
                "{where_}, {} of memory, ~{:.0} tok/s",
                gib(e.memory.total_bytes),
                e.performance.decode_tokens_per_s
            ),
            label: c.label,
        });
    };
    let with_host = |mut c: Candidate| {
        c.machine.system.clone_from(&a.system);
        c
    };
    for e in devices().all() {
        match e.kind {
            // The fewest cards of this kind that run it.
            EntryKind::Gpu => {
                for n in 1..=a.max_gpus {
                    let c = with_host(gpu_candidate(e, n));
                    if let Some((est, sys)) = check(&model, &settings, &c, tps, &base) {
                        keep(c, &est, &sys);
                        break;
                    }
                }
            }
            // The smallest memory the chip is sold with that runs it.
            EntryKind::Unified => {
                let mut sizes = e.memory_options_gb.clone();
                if sizes.is_empty() {
                    sizes.extend(e.memory_gb);
                }
                sizes.sort_by(f64::total_cmp);
                for gb in sizes {
                    let c = with_host(unified_candidate(e, gb));
                    if let Some((est, sys)) = check(&model, &settings, &c, tps, &base) {
                        keep(c, &est, &sys);
                        break;
                    }
                }
            }
            // A whole CPU (not a bare RAM configuration) with the least RAM that holds it.
            EntryKind::Cpu => {
                let need = model.weights.total_bytes() / GIB + 8;
                if let Some(&r) = SERVER_RAM_GIB.iter().find(|&&r| r >= need) {
                    let c = with_host(cpu_candidate(e, r));
                    if let Some((est, sys)) = check(&model, &settings, &c, tps, &base) {
                        keep(c, &est, &sys);
                    }
                }
            }
            EntryKind::Memory => {}
        }
    }
    let mut notes = model.notes.clone();
    notes.push(format!(
        "GPU hosts have 64 GiB of RAM (128 GiB for 3-4 GPUs, 256 GiB beyond) and this machine's CPU; {} options checked, {} qualify",
        devices().all().iter().filter(|e| e.kind != EntryKind::Memory).count(),
        found.len()
    ));
    notes.push("prices are launch prices (GPUs: per card × count; Macs: the configuration or, marked \"from\", the base model); street prices differ".into());
    render_options(a, as_json, &model.weights, found, notes)
}

/// The command that checks an option.
fn check_line(command: &str, model: &str, flags: &[String], ctx: u64, users: u32) -> String {
    let mut v = vec![
        "llmrig".to_string(),
        command.to_string(),
        crate::launch::shell_quote(model),
    ];
    v.extend(flags.iter().map(|x| crate::launch::shell_quote(x)));
    if command == "estimate" {
        v.push(format!("-c {ctx}"));
        if users > 1 {
            v.push(format!("-np {users}"));
        }
    }
    v.join(" ")
}

/// Whether the engine runs on this GPU, by the hardware its install guides list: vLLM needs CUDA
/// compute capability 7.0+ (no Pascal), ROCm on Instinct MI200/MI300/MI350 and Radeon RDNA3
/// gfx1100/1101 (RX 7900, 7800 XT, 7700 XT, W7900/W7800) and RDNA4 (RX 9000, AI PRO R9700), or
/// Intel's XPU backend on Arc B-series; SGLang CUDA and Instinct MI300X/MI325X/MI355X. Laptop
/// GPUs are left out: nobody builds a serving node from them.
fn engine_runs(engine: Engine, e: &DeviceEntry) -> bool {
    let n = e.name.to_ascii_lowercase();
    if n.contains("laptop") {
        return false;
    }
    match e.vendor.as_str() {
        "NVIDIA" => !(n.contains("gtx 10") || n.contains("p40") || n.contains("p100")),
        "AMD" => match engine {
            Engine::Vllm => {
                n.contains("instinct mi2")
                    || n.contains("instinct mi3")
                    || [
                        "rx 7900", "rx 7800", "rx 7700", "w7900", "w7800", "rx 90", "r9700",
                    ]
                    .iter()
                    .any(|k| n.contains(k))
            }
            Engine::Sglang => n.contains("instinct mi3"),
        },
        "Intel" => engine == Engine::Vllm && n.contains(" b"),
        _ => false,
    }
}

/// `need --engine vllm|sglang`: for each GPU of the catalog, the fewest GPUs (then nodes of 8)
/// whose serving plan holds every user at the context and decodes each at `--tps`.
#[allow(clippy::too_many_lines)]
fn served(a: &NeedArgs, as_json: bool) -> Result<String> {
    let model = crate::commands::plan::served_model(&a.model, a.quant.as_deref())?;
    let w = &model.weights;
    if let Quant::Gguf(_) = w.quant {
        anyhow::bail!(
            "`-q {}` is a GGUF quant, which {} does not serve: give a format it loads (bf16, fp8, awq, gptq, nvfp4, w4a16) or use --engine llama.cpp",
            a.quant.as_deref().unwrap_or(""),
            a.engine.name()
        );
    }
    let engine = match a.engine {
        NeedEngine::Sglang => Engine::Sglang,
        _ => Engine::Vllm,
    };
    let (target, quantization, needs) = crate::commands::plan::serve_target(&a.model, &model);
    let base = options::detect(&MachineArgs {
        system: a.system.clone(),
        ..MachineArgs::default()
    })?;
    let settings = ServeSettings {
        engine,
        max_model_len: a.ctx,
        users: a.users,
        min_tps: a.tps,
        ..ServeSettings::default()
    };
    let mut found: Vec<NeedOption> = Vec::new();
    let mut checked = 0;
    let runs = devices()
        .all()
        .iter()
        .filter(|e| e.kind == EntryKind::Gpu && engine_runs(engine, e));
    for e in runs {
        checked += 1;
        // Several nodes only of datacenter (HBM) GPUs, which servers pair with a fabric.
        let hbm = e.memory_tech == Some(llmrig_core::system::MemoryTech::Hbm);
        for (n, nodes) in SERVED_SHAPES {
            if n > a.max_gpus || (nodes > 1 && (n < a.max_gpus.min(8) || !hbm)) {
                continue;
            }
            let mut c = gpu_candidate(e, n);
            c.machine.system.clone_from(&a.system);
            let Ok((sys, _)) = options::machine_from(&c.machine, base.clone(), true) else {
                continue;
            };
            let (cluster, _) = crate::commands::plan::cluster(&sys, nodes, InterNode::IbNdr);
            let Ok(plan) = plan_serving(w, &cluster, &settings) else {
                continue;
            };
            let b = &plan.best;
            if b.fit != Fit::Fits || !b.meets_min_tps {
                continue;
            }
            let total = n * nodes;
            let m = &b.memory_per_gpu;
            let per_gpu = m.weights_bytes
                + m.kv_capacity_bytes
                + m.activations_bytes
                + m.cuda_graphs_bytes
                + m.overhead_bytes;
            let mut flags = vec![
                "--gpu".to_string(),
                format!("{n}x {}", e.id),
                "--engine".into(),
                a.engine.name().into(),
                "--users".into(),
                a.users.to_string(),
                "--max-model-len".into(),
                a.ctx.to_string(),
                "--min-tps".into(),
                a.tps.to_string(),
            ];
            if nodes > 1 {
                flags.extend(["--nodes".to_string(), nodes.to_string()]);
            }
            if let Some(q) = &a.quant {
                flags.extend(["-q".to_string(), q.clone()]);
            }
            let p = &b.plan;
            let perf = &b.performance;
            let price = prices::price(&e.id).map(|p| (p.price_usd * f64::from(total), p));
            #[allow(clippy::cast_precision_loss)]
            found.push(NeedOption {
                kind: "gpu",
                hardware: vec![Part {
                    device: e.id.clone(),
                    count: total,
                }],
                ram_bytes: sys.cpu.ram_bytes,
                cpu: None,
                memory_bytes: per_gpu * u64::from(total),
                gpu_layers: w.spec.n_layer,
                decode_tokens_per_s: perf.per_user_decode_tokens_per_s,
                prefill_tokens_per_s: 512.0 / perf.ttft_s.max(1e-9),
                verdict: Verdict::WorksWell,
                price_usd: price.map(|p| p.0),
                price_lower_bound: price.is_some_and(|p| p.1.lower_bound()),
                price_source: price.map(|p| p.1.source.clone()),
                price_date: price.map(|p| p.1.date.clone()),
                engine: a.engine.name(),
                launch: plan.command(None, &target, quantization),
                check: check_line("plan", &a.model, &flags, a.ctx, a.users),
                estimate_args: flags,
                why: format!(
                    "TP{} × PP{}{}{}, {} sequences of {} tokens at once, ~{:.0} tok/s per user",
                    p.tp,
                    p.pp,
                    if p.dp > 1 {
                        format!(" × DP{}", p.dp)
                    } else {
                        String::new()
                    },
                    if p.dp_attention {
                        " with DP attention"
                    } else {
                        ""
                    },
                    b.max_concurrent_seqs,
                    a.ctx,
                    perf.per_user_decode_tokens_per_s
                ),
                label: if nodes > 1 {
                    format!("{nodes} nodes × {n}× {}", e.name)
                } else {
                    format!("{n}× {}", e.name)
                },
            });
            break;
        }
    }
    let mut notes = model.notes.clone();
    notes.extend(needs);
    notes.push(format!(
        "{} plans (as `llmrig plan`) on the {checked} GPUs of the catalog it runs on, 1, 2, 4 or 8 per node, and for datacenter GPUs up to 4 nodes of 8 over InfiniBand NDR; {} qualify",
        a.engine.name(),
        found.len()
    ));
    notes.push("prices are launch prices per card × count where one is published; datacenter GPUs (H100, H200, B200, MI300X …) have none and are listed after the priced options, fewest GPUs first".into());
    render_options(a, as_json, w, found, notes)
}

/// Sorts, picks and renders the options.
fn render_options(
    a: &NeedArgs,
    as_json: bool,
    w: &llmrig_core::estimate::ModelWeights,
    mut found: Vec<NeedOption>,
    notes: Vec<String>,
) -> Result<String> {
    let tps = a.tps;
    // Cheapest first; unpriced options after, the fewest GPUs and least memory first.
    found.sort_by(|x, y| match (x.price_usd, y.price_usd) {
        (Some(p), Some(q)) => p.total_cmp(&q),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => {
            let n = |o: &NeedOption| o.hardware.iter().map(|h| h.count).sum::<u32>();
            n(x).cmp(&n(y)).then(x.memory_bytes.cmp(&y.memory_bytes))
        }
    });
    // The cheapest few, plus the first of each kind further down (a Mac, a CPU server).
    let mut shown: Vec<NeedOption> = found.iter().take(a.top).cloned().collect();
    for kind in ["gpu", "unified", "cpu"] {
        if !shown.iter().any(|o| o.kind == kind) {
            if let Some(o) = found.iter().find(|o| o.kind == kind) {
                shown.push(o.clone());
            }
        }
    }
    if as_json {
        let doc = NeedJson {
            schema_version: llmrig_contract::SCHEMA_VERSION,
            model: serde_json::json!({
                "name": w.spec.name,
                "id": w.spec.id,
                "params": w.params(),
            }),
            quant: serde_json::json!({"name": w.quant.name(), "bits_per_weight": w.bits_per_weight()}),
            target: Target {
                ctx: a.ctx,
                tokens_per_s: tps,
                users: a.users,
                engine: a.engine.name(),
            },
            options: &shown,
            notes,
        };
        return Ok(json::to_string(&doc));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · {} ({}) · context {} · {} user(s) · at least {tps} tok/s",
        w.spec.name,
        w.quant.name(),
        gib(w.total_bytes()),
        a.ctx,
        a.users
    );
    if shown.is_empty() {
        let _ = writeln!(
            out,
            "nothing in the device catalog runs it at {tps} tok/s with up to {} GPUs{}: lower --tps, a smaller -q, or a shorter -c",
            a.max_gpus,
            if a.engine == NeedEngine::LlamaCpp {
                ""
            } else {
                " per node and 4 nodes"
            }
        );
    } else {
        let mut t = table::new(
            &[
                "hardware", "memory", "decode", "prefill", "verdict", "price",
            ],
            &[1, 2, 3, 5],
        );
        for o in &shown {
            t.add_row(vec![
                o.label.clone(),
                gib(o.memory_bytes),
                format!(
                    "{} tok/s",
                    crate::commands::suggest::tps(o.decode_tokens_per_s)
                ),
                format!(
                    "{} tok/s",
                    crate::commands::suggest::tps(o.prefill_tokens_per_s)
                ),
                render::verdict(o.verdict).to_string(),
                o.price_usd.map_or("-".to_string(), |p| {
                    format!("{}${p:.0}", if o.price_lower_bound { "from " } else { "" })
                }),
            ]);
        }
        table::fit(&mut t, &[3, 4]);
        let _ = writeln!(out, "{t}");
        if let Some(o) = shown.first() {
            let _ = writeln!(out, "cheapest: {} — check it: {}", o.label, o.check);
        }
    }
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    Ok(out)
}
