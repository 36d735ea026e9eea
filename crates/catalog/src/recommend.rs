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
    /// Reranking retrieved passages.
    Rerank,
    /// Retrieval-augmented generation: an LLM with an embedder and a reranker beside it.
    Rag,
    /// Text to image (the image catalog; ranked by the CLI, which sizes image pipelines).
    Image,
    /// Speech to text (Whisper; ranked by the CLI, which sizes whisper.cpp).
    Speech,
}

impl Use {
    /// Every use, in the order `--help` lists them.
    pub const ALL: [Use; 10] = [
        Use::Chat,
        Use::Code,
        Use::Reasoning,
        Use::LongContext,
        Use::Vision,
        Use::Embedding,
        Use::Rerank,
        Use::Rag,
        Use::Image,
        Use::Speech,
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
            "rerank" | "reranker" | "reranking" => Use::Rerank,
            "rag" => Use::Rag,
            "image" | "images" | "text-to-image" => Use::Image,
            "speech" | "speech-to-text" | "asr" | "transcription" => Use::Speech,
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
            Use::Rerank => "rerank",
            Use::Rag => "rag",
            Use::Image => "image",
            Use::Speech => "speech",
        }
    }

    /// The context a use needs by default: reasoning models think for thousands of tokens before
    /// answering, code needs files in context, long-context means documents.
    #[must_use]
    pub fn default_ctx(self) -> u64 {
        match self {
            Use::Chat | Use::Vision => 8192,
            // RAG puts retrieved passages in the prompt.
            Use::Code | Use::Rag => 16384,
            Use::Reasoning => 32768,
            Use::LongContext => 65536,
            Use::Embedding | Use::Rerank => 512,
            Use::Image | Use::Speech => 0,
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
    /// What runs with it (a vision model's projector; RAG's embedder and reranker), each counted
    /// in `memory_bytes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<RecComponent>,
}

/// A part of a recommended plan beside the model itself.
#[derive(Debug, Clone, Serialize)]
pub struct RecComponent {
    /// `mmproj`, `embedding` or `reranker`.
    pub role: String,
    /// Catalog id (a projector: the model's id and ` projector`).
    pub model: String,
    /// Its type or quant.
    pub quant: String,
    /// Its memory, bytes.
    pub memory_bytes: u64,
}

/// Quants considered, best first (the common llama-quantize presets people download).
pub const QUANTS: [&str; 9] = [
    "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "IQ3_XS", "Q2_K", "IQ2_M",
];

/// The scale each use ranks on, then the metrics that place a model the scale lacks, in the order
/// of how well they predict it (leave-one-out error of the line between them over the models
/// that have both, docs/research/quality-sources.md §6), bridges over at least 15 shared models
/// before thinner ones. Each scale is one party measuring every model the same way
/// (data/quality.toml, group 4):
/// - chat and vision: LMArena text Elo (raw, 2025-12-11), then LiveBench (2024-11-25, 16 shared),
///   AA's GPQA-Diamond (45 since MiniMax-M2 joined, 2026-12-06), the Qwen3 report's MMLU-Redux
///   (11), the AA Intelligence Index, the Open LLM Leaderboard;
/// - reasoning and long context: the Artificial Analysis Intelligence Index (2026-05-14), then the
///   Qwen3 report's GPQA-Diamond, LiveBench, MMLU-Redux, LMArena, the Open LLM Leaderboard;
/// - code: the AA Coding Index, then the Qwen3 report's GPQA-Diamond and LiveCodeBench, LMArena's
///   coding Elo, the AA Intelligence Index, the Open LLM Leaderboard.
#[must_use]
pub fn metrics_for(use_: Use) -> &'static [&'static str] {
    match use_ {
        Use::Reasoning | Use::LongContext => &[
            "aa_ii",
            "q3r_gpqa_diamond",
            "lb_1125_global",
            "q3r_mmlu_redux",
            "lma_text_raw",
            "olb2_avg",
        ],
        Use::Code => &[
            "aa_coding",
            "q3r_gpqa_diamond",
            "q3r_livecodebench_v5",
            "lma_coding_sc",
            "aa_ii",
            "olb2_avg",
        ],
        // MMMU (val) first; a vision model without it is placed from its text scores by the
        // least-squares line over the models that have both.
        Use::Vision => &[
            "mmmu_val",
            "lma_text_raw",
            "lb_1125_global",
            "aa_gpqa",
            "q3r_mmlu_redux",
            "aa_ii",
            "olb2_avg",
        ],
        _ => &[
            "lma_text_raw",
            "lb_1125_global",
            "aa_gpqa",
            "q3r_mmlu_redux",
            "aa_ii",
            "olb2_avg",
        ],
    }
}

/// A use's scale as a quality the quant's loss can scale: the AA indices are already points
/// from zero; an Elo rating becomes its tens of points above 1000 (Llama-2-7B sits near 1000 on
/// LMArena's raw board), so a quant keeping 97% of it loses ~10 Elo at 1330.
fn as_quality(metric: &str, value: f64) -> f64 {
    if metric.starts_with("lma_") {
        ((value - 1000.0) / 10.0).max(0.0)
    } else {
        value
    }
}

/// A model's standing on a use's scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaseQuality {
    /// On the scale as a quality the quant loss scales (an Elo as its tens of points above 1000).
    pub quality: f64,
    /// On the scale in its own units (Elo, index points).
    pub value: f64,
    /// The scale (`lma_text_raw`, `aa_ii`, `aa_coding`).
    pub scale: &'static str,
    /// The metric the value came from: the scale itself, or the one mapped onto it.
    pub from: &'static str,
}

impl BaseQuality {
    /// `LMArena Elo 1345`, or `LMArena Elo ≈1265 (from q3r_mmlu_redux)` when mapped.
    #[must_use]
    pub fn describe(&self) -> String {
        let name = match self.scale {
            "lma_text_raw" => "LMArena Elo",
            "aa_ii" => "AA Intelligence Index",
            "aa_coding" => "AA Coding Index",
            s => s,
        };
        if self.from == self.scale {
            format!("{name} {:.0}", self.value)
        } else {
            format!("{name} ≈{:.0} (from {})", self.value, self.from)
        }
    }
}

/// The model's standing for a use; `None` when no source scored it.
#[must_use]
pub fn base_quality(id: &str, use_: Use) -> Option<BaseQuality> {
    let metrics = metrics_for(use_);
    let (value, from) = quality().index(id, metrics)?;
    Some(BaseQuality {
        quality: as_quality(metrics[0], value),
        value,
        scale: metrics[0],
        from,
    })
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

/// Where an estimate puts the model, in words: `all on the GPU`, `on the CPU`, `experts of 30
/// layers in RAM` or `40/81 layers on the GPU`.
#[must_use]
pub fn where_placed(e: &llmrig_core::estimate::Estimate, sys: &SystemSpec) -> String {
    if e.offload.gpu_layers >= e.offload.total_layers && e.resolved.n_cpu_moe == 0 {
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
    }
}

/// Embedders and rerankers RAG tries, in order: multilingual and strong first, then small ones
/// for small machines.
const RAG_EMBEDDERS: [&str; 4] = [
    "bge-m3",
    "qwen3-embedding-0.6b",
    "nomic-embed-text-v1.5",
    "all-minilm-l6-v2",
];
const RAG_RERANKERS: [&str; 2] = ["bge-reranker-v2-m3", "qwen3-reranker-0.6b"];

/// Tokens per retrieved passage the RAG servers are sized for.
const RAG_CHUNK: u64 = 512;

/// A server beside the LLM, estimated with llama-server's embedding settings on `sys`.
fn side_server(
    id: &str,
    sys: &SystemSpec,
) -> Option<(RecComponent, llmrig_core::estimate::MemoryBreakdown)> {
    let entry = models().find(id).ok()?;
    let w = ModelWeights::new(&entry.spec, Quant::parse("F16").ok()?);
    let (s, _) =
        llmrig_core::stack::companion_settings(&entry.spec, &Settings::default(), RAG_CHUNK);
    let e = estimate(&w, sys, &s).ok()?;
    if e.verdict == Verdict::DoesNotFit {
        return None;
    }
    let role = if entry.spec.pooling == Some(llmrig_core::model::Pooling::Rank) {
        "reranker"
    } else {
        "embedding"
    };
    Some((
        RecComponent {
            role: role.to_string(),
            model: id.to_string(),
            quant: "F16".to_string(),
            memory_bytes: e.memory.total_bytes,
        },
        e.memory,
    ))
}

/// RAG's embedder and reranker: the first of each list that fits what is left, and the machine
/// they leave for the LLM.
fn rag_servers(sys: &SystemSpec) -> Option<(Vec<RecComponent>, SystemSpec)> {
    let mut left = sys.clone();
    let mut parts = Vec::new();
    for list in [&RAG_EMBEDDERS[..], &RAG_RERANKERS[..]] {
        let (c, m) = list.iter().find_map(|id| side_server(id, &left))?;
        left = llmrig_core::stack::remaining(&left, &m);
        parts.push(c);
    }
    Some((parts, left))
}

/// Embedders or rerankers that fit, ranked by size: the catalog has no published retrieval
/// scores for them yet (MTEB is not among its sources), and within these families the larger
/// model is the stronger one. F16, the form they are served in; Q8_0 where F16 does not fit.
fn recommend_embedders(sys: &SystemSpec, opts: &RecommendOptions) -> Vec<Recommendation> {
    let rank = opts.use_ == Use::Rerank;
    let mut out = Vec::new();
    for entry in models().all() {
        let spec = &entry.spec;
        let is_rank = spec.pooling == Some(llmrig_core::model::Pooling::Rank);
        if !spec.is_embedder() || is_rank != rank {
            continue;
        }
        for q in ["F16", "Q8_0"] {
            let Ok(quant) = Quant::parse(q) else { continue };
            let w = ModelWeights::new(spec, quant);
            let chunk = opts.min_ctx.unwrap_or(RAG_CHUNK).min(spec.context_length);
            let (s, _) = llmrig_core::stack::companion_settings(spec, &Settings::default(), chunk);
            let Ok(e) = estimate(&w, sys, &s) else {
                continue;
            };
            if e.verdict == Verdict::DoesNotFit {
                continue;
            }
            #[allow(clippy::cast_precision_loss)]
            let params_m = w.params() as f64 / 1e6;
            #[allow(clippy::cast_precision_loss)]
            let docs = e.performance.prefill_tokens_per_s / chunk as f64;
            out.push(Recommendation {
                model: spec.id.clone(),
                name: spec.name.clone(),
                quant: q.to_string(),
                ctx: e.resolved.ctx,
                gpu_layers: e.offload.gpu_layers,
                n_cpu_moe: 0,
                memory_bytes: e.memory.total_bytes,
                decode_tokens_per_s: 0.0,
                prefill_tokens_per_s: e.performance.prefill_tokens_per_s,
                verdict: e.verdict,
                score: params_m,
                why: format!(
                    "{params_m:.0}M parameters (no retrieval score in the catalog: ranked by size); {}, ~{:.0} tok/s read, {docs:.1} documents/s of {chunk} tokens",
                    where_placed(&e, sys),
                    e.performance.prefill_tokens_per_s
                ),
                components: Vec::new(),
            });
            break;
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out.truncate(opts.top);
    out
}

/// Ranks every catalog model that suits the use on this machine.
#[must_use]
pub fn recommend(sys: &SystemSpec, opts: &RecommendOptions) -> Vec<Recommendation> {
    match opts.use_ {
        Use::Embedding | Use::Rerank => return recommend_embedders(sys, opts),
        Use::Image | Use::Speech => return Vec::new(),
        Use::Rag => {
            // The embedder and reranker start first; the LLM is ranked for chat in what is left.
            let Some((side, left)) = rag_servers(sys) else {
                return Vec::new();
            };
            let side_bytes: u64 = side.iter().map(|c| c.memory_bytes).sum();
            let chat = RecommendOptions {
                use_: Use::Chat,
                min_ctx: Some(opts.min_ctx.unwrap_or_else(|| Use::Rag.default_ctx())),
                ..opts.clone()
            };
            let mut out = recommend_models(&left, &chat);
            for r in &mut out {
                r.memory_bytes += side_bytes;
                r.components.extend(side.iter().cloned());
                r.why.push_str(&format!(
                    "; beside {}",
                    side.iter()
                        .map(|c| format!("{} ({})", c.model, c.role))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
            }
            return out;
        }
        _ => {}
    }
    recommend_models(sys, opts)
}

/// Vision models llmrig can size with their projector; the others are left out of `vision`.
fn vision_projector(
    spec: &llmrig_core::model::ModelSpec,
    sys: &SystemSpec,
) -> Option<(RecComponent, llmrig_core::estimate::MemoryBreakdown)> {
    use llmrig_core::stack::{projector_memory, ProjectorPlacement, ProjectorUse};
    let p = crate::projectors::projector_for(spec)?;
    let (w, h) = llmrig_core::model::DEFAULT_PHOTO;
    let batch = p.encode_batch(p.tiles_for(w, h), llmrig_core::model::MTMD_BATCH_MAX_TOKENS);
    let m = projector_memory(
        &ProjectorUse {
            spec: p,
            batch,
            wtype: llmrig_core::quant::GgmlType::F16,
            weights_bytes: None,
            placement: if sys.gpus.is_empty() {
                ProjectorPlacement::Cpu
            } else {
                ProjectorPlacement::Gpu(0)
            },
            flash_attn: true,
        },
        sys,
    );
    Some((
        RecComponent {
            role: "mmproj".to_string(),
            model: format!("{} projector", spec.id),
            quant: "F16".to_string(),
            memory_bytes: m.total_bytes,
        },
        m,
    ))
}

fn recommend_models(sys: &SystemSpec, opts: &RecommendOptions) -> Vec<Recommendation> {
    let mut out: Vec<Recommendation> = Vec::new();
    for entry in models().all() {
        let spec = &entry.spec;
        if spec.is_embedder() {
            continue;
        }
        // A vision plan must hold the projector too: models whose projector llmrig cannot size
        // are left out rather than recommended without room for it.
        let projector = if opts.use_ == Use::Vision {
            match vision_projector(spec, sys) {
                Some(p) => Some(p),
                None => continue,
            }
        } else {
            None
        };
        let sys_left = projector
            .as_ref()
            .map(|(_, m)| llmrig_core::stack::remaining(sys, m));
        let sys = sys_left.as_ref().unwrap_or(sys);
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
        let Some(bq) = base_quality(&spec.id, opts.use_) else {
            continue;
        };
        let base = bq.quality;
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
            let where_ = where_placed(&e, sys);
            let side = projector.as_ref().map_or(0, |(c, _)| c.memory_bytes);
            candidates.push(Recommendation {
                model: spec.id.clone(),
                name: spec.name.clone(),
                quant: q.to_string(),
                ctx: e.resolved.ctx,
                gpu_layers: e.offload.gpu_layers,
                n_cpu_moe: e.resolved.n_cpu_moe,
                memory_bytes: e.memory.total_bytes + side,
                components: projector.iter().map(|(c, _)| c.clone()).collect(),
                decode_tokens_per_s: e.performance.decode_tokens_per_s,
                prefill_tokens_per_s: e.performance.prefill_tokens_per_s,
                verdict: e.verdict,
                score,
                why: format!(
                    "{} → {base:.1} × (1 − {:.1}% {q} loss) = {score:.1}; {where_}, ~{:.0} tok/s{}",
                    bq.describe(),
                    loss * 100.0,
                    e.performance.decode_tokens_per_s,
                    if side > 0 {
                        format!("; with its projector ({} MiB)", side >> 20)
                    } else {
                        String::new()
                    }
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
