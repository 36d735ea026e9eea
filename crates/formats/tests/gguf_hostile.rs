//! Hostile GGUF input: one rejection reason per test, each a clear error — never a panic, a hang or
//! an allocation sized by the file. Plus property tests over truncations and random bytes.

use llmrig_formats::gguf::build::{BuildValue, GgufBuilder};
use llmrig_formats::gguf::{model_from_gguf, read_gguf, GgufError};
use llmrig_formats::{ByteSource, SourceError};
use proptest::prelude::*;

struct Mem(Vec<u8>);

impl ByteSource for Mem {
    fn name(&self) -> String {
        "mem.gguf".into()
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
        let a = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.0.len());
        let b = a.saturating_add(len).min(self.0.len());
        Ok(self.0[a..b].to_vec())
    }
    fn bytes_fetched(&self) -> u64 {
        0
    }
}

fn read(bytes: Vec<u8>) -> Result<llmrig_formats::gguf::GgufHeader, GgufError> {
    read_gguf(&mut Mem(bytes))
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
