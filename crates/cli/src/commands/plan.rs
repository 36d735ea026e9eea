//! `llmrig plan MODEL`: a vLLM/SGLang serving plan for one or more identical GPU nodes.
//!
//! `--json` prints [`llmrig_contract::PlanJson`], documented field by field there.

use std::fmt::Write as _;

use anyhow::Result;
use llmrig_catalog::{devices, interconnect, models};
use llmrig_contract::plan::ClusterJson;
use llmrig_contract::{PlanJson, WarningJson as Warning};
use llmrig_core::estimate::ModelWeights;
use llmrig_core::quant::{OtherFormat, Quant};
use llmrig_core::serve::{
    plan_serving, Candidate, Cluster, Engine, Fit, ForeignFormat, KvDtype, PlanError, PlanWarning,
    ServeSettings, ServingPlan,
};

use crate::args::PlanArgs;
use crate::options;
use crate::render::{self, json, table};

/// The cluster of `nodes` machines like `sys`, and the catalog's text for the GPU's interconnect
/// (empty when unknown).
pub(crate) fn cluster(
    sys: &llmrig_core::system::SystemSpec,
    nodes: u32,
    internode: llmrig_core::serve::InterNode,
) -> (Cluster, String) {
    let entry = sys.gpus.first().and_then(|g| devices().find(&g.name).ok());
    let link_text = entry
        .and_then(|e| e.interconnect.clone())
        .unwrap_or_default();
    // The catalog turns the first GPU's interconnect text into core's structure; peer-to-peer goes
    // by the name of the GPU the plan uses for every rank (the smallest), whether or not it is in
    // the catalog (a `--system` file may name any GPU).
    let planned = sys.gpus.iter().min_by_key(|g| g.memory_bytes);
    let cluster = Cluster {
        gpus: sys.gpus.clone(),
        nodes,
        interconnect: interconnect(
            Some(link_text.as_str()),
            planned.map_or("", |g| g.name.as_str()),
        ),
        fp8_flops: entry.and_then(|e| e.fp8_tflops).unwrap_or(0.0) * 1e12,
        internode,
    };
    (cluster, link_text)
}

/// The model as `plan` serves it: `-q`, else the format the weights are released in (DeepSeek's
/// FP8, gpt-oss's MXFP4), else bf16, as safetensors.
///
/// # Errors
/// A model that cannot be resolved.
pub(crate) fn served_model(model: &str, quant: Option<&str>) -> Result<options::ResolvedModel> {
    let released = models()
        .find(model)
        .ok()
        .and_then(|e| e.release_format.clone());
    let q = quant.or(released.as_deref()).unwrap_or("bf16");
    let mut m = options::model(model, Some(q))?;
    if quant.is_none() && q != "bf16" {
        m.notes.push(format!(
            "planned in {q}, the format the weights are released in; pass -q for another"
        ));
    }
    // `bf16`, `fp16`, `f32` name llama.cpp file types too; served by vLLM they are safetensors.
    if let (Some(f), "catalog" | "generic") = (OtherFormat::parse(q), m.source.as_str()) {
        m.weights = ModelWeights::new(&m.weights.spec, Quant::Other(f));
    }
    Ok(m)
}

/// What to put after `vllm serve` for a served model, and vLLM's `--quantization` (online FP8 of
/// a BF16 checkpoint); a note when the command needs a checkpoint in the planned format.
pub(crate) fn serve_target(
    name: &str,
    model: &options::ResolvedModel,
) -> (String, Option<&'static str>, Option<String>) {
    let w = &model.weights;
    match model.source.as_str() {
        "catalog" => {
            let repo = models()
                .find(name)
                .map_or(w.spec.id.clone(), |e| e.hf_repo.clone());
            match w.quant {
                Quant::Other(OtherFormat::Bf16 | OtherFormat::Fp16) => (repo, None, None),
                Quant::Other(OtherFormat::Fp8 { .. }) => (repo, Some("fp8"), None),
                q => {
                    let note = format!(
                        "point the command at a checkpoint of {repo} in {}",
                        q.name()
                    );
                    (repo, None, Some(note))
                }
            }
        }
        _ => (
            name.strip_prefix("hf:").unwrap_or(name).to_string(),
            None,
            None,
        ),
    }
}

/// Builds the plan and renders it.
pub fn run(a: &PlanArgs, as_json: bool) -> Result<String> {
    // The checkpoint as released: DeepSeek's FP8, gpt-oss's MXFP4, else bf16.
    let model = served_model(&a.model, a.quant.as_deref())?;
    let (sys, machine_notes) = options::machine(&a.machine)?;
    let engine = Engine::from(a.engine);
    let kv_dtype = KvDtype::from(a.kv_cache_dtype);
    let internode = a.internode;
    let w = &model.weights;
    let max_model_len = a.max_model_len.unwrap_or(w.spec.context_length.max(1));
    let mut notes: Vec<Warning> = model
        .notes
        .iter()
        .cloned()
        .chain(
            machine_notes
                .iter()
                // The serving plan runs on the GPUs: what RAM offers does not enter it.
                .filter(|n| !n.is_ram_bandwidth() && !matches!(n, options::MachineNote::Ram(_)))
                .map(ToString::to_string),
        )
        .map(|message| Warning {
            code: "input-note".into(),
            message,
        })
        .collect();
    let (cluster, link_text) = cluster(&sys, a.nodes, internode);
    if link_text.is_empty() && !sys.gpus.is_empty() {
        notes.push(Warning {
            code: "link-assumed".into(),
            message: "the GPU's interconnect is unknown; PCIe 4.0 x16 with peer-to-peer assumed"
                .into(),
        });
    }
    let settings = ServeSettings {
        engine,
        max_model_len,
        users: a.users,
        memory_utilization: a.gpu_memory_utilization,
        block_size: a.block_size,
        kv_dtype,
        tp: a.tp,
        pp: a.pp,
        max_num_batched_tokens: a.max_num_batched_tokens,
        min_tps: a.min_tps,
        prompt: a.prompt,
        depth: a.depth,
    };
    let plan = plan_serving(w, &cluster, &settings).map_err(|e| match e {
        // The core names no llmrig flag; the CLI says how to give GPUs.
        PlanError::NoGpu => anyhow::anyhow!("{e}: pass --gpu, e.g. `--gpu \"8x h100\"`"),
        e => e.into(),
    })?;

    // What to put after `vllm serve`: the catalog's repository (with online FP8 for `-q fp8`), a
    // folder, or the repository named.
    let (target, quantization, needs) = serve_target(&a.model, &model);
    if let Some(message) = needs {
        notes.push(Warning {
            code: "checkpoint-needed".into(),
            message,
        });
    }
    let command = |c: Option<&Candidate>| plan.command(c, &target, quantization);
    let mut warnings: Vec<Warning> = plan
        .warnings
        .iter()
        .map(|w| {
            let mut message = w.to_string();
            if matches!(w, PlanWarning::FormatEngine(ForeignFormat::Gguf)) {
                // How to estimate it with llama.cpp instead, in llmrig's own command.
                message.push_str(" (`llmrig estimate`)");
            }
            Warning {
                code: w.code().into(),
                message,
            }
        })
        .collect();
    warnings.extend(notes);
    let gpu_name = sys.gpus.first().map_or("", |g| g.name.as_str());

    if as_json {
        let machine = ClusterJson::new(gpu_name, sys.gpus.len(), a.nodes, &link_text, internode);
        return Ok(json::to_string(&PlanJson::new(
            w,
            &model.source,
            machine,
            &plan,
            &command,
            warnings,
        )));
    }
    let head = format!(
        "{} · {} ({})",
        w.spec.name,
        w.quant.name(),
        render::gib(w.total_bytes())
    );
    Ok(table_text(
        a,
        &plan,
        (&head, sys.gpus.len(), gpu_name),
        &command,
        &warnings,
    ))
}

fn fit_text(c: &Candidate) -> &'static str {
    match c.fit {
        Fit::Fits => "fits",
        Fit::LimitedConcurrency => "limited concurrency",
        Fit::DoesNotFit => "does not fit",
    }
}

fn table_text(
    a: &PlanArgs,
    plan: &ServingPlan,
    (head, gpn, gpu): (&str, usize, &str),
    command: &dyn Fn(Option<&Candidate>) -> String,
    warnings: &[Warning],
) -> String {
    let b = &plan.best;
    let (m, p, perf) = (&b.memory_per_gpu, &b.plan, &b.performance);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{head} · {} node(s) × {gpn} × {gpu} · {} · max-model-len {} · {} users",
        p.nodes,
        plan.engine.name(),
        plan.max_model_len,
        a.users
    );
    let _ = writeln!(
        out,
        "plan        TP{} × PP{} × DP{}{}: {}",
        p.tp,
        p.pp,
        p.dp,
        if p.dp_attention {
            " with data-parallel attention"
        } else {
            ""
        },
        fit_text(b)
    );
    let _ = writeln!(
        out,
        "per GPU     weights {} · KV cache {} · activations {} · CUDA graphs {} · overhead {} (of {}; engine budget {})",
        render::gib(m.weights_bytes),
        render::gib(m.kv_capacity_bytes),
        render::size(m.activations_bytes),
        render::size(m.cuda_graphs_bytes),
        render::size(m.overhead_bytes),
        render::gib(m.capacity_bytes),
        render::gib(m.budget_bytes)
    );
    if b.fit != Fit::DoesNotFit {
        #[allow(clippy::cast_precision_loss)]
        let _ = writeln!(
            out,
            "KV cache    {} tokens ({:.1} KiB per token per GPU) · {} sequences of {} tokens at once",
            b.kv_tokens_total,
            b.kv_bytes_per_token_per_gpu as f64 / 1024.0,
            b.max_concurrent_seqs,
            plan.max_model_len
        );
        let _ = writeln!(
            out,
            "speed       {:.1} tok/s per user · {:.0} tok/s in all ({} sequences per replica at {} tokens, {}-bound) · first token {:.2} s for {} tokens",
            perf.per_user_decode_tokens_per_s,
            perf.aggregate_tokens_per_s,
            perf.batch,
            perf.context,
            perf.decode_bound,
            perf.ttft_s,
            a.prompt.min(plan.max_model_len)
        );
        let _ = writeln!(out, "command     {}", command(None));
    }
    if !plan.alternatives.is_empty() {
        let mut t = table::new(
            &[
                "TP×PP×DP",
                "fit",
                "KV tokens",
                "seqs at max len",
                "tok/s per user",
                "tok/s in all",
                "TTFT s",
            ],
            &[2, 3, 4, 5, 6],
        );
        for c in &plan.alternatives {
            let q = &c.performance;
            t.add_row(vec![
                format!(
                    "{}×{}×{}{}",
                    c.plan.tp,
                    c.plan.pp,
                    c.plan.dp,
                    if c.plan.dp_attention { " dpa" } else { "" }
                ),
                fit_text(c).into(),
                c.kv_tokens_total.to_string(),
                c.max_concurrent_seqs.to_string(),
                format!("{:.1}", q.per_user_decode_tokens_per_s),
                format!("{:.0}", q.aggregate_tokens_per_s),
                format!("{:.2}", q.ttft_s),
            ]);
        }
        let _ = writeln!(out, "\nalternatives\n{t}");
    }
    for w in warnings {
        let _ = writeln!(out, "note: {}", w.message);
    }
    out
}
