//! `llmrig need MODEL`: the hardware that runs a model at a context, speed and number of users,
//! cheapest first. Every option is a machine `llmrig estimate` would build from the same flags
//! (`--gpu NxDEVICE --ram SIZE`, `--gpu CHIP:SIZE`, `--no-gpu --cpu CPU --ram SIZE`) and is
//! estimated on the same path, so `estimate` confirms each one; prices are the catalog's launch
//! prices with their source and date (`data/prices.csv`).

use std::fmt::Write as _;

use anyhow::Result;
use llmrig_catalog::{devices, prices, DeviceEntry, EntryKind};
use llmrig_core::estimate::{estimate, Estimate, GpuLayers, Settings, Verdict};
use serde::Serialize;

use crate::args::values::GpuArg;
use crate::args::{MachineArgs, NeedArgs};
use crate::launch::Launcher;
use crate::options;
use crate::render::{self, gib, json, table};

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
    /// `llama.cpp`.
    pub engine: &'static str,
    /// The llama-server command that starts the plan.
    pub launch: String,
    /// The flags that estimate this option: `llmrig estimate MODEL` + these.
    pub estimate_args: Vec<String>,
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

/// Estimates the model on a candidate: `Some` when it fits and is fast enough.
fn check(
    model: &options::ResolvedModel,
    s: &Settings,
    c: &Candidate,
    tps: f64,
) -> Option<(Estimate, llmrig_core::system::SystemSpec)> {
    let (sys, _) = options::machine_with(&c.machine, true).ok()?;
    let e = estimate(&model.weights, &sys, s).ok()?;
    (e.verdict != Verdict::DoesNotFit && e.performance.decode_tokens_per_s >= tps)
        .then_some((e, sys))
}

/// Runs `need`.
pub fn run(a: &NeedArgs, as_json: bool) -> Result<String> {
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
                    if let Some((est, sys)) = check(&model, &settings, &c, tps) {
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
                    if let Some((est, sys)) = check(&model, &settings, &c, tps) {
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
                    if let Some((est, sys)) = check(&model, &settings, &c, tps) {
                        keep(c, &est, &sys);
                    }
                }
            }
            EntryKind::Memory => {}
        }
    }
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
    let w = &model.weights;
    let mut notes = model.notes.clone();
    notes.push(format!(
        "GPU hosts have 64 GiB of RAM (128 GiB for 3-4 GPUs, 256 GiB beyond) and this machine's CPU; {} options checked, {} qualify",
        devices().all().iter().filter(|e| e.kind != EntryKind::Memory).count(),
        found.len()
    ));
    notes.push("prices are launch prices (GPUs: per card × count; Macs: the configuration or, marked \"from\", the base model); street prices differ".into());
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
                engine: "llama.cpp",
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
            "nothing in the device catalog runs it at {tps} tok/s with up to {} GPUs: lower --tps, a smaller -q, or a shorter -c",
            a.max_gpus
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
            let _ = writeln!(
                out,
                "cheapest: {} — check it: llmrig estimate {} {} -c {}{}",
                o.label,
                a.model,
                o.estimate_args
                    .iter()
                    .map(|x| crate::launch::shell_quote(x))
                    .collect::<Vec<_>>()
                    .join(" "),
                a.ctx,
                if a.users > 1 {
                    format!(" -np {}", a.users)
                } else {
                    String::new()
                }
            );
        }
    }
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    Ok(out)
}
