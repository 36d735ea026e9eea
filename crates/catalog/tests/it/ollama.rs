//! Ollama library tags (data/ollama.toml): each tag's quant is the one whose predicted file size
//! matches the size ollama.com lists for it, and every tag names a catalog model.

use crate::common::{spec, weights};

/// A listed size ("4.9GB") is rounded to two significant digits; Ollama's files also carry the
/// tokenizer and template. 4% covers both (measured: the largest gap is Qwen3 8B/14B at 3.4%).
const TOLERANCE: f64 = 0.04;

/// A vision tag's listed size also holds its projector: a SigLIP or Pixtral encoder, at most
/// ~0.9 GB in F16.
const PROJECTOR_MAX_GB: f64 = 1.0;

#[test]
fn every_tag_ships_the_quant_its_listed_size_says() {
    let mut report = String::new();
    let mut checked = 0;
    for t in llmrig_catalog::ollama().tags() {
        let w = weights(&spec(&t.model), &t.quant);
        #[allow(clippy::cast_precision_loss)]
        let gb = w.total_bytes() as f64 / 1e9;
        if t.size_differs.is_some() {
            continue;
        }
        checked += 1;
        let ok = if t.vision {
            gb < t.size_gb * (1.0 + TOLERANCE) && t.size_gb - gb < PROJECTOR_MAX_GB
        } else {
            (gb / t.size_gb - 1.0).abs() < TOLERANCE
        };
        if !ok {
            report.push_str(&format!(
                "{}: {} {} is {gb:.3} GB, listed {} GB\n",
                t.tag, t.model, t.quant, t.size_gb
            ));
        }
    }
    assert!(report.is_empty(), "{report}");
    assert!(checked >= 60, "{checked}");
}

#[test]
fn every_library_name_has_its_latest_and_models_exist() {
    let o = llmrig_catalog::ollama();
    let models = llmrig_catalog::models();
    for t in o.tags() {
        assert!(
            models.all().iter().any(|m| m.spec.id == t.model),
            "{}: `{}` is not a catalog id",
            t.tag,
            t.model
        );
    }
    for l in o.libraries() {
        let r = o.resolve(&l.name).expect(&l.name);
        assert_eq!(r.tag.tag, format!("{}:{}", l.name, l.latest));
    }
    // Ollama's meanings (issue 14): the bare name and :8b are the 8B distill, not the 671B.
    let r = o.resolve("deepseek-r1").unwrap();
    assert_eq!(r.tag.model, "deepseek-r1-0528-qwen3-8b");
    assert_eq!(
        o.resolve("deepseek-r1:8b").unwrap().tag.model,
        "deepseek-r1-0528-qwen3-8b"
    );
    assert_eq!(
        o.resolve("deepseek-r1:671b").unwrap().tag.model,
        "deepseek-r1-671b"
    );
}
