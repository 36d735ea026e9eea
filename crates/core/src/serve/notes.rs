//! The warnings a plan carries, assembled: why nothing starts ([`PlanWarning::DoesNotFit`]) and
//! the notes on the plan chosen, in the order they are shown. What each warning says is in
//! `warnings.rs`.

use super::engine::Engine;
use super::plan::{Candidate, Ctx, Fit};
use super::warnings::{ForeignFormat, MultiNodeLaunch, NoFitReason, PlanWarning};
use crate::system::{DeviceKind, GpuApi};

impl Ctx<'_> {
    /// Why `b`, the plan with the most room for weights, does not start.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub(super) fn does_not_fit(&self, b: &Candidate) -> PlanWarning {
        let m = &b.memory_per_gpu;
        let (p, w) = (&b.plan, self.w);
        let room = m.budget_bytes as f64 - m.activations_bytes as f64 - m.overhead_bytes as f64;
        let reason = if m.weights_bytes as f64 >= room {
            NoFitReason::Weights {
                budget_bytes: m.budget_bytes,
                capacity_bytes: m.capacity_bytes,
                utilization: b.memory_utilization,
                gpus_needed: (w.total_bytes() as f64 / room.max(1.0)).ceil(),
            }
        } else {
            NoFitReason::Context {
                kv_tokens: b.kv_tokens_total / u64::from(p.dp.max(1)),
                max_model_len: self.s.max_model_len,
            }
        };
        PlanWarning::DoesNotFit {
            model: w.spec.name.clone(),
            quant: w.quant.name(),
            weights_bytes: w.total_bytes(),
            gpus: self.c.gpus.len() as u32 * self.c.nodes,
            gpu: self.gpu.name.clone(),
            tp: p.tp,
            pp: p.pp,
            weights_per_gpu_bytes: m.weights_bytes,
            reason,
        }
    }

    /// The notes on plan `b`, in the order they are shown; `fast_elsewhere`: some plan that starts
    /// reaches `--min-tps`.
    #[allow(clippy::cast_possible_truncation)]
    pub(super) fn notes(&self, b: &Candidate, fast_elsewhere: bool, out: &mut Vec<PlanWarning>) {
        let (s, spec) = (self.s, &self.w.spec);
        if b.fit == Fit::LimitedConcurrency {
            out.push(PlanWarning::LimitedConcurrency {
                seqs: b.max_concurrent_seqs,
                max_model_len: s.max_model_len,
                users: s.users,
            });
        }
        if b.fit != Fit::DoesNotFit && !b.meets_min_tps {
            out.push(PlanWarning::BelowMinTps {
                per_user_tokens_per_s: b.performance.per_user_decode_tokens_per_s,
                min_tps: s.min_tps,
                faster_alternatives: fast_elsewhere,
            });
        }
        let m = &b.memory_per_gpu;
        let outside = m.cuda_graphs_bytes + m.overhead_bytes;
        #[allow(clippy::cast_precision_loss)]
        if s.engine == Engine::Vllm && ((m.capacity_bytes - m.budget_bytes) as f64) < outside as f64
        {
            out.push(PlanWarning::CudaGraphHeadroom {
                utilization: b.memory_utilization,
                left_bytes: m.capacity_bytes - m.budget_bytes,
                needed_bytes: outside,
            });
        }
        if b.plan.tp > self.c.gpus.len() as u32 {
            out.push(PlanWarning::TpAcrossNodes);
        }
        let p = &b.plan;
        if p.nodes > 1 {
            out.push(PlanWarning::MultiNodeLaunch(if p.dp >= p.nodes {
                MultiNodeLaunch::ReplicasPerNode(p.dp / p.nodes)
            } else if s.engine == Engine::Vllm {
                MultiNodeLaunch::Ray
            } else {
                MultiNodeLaunch::NodeRank
            }));
        }
        if spec.context_length > 0 && s.max_model_len > spec.context_length {
            out.push(PlanWarning::ContextBeyondTraining {
                max_model_len: s.max_model_len,
                trained: spec.context_length,
            });
        }
        if self
            .c
            .gpus
            .iter()
            .any(|g| g.memory_bytes != self.gpu.memory_bytes || g.name != self.gpu.name)
        {
            out.push(PlanWarning::MixedGpus {
                planned_as: self.gpu.name.clone(),
            });
        }
        if self
            .c
            .gpus
            .iter()
            .any(|g| !matches!(g.api, GpuApi::Cuda | GpuApi::Rocm) || g.kind != DeviceKind::Gpu)
        {
            out.push(PlanWarning::EngineUnsupportedDevice { engine: s.engine });
        }
        if spec.sliding_window.is_some() {
            out.push(PlanWarning::SlidingWindowNotModelled);
        }
        if spec.recurrent.is_some() {
            out.push(PlanWarning::RecurrentNotModelled);
        }
        if spec.n_expert > 1 {
            out.push(PlanWarning::MoeSpeedRough);
        }
        if let Some(f) = ForeignFormat::of(self.w.quant) {
            out.push(PlanWarning::FormatEngine(f));
        }
        out.push(PlanWarning::SpeedUncalibrated);
    }
}
