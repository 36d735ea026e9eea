//! Hostile GGUF input: one rejection reason per test, each a clear error — never a panic, a hang or
//! an allocation sized by the file. Plus property tests over truncations and random bytes.

use llmrig_formats::gguf::build::{BuildValue, GgufBuilder};
use llmrig_formats::gguf::{model_from_gguf, read_gguf, GgufError};
use llmrig_formats::MemSource;
use proptest::prelude::*;

fn read(bytes: Vec<u8>) -> Result<llmrig_formats::gguf::GgufHeader, GgufError> {
    read_gguf(&mut MemSource::new("mem.gguf", bytes))
}

fn err(bytes: Vec<u8>) -> String {
    match read(bytes) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_tiny_model_is_valid() {
    let h = read(GgufBuilder::tiny_llama().file()).unwrap();
    assert_eq!(h.tensors.len(), 11);
    let m = model_from_gguf("tiny", &[h]).unwrap();
    assert_eq!(m.spec.n_layer, 1);
    assert!(m.spec.tied_embeddings);
}

#[test]
fn versions_one_to_three_and_big_endian() {
    for version in 1..=3 {
        for big_endian in [false, true] {
            let mut b = GgufBuilder::tiny_llama();
            b.version = version;
            b.big_endian = big_endian;
            let h = read(b.file()).unwrap_or_else(|e| panic!("v{version} be={big_endian}: {e}"));
            assert_eq!(h.version, version);
            assert_eq!(h.get("llama.block_count").and_then(|v| v.as_u64()), Some(1));
        }
    }
}

#[test]
fn wrong_magic() {
    assert!(err(b"GGML\x03\0\0\0".to_vec()).contains("not a GGUF file"));
    assert!(err(b"GG".to_vec()).contains("not a GGUF file"));
    assert!(err(Vec::new()).contains("not a GGUF file"));
}

#[test]
fn unknown_version() {
    let mut b = GgufBuilder::tiny_llama();
    b.version = 7;
    assert!(err(b.file()).contains("version 7"));
}

#[test]
fn truncated_header() {
    let f = GgufBuilder::tiny_llama().file();
    let e = err(f[..200].to_vec());
    assert!(
        e.contains("ends at byte 200")
            || e.contains("runs past the end")
            || e.contains("cannot fit"),
        "{e}"
    );
}

#[test]
fn absurd_tensor_and_metadata_counts() {
    let mut b = GgufBuilder::tiny_llama();
    b.tensor_count_override = Some(u64::MAX);
    assert!(err(b.file()).contains("tensors cannot fit"));
    let mut b = GgufBuilder::tiny_llama();
    b.kv_count_override = Some(1 << 60);
    assert!(err(b.file()).contains("metadata entries cannot fit"));
}

#[test]
fn absurd_string_length() {
    let mut b = GgufBuilder::default();
    b.kv.push((
        "k".into(),
        BuildValue::Raw(8, u64::MAX.to_le_bytes().to_vec()),
    ));
    assert!(err(b.file()).contains("longer than"));
    let mut b = GgufBuilder::default();
    b.kv.push((
        "k".into(),
        BuildValue::Raw(8, 1000u64.to_le_bytes().to_vec()),
    ));
    assert!(err(b.file()).contains("runs past the end"));
}

#[test]
fn absurd_array_length() {
    let mut raw = 4u32.to_le_bytes().to_vec();
    raw.extend((1u64 << 61).to_le_bytes());
    let mut b = GgufBuilder::default();
    b.kv.push(("k".into(), BuildValue::Raw(9, raw)));
    assert!(err(b.file()).contains("cannot fit"));
}

#[test]
fn unknown_value_and_element_types() {
    let mut b = GgufBuilder::default();
    b.kv.push(("k".into(), BuildValue::Raw(13, vec![0; 8])));
    assert!(err(b.file()).contains("unknown metadata value type 13"));
    let mut raw = 99u32.to_le_bytes().to_vec();
    raw.extend(1u64.to_le_bytes());
    let mut b = GgufBuilder::default();
    b.kv.push(("k".into(), BuildValue::Raw(9, raw)));
    assert!(err(b.file()).contains("unknown array element type 99"));
}

#[test]
fn bool_must_be_zero_or_one() {
    let mut b = GgufBuilder::default();
    b.kv.push(("k".into(), BuildValue::Bool(2)));
    assert!(err(b.file()).contains("bool value 2"));
}

#[test]
fn deeply_nested_arrays() {
    // array of array of array ... 10 deep, each of length 1
    let mut raw = Vec::new();
    for _ in 0..10 {
        raw.extend(9u32.to_le_bytes());
        raw.extend(1u64.to_le_bytes());
    }
    raw.extend(4u32.to_le_bytes());
    raw.extend(1u64.to_le_bytes());
    raw.extend(7u32.to_le_bytes());
    let mut b = GgufBuilder::default();
    // The outer value is itself an array: type 9 then its element type (9) and length.
    b.kv.push(("k".into(), BuildValue::Raw(9, raw)));
    assert!(err(b.file()).contains("nested deeper"));
}

#[test]
fn bad_dimensions() {
    for dims in [vec![], vec![1, 1, 1, 1, 1]] {
        let mut b = GgufBuilder::tiny_llama();
        b.tensors[0].1 = dims;
        assert!(err(b.file()).contains("dimensions"));
    }
    let mut b = GgufBuilder::tiny_llama();
    b.tensors[0].1 = vec![u64::MAX, 4];
    assert!(err(b.header()).contains("overflows"));
    let mut b = GgufBuilder::tiny_llama();
    b.tensors[0].1 = vec![1 << 63, 0];
    assert!(err(b.header()).contains("empty"));
}

#[test]
fn row_not_a_multiple_of_the_block() {
    let mut b = GgufBuilder::tiny_llama();
    b.tensors[3].1 = vec![100, 64];
    b.tensors[3].2 = 12; // Q4_K, block 256
    assert!(err(b.file()).contains("block size"));
}

#[test]
fn tensor_data_past_the_end() {
    let mut b = GgufBuilder::tiny_llama();
    b.tensors[0].3 = 1 << 40;
    assert!(err(b.header()).contains("past the end"));
}

#[test]
fn bad_alignment() {
    let mut b = GgufBuilder::tiny_llama();
    b.kv.push(("general.alignment".into(), BuildValue::U32(3)));
    assert!(err(b.file()).contains("power of two"));
}

#[test]
fn unknown_tensor_type_is_a_clear_error_when_sizing() {
    let mut b = GgufBuilder::tiny_llama();
    b.tensors[3].2 = 33; // a removed ggml type id
    let h = read(b.file()).unwrap();
    let e = model_from_gguf("mem.gguf", &[h]).unwrap_err().to_string();
    assert!(
        e.contains("type id 33") && e.contains("blk.0.attn_q.weight"),
        "{e}"
    );
}

#[test]
fn missing_architecture_keys() {
    let mut b = GgufBuilder::tiny_llama();
    b.kv.retain(|(k, _)| k != "llama.block_count");
    let h = read(b.file()).unwrap();
    assert!(model_from_gguf("mem.gguf", &[h])
        .unwrap_err()
        .to_string()
        .contains("block_count"));
    let mut b = GgufBuilder::tiny_llama();
    b.kv.retain(|(k, _)| k != "general.architecture");
    let h = read(b.file()).unwrap();
    assert!(model_from_gguf("mem.gguf", &[h])
        .unwrap_err()
        .to_string()
        .contains("general.architecture"));
}

#[test]
fn unknown_architecture_is_a_warning_with_exact_weights() {
    let mut b = GgufBuilder::tiny_llama();
    for (k, _) in &mut b.kv {
        *k = k.replace("llama", "newarch");
    }
    b.kv[0].1 = BuildValue::Str("newarch".into());
    let h = read(b.file()).unwrap();
    let m = model_from_gguf("mem.gguf", &[h]).unwrap();
    assert!(m.warnings.iter().any(|w| w.contains("newarch")));
}

#[test]
fn long_tokenizer_arrays_are_skipped() {
    let mut b = GgufBuilder::tiny_llama();
    b.kv.push((
        "tokenizer.ggml.tokens".into(),
        BuildValue::ArrStr((0..5000).map(|i| format!("t{i}")).collect()),
    ));
    let h = read(b.file()).unwrap();
    let v = h.get("tokenizer.ggml.tokens").unwrap();
    assert_eq!(v.array_len(), Some(5000));
    assert!(matches!(
        v,
        llmrig_formats::gguf::Value::Array(llmrig_formats::gguf::ArrayValue::Skipped { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every truncation of a valid file is an error, never a panic.
    #[test]
    fn truncations_never_panic(cut in 0usize..2000) {
        let f = GgufBuilder::tiny_llama().file();
        let cut = cut.min(f.len());
        let r = read(f[..cut].to_vec());
        if cut < f.len() {
            prop_assert!(r.is_err());
        }
    }

    /// Random bytes after a valid magic and version never panic.
    #[test]
    fn random_headers_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..512), version in 1u32..4) {
        let mut f = b"GGUF".to_vec();
        f.extend(version.to_le_bytes());
        f.extend(tail);
        let _ = read(f.clone()).map(|h| model_from_gguf("x", &[h]));
    }

    /// Flipping one byte of a valid file never panics.
    #[test]
    fn byte_flips_never_panic(pos in 0usize..1000, byte in any::<u8>()) {
        let mut f = GgufBuilder::tiny_llama().file();
        let pos = pos % f.len();
        f[pos] = byte;
        let _ = read(f).map(|h| model_from_gguf("x", &[h]));
    }
}

/// Inputs the fuzzer (fuzz/run.sh) once crashed on; each must now be an error or a value.
#[test]
fn fuzz_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        let _ = read(bytes).map(|h| model_from_gguf("x", &[h]));
        n += 1;
    }
    assert!(n >= 1);
}

/// Architecture metadata → spec for the families whose keys differ most.
mod mapping {
    use super::*;

    fn with_keys(
        arch: &str,
        keys: &[(&str, u32)],
        extra_tensors: &[(&str, Vec<u64>)],
    ) -> llmrig_formats::gguf::GgufModel {
        let mut b = GgufBuilder::tiny_llama();
        for (k, _) in &mut b.kv {
            *k = k.replace("llama.", &format!("{arch}."));
        }
        b.kv[0].1 = BuildValue::Str(arch.into());
        for (k, v) in keys {
            b.kv.push((format!("{arch}.{k}"), BuildValue::U32(*v)));
        }
        let mut off = b
            .tensors
            .iter()
            .map(|t| t.3 + t.1.iter().product::<u64>() * 4)
            .max()
            .unwrap();
        for (name, dims) in extra_tensors {
            off = off.div_ceil(32) * 32;
            b.tensors.push(((*name).into(), dims.clone(), 0, off));
            off += dims.iter().product::<u64>() * 4;
        }
        let h = read(b.file()).unwrap();
        model_from_gguf("m", &[h]).unwrap()
    }

    #[test]
    fn deepseek2_with_and_without_mla_keys() {
        let mla = with_keys(
            "deepseek2",
            &[
                ("attention.kv_lora_rank", 512),
                ("rope.dimension_count", 64),
                ("attention.key_length_mla", 192),
                ("attention.value_length_mla", 128),
                ("attention.q_lora_rank", 1536),
            ],
            &[],
        );
        assert_eq!(mla.spec.kv_lora_rank, Some(512));
        assert_eq!(mla.spec.qk_nope_head_dim, Some(128));
        assert!(!mla.spec.mla_legacy_kv);
        assert_eq!(mla.spec.n_embd_k_gqa(0), 576);
        let legacy = with_keys(
            "deepseek2",
            &[
                ("attention.kv_lora_rank", 512),
                ("rope.dimension_count", 64),
                ("attention.key_length", 192),
                ("attention.value_length", 128),
                ("attention.q_lora_rank", 1536),
            ],
            &[],
        );
        assert!(legacy.spec.mla_legacy_kv);
        assert_eq!(legacy.spec.n_embd_k_gqa(0), 2 * 192);
    }

    #[test]
    fn sliding_window_patterns_and_experts() {
        let g2 = with_keys("gemma2", &[("attention.sliding_window", 4096)], &[]);
        assert_eq!(
            (g2.spec.sliding_window, g2.spec.swa_period),
            (Some(4096), Some(2))
        );
        let c = with_keys("cohere2", &[("attention.sliding_window", 4096)], &[]);
        assert_eq!(c.spec.swa_period, Some(4));
        let oss = with_keys(
            "gpt-oss",
            &[
                ("attention.sliding_window", 128),
                ("expert_count", 32),
                ("expert_used_count", 4),
                ("expert_feed_forward_length", 2880),
            ],
            &[],
        );
        assert_eq!(
            (oss.spec.swa_period, oss.spec.n_expert, oss.spec.expert_ff),
            (Some(2), 32, Some(2880))
        );
        // Mixtral-era files give only feed_forward_length: it is the expert size.
        let mix = with_keys(
            "llama",
            &[("expert_count", 8), ("expert_used_count", 2)],
            &[],
        );
        assert_eq!(mix.spec.expert_ff, Some(128));
    }

    #[test]
    fn hybrid_recurrent_state_from_ssm_keys() {
        let m = with_keys(
            "qwen3next",
            &[
                ("ssm.inner_size", 4096),
                ("ssm.state_size", 128),
                ("ssm.group_count", 16),
                ("ssm.conv_kernel", 4),
                ("full_attention_interval", 4),
            ],
            &[],
        );
        let r = m.spec.recurrent.unwrap();
        assert_eq!(
            (r.d_inner, r.d_state, r.n_group, r.attention_period),
            (4096, 128, 16, Some(4))
        );
        // Qwen3-Next has rules of its own now: no "no llmrig rules" warning.
        assert_eq!(m.spec.arch, llmrig_core::model::Arch::Qwen3Next);
        assert!(!m.warnings.iter().any(|w| w.contains("no llmrig rules")));
        // LFM2's short convolution: n_embd × (l_cache − 1) f32 per block, no SSM state.
        let lfm2 = with_keys("lfm2", &[("shortconv.l_cache", 3)], &[]);
        let e = lfm2.spec.n_embd;
        assert_eq!(lfm2.spec.recurrent_state_bytes(), (2 * e * 4, 0));
    }

    #[test]
    fn projector_files_are_recognised() {
        let mut b = GgufBuilder::tiny_llama();
        b.kv[0].1 = BuildValue::Str("clip".into());
        let h = read(b.file()).unwrap();
        let m = model_from_gguf("mmproj.gguf", &[h]).unwrap();
        assert_eq!(m.kind, llmrig_formats::gguf::GgufKind::Projector);
        assert!(m.weights.total_bytes() > 0);
    }
}

/// A tensor in a block beyond `block_count` (found by the gguf_header fuzz target, where it indexed
/// past the layer placement): refused, naming the tensor and the key.
#[test]
fn tensor_beyond_the_block_count() {
    let mut b = GgufBuilder::tiny_llama();
    let i = b
        .tensors
        .iter()
        .position(|t| t.0 == "blk.0.attn_norm.weight")
        .unwrap();
    b.tensors[i].0 = "blk.5.attn_norm.weight".to_string();
    let h = read(b.file()).unwrap();
    let e = model_from_gguf("tiny", &[h]).err().unwrap().to_string();
    assert!(
        e.contains("blk.5.attn_norm.weight") && e.contains("block_count"),
        "{e}"
    );
}
