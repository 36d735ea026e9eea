//! MODEL and `-q` → the model's weights: a GGUF file, a Hugging Face folder, `hf:` and `ollama:`
//! repositories, an installed Ollama tag, the catalog, or a bare size (a generic transformer).

use anyhow::{anyhow, bail, Context, Result};
use llmrig_catalog::models;
use llmrig_core::estimate::ModelWeights;
use llmrig_core::model::{Arch, ModelSpec};
use llmrig_core::quant::{OtherFormat, Quant};

use crate::render::gib;

/// The model as resolved: weights plus where the numbers came from.
pub struct ResolvedModel {
    pub weights: ModelWeights,
    pub source: String,
    pub notes: Vec<String>,
    /// Set when the model was read from GGUF files.
    pub local: Option<llmrig_formats::local::LocalModel>,
    /// Set when the model was read from a Hugging Face folder.
    pub folder: Option<llmrig_formats::local::HfFolder>,
}

/// A generic dense transformer of about `params` parameters, shaped like Llama 3 (GQA 8, FFN 3.5×,
/// 128k vocabulary): hidden size from the nearest Llama-family size, layers to match the count.
pub(super) fn generic_spec(label: &str, params: f64) -> ModelSpec {
    // (hidden size, heads) of Llama-family models by size.
    let (e, heads): (u64, u32) = match params {
        p if p < 2e9 => (2048, 32),
        p if p < 5e9 => (3072, 24),
        p if p < 10e9 => (4096, 32),
        p if p < 20e9 => (5120, 40),
        p if p < 45e9 => (6144, 48),
        p if p < 150e9 => (8192, 64),
        _ => (16384, 128),
    };
    let ff = e * 7 / 2;
    let vocab = 128_256;
    let kv = 8 * 128;
    #[allow(clippy::cast_precision_loss)]
    let per_layer = (2 * e * e + 2 * e * kv + 3 * e * ff) as f64;
    #[allow(clippy::cast_precision_loss)]
    let emb = (2 * vocab * e) as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n_layer = (((params - emb) / per_layer).round() as u32).clamp(1, 200);
    ModelSpec {
        id: label.to_string(),
        name: format!("generic dense {label}"),
        arch: Arch::Llama,
        n_layer,
        n_embd: e,
        n_ff: ff,
        n_head: heads,
        n_head_kv: 8,
        head_dim: Some(e / u64::from(heads)),
        n_vocab: vocab,
        tied_embeddings: false,
        context_length: 131_072,
        ..ModelSpec::default()
    }
}

/// Unsloth's dynamic quants (`UD-Q4_K_XL`, `Q4_K_XL`, `UD-IQ2_XXS`): without the file the nearest
/// llama-quantize preset sizes it ([`llmrig_core::quant::unsloth_base`]), said in a note; the file
/// itself (`hf:unsloth/…-GGUF -q UD-Q4_K_XL`) is read exactly.
pub(super) fn unsloth_dynamic(q: &str) -> (&str, Option<String>) {
    let t = q.trim();
    let Some(base) = llmrig_core::quant::unsloth_base(t) else {
        return (t, None);
    };
    (
        base,
        Some(format!(
            "{t} is Unsloth's dynamic mix, chosen per model; sized as {base} (read the file, hf:unsloth/…-GGUF -q {t}, for its exact size)"
        )),
    )
}

/// A size in billions as written in a model name (`30`, `1.5`).
fn billions(s: &str) -> Option<f64> {
    s.strip_suffix('b')?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
}

/// A generic mixture-of-experts transformer named by its sizes: `8x7b` (Mixtral's naming: 8
/// experts the shape of a 7B model's FFN, 2 routed per token) or `30b-a3b` (total and active
/// parameters, Qwen3's naming: 8 routed experts per token, the expert size chosen to make the
/// active count and the expert count to make the total). Attention and embeddings are those of a
/// generic dense model of the active size.
pub(super) fn generic_moe_spec(label: &str) -> Option<Result<ModelSpec>> {
    let (spec, total) = if let Some((n, per)) = label.split_once('x') {
        let n: u32 = n.parse().ok().filter(|n| (2..=512).contains(n))?;
        let per = billions(per)?;
        let mut spec = generic_spec(label, per * 1e9);
        spec.n_expert = n;
        spec.n_expert_used = 2;
        spec.expert_ff = Some(spec.n_ff);
        (spec, None)
    } else {
        let (t, a) = label.split_once("-a").or_else(|| label.split_once('a'))?;
        let (t, a) = (billions(t)? * 1e9, billions(a)? * 1e9);
        (generic_spec(label, a), Some((t, a)))
    };
    let Some((total, active)) = total else {
        return Some(Ok(ModelSpec {
            name: format!("generic MoE {label}"),
            ..spec
        }));
    };
    if !(active < total && (1e8..=2e12).contains(&total)) {
        return Some(Err(anyhow!(
            "`{label}`: expected TOTALb-aACTIVEb with the active size below the total, up to 2000b"
        )));
    }
    #[allow(clippy::cast_precision_loss)]
    let (e, layers) = (spec.n_embd as f64, f64::from(spec.n_layer));
    #[allow(clippy::cast_precision_loss)]
    let attn = (2 * spec.n_embd * spec.n_embd + 2 * spec.n_embd * 8 * 128) as f64;
    #[allow(clippy::cast_precision_loss)]
    let emb = (2 * spec.n_vocab * spec.n_embd) as f64;
    let used = 8.0;
    // Active: emb + layers·(attn + used·3·e·ff); total: emb + layers·(attn + n·3·e·ff).
    let ff = ((active - emb - layers * attn) / (layers * used * 3.0 * e)).max(64.0);
    let n = ((total - emb - layers * attn) / (layers * 3.0 * e * ff)).round();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(Ok(ModelSpec {
        name: format!("generic MoE {label}"),
        n_expert: (n as u32).clamp(9, 1024),
        n_expert_used: 8,
        expert_ff: Some(ff.round() as u64),
        ..spec
    }))
}

/// `ORG/REPO[/FILE][:QUANT][@REV]` → (`ORG/REPO`, the quant after `:`).
fn hf_repo_and_quant(spec: &str) -> (&str, Option<&str>) {
    let spec = spec.split('@').next().unwrap_or(spec);
    let (path, quant) = match spec.split_once(':') {
        Some((p, q)) => (p, Some(q)),
        None => (spec, None),
    };
    let mut parts = path.splitn(3, '/');
    let org_len = parts.next().map_or(0, str::len);
    let repo_len = parts.next().map_or(0, |r| r.len() + 1);
    (&path[..org_len + repo_len], quant)
}

/// The catalog model a Hugging Face repository holds: its own repository, or a GGUF
/// repository named after it (`unsloth/Qwen3-8B-GGUF`, `bartowski/Qwen_Qwen3-8B-GGUF`).
fn catalog_for_repo(repo: &str) -> Option<&'static llmrig_catalog::ModelEntry> {
    let cat = models();
    let name = repo.rsplit('/').next().unwrap_or(repo);
    // bartowski prefixes the original organisation: `Qwen_Qwen3-8B-GGUF`.
    let bare = name.split_once('_').map_or(name, |(_, n)| n);
    cat.find(repo).ok().or_else(|| cat.find(bare).ok())
}

/// Resolves MODEL and `-q` into weights: a file, folder or remote repository first, then the
/// catalog or a bare size.
pub fn model(name: &str, quant: Option<&str>) -> Result<ResolvedModel> {
    let lower = name.trim().to_ascii_lowercase();
    let mut cfg = llmrig_formats::RemoteConfig::from_env();
    cfg.progress = Some(crate::progress::Bar::hook());
    let opened = match llmrig_formats::open::open_model(name, quant, &cfg) {
        Ok(o) => o,
        // Offline, with a repository the catalog knows: its entry, said so, beats no answer.
        Err(e) if e.is_unreachable() && lower.starts_with("hf:") => {
            let (repo, q) = hf_repo_and_quant(&name.trim()[3..]);
            let Some(entry) = catalog_for_repo(repo) else {
                return Err(e.into());
            };
            let mut r = model(&entry.spec.id, q.or(quant))?;
            r.notes.insert(
                0,
                format!(
                    "{name}: the hub could not be reached (no network?); estimated from the catalog's {} instead",
                    entry.spec.name
                ),
            );
            return Ok(r);
        }
        Err(e) => return Err(e.into()),
    };
    match opened {
        Some(llmrig_formats::open::Opened::Gguf(local)) => {
            if local.model.kind == llmrig_formats::gguf::GgufKind::Projector {
                bail!("`{name}` is a multimodal projector (mmproj), not a language model: estimate the model file");
            }
            let mut notes = local.model.warnings.clone();
            let remote = lower.starts_with("hf:") || lower.starts_with("ollama:");
            if let (Some(q), false) = (quant, remote) {
                notes.push(format!("-q {q} ignored: the file's own tensors are used"));
            }
            return Ok(ResolvedModel {
                weights: local.model.weights.clone(),
                source: if remote { "remote" } else { "file" }.into(),
                notes,
                local: Some(local),
                folder: None,
            });
        }
        Some(llmrig_formats::open::Opened::Folder(f)) => {
            let mut notes = f.config.warnings.clone();
            let predicted = f.weights.total_bytes();
            #[allow(clippy::cast_precision_loss)]
            let diff = (predicted as f64 - f.tensor_bytes as f64) / (f.tensor_bytes.max(1) as f64);
            if f.tensor_bytes > 0 && diff.abs() > 0.02 {
                notes.push(format!(
                    "the safetensors files hold {} but the {} layout predicts {} ({:+.1}%); the estimate uses the prediction",
                    gib(f.tensor_bytes),
                    f.weights.quant.name(),
                    gib(predicted),
                    diff * 100.0
                ));
            }
            // `-q` on a Hugging Face model: that model quantized to it, as llama-quantize
            // would from its config.json (the checkpoint's own format otherwise).
            let weights = match quant {
                Some(q) => {
                    let (base, ud) = unsloth_dynamic(q);
                    let parsed = Quant::parse(base)?;
                    notes.extend(ud);
                    notes.push(format!(
                        "{} quantized to {} from its config.json, as llama-quantize would",
                        f.weights.spec.name,
                        parsed.name()
                    ));
                    ModelWeights::new(&f.weights.spec, parsed)
                }
                None => f.weights.clone(),
            };
            let remote = lower.starts_with("hf:");
            return Ok(ResolvedModel {
                weights,
                source: if remote { "remote" } else { "folder" }.into(),
                notes,
                local: None,
                folder: Some(f),
            });
        }
        None => {}
    }
    // An Ollama tag installed on this machine: its blob is the GGUF, read exactly.
    if name.contains(':') && !lower.starts_with("hf:") && !lower.starts_with("ollama:") {
        // Only the Ollama-layout stores (Ollama's, Msty's, AnythingLLM's) hold tags: no walk of
        // the other stores for a name.
        use llmrig_formats::installed::{scan, Layout, Roots};
        let mut roots = Roots::from_env();
        roots.roots.retain(|r| r.layout == Layout::Ollama);
        let installed = scan(&roots);
        let want = name.trim();
        if let Some(i) = installed.iter().find(|i| {
            i.name.contains(':')
                && (i.name.eq_ignore_ascii_case(want)
                    || i.name.eq_ignore_ascii_case(&format!("{want}:latest")))
        }) {
            let local = llmrig_formats::local::open_gguf(&i.path)?;
            let mut notes = local.model.warnings.clone();
            notes.push(format!(
                "read the installed {} model {} ({})",
                i.store.program(),
                i.name,
                i.path.display()
            ));
            return Ok(ResolvedModel {
                weights: local.model.weights.clone(),
                source: "installed".into(),
                notes,
                local: Some(local),
                folder: None,
            });
        }
    }
    let q_given = quant;
    let (base, ud_note) = unsloth_dynamic(quant.unwrap_or("Q4_K_M"));
    let quant = Quant::parse(base)?;
    if let Some(num) = lower.strip_suffix('b').or_else(|| lower.strip_suffix('m')) {
        if let Ok(n) = num.parse::<f64>() {
            let params = if lower.ends_with('b') {
                n * 1e9
            } else {
                n * 1e6
            };
            if !(params.is_finite() && (1e8..=2e12).contains(&params)) {
                bail!("`{name}`: expected a size between 0.1b and 2000b");
            }
            let spec = generic_spec(&lower, params);
            return Ok(ResolvedModel {
                weights: ModelWeights::new(&spec, quant),
                source: "generic".into(),
                notes: vec![format!(
                    "`{name}` is a generic dense transformer ({} layers, hidden {}, GQA 8); use a catalog model for exact numbers",
                    spec.n_layer, spec.n_embd
                )],
                local: None,
                folder: None,
            });
        }
    }
    if let Some(spec) = generic_moe_spec(&lower) {
        let spec = spec?;
        let note = format!(
            "`{name}` is a generic mixture-of-experts transformer ({} layers, hidden {}, {} experts of {} with {} per token); use a catalog model for exact numbers",
            spec.n_layer,
            spec.n_embd,
            spec.n_expert,
            spec.expert_ff.unwrap_or(spec.n_ff),
            spec.n_expert_used
        );
        return Ok(ResolvedModel {
            weights: ModelWeights::new(&spec, quant),
            source: "generic".into(),
            notes: vec![note],
            local: None,
            folder: None,
        });
    }
    let mut notes: Vec<String> = ud_note.into_iter().collect();
    // An Ollama library name means what Ollama pulls for it: that model, in that quant.
    if let Some(o) = llmrig_catalog::ollama().resolve(name) {
        let entry = models()
            .find(&o.tag.model)
            .map_err(|e| anyhow!("ollama.toml names an unknown model: {e}"))?;
        let quant = match q_given {
            Some(_) => quant,
            None => Quant::parse(&o.quant)?,
        };
        // Say so when the library changes the answer: another model than the catalog's own
        // name, or the quant Ollama ships.
        let catalog_guess = models().find(name).ok().map(|e| e.spec.id.as_str());
        if catalog_guess != Some(o.tag.model.as_str()) || q_given.is_none() {
            let mut note = format!("Ollama's `{}` is {}", name.trim(), entry.spec.name);
            if q_given.is_none() {
                note.push_str(&format!(" in {}", quant.name()));
            }
            notes.push(note);
        }
        return Ok(catalog_model(entry, quant, notes));
    }
    let entry = models()
        .find(name)
        .context("")
        .map_err(|e| anyhow!("{}", e.root_cause()))?;
    // gpt-oss is released in MXFP4 (experts MXFP4, the rest BF16); that file, not a Q4_K_M
    // re-quantization, is what people download when they name no quant.
    let quant = if q_given.is_none() && entry.spec.arch == Arch::GptOss {
        notes.push(format!(
            "{} is released in MXFP4 (MXFP4_MOE); pass -q for another quantization",
            entry.spec.name
        ));
        Quant::parse("MXFP4_MOE")?
    } else if q_given.is_none() && entry.spec.is_embedder() {
        // Embedders are small and served unquantized: Ollama's bge-m3 and nomic-embed-text and
        // the GGUF repositories' default files are F16.
        notes.push(format!(
            "{} is an embedding model, served at F16 as Ollama ships it; pass -q for another quantization",
            entry.spec.name
        ));
        Quant::parse("F16")?
    } else {
        quant
    };
    Ok(catalog_model(entry, quant, notes))
}

/// The weights the program runs: for Ollama, the quant its library ships when it ships only one
/// (gpt-oss: its own conversion, experts MXFP4 and the rest BF16), unless `-q` named another;
/// for llama.cpp, gpt-oss's `-q MXFP4` as the GGUF named so ([`gguf_mxfp4`]).
pub fn for_program(
    m: &mut ResolvedModel,
    llama_cpp: bool,
    ollama: bool,
    q_given: bool,
) -> Result<()> {
    let catalog = m.source == "catalog" && m.local.is_none() && m.folder.is_none();
    let mxfp4 = m.weights.quant == Quant::Other(OtherFormat::Mxfp4);
    if ollama && catalog && (!q_given || mxfp4) {
        if let Some((q, tag)) = llmrig_catalog::ollama().sole_quant(&m.weights.spec.id) {
            let q = Quant::parse(q)?;
            if m.weights.quant != q {
                m.notes.push(format!(
                    "Ollama ships {} only as {tag} ({}, data/ollama.toml); sized as that",
                    m.weights.spec.name,
                    q.name()
                ));
                m.weights = ModelWeights::new(&m.weights.spec, q);
            }
        }
    }
    if llama_cpp {
        gguf_mxfp4(m)?;
    }
    Ok(())
}

/// `-q MXFP4` for gpt-oss in the llama.cpp family means the GGUF named so
/// (`ggml-org/gpt-oss-20b-GGUF`'s `gpt-oss-20b-mxfp4.gguf`, which llama-bench calls "MXFP4 MoE":
/// experts MXFP4, every other matrix Q8_0), not the safetensors release (the rest BF16, 14% more).
/// A model read from a file keeps what the file holds.
fn gguf_mxfp4(m: &mut ResolvedModel) -> Result<()> {
    let catalog = m.local.is_none() && m.folder.is_none();
    if catalog
        && m.weights.spec.arch == Arch::GptOss
        && m.weights.quant == Quant::Other(OtherFormat::Mxfp4)
    {
        m.weights = ModelWeights::new(&m.weights.spec, Quant::parse("MXFP4_MOE")?);
        m.notes.push(
            "llama.cpp's MXFP4 GGUF of gpt-oss is MXFP4_MOE (experts MXFP4, the rest Q8_0); sized as that"
                .into(),
        );
    }
    Ok(())
}

/// A catalog model in `quant`, with a note when its numbers are not all verified.
fn catalog_model(
    entry: &llmrig_catalog::ModelEntry,
    quant: Quant,
    mut notes: Vec<String>,
) -> ResolvedModel {
    if !entry.verified {
        notes.push(format!(
            "catalog numbers for {} are not fully verified: {}",
            entry.spec.id, entry.notes
        ));
    }
    ResolvedModel {
        weights: ModelWeights::new(&entry.spec, quant),
        source: "catalog".into(),
        notes,
        local: None,
        folder: None,
    }
}

/// A projector file (`--mmproj FILE`, `hf:ORG/REPO/FILE.gguf`): its numbers and its exact weights.
///
/// # Errors
/// A file that cannot be read, is not a projector, or is a projector type llmrig does not size.
pub fn projector(name: &str) -> Result<(llmrig_core::model::ProjectorSpec, u64, String)> {
    let mut cfg = llmrig_formats::RemoteConfig::from_env();
    cfg.progress = Some(crate::progress::Bar::hook());
    let opened = llmrig_formats::open::open_model(name, Some("mmproj"), &cfg)?;
    let Some(llmrig_formats::open::Opened::Gguf(local)) = opened else {
        bail!("--mmproj `{name}`: expected a projector GGUF file (mmproj-*.gguf), `auto` or hf:ORG/REPO/FILE.gguf");
    };
    if local.model.kind != llmrig_formats::gguf::GgufKind::Projector {
        bail!("--mmproj `{name}`: this GGUF is a language model (general.architecture `{}`), not a projector (`clip`)", local.model.arch_name);
    }
    let Some(spec) = local.model.projector.clone() else {
        bail!(
            "--mmproj `{name}`: {}",
            local
                .model
                .warnings
                .last()
                .cloned()
                .unwrap_or_else(|| "its clip.vision keys are missing".into())
        );
    };
    let bytes = local
        .model
        .weights
        .tensors
        .iter()
        .map(|t| t.bytes.div_ceil(32) * 32)
        .sum();
    let ftype = local.model.file_type.map_or_else(
        || local.model.weights.quant.name(),
        |f| f.name().to_string(),
    );
    Ok((spec, bytes, ftype))
}
