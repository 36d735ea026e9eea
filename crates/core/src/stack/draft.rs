//! Speculative decoding with a draft model (llama.cpp's `-md`, `--spec-type draft-simple`): how
//! many tokens each verification step yields and what the step costs.
//!
//! One step of llama-server (tools/server/server-context.cpp, common/speculative.cpp, as of
//! mid-2026): the draft proposes γ tokens one decode at a time, the target checks the sampled
//! token and the γ drafted ones in one batch of γ+1, and the draft then re-reads that batch to
//! catch up. With per-token acceptance α (independent), the step yields
//! E = (1 − α^(γ+1)) / (1 − α) tokens (Leviathan et al. 2023, arXiv:2211.17192, eq. 1).

/// Speculative decoding's effect on generation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeculativeSpeed {
    /// Tokens each verification step yields on average.
    pub tokens_per_step: f64,
    /// Seconds one step takes.
    pub step_s: f64,
    /// Generation with the draft, tokens/s.
    pub decode_tokens_per_s: f64,
    /// Against generation without it (below 1: the draft slows generation down).
    pub speedup: f64,
}

/// One model's cost in a step: a single-token decode, and the rate at which extra tokens of a
/// batch add to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCost {
    /// Seconds per generated token (one-token decode).
    pub decode_s: f64,
    /// Prompt processing rate, tokens/s: each token of a batch beyond the first adds at most
    /// 1/rate (the weights are read once for the batch; the extra tokens cost their compute).
    pub prefill_tokens_per_s: f64,
}

impl StepCost {
    /// Seconds for a batch of `n` tokens.
    #[must_use]
    pub fn batch_s(&self, n: u32) -> f64 {
        let extra = f64::from(n.saturating_sub(1));
        self.decode_s + extra / self.prefill_tokens_per_s.max(1e-9)
    }
}

/// Expected tokens per step at acceptance `alpha` with `gamma` drafted tokens.
#[must_use]
pub fn tokens_per_step(alpha: f64, gamma: u32) -> f64 {
    let a = alpha.clamp(0.0, 0.999_999);
    (1.0 - a.powi(i32::try_from(gamma).unwrap_or(i32::MAX).saturating_add(1))) / (1.0 - a)
}

/// Generation speed with a draft: per step the target verifies γ+1 tokens in one batch, the
/// draft decodes γ tokens one at a time and re-reads the verified batch.
#[must_use]
pub fn speculative(target: StepCost, draft: StepCost, gamma: u32, alpha: f64) -> SpeculativeSpeed {
    let e = tokens_per_step(alpha, gamma);
    let step_s =
        target.batch_s(gamma + 1) + f64::from(gamma) * draft.decode_s + draft.batch_s(gamma + 1);
    let tps = e / step_s.max(1e-12);
    SpeculativeSpeed {
        tokens_per_step: e,
        step_s,
        decode_tokens_per_s: tps,
        speedup: tps * target.decode_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_tokens_follow_leviathan() {
        // γ = 3: α 0.8 → 2.952, α 0.7 → 2.533 (1 + α + α² + α³).
        assert!((tokens_per_step(0.8, 3) - (1.0 + 0.8 + 0.64 + 0.512)).abs() < 1e-12);
        assert!((tokens_per_step(0.7, 3) - 2.533).abs() < 1e-12);
        // No acceptance: one token per step, the target's own.
        assert!((tokens_per_step(0.0, 8) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_cheap_draft_speeds_up_and_a_costly_one_slows_down() {
        // A 32B target at 30 tok/s with a 0.5B draft at 300 tok/s: faster.
        let target = StepCost {
            decode_s: 1.0 / 30.0,
            prefill_tokens_per_s: 2000.0,
        };
        let small = StepCost {
            decode_s: 1.0 / 300.0,
            prefill_tokens_per_s: 20_000.0,
        };
        let s = speculative(target, small, 3, 0.8);
        assert!(s.speedup > 1.8 && s.speedup < 2.6, "{s:?}");
        // A draft half as fast as the target never pays.
        let big = StepCost {
            decode_s: 1.0 / 60.0,
            prefill_tokens_per_s: 4000.0,
        };
        assert!(speculative(target, big, 3, 0.8).speedup < 1.0);
    }
}
