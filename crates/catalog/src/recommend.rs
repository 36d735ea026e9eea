//! Recommendations: every catalog model × quant, estimated on a machine, filtered by fit, speed
//! and context, ranked by quality after the quant's measured loss.
//!
//! Quality of a (model, quant) = the model's published score for the use (see [`base_quality`])
//! × (1 − the quant's loss, from the KL divergence llama.cpp measured for it). KL divergence is not
//! a benchmark score, so this is a heuristic, documented in docs/recommend.md; it is what makes an
//! IQ2 70B lose to a Q6 32B when the loss tables say so.

use llmrig_core::estimate::{estimate, GpuLayers, ModelWeights, Settings, Verdict};
use llmrig_core::quant::Quant;
use llmrig_core::system::SystemSpec;
use serde::Serialize;

use crate::models;
use crate::quality::quality;

/// What the model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Use {
    /// General chat.
    Chat,
    /// Programming.
    Code,
    /// Reasoning (thinking) models.
    Reasoning,
    /// Long documents.
    LongContext,
    /// Images in, text out.
    Vision,
    /// Text embeddings.
    Embedding,
}

impl Use {
    /// Every use, in the order `--help` lists them.
    pub const ALL: [Use; 6] = [
        Use::Chat,
        Use::Code,
        Use::Reasoning,
        Use::LongContext,
        Use::Vision,
        Use::Embedding,
    ];

    /// Parses `chat`, `code`, `reasoning`, `long-context`, `vision`, `embedding`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Use> {
        Some(match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "chat" => Use::Chat,
            "code" | "coding" => Use::Code,
            "reasoning" | "thinking" => Use::Reasoning,
            "long-context" | "long" => Use::LongContext,
            "vision" => Use::Vision,
            "embedding" | "embeddings" => Use::Embedding,
            _ => return None,
        })
    }

    /// The name (`long-context`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Use::Chat => "chat",
            Use::Code => "code",
            Use::Reasoning => "reasoning",
            Use::LongContext => "long-context",
            Use::Vision => "vision",
            Use::Embedding => "embedding",
        }
    }

    /// The context a use needs by default: reasoning models think for thousands of tokens before
    /// answering, code needs files in context, long-context means documents.
    #[must_use]
    pub fn default_ctx(self) -> u64 {
        match self {
            Use::Chat | Use::Vision => 8192,
            Use::Code => 16384,
            Use::Reasoning => 32768,
            Use::LongContext => 65536,
            Use::Embedding => 2048,
        }
    }
}

/// What to look for.
#[derive(Debug, Clone)]
pub struct RecommendOptions {
    /// The use.
    pub use_: Use,
    /// Slowest acceptable generation, tokens/s.
    pub min_tps: f64,
    /// Smallest acceptable context (default: the use's).
    pub min_ctx: Option<u64>,
    /// How many to return.
    pub top: usize,
}

impl Default for RecommendOptions {
    fn default() -> Self {
        RecommendOptions {
            use_: Use::Chat,
            min_tps: 10.0,
            min_ctx: None,
            top: 10,
        }
    }
}

/// One recommended plan.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// Catalog id.
    pub model: String,
    /// Display name.
    pub name: String,
    /// Quant.
    pub quant: String,
    /// Context it was planned with.
    pub ctx: u64,
    /// Layers on GPUs.
    pub gpu_layers: u32,
    /// Layers whose experts stay in RAM.
    pub n_cpu_moe: u32,
    /// Memory in all, bytes.
    pub memory_bytes: u64,
    /// Generation speed, tokens/s.
    pub decode_tokens_per_s: f64,
    /// Prompt speed, tokens/s.
    pub prefill_tokens_per_s: f64,
    /// Verdict.
    pub verdict: Verdict,
    /// Quality after the quant's loss (the published score it starts from × (1 − loss)).
    pub score: f64,
    /// Why it ranks here.
    pub why: String,
}

/// Quants considered, best first (the common llama-quantize presets people download).
pub const QUANTS: [&str; 9] = [
    "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "IQ3_XS", "Q2_K", "IQ2_M",
];

/// Benchmarks per use, most comparable first: each model is scored on the first metric of the
/// list, or on another one mapped onto its scale (`Quality::index`). General use ranks on the
/// Open LLM Leaderboard v2 average (one harness, 39 models), then the Qwen3 report's common
/// MMLU-Redux (27 models, incl. 2025 models), then vendor MMLU-Pro / MMLU; reasoning on
/// GPQA-Diamond (the Qwen3 report's, then vendors'); code on LiveCodeBench, then HumanEval.
#[must_use]
pub fn metrics_for(use_: Use) -> &'static [&'static str] {
    match use_ {
        Use::Reasoning => &[
            "q3r_gpqa_diamond",
            "gpqa_diamond",
            "gpqa",
            "q3r_mmlu_redux",
            "olb2_avg",
        ],
        Use::Code => &[
            "q3r_livecodebench_v5",
            "livecodebench",
            "humaneval",
            "q3r_mmlu_redux",
            "olb2_avg",
        ],
        _ => &[
            "olb2_avg",
            "q3r_mmlu_redux",
            "mmlu_pro",
            "mmlu",
            "gpqa_diamond",
        ],
    }
}

/// The model's quality for a use and the metric it came from.
#[must_use]
pub fn base_quality(id: &str, use_: Use) -> Option<(f64, &'static str)> {
    quality().index(id, metrics_for(use_))
}

/// The share of quality a quant loses: `1 − exp(−KLD)`, from the mean KL divergence of its token
/// distribution from F16's (llama.cpp's Llama 3 8B scoreboard). Q8_0 loses 0.1%, Q4_K_M 3.1%,
/// Q2_K 36%. A heuristic mapping, documented in docs/recommend.md.
fn quant_loss(quant: &str) -> Option<f64> {
    let q = quality().quant(quant)?;
    q.kld
        .map(|k| 1.0 - (-k).exp())
        .or(q.ppl_delta_pct.map(|d| d / 100.0))
}

/// Ranks every catalog model that suits the use on this machine.
#[must_use]
pub fn recommend(sys: &SystemSpec, opts: &RecommendOptions) -> Vec<Recommendation> {
    let mut out: Vec<Recommendation> = Vec::new();
    for entry in models().all() {
        let spec = &entry.spec;
        let suits = match opts.use_ {
            Use::Chat => true,
            Use::Code => {
                entry.use_cases.iter().any(|u| u == "code")
                    || entry.use_cases.iter().any(|u| u == "chat")
            }
            u => entry.use_cases.iter().any(|x| x == u.name()),
        };
        if !suits {
            continue;
        }
        let Some((base, metric)) = base_quality(&spec.id, opts.use_) else {
            continue;
        };
        let ctx = opts
            .min_ctx
            .unwrap_or_else(|| opts.use_.default_ctx())
            .min(spec.context_length);
        if opts.min_ctx.is_some_and(|m| m > spec.context_length) {
            continue;
        }
        // The best quant (highest quality after loss) that fits and is fast enough; a plan that
        // works well wins over a slightly better one that is only usable (3% of quality).
        // gpt-oss is released in MXFP4 (its native format, no loss), so only that is offered.
        let quants: &[&str] = if spec.arch == llmrig_core::model::Arch::GptOss {
            &["MXFP4_MOE"]
        } else {
            &QUANTS
        };
        let mut candidates: Vec<Recommendation> = Vec::new();
        for &q in quants {
            let loss = if q == "MXFP4_MOE" {
                Some(0.0)
            } else {
                quant_loss(q)
            };
            let Some(loss) = loss else { continue };
            let score = base * (1.0 - loss).max(0.0);
            let Ok(quant) = Quant::parse(q) else { continue };
            let w = ModelWeights::new(spec, quant);
            let s = Settings {
                ctx: Some(ctx),
                gpu_layers: GpuLayers::Auto,
                ..Settings::default()
            };
            let Ok(e) = estimate(&w, sys, &s) else {
                continue;
            };
            if e.verdict == Verdict::DoesNotFit || e.performance.decode_tokens_per_s < opts.min_tps
            {
                continue;
            }
            let where_ =
                if e.offload.gpu_layers == e.offload.total_layers && e.resolved.n_cpu_moe == 0 {
                    if sys.gpus.is_empty() {
                        "on the CPU".to_string()
                    } else {
                        "all on the GPU".to_string()
                    }
                } else if e.resolved.n_cpu_moe > 0 {
                    format!("experts of {} layers in RAM", e.resolved.n_cpu_moe)
                } else {
                    format!(
                        "{}/{} layers on the GPU",
                        e.offload.gpu_layers, e.offload.total_layers
                    )
                };
            candidates.push(Recommendation {
                model: spec.id.clone(),
                name: spec.name.clone(),
                quant: q.to_string(),
                ctx: e.resolved.ctx,
                gpu_layers: e.offload.gpu_layers,
                n_cpu_moe: e.resolved.n_cpu_moe,
                memory_bytes: e.memory.total_bytes,
                decode_tokens_per_s: e.performance.decode_tokens_per_s,
                prefill_tokens_per_s: e.performance.prefill_tokens_per_s,
                verdict: e.verdict,
                score,
                why: format!(
                    "{metric} {base:.1} × (1 − {:.1}% {q} loss) = {score:.1}; {where_}, ~{:.0} tok/s",
                    loss * 100.0,
                    e.performance.decode_tokens_per_s
                ),
            });
            // Lower quants only lose quality once one works well.
            if e.verdict == Verdict::WorksWell {
                break;
            }
        }
        let top = candidates.iter().map(|c| c.score).fold(0.0, f64::max);
        let best = candidates
            .iter()
            .find(|c| c.verdict == Verdict::WorksWell && c.score >= 0.97 * top)
            .or_else(|| candidates.iter().max_by(|a, b| a.score.total_cmp(&b.score)))
            .cloned();
        out.extend(best);
    }
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.decode_tokens_per_s.total_cmp(&a.decode_tokens_per_s))
    });
    out.truncate(opts.top);
    out
}
