//! Speed of a plan: seconds per decode step and per prefill on the slowest pipeline stage, with
//! TP's all-reduces and PP's hops over the links of `links.rs`.
//!
//! **Speed** is a roofline (Williams, Waterman, Patterson, CACM 2009) per GPU of the slowest stage:
//! `t = max(bytes / (η_bw·BW), FLOPs / (η_c·peak)) + 2·layers·(α + 2(TP−1)/TP · B·d·2 / link)` plus
//! PP hops and a fixed per-step time; weights read per step count `E·(1 − (1 − k/E)^B)` experts
//! per MoE layer (the expected number of distinct experts when each of B tokens picks k of E
//! uniformly). Per-user tokens/s is `1/t`, aggregate `B/t` per replica.

use super::links::Link;
use super::memory::Stage;
use super::plan::Ctx;
use crate::model::ModelSpec;

/// Share of peak HBM bandwidth vLLM-class engines reach at decode: 75–80% for fp16 GEMV of 1–16
/// tokens in the operator profiles published with Vidur (Agrawal et al., MLSys 2024; A100-80G
/// 1.52–1.57 TB/s, H100 2.5–2.7 TB/s).
const ETA_BW: f64 = 0.8;
/// Share of peak tensor FLOP/s: Vidur's profiles show MFU 68–77% for GEMMs of ≥1024 tokens and
/// 30–47% at 64–128 tokens; 0.6 for the mix of a serving step (a choice, not a measurement).
const ETA_C: f64 = 0.6;
/// Fixed time per engine step (scheduling, sampling, launches), seconds: a published vLLM
/// benchmark of Qwen2.5-7B at TP4 and concurrency 1 (TPOT 3.93 ms on 4×H100 NVL, 5.49 ms on
/// 4×A100) is matched best (+3%, −15%) by 1.5 ms once weights and all-reduces are counted.
const STEP_S: f64 = 1.5e-3;

/// Expected distinct experts per MoE layer for `b` tokens under uniform routing
/// ([`ModelSpec::expert_share_touched`] of them); 1 for a dense model.
pub(super) fn experts_touched(spec: &ModelSpec, b: f64) -> f64 {
    if spec.n_expert < 2 {
        return 1.0;
    }
    f64::from(spec.n_expert) * spec.expert_share_touched(b)
}

impl Ctx<'_> {
    fn all_reduce(&self, link: &Link, tp: u32, tokens: f64) -> f64 {
        if tp < 2 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let bytes = tokens * self.w.spec.n_embd as f64 * 2.0;
        let tp = f64::from(tp);
        link.latency_s + 2.0 * (tp - 1.0) / tp * bytes / link.bandwidth_bytes_per_s
    }

    /// The link TP's all-reduces use: the node's fabric, or the network when TP spans nodes.
    fn tp_link(&self, tp: u32) -> Link {
        #[allow(clippy::cast_possible_truncation)]
        match self.c.gpus.len() as u32 {
            gpn if tp > gpn => self.c.internode.link(),
            _ => self.c.interconnect.link(tp),
        }
    }

    /// PP's `pp − 1` hops for `tokens` (hidden state and residual, BF16): inside a node between a
    /// pair of GPUs, over the network where stages change nodes.
    fn hops(&self, tp: u32, pp: u32, tokens: f64) -> f64 {
        #[allow(clippy::cast_possible_truncation)]
        let inter = pp.div_ceil((self.c.gpus.len() as u32 / tp).max(1)) - 1;
        #[allow(clippy::cast_precision_loss)]
        let bytes = tokens * self.w.spec.n_embd as f64 * 4.0;
        let t = |l: Link| l.latency_s + bytes / l.bandwidth_bytes_per_s;
        f64::from(pp - 1 - inter) * t(self.c.interconnect.link(2))
            + f64::from(inter) * t(self.c.internode.link())
    }

    /// Seconds per decode step for `b` sequences per replica at context `ctx`, and the bound.
    /// With data-parallel attention each TP rank reads the KV of its own `b / tp` sequences and
    /// runs their attention with every head.
    pub(super) fn step(
        &self,
        st: &[Stage],
        (tp, pp, dp_attention): (u32, u32, bool),
        b: f64,
        ctx: f64,
    ) -> (f64, &'static str) {
        let spec = &self.w.spec;
        let tp_link = self.tp_link(tp);
        let mb = (b / f64::from(pp)).ceil().max(1.0);
        let bw = ETA_BW * self.gpu.bandwidth_bytes_per_s;
        let touched = experts_touched(spec, mb) / f64::from(spec.n_expert.max(1));
        #[allow(clippy::cast_precision_loss)]
        let attn_flops = 4.0 * spec.q_width() as f64 / f64::from(tp) * ctx;
        // Sequences whose KV one GPU reads: all of the micro-batch, or its share under DP attention.
        let kv_seqs = if dp_attention {
            (mb / f64::from(tp)).ceil()
        } else {
            mb
        };
        let mut worst: f64 = 0.0;
        let mut bound = "memory";
        for s in st {
            let bytes = s.dense_read + s.experts * touched + kv_seqs * ctx * s.kv_per_token;
            let flops = mb * (2.0 * s.active + attn_flops * f64::from(s.layers));
            let (tm, tc) = (bytes / bw, flops / (ETA_C * self.peak));
            let t = tm.max(tc) + 2.0 * f64::from(s.layers) * self.all_reduce(&tp_link, tp, mb);
            if t > worst {
                worst = t;
                bound = if tc > tm { "compute" } else { "memory" };
            }
        }
        (
            f64::from(pp) * worst + self.hops(tp, pp, mb) + STEP_S,
            bound,
        )
    }

    /// Seconds to prefill one prompt of `n` tokens (chunked by `chunk`) on an idle replica. Under
    /// data-parallel attention one rank runs the prompt's attention with every head.
    pub(super) fn prefill(
        &self,
        st: &[Stage],
        (tp, pp, dp_attention): (u32, u32, bool),
        n: f64,
        chunk: f64,
    ) -> f64 {
        let spec = &self.w.spec;
        let tp_link = self.tp_link(tp);
        let chunks = (n / chunk).ceil().max(1.0);
        let touched = experts_touched(spec, n.min(chunk)) / f64::from(spec.n_expert.max(1));
        let heads_split = if dp_attention { 1.0 } else { f64::from(tp) };
        #[allow(clippy::cast_precision_loss)]
        let attn = 2.0 * spec.q_width() as f64 / heads_split * n * n;
        let mut t = 0.0;
        for s in st {
            let bytes = chunks * (s.dense_read + s.experts * touched) + n * s.kv_per_token;
            let flops = 2.0 * s.active * n + attn * f64::from(s.layers);
            t += (bytes / (ETA_BW * self.gpu.bandwidth_bytes_per_s))
                .max(flops / (ETA_C * self.peak))
                + 2.0 * f64::from(s.layers) * self.all_reduce(&tp_link, tp, n);
        }
        t + self.hops(tp, pp, n) + STEP_S
    }
}
