//! `llmrig models`, `llmrig devices`, `llmrig quants`: the catalogs as tables or JSON.

use llmrig_catalog::{devices, models};
use llmrig_core::quant::{FileType, GgmlType, OtherFormat};
use serde::Serialize;

use crate::render::{json, table};

#[derive(Serialize)]
struct ModelRow<'a> {
    id: &'a str,
    name: &'a str,
    arch: &'a str,
    hf_repo: &'a str,
    aliases: &'a [String],
    n_layer: u32,
    n_embd: u64,
    n_head: u32,
    n_head_kv: u32,
    n_vocab: u64,
    context_length: u64,
    n_expert: u32,
    n_expert_used: u32,
    params: u64,
    active_params: u64,
    verified: bool,
    source: &'a str,
}

/// One installed model file.
#[derive(Serialize)]
struct InstalledRow {
    /// The program whose store holds it.
    program: &'static str,
    /// The name used there (an Ollama tag, `ORG/REPO`, a file name).
    name: String,
    /// The file.
    path: String,
    size_bytes: u64,
    /// The GGUF's declared file type (`Q4_K_M`), when its header says.
    quant: Option<String>,
}

/// `llmrig models --installed`: the stores `llmrig_formats::installed` knows, each file's quant
/// from its GGUF header (a few KiB read per file).
pub fn installed_cmd(as_json: bool) -> String {
    use llmrig_formats::installed::{scan, Roots};
    let rows: Vec<InstalledRow> = scan(&Roots::from_env())
        .into_iter()
        .map(|i| InstalledRow {
            program: i.store.program(),
            // A GGUF's (or a llamafile's GGUF's) declared file type; a model folder's format
            // from its config.json.
            quant: if i.path.is_dir() {
                llmrig_formats::local::open_hf_folder(&i.path)
                    .ok()
                    .map(|f| f.weights.quant.name())
            } else {
                llmrig_formats::local::open_gguf(&i.path)
                    .ok()
                    .and_then(|m| m.model.file_type.map(|f| f.name().to_string()))
            },
            name: i.name,
            path: i.path.display().to_string(),
            size_bytes: i.size,
        })
        .collect();
    if as_json {
        return json::to_string(&serde_json::json!({ "schema_version": 1, "installed": rows }));
    }
    if rows.is_empty() {
        return "no installed models found (Ollama, LM Studio, GPT4All, Jan, text-generation-webui, Msty, AnythingLLM, koboldcpp settings, llamafiles, the Hugging Face and llama.cpp caches, LLMRIG_MODEL_DIRS)\n"
            .to_string();
    }
    let mut t = table::new(&["program", "name", "quant", "size", "file"], &[3]);
    for r in &rows {
        #[allow(clippy::cast_precision_loss)]
        t.add_row(vec![
            r.program.to_string(),
            r.name.clone(),
            r.quant.clone().unwrap_or_else(|| "-".into()),
            format!("{:.2} GiB", r.size_bytes as f64 / f64::from(1u32 << 30)),
            r.path.clone(),
        ]);
    }
    table::fit(&mut t, &[4, 2]);
    format!("{t}\n")
}

/// `llmrig models`.
pub fn models_cmd(as_json: bool) -> String {
    let rows: Vec<ModelRow> = models()
        .all()
        .iter()
        .map(|e| {
            let w = llmrig_core::estimate::ModelWeights::new(
                &e.spec,
                llmrig_core::quant::Quant::Gguf(llmrig_core::quant::Mix::new(FileType::F16)),
            );
            ModelRow {
                id: &e.spec.id,
                name: &e.spec.name,
                arch: e.spec.arch.gguf_name(),
                hf_repo: &e.hf_repo,
                aliases: &e.aliases,
                n_layer: e.spec.n_layer,
                n_embd: e.spec.n_embd,
                n_head: e.spec.n_head,
                n_head_kv: e.spec.n_head_kv,
                n_vocab: e.spec.n_vocab,
                context_length: e.spec.context_length,
                n_expert: e.spec.n_expert,
                n_expert_used: e.spec.n_expert_used,
                params: w.params(),
                active_params: w.active_params(),
                verified: e.verified,
                source: &e.source,
            }
        })
        .collect();
    let images: Vec<serde_json::Value> = llmrig_catalog::image::image_models()
        .iter()
        .map(|e| {
            let p = &e.pipeline;
            serde_json::json!({
                "id": e.id,
                "name": e.name,
                "aliases": e.aliases,
                "params": p.params(),
                "parts": p.parts.iter().map(|x| serde_json::json!({
                    "role": x.role.json_name(&x.arch),
                    "name": x.name,
                    "params": x.arch.params(),
                    "format": x.format.name(),
                })).collect::<Vec<_>>(),
                "width": p.width,
                "height": p.height,
                "steps": p.steps,
                "passes_per_step": p.passes(),
                "files": e.files,
            })
        })
        .collect();
    let speech: Vec<serde_json::Value> = llmrig_catalog::speech::whisper_models()
        .iter()
        .map(|w| {
            serde_json::json!({
                "id": w.id,
                "name": w.name,
                "aliases": w.aliases,
                "params": w.spec.params(),
            })
        })
        .collect();
    if as_json {
        return json::to_string(&serde_json::json!({
            "schema_version": 1,
            "models": rows,
            "image_models": images,
            "speech_models": speech,
        }));
    }
    let mut t = table::new(
        &[
            "id", "arch", "params", "layers", "context", "experts", "verified",
        ],
        &[2, 3, 4],
    );
    for r in &rows {
        #[allow(clippy::cast_precision_loss)]
        let params = if r.n_expert > 1 {
            format!(
                "{:.1}B ({:.1}B active)",
                r.params as f64 / 1e9,
                r.active_params as f64 / 1e9
            )
        } else {
            format!("{:.2}B", r.params as f64 / 1e9)
        };
        t.add_row(vec![
            r.id.to_string(),
            r.arch.to_string(),
            params,
            r.n_layer.to_string(),
            r.context_length.to_string(),
            if r.n_expert > 1 {
                format!("{}/{}", r.n_expert_used, r.n_expert)
            } else {
                "-".into()
            },
            if r.verified { "yes" } else { "partly" }.to_string(),
        ]);
    }
    table::fit(&mut t, &[6, 5, 1]);
    let mut it = table::new(
        &["image model", "parts", "params", "size", "steps"],
        &[2, 4],
    );
    for v in &images {
        #[allow(clippy::cast_precision_loss)]
        it.add_row(vec![
            v["id"].as_str().unwrap_or("").to_string(),
            v["parts"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| x["name"].as_str().unwrap_or(""))
                        .collect::<Vec<_>>()
                        .join(" + ")
                })
                .unwrap_or_default(),
            format!("{:.2}B", v["params"].as_u64().unwrap_or(0) as f64 / 1e9),
            format!("{}x{}", v["width"], v["height"]),
            v["steps"].to_string(),
        ]);
    }
    let mut st = table::new(&["speech model", "params"], &[1]);
    for v in &speech {
        #[allow(clippy::cast_precision_loss)]
        st.add_row(vec![
            v["id"].as_str().unwrap_or("").to_string(),
            format!("{:.3}B", v["params"].as_u64().unwrap_or(0) as f64 / 1e9),
        ]);
    }
    format!("{t}\n{it}\n{st}\n")
}

/// `llmrig devices`.
pub fn devices_cmd(as_json: bool) -> String {
    #[derive(Serialize)]
    struct Row<'a> {
        id: &'a str,
        name: &'a str,
        kind: llmrig_catalog::EntryKind,
        memory_bytes: Option<u64>,
        bandwidth_bytes_per_s: f64,
        fp16_flops: Option<f64>,
        int8_ops: Option<f64>,
        source: &'a str,
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rows: Vec<Row> = devices()
        .all()
        .iter()
        .map(|d| Row {
            id: &d.id,
            name: &d.name,
            kind: d.kind,
            memory_bytes: d.memory_bytes(),
            bandwidth_bytes_per_s: d.bandwidth_gbs * 1e9,
            fp16_flops: d.fp16_tflops.map(|x| x * 1e12),
            int8_ops: d.int8_tops.map(|x| x * 1e12),
            source: &d.source,
        })
        .collect();
    if as_json {
        return json::to_string(&serde_json::json!({"schema_version": 1, "devices": rows}));
    }
    let mut t = table::new(
        &["id", "name", "kind", "memory", "bandwidth", "FP16"],
        &[3, 4, 5],
    );
    for d in devices().all() {
        t.add_row(vec![
            d.id.clone(),
            d.name.clone(),
            format!("{:?}", d.kind).to_lowercase(),
            d.memory_gb.map_or("-".into(), |g| format!("{g} GiB")),
            format!("{} GB/s", d.bandwidth_gbs),
            d.fp16_tflops.map_or("-".into(), |f| format!("{f} TFLOPS")),
        ]);
    }
    table::fit(&mut t, &[1, 5]);
    format!("{t}\n")
}

/// `llmrig quants`.
pub fn quants_cmd(as_json: bool) -> String {
    #[derive(Serialize)]
    struct TypeRow {
        name: &'static str,
        id: u32,
        block_size: u64,
        bytes_per_block: u64,
        bits_per_weight: f64,
    }
    #[derive(Serialize)]
    struct FileTypeRow {
        name: &'static str,
        gguf_file_type: u32,
        default_type: &'static str,
        requires_imatrix: bool,
    }
    #[derive(Serialize)]
    struct OtherRow {
        name: String,
        bits_per_weight: f64,
        description: &'static str,
        backends: &'static [&'static str],
    }
    let types: Vec<TypeRow> = GgmlType::ALL
        .iter()
        .map(|t| TypeRow {
            name: t.name(),
            id: t.id(),
            block_size: t.block_size(),
            bytes_per_block: t.type_size(),
            bits_per_weight: t.bits_per_weight(),
        })
        .collect();
    let ftypes: Vec<FileTypeRow> = FileType::all()
        .map(|f| FileTypeRow {
            name: f.name(),
            gguf_file_type: f.gguf_id(),
            default_type: f.default_type().name(),
            requires_imatrix: f.requires_imatrix(),
        })
        .collect();
    let others: Vec<OtherRow> = OtherFormat::examples()
        .iter()
        .filter_map(|n| OtherFormat::parse(n))
        .map(|f| OtherRow {
            name: f.name(),
            bits_per_weight: f.bits_per_weight(
                llmrig_core::quant::other::WeightRole::Linear,
                4096,
                4096,
            ),
            description: f.description(),
            backends: f.backends(),
        })
        .collect();
    if as_json {
        return json::to_string(&serde_json::json!({
            "schema_version": 1, "ggml_types": types, "file_types": ftypes, "other_formats": others
        }));
    }
    let mut a = table::new(
        &["ggml type", "id", "block", "bytes/block", "bits/weight"],
        &[1, 2, 3, 4],
    );
    for t in &types {
        a.add_row(vec![
            t.name.to_string(),
            t.id.to_string(),
            t.block_size.to_string(),
            t.bytes_per_block.to_string(),
            format!("{:.4}", t.bits_per_weight),
        ]);
    }
    let mut b = table::new(
        &[
            "llama.cpp file type",
            "file_type id",
            "default tensor type",
            "needs imatrix",
        ],
        &[1],
    );
    for f in &ftypes {
        b.add_row(vec![
            f.name.to_string(),
            f.gguf_file_type.to_string(),
            f.default_type.to_string(),
            if f.requires_imatrix { "yes" } else { "" }.to_string(),
        ]);
    }
    let mut c = table::new(
        &["other format", "bits/weight (4096×4096)", "what", "engines"],
        &[1],
    );
    for o in &others {
        c.add_row(vec![
            o.name.clone(),
            format!("{:.4}", o.bits_per_weight),
            o.description.to_string(),
            o.backends.join(", "),
        ]);
    }
    format!(
        "{a}\n\n{b}\nFile types are per-tensor mixes; `llmrig estimate MODEL -q TYPE --json` shows a model's real mix.\n\n{c}\n"
    )
}
