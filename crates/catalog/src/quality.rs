//! Quality data with sources: published benchmark scores per catalog model (`data/quality.toml`)
//! and the measured quality loss of each quant type (`data/quant_quality.toml`, llama.cpp's
//! perplexity and KL-divergence tables). Used to rank recommendations honestly across sizes and
//! quants.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

const QUALITY_TOML: &str = include_str!("../data/quality.toml");
const QUANT_QUALITY_TOML: &str = include_str!("../data/quant_quality.toml");

/// Published scores of one model, in percent.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ModelScores {
    /// Catalog id.
    pub id: String,
    /// MMLU (5-shot).
    #[serde(default)]
    pub mmlu: Option<f64>,
    /// MMLU-Pro.
    #[serde(default)]
    pub mmlu_pro: Option<f64>,
    /// Open LLM Leaderboard v2 average.
    #[serde(default)]
    pub olb2_avg: Option<f64>,
    /// GPQA.
    #[serde(default)]
    pub gpqa: Option<f64>,
    /// HumanEval.
    #[serde(default)]
    pub humaneval: Option<f64>,
    /// MATH.
    #[serde(default)]
    pub math: Option<f64>,
    /// IFEval.
    #[serde(default)]
    pub ifeval: Option<f64>,
    /// Arena Elo.
    #[serde(default)]
    pub arena_elo: Option<f64>,
    /// Where the numbers come from.
    #[serde(default)]
    pub source: String,
    /// Remarks.
    #[serde(default)]
    pub notes: String,
    /// Other published metrics.
    #[serde(flatten)]
    pub other: HashMap<String, toml::Value>,
}

/// The measured loss of one quant type.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct QuantLoss {
    /// Quant name (`Q4_K_M`).
    pub name: String,
    /// Perplexity increase over F16, percent.
    #[serde(default)]
    pub ppl_delta_pct: Option<f64>,
    /// Mean KL divergence from F16.
    #[serde(default)]
    pub kld: Option<f64>,
    /// Same top token as F16, percent.
    #[serde(default)]
    pub top1_agree_pct: Option<f64>,
    /// The model the numbers were measured on.
    #[serde(default)]
    pub model: String,
    /// Where they come from.
    #[serde(default)]
    pub source: String,
    /// Other fields.
    #[serde(flatten)]
    pub other: HashMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct ScoresFile {
    #[serde(default)]
    model: Vec<ModelScores>,
}

#[derive(Deserialize)]
struct QuantFile {
    #[serde(default)]
    quant: Vec<QuantLoss>,
}

/// Both quality tables.
#[derive(Debug)]
pub struct Quality {
    /// Ordered by id, so that sums over models (the least-squares lines in [`Quality::index`]) add
    /// in the same order every run: a `HashMap`'s random order changed scores in the last bits.
    scores: BTreeMap<String, ModelScores>,
    quants: HashMap<String, QuantLoss>,
}

impl Quality {
    fn parse(scores: &str, quants: &str) -> Result<Quality, String> {
        let s: ScoresFile = toml::from_str(scores).map_err(|e| format!("quality.toml: {e}"))?;
        let q: QuantFile =
            toml::from_str(quants).map_err(|e| format!("quant_quality.toml: {e}"))?;
        Ok(Quality {
            scores: s.model.into_iter().map(|m| (m.id.clone(), m)).collect(),
            quants: q
                .quant
                .into_iter()
                .map(|x| (x.name.to_ascii_uppercase(), x))
                .collect(),
        })
    }

    /// Scores of a catalog model.
    #[must_use]
    pub fn scores(&self, id: &str) -> Option<&ModelScores> {
        self.scores.get(id)
    }

    /// The measured loss of a quant type (by its canonical name, `Q4_K_M`).
    #[must_use]
    pub fn quant(&self, name: &str) -> Option<&QuantLoss> {
        self.quants.get(&name.to_ascii_uppercase())
    }

    /// Every model with scores.
    pub fn all_scores(&self) -> impl Iterator<Item = &ModelScores> {
        self.scores.values()
    }

    /// A numeric field of a model's scores (named fields and the flattened rest).
    #[must_use]
    pub fn metric(&self, id: &str, name: &str) -> Option<f64> {
        let s = self.scores.get(id)?;
        let named = match name {
            "mmlu" => s.mmlu,
            "mmlu_pro" => s.mmlu_pro,
            "olb2_avg" => s.olb2_avg,
            "gpqa" => s.gpqa,
            "humaneval" => s.humaneval,
            "math" => s.math,
            "ifeval" => s.ifeval,
            "arena_elo" => s.arena_elo,
            _ => None,
        };
        named.or_else(|| {
            s.other.get(name).and_then(|v| match v {
                toml::Value::Float(f) => Some(*f),
                #[allow(clippy::cast_precision_loss)]
                toml::Value::Integer(i) => Some(*i as f64),
                _ => None,
            })
        })
    }

    /// A quality index on the scale of `metrics[0]`: the first of `metrics` the model has,
    /// mapped onto the first metric's scale by a least-squares line fitted over the models that
    /// have both (at least 5), so models scored by different benchmarks can be ranked together.
    /// Returns the value and the metric it came from.
    #[must_use]
    pub fn index(&self, id: &str, metrics: &[&'static str]) -> Option<(f64, &'static str)> {
        let target = *metrics.first()?;
        for &m in metrics {
            let Some(x) = self.metric(id, m) else {
                continue;
            };
            if m == target {
                return Some((x, m));
            }
            if let Some((a, b)) = self.line(m, target) {
                return Some((a + b * x, m));
            }
        }
        None
    }

    /// Least-squares `target ≈ a + b·from` over models with both; `None` under 5 pairs or a
    /// non-positive slope.
    fn line(&self, from: &str, target: &str) -> Option<(f64, f64)> {
        let pts: Vec<(f64, f64)> = self
            .scores
            .keys()
            .filter_map(|id| Some((self.metric(id, from)?, self.metric(id, target)?)))
            .collect();
        if pts.len() < 5 {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let n = pts.len() as f64;
        let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
        let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        if sxx <= 0.0 || sxy <= 0.0 {
            return None;
        }
        let b = sxy / sxx;
        Some((my - b * mx, b))
    }
}

/// The embedded quality tables, parsed on first use.
///
/// # Panics
/// If the embedded data is invalid, which the tests rule out.
pub fn quality() -> &'static Quality {
    static Q: OnceLock<Quality> = OnceLock::new();
    Q.get_or_init(|| {
        Quality::parse(QUALITY_TOML, QUANT_QUALITY_TOML).unwrap_or_else(|e| panic!("{e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_data_parses_and_names_catalog_models() {
        let q = Quality::parse(QUALITY_TOML, QUANT_QUALITY_TOML).unwrap();
        for s in q.all_scores() {
            assert!(
                crate::models().find(&s.id).is_ok(),
                "{} is not a catalog id",
                s.id
            );
            assert!(!s.source.is_empty(), "{} has no source", s.id);
        }
        assert!(q.quant("Q4_K_M").is_some());
        assert!(q.quant("q8_0").is_some());
    }
}
