//! Whole models over HTTP: what `llmrig inspect hf:…` / `ollama:…` does.

use llmrig_formats::source::CHUNK;

use crate::{cfg, ranged, Reply, Server};

/// A GGUF whose header is about 1.6 MiB (a 150k-token vocabulary) followed by ~6 MiB of data.
fn big_header_gguf() -> (Vec<u8>, u64) {
    use llmrig_formats::gguf::build::{BuildValue, GgufBuilder};
    let mut b = GgufBuilder::tiny_llama();
    b.kv.push((
        "tokenizer.ggml.tokens".into(),
        BuildValue::ArrStr((0..150_000).map(|i| format!("tok{i}")).collect()),
    ));
    let header_len = b.header().len() as u64;
    let mut f = b.file();
    f.resize(f.len() + (6 << 20), 0);
    (f, header_len)
}

fn hf_repo_server(gguf: Vec<u8>) -> Server {
    let size = gguf.len();
    Server::start(move |req, _| {
        let p = req.path.split('?').next().unwrap_or("");
        match p {
            "/api/models/org/repo/tree/main" => Reply::json(&format!(
                r#"[{{"type":"file","path":"README.md","size":10}},
                    {{"type":"file","path":"model-Q4_K_M.gguf","size":{size},"lfs":{{"oid":"x","size":{size}}}}},
                    {{"type":"file","path":"model-Q8_0.gguf","size":{size},"lfs":{{"oid":"y","size":{size}}}}}]"#
            )),
            "/org/repo/resolve/main/model-Q4_K_M.gguf" | "/org/repo/resolve/main/model-Q8_0.gguf" => {
                ranged(req, &gguf, "\"e1\"")
            }
            "/v2/library/tiny/manifests/latest" => Reply::json(&format!(
                r#"{{"schemaVersion":2,"layers":[{{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":{size}}}]}}"#
            )),
            "/v2/library/tiny/blobs/sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" => ranged(req, &gguf, "\"e2\""),
            _ => Reply::status(404),
        }
    })
}

#[test]
fn hf_repo_gguf_reads_only_the_header_rounded_to_a_mib() {
    use llmrig_formats::open::{open_model, Opened};
    let (gguf, header_len) = big_header_gguf();
    let total = gguf.len() as u64;
    let s = hf_repo_server(gguf);
    let c = cfg(&s.base);
    let Some(Opened::Gguf(m)) = open_model("hf:org/repo", Some("q4_k_m"), &c).unwrap() else {
        panic!("expected a GGUF")
    };
    assert_eq!(m.model.spec.n_layer, 1);
    assert_eq!(m.facts.size_bytes, total);
    let limit = header_len.div_ceil(CHUNK) * CHUNK;
    assert!(header_len > CHUNK, "the test needs a header over 1 MiB");
    assert!(
        m.facts.bytes_read <= limit,
        "read {} > {limit}",
        m.facts.bytes_read
    );
    // The same file named directly, and through the Ollama registry.
    let Some(Opened::Gguf(m)) = open_model("hf:org/repo/model-Q8_0.gguf", None, &c).unwrap() else {
        panic!()
    };
    assert!(m.facts.bytes_read <= limit);
    let Some(Opened::Gguf(m)) = open_model("ollama:tiny", None, &c).unwrap() else {
        panic!()
    };
    assert_eq!(m.model.weights.tensors.len(), 11);
    assert!(m.facts.bytes_read <= limit);
    // Several quants and none asked: an error that lists them.
    let e = open_model("hf:org/repo", None, &c).unwrap_err().to_string();
    assert!(e.contains("Q4_K_M") && e.contains("Q8_0"), "{e}");
}

#[test]
fn hf_repo_with_config_and_safetensors() {
    use llmrig_formats::open::{open_model, Opened};
    let header = r#"{"model.embed_tokens.weight":{"dtype":"BF16","shape":[1000,256],"data_offsets":[0,512000]}}"#;
    let mut st = (header.len() as u64).to_le_bytes().to_vec();
    st.extend(header.as_bytes());
    st.resize(st.len() + 512_000, 0);
    let config = r#"{"model_type":"qwen2","hidden_size":256,"intermediate_size":512,"num_attention_heads":4,
        "num_hidden_layers":2,"num_key_value_heads":2,"vocab_size":1000,"max_position_embeddings":4096,
        "tie_word_embeddings":true,"torch_dtype":"bfloat16"}"#
        .to_string();
    let s = Server::start(
        move |req, _| match req.path.split('?').next().unwrap_or("") {
            "/api/models/org/st/tree/main" => Reply::json(
                r#"[{"type":"file","path":"config.json","size":300},{"type":"file","path":"model.safetensors","size":512100}]"#,
            ),
            "/org/st/resolve/main/config.json" => ranged(req, config.as_bytes(), "\"c\""),
            "/org/st/resolve/main/model.safetensors" => ranged(req, &st, "\"s\""),
            _ => Reply::status(404),
        },
    );
    let Some(Opened::Folder(f)) = open_model("hf:org/st", None, &cfg(&s.base)).unwrap() else {
        panic!("expected config + safetensors")
    };
    assert_eq!(f.config.spec.n_layer, 2);
    assert_eq!(f.tensor_count, 1);
    assert_eq!(f.dtypes[0], ("BF16".to_string(), 256_000, 512_000));
    assert!(f.bytes_read <= CHUNK);
}
