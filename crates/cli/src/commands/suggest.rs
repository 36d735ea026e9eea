//! What would change a plan that does not fit, runs partly from RAM or is slow: the same estimate
//! with one thing changed (a quantized KV cache, a smaller quant, one more GPU of the kind),
//! kept when it puts more layers on the GPU or makes a better verdict, best first.

use llmrig_core::estimate::{estimate, Estimate, ModelWeights, Settings, Verdict};
use llmrig_core::quant::{GgmlType, Quant};
use llmrig_core::system::SystemSpec;

use crate::options::ResolvedModel;
use crate::render::gib;

/// Smaller quants to try, largest first (the llama-quantize presets people download).
const SMALLER: [&str; 6] = ["Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "IQ3_XS", "Q2_K"];

fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::DoesNotFit => 0,
        Verdict::Slow => 1,
        Verdict::Usable => 2,
        Verdict::WorksWell => 3,
    }
}

/// One alternative: what to pass, and what it does.
struct Alt {
    flag: String,
    e: Estimate,
}

/// Up to three changes that help, as `flag: what it does` lines; none for a plan that works well
/// with every layer on the GPU.
pub fn what_would_change(
    model: &ResolvedModel,
    s: &Settings,
    sys: &SystemSpec,
    e: &Estimate,
) -> Vec<String> {
    let partial = e.offload.gpu_layers < e.offload.total_layers || e.resolved.n_cpu_moe > 0;
    if sys.gpus.is_empty() || (e.verdict == Verdict::WorksWell && !partial) {
        return Vec::new();
    }
    let w = &model.weights;
    let mut alts: Vec<Alt> = Vec::new();
    let try_ = |flag: String, w: &ModelWeights, s: &Settings, sys: &SystemSpec| {
        estimate(w, sys, s).ok().map(|x| Alt { flag, e: x })
    };
    // A q8_0 KV cache halves it (it needs flash attention, which llama.cpp then turns on).
    if s.cache_type_k == GgmlType::F16 && s.cache_type_v == GgmlType::F16 {
        let t = Settings {
            cache_type_k: GgmlType::Q8_0,
            cache_type_v: GgmlType::Q8_0,
            flash_attn: llmrig_core::estimate::FlashAttn::On,
            ..s.clone()
        };
        alts.extend(try_("-ctk q8_0 -ctv q8_0".into(), w, &t, sys));
    }
    // A smaller quant of the same model (not for a file, whose tensors are what they are).
    if matches!(model.source.as_str(), "catalog" | "generic") {
        let bpw = w.bits_per_weight();
        for q in SMALLER {
            let Ok(quant) = Quant::parse(q) else { continue };
            let smaller = ModelWeights::new(&w.spec, quant);
            if smaller.bits_per_weight() >= bpw - 0.3 {
                continue;
            }
            // The largest quant that helps is the one to name.
            if let Some(a) = try_(format!("-q {q}"), &smaller, s, sys) {
                let done = helps(&a.e, e);
                alts.push(a);
                if done {
                    break;
                }
            }
        }
    }
    // One more GPU of the kind the machine has.
    if sys.gpus.windows(2).all(|g| g[0].name == g[1].name) && sys.gpus.len() < 8 {
        let mut more = sys.clone();
        more.gpus.push(sys.gpus[0].clone());
        let n = more.gpus.len();
        alts.extend(try_(format!("{n}× {}", sys.gpus[0].name), w, s, &more));
    }
    let mut helpful: Vec<Alt> = alts.into_iter().filter(|a| helps(&a.e, e)).collect();
    helpful.sort_by(|a, b| {
        rank(b.e.verdict).cmp(&rank(a.e.verdict)).then(
            b.e.performance
                .decode_tokens_per_s
                .total_cmp(&a.e.performance.decode_tokens_per_s),
        )
    });
    helpful
        .iter()
        .take(3)
        .map(|a| {
            let placed = if a.e.offload.gpu_layers >= a.e.offload.total_layers
                && a.e.resolved.n_cpu_moe == 0
            {
                "all layers on the GPU".to_string()
            } else if a.e.resolved.n_cpu_moe > 0 {
                format!("experts of {} layers in RAM", a.e.resolved.n_cpu_moe)
            } else {
                format!(
                    "{}/{} layers on the GPU",
                    a.e.offload.gpu_layers, a.e.offload.total_layers
                )
            };
            format!(
                "{}: {placed}, {} tok/s instead of {} ({})",
                a.flag,
                tps(a.e.performance.decode_tokens_per_s),
                tps(e.performance.decode_tokens_per_s),
                gib(a.e.memory.total_bytes)
            )
        })
        .collect()
}

/// Whether `a` is better than `e`: a better verdict, or clearly faster at least as good.
fn helps(a: &Estimate, e: &Estimate) -> bool {
    a.verdict != Verdict::DoesNotFit
        && (rank(a.verdict) > rank(e.verdict)
            || (rank(a.verdict) == rank(e.verdict)
                && a.performance.decode_tokens_per_s > 1.2 * e.performance.decode_tokens_per_s))
}

/// A speed with the digits it needs, never `0`: `62`, `6.2`, `0.62`, `0.062`.
pub fn tps(v: f64) -> String {
    tps_at_least(v, 0)
}

/// A speed with at least `decimals` digits after the point, more when it is small enough that
/// fewer would round it to nothing.
pub fn tps_at_least(v: f64, decimals: usize) -> String {
    let needed = if v >= 10.0 {
        0
    } else if v >= 1.0 {
        1
    } else if v >= 0.1 {
        2
    } else {
        3
    };
    format!("{v:.*}", decimals.max(needed))
}
