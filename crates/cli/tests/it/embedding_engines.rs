//! Issue 15: embedding and reranker models in text-embeddings-inference (TEI) and
//! sentence-transformers. The expected buffers are the rules engines.rs documents, written out
//! here from the model's shape (BGE-M3: XLM-RoBERTa large, H = 1024, I = 4096, 16 heads).

use super::{json, llmrig};
use predicates::prelude::*;
use serde_json::Value;

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

const GPU_3060: &[&str] = &["--gpu", "rtx-3060", "--ram", "32GiB"];

fn run(args: &[&str]) -> Value {
    let mut v = args.to_vec();
    if !args.contains(&"--gpu") && !args.contains(&"--no-gpu") {
        v.extend_from_slice(GPU_3060);
    }
    json(&v)
}

fn notes(j: &Value) -> String {
    j["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

const H: u64 = 1024;
const I: u64 = 4096;
const HEADS: u64 = 16;

#[test]
fn sentence_transformers_loads_float32_onto_the_gpu_and_sizes_a_padded_batch() {
    let j = run(&["estimate", "bge-m3", "--backend", "sentence-transformers"]);
    assert_eq!(j["settings"]["backend"], "sentence-transformers");
    assert_eq!(j["quant"]["name"], "F32");
    let gpu = &j["memory"]["devices"][0];
    let cpu = &j["memory"]["devices"][1];
    // The whole model on the GPU, the token table too (llama.cpp keeps it in RAM).
    assert_eq!(u(&cpu["weights_bytes"]), 0);
    assert!(u(&gpu["weights_bytes"]) > 250_002 * H * 4);
    assert_eq!(u(&j["memory"]["kv_cache_bytes"]), 0);
    // 32 documents of 512 tokens in float32: the expanded mask (4 bytes × 32 × 512²) and a
    // layer's input, attention output and MLP pre/post-activation (n · (2H + 2I) floats).
    let (b, t) = (32, 512);
    let n = b * t;
    assert_eq!(
        u(&gpu["compute_bytes"]),
        4 * b * t * t + 4 * n * (2 * H + 2 * I)
    );
    // The PyTorch context.
    assert!(u(&gpu["other_bytes"]) >= 400 << 20);
    // A smaller batch, a smaller peak; float16 halves weights and activations.
    let eight = run(&[
        "estimate",
        "bge-m3",
        "--backend",
        "st",
        "--encode-batch",
        "8",
    ]);
    assert_eq!(
        u(&eight["memory"]["devices"][0]["compute_bytes"]),
        4 * 8 * t * t + 4 * 8 * t * (2 * H + 2 * I)
    );
    let half = run(&["estimate", "bge-m3", "--backend", "st", "-q", "F16"]);
    assert_eq!(
        u(&half["memory"]["devices"][0]["compute_bytes"]),
        u(&gpu["compute_bytes"]) / 2
    );
    assert!(notes(&half).contains(r#"model_kwargs={"torch_dtype": "float16"}"#));
    assert!(notes(&j).contains("SentenceTransformer(\"BAAI/bge-m3\", device=\"cuda\")"));
}

#[test]
fn a_decoder_embedder_in_sentence_transformers_caches_the_whole_batch() {
    let j = run(&["estimate", "qwen3-embedding-0.6b", "--backend", "st"]);
    // 28 layers × (8 + 8 KV heads × 128) × 32 × 512 tokens × 4 bytes.
    assert_eq!(
        u(&j["memory"]["kv_cache_bytes"]),
        28 * 2 * 8 * 128 * 32 * 512 * 4
    );
    assert!(notes(&j).contains(r#"config_kwargs={"use_cache": False}"#));
}

#[test]
fn tei_sizes_its_warmup_batch_without_padding_on_ampere() {
    let j = run(&["estimate", "bge-m3", "--backend", "tei"]);
    assert_eq!(j["quant"]["name"], "F16");
    let gpu = &j["memory"]["devices"][0];
    assert_eq!(u(&j["memory"]["devices"][1]["weights_bytes"]), 0);
    // 16384 tokens in float16: the MLP phase (7·T·H + T·I) is the larger, plus the f32
    // log-sum-exp of every head.
    let t = 16384;
    assert_eq!(
        u(&gpu["compute_bytes"]),
        2 * t * (7 * H + I).max(9 * H) + 4 * HEADS * t
    );
    let small = run(&[
        "estimate",
        "bge-m3",
        "--backend",
        "tei",
        "--max-batch-tokens",
        "4096",
    ]);
    let t = 4096;
    assert_eq!(
        u(&small["memory"]["devices"][0]["compute_bytes"]),
        2 * t * (7 * H + I).max(9 * H) + 4 * HEADS * t
    );
    let n = notes(&small);
    assert!(
        n.contains(
            "text-embeddings-inference:86-1.9 --model-id BAAI/bge-m3 --max-batch-tokens 4096"
        ),
        "{n}"
    );
}

#[test]
fn tei_before_ampere_pads_and_keeps_every_heads_scores() {
    let j = run(&["estimate", "bge-m3", "--backend", "tei", "--gpu", "t4"]);
    let gpu = &j["memory"]["devices"][0];
    // One 8192-token sequence: scores and probabilities, heads × 8192² halves each.
    let t = 8192;
    assert_eq!(
        u(&gpu["compute_bytes"]),
        2 * t * (7 * H + I).max(9 * H) + 2 * 2 * HEADS * t * t
    );
    assert!(notes(&j).contains("turing-1.9"));
}

#[test]
fn float16_is_about_twice_float32_in_sentence_transformers() {
    // sbert.net "Speeding up Inference": fp16 2.01× the speed of fp32 on an RTX 3090, averaged
    // over all-MiniLM-L6-v2, bge-base-en-v1.5, mxbai-embed-large-v1 and bge-m3 (the GPU's FP16
    // tensor rate with FP32 accumulation is twice its FP32 rate).
    for model in ["bge-m3", "bge-large-en-v1.5"] {
        let speed = |q: &str| {
            run(&[
                "estimate",
                model,
                "--backend",
                "st",
                "-q",
                q,
                "--chunk",
                "256",
                "--gpu",
                "rtx-3090",
                "--ram",
                "64GiB",
            ])["performance"]["tokens_per_s"]
                .as_f64()
                .unwrap()
        };
        let ratio = speed("F16") / speed("F32");
        // README: 1.9×.
        assert!((1.85..=1.97).contains(&ratio), "{model}: {ratio:.2}");
    }
    // README: TEI on an L4 reads bge-large-en-v1.5 at ~97k tokens/s (the infinity benchmark
    // measured ~62k for TEI 0.6: 57% high, reported, not fitted).
    let l4 = run(&[
        "estimate",
        "bge-large-en-v1.5",
        "--backend",
        "tei",
        "--gpu",
        "l4",
        "--ram",
        "64GiB",
    ])["performance"]["tokens_per_s"]
        .as_f64()
        .unwrap();
    assert!((94_000.0..=100_000.0).contains(&l4), "{l4}");
}

#[test]
fn long_documents_in_sentence_transformers_need_a_smaller_batch() {
    // README: bge-m3 with --chunk 8192 builds a 32 × 8192² mask (13 bytes an entry while built:
    // 26 GiB) and does not fit a 3060; one document at a time has no mask and fits.
    let t: u64 = 8192;
    let j = run(&["estimate", "bge-m3", "--backend", "st", "--chunk", "8192"]);
    assert_eq!(
        u(&j["memory"]["devices"][0]["compute_bytes"]),
        13 * 32 * t * t
    );
    assert_eq!(j["verdict"], "does-not-fit");
    let one = run(&[
        "estimate",
        "bge-m3",
        "--backend",
        "st",
        "--chunk",
        "8192",
        "--encode-batch",
        "1",
    ]);
    assert_eq!(
        u(&one["memory"]["devices"][0]["compute_bytes"]),
        4 * t * (2 * H + 2 * I)
    );
    assert_ne!(one["verdict"], "does-not-fit");
}

#[test]
fn the_engines_refuse_what_they_cannot_run() {
    for (args, expected) in [
        (
            vec!["estimate", "qwen3-8b", "--backend", "tei"],
            "serves embedding and reranker models",
        ),
        (
            vec!["estimate", "bge-m3", "--backend", "tei", "-q", "Q8_0"],
            "float32, float16 or bfloat16",
        ),
        (
            vec![
                "estimate",
                "bge-m3",
                "--backend",
                "tei",
                "--gpu",
                "rx-7900-xtx",
            ],
            "its GPU builds are CUDA (NVIDIA) and Metal",
        ),
        (
            vec![
                "estimate",
                "bge-m3",
                "--backend",
                "st",
                "--launch",
                "llama.cpp",
            ],
            "--launch and --connect are for the llama.cpp family",
        ),
    ] {
        let mut v = args.clone();
        if !v.contains(&"--gpu") {
            v.extend_from_slice(GPU_3060);
        }
        llmrig()
            .args(&v)
            .assert()
            .failure()
            .stderr(predicate::str::contains(expected));
    }
}

#[test]
fn with_model_at_engine_serves_it_beside_the_llm_in_that_engine() {
    let j = run(&[
        "estimate",
        "qwen3-8b",
        "--with",
        "bge-m3@tei",
        "--with",
        "bge-reranker-v2-m3@sentence-transformers",
    ]);
    let comps = j["components"].as_array().unwrap();
    let find = |role: &str| comps.iter().find(|c| c["role"] == role).unwrap().clone();
    let (emb, rr) = (find("embedding"), find("reranker"));
    assert_eq!(emb["quant"], "F16");
    assert_eq!(rr["quant"], "F32");
    // Each is what the engine takes alone.
    let alone = |model: &str, engine: &str| {
        run(&["estimate", model, "--backend", engine])["memory"]["total_bytes"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(u(&emb["memory"]["total_bytes"]), alone("bge-m3", "tei"));
    assert_eq!(
        u(&rr["memory"]["total_bytes"]),
        alone("bge-reranker-v2-m3", "sentence-transformers")
    );
    llmrig()
        .args(["estimate", "qwen3-8b", "--with", "bge-m3@vllm"])
        .args(GPU_3060)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "expected @llama.cpp, @tei or @sentence-transformers",
        ));
}

/// The one published TEI footprint with its model, GPU, version and flags together
/// (huggingface/text-embeddings-inference#350, 2024-07-20): bge-large-en-v1.5 in float16 under
/// `hopper-1.2` on an H100 80GB, idle after start-up, 1299 MiB in nvidia-smi, the process's CUDA
/// context included, with `--max-batch-tokens 2097152`: a warmup batch that size would hold tens
/// of GiB, so idle its scratch is given back, and what stays is the weights and the runtime:
/// llmrig's 639 + 457 MiB, 16% under
/// the measurement (the CUDA context of a binary carrying flash-attention kernels for every
/// head size is likely larger than llama.cpp's, whose figure TEI borrows). Pinned within 20%.
#[test]
fn tei_idle_footprint_is_near_the_published_one() {
    let j = run(&[
        "estimate",
        "bge-large-en-v1.5",
        "--backend",
        "tei",
        "--gpu",
        "h100-sxm-80gb",
    ]);
    let gpu = &j["memory"]["devices"][0];
    let idle = (u(&gpu["weights_bytes"]) + u(&gpu["other_bytes"])) as f64;
    let measured = 1299.0 * 1048576.0;
    assert!(
        (idle / measured - 1.0).abs() < 0.20,
        "llmrig {:.0} MiB vs 1299 MiB measured",
        idle / 1048576.0
    );
}

/// sentence-transformers cuts inputs at the repository's `max_seq_length`
/// (sentence_bert_config.json), below the position table for all-MiniLM-L6-v2 (256 of 512), Open
/// WebUI's default embedder; TEI and llama.cpp read up to the table's 512.
#[test]
fn sentence_transformers_cuts_at_max_seq_length() {
    let st = run(&[
        "estimate",
        "all-minilm-l6-v2",
        "--backend",
        "sentence-transformers",
        "--chunk",
        "512",
    ]);
    assert!(
        notes(&st).contains("documents are cut at its 256 tokens; chunks of 512 are read as 256"),
        "{}",
        notes(&st)
    );
    let at = |chunk: &str| {
        let j = run(&[
            "estimate",
            "all-minilm-l6-v2",
            "--backend",
            "sentence-transformers",
            "--chunk",
            chunk,
        ]);
        u(&j["memory"]["devices"][0]["compute_bytes"])
    };
    assert_eq!(at("512"), at("256"));
    let tei = run(&[
        "estimate",
        "all-minilm-l6-v2",
        "--backend",
        "tei",
        "--chunk",
        "512",
    ]);
    assert!(
        !notes(&tei).contains("documents are cut"),
        "{}",
        notes(&tei)
    );
}
