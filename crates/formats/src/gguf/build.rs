//! A minimal GGUF writer for tests, benchmarks and fuzz seeds: builds header bytes in memory. It
//! writes what it is told (also invalid values), so tests can make one bad field at a time.

/// A metadata value to write (type id and encoded bytes are produced by [`GgufBuilder`]).
#[derive(Debug, Clone)]
pub enum BuildValue {
    U32(u32),
    U64(u64),
    F32(f32),
    Bool(u8),
    Str(String),
    /// An array of u32.
    ArrU32(Vec<u32>),
    /// An array of strings.
    ArrStr(Vec<String>),
    /// A raw value: type id and bytes, for malformed input.
    Raw(u32, Vec<u8>),
}

/// Builds GGUF header bytes.
#[derive(Debug, Clone)]
pub struct GgufBuilder {
    /// Version to write (1–3 valid).
    pub version: u32,
    /// Big-endian numbers.
    pub big_endian: bool,
    /// Metadata pairs.
    pub kv: Vec<(String, BuildValue)>,
    /// Tensors: name, dims, type id, offset.
    pub tensors: Vec<(String, Vec<u64>, u32, u64)>,
    /// Overrides the written tensor count.
    pub tensor_count_override: Option<u64>,
    /// Overrides the written metadata count.
    pub kv_count_override: Option<u64>,
}

impl Default for GgufBuilder {
    fn default() -> Self {
        GgufBuilder {
            version: 3,
            big_endian: false,
            kv: Vec::new(),
            tensors: Vec::new(),
            tensor_count_override: None,
            kv_count_override: None,
        }
    }
}

impl GgufBuilder {
    fn u32(&self, out: &mut Vec<u8>, v: u32) {
        out.extend(if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn u64(&self, out: &mut Vec<u8>, v: u64) {
        out.extend(if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn count(&self, out: &mut Vec<u8>, v: u64) {
        if self.version == 1 {
            #[allow(clippy::cast_possible_truncation)]
            self.u32(out, v as u32);
        } else {
            self.u64(out, v);
        }
    }
    fn string(&self, out: &mut Vec<u8>, s: &str) {
        self.count(out, s.len() as u64);
        out.extend(s.as_bytes());
    }
    fn value(&self, out: &mut Vec<u8>, v: &BuildValue) {
        match v {
            BuildValue::U32(x) => {
                self.u32(out, 4);
                self.u32(out, *x);
            }
            BuildValue::U64(x) => {
                self.u32(out, 10);
                self.u64(out, *x);
            }
            BuildValue::F32(x) => {
                self.u32(out, 6);
                self.u32(out, x.to_bits());
            }
            BuildValue::Bool(b) => {
                self.u32(out, 7);
                out.push(*b);
            }
            BuildValue::Str(s) => {
                self.u32(out, 8);
                self.string(out, s);
            }
            BuildValue::ArrU32(items) => {
                self.u32(out, 9);
                self.u32(out, 4);
                self.count(out, items.len() as u64);
                for x in items {
                    self.u32(out, *x);
                }
            }
            BuildValue::ArrStr(items) => {
                self.u32(out, 9);
                self.u32(out, 8);
                self.count(out, items.len() as u64);
                for s in items {
                    self.string(out, s);
                }
            }
            BuildValue::Raw(ty, bytes) => {
                self.u32(out, *ty);
                out.extend(bytes);
            }
        }
    }

    /// The header bytes, padded to 32 bytes (no tensor data).
    #[must_use]
    pub fn header(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        self.u32(&mut out, self.version);
        self.count(
            &mut out,
            self.tensor_count_override
                .unwrap_or(self.tensors.len() as u64),
        );
        self.count(
            &mut out,
            self.kv_count_override.unwrap_or(self.kv.len() as u64),
        );
        for (k, v) in &self.kv {
            self.string(&mut out, k);
            self.value(&mut out, v);
        }
        for (name, dims, ty, off) in &self.tensors {
            self.string(&mut out, name);
            self.u32(&mut out, u32::try_from(dims.len()).unwrap_or(u32::MAX));
            for d in dims {
                self.count(&mut out, *d);
            }
            self.u32(&mut out, *ty);
            self.u64(&mut out, *off);
        }
        while out.len() % 32 != 0 {
            out.push(0);
        }
        out
    }

    /// A small valid llama model: header plus zeroed tensor data.
    #[must_use]
    pub fn tiny_llama() -> GgufBuilder {
        let mut b = GgufBuilder::default();
        for (k, v) in [
            ("general.architecture", BuildValue::Str("llama".into())),
            ("llama.block_count", BuildValue::U32(1)),
            ("llama.embedding_length", BuildValue::U32(64)),
            ("llama.feed_forward_length", BuildValue::U32(128)),
            ("llama.attention.head_count", BuildValue::U32(4)),
            ("llama.attention.head_count_kv", BuildValue::U32(2)),
            ("llama.context_length", BuildValue::U32(2048)),
        ] {
            b.kv.push((k.into(), v));
        }
        let mut off = 0;
        for (name, dims) in [
            ("token_embd.weight", vec![64, 100]),
            ("output_norm.weight", vec![64]),
            ("blk.0.attn_norm.weight", vec![64]),
            ("blk.0.attn_q.weight", vec![64, 64]),
            ("blk.0.attn_k.weight", vec![64, 32]),
            ("blk.0.attn_v.weight", vec![64, 32]),
            ("blk.0.attn_output.weight", vec![64, 64]),
            ("blk.0.ffn_norm.weight", vec![64]),
            ("blk.0.ffn_gate.weight", vec![64, 128]),
            ("blk.0.ffn_up.weight", vec![64, 128]),
            ("blk.0.ffn_down.weight", vec![128, 64]),
        ] {
            let n: u64 = dims.iter().product();
            b.tensors.push((name.into(), dims, 0, off));
            off += (n * 4).div_ceil(32) * 32;
        }
        b
    }

    /// Header plus zeroed data for every tensor (F32 tensors only; others get 0 bytes). Only for
    /// small, valid layouts: the data is really allocated.
    #[must_use]
    pub fn file(&self) -> Vec<u8> {
        let mut out = self.header();
        let end = self
            .tensors
            .iter()
            .map(|(_, d, ty, off)| {
                let n = d
                    .iter()
                    .try_fold(1u64, |a, &x| a.checked_mul(x))
                    .unwrap_or(0);
                off.saturating_add(if *ty == 0 { n.saturating_mul(4) } else { 0 })
            })
            .max()
            .unwrap_or(0);
        out.resize(out.len() + usize::try_from(end).unwrap_or(0), 0);
        out
    }
}
