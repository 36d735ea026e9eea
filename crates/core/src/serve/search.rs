//! The plan search: the settings and parallel sizes the engines accept, every TP/PP candidate (the
//! GPUs left over become DP replicas) evaluated for memory and speed, and the ranking that picks
//! the plan and its alternatives.

use super::engine::Engine;
use super::memory::{kv_dtype_bytes, stages, CUDA_VISIBLE_SHARE};
use super::plan::{
    Candidate, Cluster, Ctx, Fit, Parallelism, PlanError, ServePerformance, ServeSettings,
};
use super::warnings::PlanWarning;
use crate::estimate::{ModelWeights, MAX_CTX};
use crate::quant::{OtherFormat, Quant};
use crate::system::DeviceSpec;

/// What the search found.
pub(super) struct Found {
    /// The plan to use (when nothing starts, the one with the most room for weights).
    pub(super) best: Candidate,
    /// Other plans that start, best first (at most 8).
    pub(super) alternatives: Vec<Candidate>,
    /// Some plan that starts reaches `--min-tps`.
    pub(super) fast_elsewhere: bool,
    /// Why nothing starts, when nothing does.
    pub(super) does_not_fit: Option<PlanWarning>,
}

/// Rejects settings out of range and TP/PP sizes the cluster or the model cannot take.
pub(super) fn check(w: &ModelWeights, c: &Cluster, s: &ServeSettings) -> Result<(), PlanError> {
    #[allow(clippy::cast_possible_truncation)]
    let gpn = c.gpus.len() as u32;
    let util = s.memory_utilization.unwrap_or(0.9);
    let checks = [
        (
            "--nodes",
            (1..=1024).contains(&c.nodes),
            c.nodes.to_string(),
            "1..=1024",
        ),
        (
            "--max-model-len",
            (1..=MAX_CTX).contains(&s.max_model_len),
            s.max_model_len.to_string(),
            "1..=16777216",
        ),
        (
            "--users",
            (1..=1_000_000).contains(&s.users),
            s.users.to_string(),
            "1..=1000000",
        ),
        (
            "--gpu-memory-utilization",
            util > 0.0 && util <= 1.0,
            util.to_string(),
            "a fraction in (0, 1]",
        ),
        (
            "--block-size",
            [1, 8, 16, 32, 64, 128].contains(&s.block_size),
            s.block_size.to_string(),
            "1, 8, 16, 32, 64 or 128",
        ),
        (
            "--min-tps",
            s.min_tps.is_finite() && s.min_tps >= 0.0,
            s.min_tps.to_string(),
            "a non-negative number",
        ),
    ];
    if let Some((flag, _, value, expected)) = checks.into_iter().find(|c| !c.1) {
        let expected = expected.into();
        return Err(PlanError::OutOfRange {
            flag,
            value,
            expected,
        });
    }
    let total = gpn * c.nodes;
    if let Some(tp) = s.tp {
        let reason = if tp == 0 || tp > total {
            Some(format!("the cluster has {total} GPUs"))
        } else if tp > gpn && tp % gpn != 0 {
            Some(format!(
                "TP beyond one node must span whole nodes of {gpn} GPUs"
            ))
        } else {
            tp_problem(w, tp)
        };
        if let Some(reason) = reason {
            return Err(PlanError::Parallel {
                flag: "--tp",
                value: tp,
                reason,
            });
        }
    }
    if let Some(pp) = s.pp {
        let most = total / s.tp.unwrap_or(1);
        if pp == 0 || pp > w.spec.n_layer || pp > most {
            return Err(PlanError::Parallel {
                flag: "--pp",
                value: pp,
                reason: format!(
                    "expected 1..={} (layers {}, GPUs {total} / TP)",
                    most.min(w.spec.n_layer),
                    w.spec.n_layer
                ),
            });
        }
    }
    Ok(())
}

/// Why `tp` cannot serve this model, if it cannot: vLLM needs the attention heads divisible by TP,
/// KV heads divisible by TP or TP by them, and for grouped int formats each row-parallel input
/// shard a multiple of the group (`input_size_per_partition % group_size`).
fn tp_problem(w: &ModelWeights, tp: u32) -> Option<String> {
    let s = &w.spec;
    if s.n_head % tp != 0 {
        return Some(format!(
            "the model's {} attention heads are not divisible by it",
            s.n_head
        ));
    }
    let kv = s.n_head_kv.max(1);
    if !s.is_mla() && kv % tp != 0 && tp % kv != 0 {
        return Some(format!(
            "the model's {kv} KV heads and the TP size must divide one another"
        ));
    }
    let group = match w.quant {
        Quant::Other(OtherFormat::Gptq { group, .. } | OtherFormat::Wna16 { group, .. }) => group,
        Quant::Other(OtherFormat::Awq { group, .. }) => Some(group),
        _ => None,
    };
    if let Some(g) = group.map(u64::from) {
        let ff = if s.n_expert > 1 {
            s.expert_ff.unwrap_or(s.n_ff)
        } else {
            s.n_ff
        };
        for width in [ff, s.q_width()] {
            if width % u64::from(tp) != 0 || (width / u64::from(tp)) % g != 0 {
                return Some(format!(
                    "a {width}-wide row-parallel layer split {tp} ways is not a multiple of the quant group size {g}"
                ));
            }
        }
    }
    None
}

/// Ranking: plans that hold every user, then those meeting `--min-tps`, then aggregate throughput
/// (per-user speed when the minimum is missed), then fewer GPUs per replica.
fn rank(a: &Candidate) -> (Fit, bool, f64, i64) {
    let p = &a.performance;
    let speed = if a.meets_min_tps {
        p.aggregate_tokens_per_s
    } else {
        p.per_user_decode_tokens_per_s
    };
    (
        a.fit,
        a.meets_min_tps,
        speed,
        -i64::from(a.plan.tp * a.plan.pp),
    )
}

fn divisors(n: u32) -> impl Iterator<Item = u32> {
    (1..=n).filter(move |d| n % d == 0)
}

impl<'a> Ctx<'a> {
    /// The fixed part of a search: `gpu` is the GPU every rank is planned as.
    pub(super) fn new(
        w: &'a ModelWeights,
        c: &'a Cluster,
        s: &'a ServeSettings,
        gpu: &'a DeviceSpec,
    ) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let mem = gpu.memory_bytes as f64 * CUDA_VISIBLE_SHARE;
        let fp8 = matches!(
            w.quant,
            Quant::Other(OtherFormat::Fp8 { .. } | OtherFormat::Nvfp4)
        );
        let peak = if fp8 && c.fp8_flops > 0.0 {
            c.fp8_flops
        } else {
            gpu.fp16_flops
        };
        Ctx {
            w,
            c,
            s,
            gpu,
            mem,
            peak: peak.max(1e12),
            kv_dtype: kv_dtype_bytes(s.kv_dtype, w.quant),
        }
    }
}

impl Ctx<'_> {
    /// Evaluates every TP (dividing a node's GPUs and suiting the model) and PP (with TP·PP
    /// dividing all GPUs), or the sizes given, and ranks them.
    pub(super) fn search(&self) -> Result<Found, PlanError> {
        let (w, c, s) = (self.w, self.c, self.s);
        #[allow(clippy::cast_possible_truncation)]
        let gpn = c.gpus.len() as u32;
        let total = gpn * c.nodes;
        let tps: Vec<u32> = match s.tp {
            Some(tp) => vec![tp],
            None => divisors(gpn)
                .filter(|&t| tp_problem(w, t).is_none())
                .collect(),
        };
        let mut cands = Vec::new();
        for &tp in &tps {
            let pps: Vec<u32> = match s.pp {
                Some(pp) => vec![pp],
                None => divisors(total / tp)
                    .filter(|&p| p <= w.spec.n_layer && total % (tp * p) == 0)
                    .collect(),
            };
            for pp in pps {
                cands.push(self.evaluate(tp, pp, false));
                // SGLang's recommended DeepSeek deployment: TP over the node with data-parallel
                // attention, so the latent KV is not replicated on every rank (one replica, no PP).
                if s.engine == Engine::Sglang
                    && w.spec.is_mla()
                    && tp > 1
                    && tp <= gpn
                    && pp == 1
                    && tp * pp == total
                {
                    cands.push(self.evaluate(tp, pp, true));
                }
            }
        }
        if cands.is_empty() {
            return Err(PlanError::Parallel {
                flag: "--tp",
                value: gpn,
                reason: format!(
                    "no TP size dividing {gpn} GPUs suits the model ({} heads, {} KV heads)",
                    w.spec.n_head, w.spec.n_head_kv
                ),
            });
        }
        cands.sort_by(|a, b| {
            rank(b)
                .partial_cmp(&rank(a))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let fast_elsewhere = cands
            .iter()
            .any(|c| c.meets_min_tps && c.fit != Fit::DoesNotFit);
        let mut does_not_fit = None;
        let best = if cands[0].fit == Fit::DoesNotFit {
            // Nothing starts: show the plan with the most room for weights and explain it.
            let b = cands
                .iter()
                .max_by_key(|c| {
                    c.memory_per_gpu
                        .budget_bytes
                        .saturating_sub(c.memory_per_gpu.weights_bytes)
                })
                .cloned()
                .unwrap_or_else(|| cands[0].clone());
            does_not_fit = Some(self.does_not_fit(&b));
            b
        } else {
            cands.remove(0)
        };
        let alternatives: Vec<Candidate> = cands
            .into_iter()
            .filter(|a| a.fit != Fit::DoesNotFit && a.plan != best.plan)
            .take(8)
            .collect();
        Ok(Found {
            best,
            alternatives,
            fast_elsewhere,
            does_not_fit,
        })
    }

    /// One candidate: memory, KV capacity, speed and fit at TP `tp` × PP `pp`, with data-parallel
    /// attention when `dpa` (each TP rank then holds its own sequences' KV).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    fn evaluate(&self, tp: u32, pp: u32, dpa: bool) -> Candidate {
        let (w, s) = (self.w, self.s);
        let total_gpus = self.c.gpus.len() as u32 * self.c.nodes;
        let dp = (total_gpus / (tp * pp)).max(1);
        let users = s.users.div_ceil(dp).max(1);
        // Attention ranks per replica, each with a KV cache of its own sequences.
        let ranks = if dpa { tp } else { 1 };
        let st = stages(w, tp, pp, self.kv_dtype, dpa);
        let tokens = s
            .max_num_batched_tokens
            .unwrap_or_else(|| self.default_batched_tokens())
            .max(u64::from(users));
        let kv = self.kv_cache(&st, tp, pp, users.div_ceil(ranks), tokens);
        let block = kv.block;
        // A sequence's KV lives on one attention rank: capacity counts whole sequences per rank.
        let rank_tokens = kv.tokens as u64;
        let kv_tokens = rank_tokens * u64::from(ranks);
        let len = s.max_model_len;
        let blocks_per_seq = len.div_ceil(block as u64) * block as u64;
        let seqs = rank_tokens / blocks_per_seq.max(1) * u64::from(ranks);
        let ctx = s.depth.unwrap_or(len / 2).clamp(1, len);
        let fit_batch = (rank_tokens / ctx).max(1) * u64::from(ranks);
        let batch = u64::from(users).min(fit_batch) as u32;
        let (t, bound) = self.step(&st, (tp, pp, dpa), f64::from(batch), ctx as f64);
        let prompt = s.prompt.clamp(1, len) as f64;
        let ttft = self.prefill(&st, (tp, pp, dpa), prompt, tokens as f64);
        let fit = if rank_tokens < len {
            Fit::DoesNotFit
        } else if seqs * u64::from(dp) < u64::from(s.users) {
            Fit::LimitedConcurrency
        } else {
            Fit::Fits
        };
        let per_user = 1.0 / t;
        let decoding = (u64::from(batch) * u64::from(dp)).min(u64::from(s.users));
        let aggregate = decoding as f64 / t;
        Candidate {
            plan: Parallelism {
                tp,
                pp,
                dp,
                nodes: self.c.nodes,
                dp_attention: dpa,
            },
            memory_per_gpu: kv.memory,
            kv_bytes_per_token_per_gpu: kv.bytes_per_token as u64,
            kv_tokens_total: kv_tokens * u64::from(dp),
            max_concurrent_seqs: seqs * u64::from(dp),
            max_num_seqs: users,
            max_num_batched_tokens: tokens,
            memory_utilization: kv.utilization,
            performance: ServePerformance {
                batch,
                context: ctx,
                per_user_decode_tokens_per_s: per_user,
                aggregate_tokens_per_s: aggregate,
                ttft_s: ttft + t,
                decode_bound: bound,
            },
            fit,
            meets_min_tps: per_user >= s.min_tps,
        }
    }
}
