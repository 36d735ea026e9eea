//! Predicted GGUF sizes against published files (tests/data/gguf-sizes.csv) and tensor counts from
//! real files (llamacpp-logs.csv `tensor_count_*` rows).

use llmrig_core::estimate::ModelWeights;
use llmrig_core::quant::{GgmlType, Quant};

use crate::common::{spec, weights};

/// Bytes a GGUF file holds besides tensor data: header, metadata (mostly the tokenizer: one string,
/// one type and, for SentencePiece, one score per token; BPE merges), tensor infos and alignment.
/// Approximate: about 40 bytes per vocabulary entry covers tokens, types and merges of the BPE
/// tokenizers here, plus ~96 bytes per tensor info (name, dims, type, offset, 32-byte padding).
fn metadata_bytes(w: &ModelWeights) -> u64 {
    w.spec.n_vocab * 40 + w.tensors.len() as u64 * 96 + 64 * 1024
}

/// Publishers that quantize with an importance matrix (bartowski documents it for every file;
/// lmstudio-community hosts bartowski's files). mradermacher's plain repos are static quants.
fn uses_imatrix(repo: &str) -> bool {
    repo.starts_with("bartowski/") || repo.starts_with("lmstudio-community/")
}

#[test]
fn published_file_sizes_match_within_one_percent() {
    let mut rdr = csv::Reader::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gguf-sizes.csv"
    ))
    .unwrap();
    let mut worst: f64 = 0.0;
    let mut checked = 0;
    let mut report = String::new();
    for row in rdr.records() {
        let row = row.unwrap();
        let (model, repo, quant, convention, value, unit) =
            (&row[0], &row[1], &row[2], &row[5], &row[6], &row[7]);
        let spec = spec(model);
        let mut w = weights(&spec, quant);
        if uses_imatrix(repo) {
            if let Quant::Gguf(mut mix) = w.quant {
                mix.imatrix = true;
                w = ModelWeights::new(&spec, Quant::Gguf(mix));
            }
        }
        let value: f64 = value.parse().unwrap();
        let want = match unit {
            "GB" => value * 1e9,
            "GiB" => value * 1073741824.0,
            "bytes" => value,
            u => panic!("unit {u}"),
        };
        let tensor_only = convention.contains("tensor data");
        let got = if tensor_only {
            w.total_bytes()
        } else {
            w.total_bytes() + metadata_bytes(&w)
        } as f64;
        let err = (got - want) / want;
        report.push_str(&format!(
            "{model:28} {quant:8} {repo:48} want {:>7.3} GB got {:>7.3} GB {:+.2}%\n",
            want / 1e9,
            got / 1e9,
            err * 100.0
        ));
        worst = worst.max(err.abs());
        checked += 1;
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{report}");
    }
    assert!(checked >= 60, "only {checked} rows");
    assert!(
        // The README claims every file within 0.3% (worst -0.25%/+0.28%).
        worst <= 0.003,
        "worst error {:.2}% exceeds the 0.3% the README claims\n{report}",
        worst * 100.0
    );
}

fn count(w: &ModelWeights, t: GgmlType) -> usize {
    w.tensors.iter().filter(|x| x.ggml_type == Some(t)).count()
}

#[test]
fn llama_3_1_8b_q4_k_m_has_193_q4_k_and_33_q6_k() {
    // llamacpp-logs.csv: LongWriter-llama3.1-8B tensor_count rows (llama-cpp-python #1693), and
    // "model size 4.58 GiB" (gguf-sizes.csv, Ollama llama3.1 8B blob).
    let w = weights(&spec("llama-3.1-8b"), "Q4_K_M");
    assert_eq!(count(&w, GgmlType::Q4_K), 193);
    assert_eq!(count(&w, GgmlType::Q6_K), 33);
    assert_eq!(w.tensors.len(), 292);
    let gib = w.total_bytes() as f64 / 1073741824.0;
    assert_eq!(format!("{gib:.2}"), "4.58");
}

#[test]
fn qwen2_5_14b_q4_k_m_has_289_q4_k_and_49_q6_k() {
    // llamacpp-logs.csv: Qwen2.5-14B-Instruct rows (gpustack #1681): 8.37 GiB, 4.87 BPW.
    let w = weights(&spec("qwen2.5-14b"), "Q4_K_M");
    assert_eq!(count(&w, GgmlType::Q4_K), 289);
    assert_eq!(count(&w, GgmlType::Q6_K), 49);
    let gib = w.total_bytes() as f64 / 1073741824.0;
    assert_eq!(format!("{gib:.2}"), "8.37");
    assert_eq!(format!("{:.2}", w.bits_per_weight()), "4.87");
}

#[test]
fn llama_3_1_70b_q4_0_is_37_22_gib() {
    // llamacpp-logs.csv: Meta-Llama-3.1-70B-Instruct Q4_0 model_size 37.22 GiB (ollama PR #6279).
    let w = weights(&spec("llama-3.1-70b"), "Q4_0");
    let gib = w.total_bytes() as f64 / 1073741824.0;
    assert_eq!(format!("{gib:.2}"), "37.22");
}

#[test]
fn gemma_3_12b_q4_k_m_is_6_79_gib() {
    // llamacpp-logs.csv: gemma-3-12B Q4_K_M model_size 6.79 GiB (llama-bench, llama.cpp PR #13194).
    let w = weights(&spec("gemma-3-12b"), "Q4_K_M");
    let gib = w.total_bytes() as f64 / 1073741824.0;
    assert!((gib - 6.79).abs() < 0.068, "{gib:.3} GiB");
}

#[test]
fn gemma_3_270m_q4_k_m_tensor_types() {
    // The real Gemma 3 270M Q4_K_M (issue 3): 236 tensors, F32 109, Q5_0 81, Q4_K 27, Q8_0 10, Q6_K 9.
    let w = weights(&spec("gemma-3-270m"), "Q4_K_M");
    assert_eq!(w.tensors.len(), 236);
    assert_eq!(count(&w, GgmlType::F32), 109);
    assert_eq!(count(&w, GgmlType::Q5_0), 81);
    assert_eq!(count(&w, GgmlType::Q4_K), 27);
    assert_eq!(count(&w, GgmlType::Q8_0), 10);
    assert_eq!(count(&w, GgmlType::Q6_K), 9);
}

#[test]
fn deepseek_r1_tensor_counts_in_both_layouts() {
    // Current converter (split attn_k_b/attn_v_b): 1086 tensors; files converted before the split
    // (the widespread R1 uploads) have one attn_kv_b per layer: 1025 (ollama #8930).
    let sp = spec("deepseek-r1-671b");
    assert_eq!(weights(&sp, "Q4_K_M").tensors.len(), 1086);
    let mut legacy = sp.clone();
    legacy.mla_legacy_kv = true;
    let w = weights(&legacy, "Q4_K_M");
    assert_eq!(w.tensors.len(), 1025);
    assert_eq!(
        w.tensors
            .iter()
            .filter(|t| t.ggml_type == Some(GgmlType::F32))
            .count(),
        361
    );
}

#[test]
fn tensor_counts_of_real_files() {
    // Totals seen in real GGUF files (issue logs collected while checking the inventories):
    // gpt-oss-20b 459 (ik_llama.cpp #822), gpt-oss-120b 687 (ollama #18373), Qwen3-30B-A3B 579
    // (ollama #10517), Qwen3-235B-A22B 1131 (llama.cpp #14795), gemma-2-27b 508 (ollama #5331).
    for (id, n) in [
        ("gpt-oss-20b", 459),
        ("gpt-oss-120b", 687),
        ("qwen3-30b-a3b", 579),
        ("qwen3-235b-a22b", 1131),
        ("gemma-2-27b", 508),
    ] {
        assert_eq!(weights(&spec(id), "Q4_K_M").tensors.len(), n, "{id}");
    }
}
