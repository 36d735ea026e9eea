//! safetensors headers: an 8-byte little-endian length, then that many bytes of JSON naming every
//! tensor's dtype, shape and byte range (format: huggingface/safetensors `README.md`). Only the
//! header is read. Also `model.safetensors.index.json`, which lists the shard of every tensor.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::source::{ByteSource, Cursor, SourceError};

/// The largest header accepted: 100 MB, the limit of the reference implementation
/// (`MAX_HEADER_SIZE` in safetensors).
pub const MAX_HEADER: u64 = 100_000_000;

/// One tensor of a safetensors file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StTensor {
    /// Tensor name (`model.layers.0.self_attn.q_proj.weight`).
    pub name: String,
    /// dtype as written (`BF16`, `F8_E4M3`, `I32`).
    pub dtype: String,
    /// Shape, outermost first.
    pub shape: Vec<u64>,
    /// Bytes of data.
    pub bytes: u64,
}

impl StTensor {
    /// Number of elements.
    #[must_use]
    pub fn n_elements(&self) -> u64 {
        self.shape.iter().product()
    }
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq)]
pub struct StHeader {
    /// Every tensor, sorted by name.
    pub tensors: Vec<StTensor>,
    /// `__metadata__` string pairs.
    pub metadata: BTreeMap<String, String>,
    /// Header length including the 8-byte prefix.
    pub header_bytes: u64,
}

/// A safetensors header that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SafetensorsError {
    /// Reading bytes failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Not a safetensors header.
    #[error("`{name}`: {what}")]
    Invalid {
        /// The file.
        name: String,
        /// What is wrong.
        what: String,
    },
}

/// Bits per element of a safetensors dtype (sub-byte float types included).
#[must_use]
pub fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E4M3" | "F8_E5M2" | "F8_E8M0" => 8,
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" => 64,
        _ => return None,
    })
}

#[derive(Deserialize)]
struct RawTensor {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// Reads the header of a `.safetensors` file.
///
/// # Errors
/// [`SafetensorsError`] naming the file, for a header that is too long, not JSON, or whose tensors
/// do not tile the data exactly.
pub fn read_safetensors(src: &mut dyn ByteSource) -> Result<StHeader, SafetensorsError> {
    let name = src.name();
    let len = src.len();
    let invalid = |what: String| SafetensorsError::Invalid {
        name: name.clone(),
        what,
    };
    let mut c = Cursor::new(src);
    if len < 8 {
        return Err(invalid(format!(
            "{len} bytes is too short for a safetensors header"
        )));
    }
    let n = c.take(8, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))?;
    if n > MAX_HEADER {
        return Err(invalid(format!(
            "header length {n} exceeds the {MAX_HEADER}-byte limit (not a safetensors file?)"
        )));
    }
    if n > len - 8 {
        return Err(invalid(format!(
            "header length {n} runs past the end of the {len}-byte file (truncated?)"
        )));
    }
    let json = c.take(usize::try_from(n).unwrap_or(usize::MAX), <[u8]>::to_vec)?;
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&json)
        .map_err(|e| invalid(format!("header is not a JSON object: {e}")))?;
    let mut tensors = Vec::with_capacity(map.len());
    let mut metadata = BTreeMap::new();
    let mut ranges = Vec::with_capacity(map.len());
    for (k, v) in map {
        if k == "__metadata__" {
            if let serde_json::Value::Object(m) = v {
                for (mk, mv) in m {
                    if let serde_json::Value::String(s) = mv {
                        metadata.insert(mk, s);
                    }
                }
            }
            continue;
        }
        let t: RawTensor =
            serde_json::from_value(v).map_err(|e| invalid(format!("tensor `{k}`: {e}")))?;
        let bits = dtype_bits(&t.dtype)
            .ok_or_else(|| invalid(format!("tensor `{k}` has unknown dtype `{}`", t.dtype)))?;
        let elems = t
            .shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(|| invalid(format!("tensor `{k}` shape {:?} overflows", t.shape)))?;
        let bytes = elems
            .checked_mul(bits)
            .map(|b| b.div_ceil(8))
            .ok_or_else(|| invalid(format!("tensor `{k}` is too large")))?;
        let [a, b] = t.data_offsets;
        if b < a || b - a != bytes {
            return Err(invalid(format!(
                "tensor `{k}`: data_offsets {a}..{b} hold {} bytes, but {} {:?} needs {bytes}",
                b.saturating_sub(a),
                t.dtype,
                t.shape
            )));
        }
        ranges.push((a, b));
        tensors.push(StTensor {
            name: k,
            dtype: t.dtype,
            shape: t.shape,
            bytes,
        });
    }
    // The tensors must tile the data section exactly, and it must lie inside the file.
    ranges.sort_unstable();
    let mut end = 0;
    for (a, b) in &ranges {
        if *a != end {
            return Err(invalid(format!(
                "tensor data has a gap or overlap at byte {a} of the data section"
            )));
        }
        end = *b;
    }
    if end > len - 8 - n {
        return Err(invalid(format!(
            "tensor data ends at byte {} but the file has {len} bytes (truncated?)",
            8 + n + end
        )));
    }
    Ok(StHeader {
        tensors,
        metadata,
        header_bytes: 8 + n,
    })
}

/// `model.safetensors.index.json`: which shard holds each tensor.
#[derive(Debug, Clone, Deserialize)]
pub struct StIndex {
    /// Tensor name → shard file name.
    pub weight_map: BTreeMap<String, String>,
}

impl StIndex {
    /// The shard files, each once, sorted.
    #[must_use]
    pub fn shards(&self) -> Vec<String> {
        let mut v: Vec<String> = self.weight_map.values().cloned().collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(non_snake_case)]
    fn Mem(bytes: Vec<u8>) -> crate::source::MemSource {
        crate::source::MemSource::new("m.safetensors", bytes)
    }

    fn file(header: &str, data: usize) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend(header.as_bytes());
        v.extend(vec![0; data]);
        v
    }

    #[test]
    fn reads_a_valid_header() {
        let h = r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"F4","shape":[4],"data_offsets":[12,14]}}"#;
        let st = read_safetensors(&mut Mem(file(h, 14))).unwrap();
        assert_eq!(st.tensors.len(), 2);
        assert_eq!(st.tensors[0].bytes, 12);
        assert_eq!(st.metadata["format"], "pt");
    }

    #[test]
    fn rejects_bad_headers() {
        let cases = [
            (file("{}", 0)[..4].to_vec(), "too short"),
            ((u64::MAX).to_le_bytes().to_vec(), "exceeds"),
            (file("not json", 0), "not a JSON object"),
            (
                file(
                    r#"{"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}}"#,
                    1,
                ),
                "unknown dtype",
            ),
            (
                file(
                    r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
                    8,
                ),
                "needs 8",
            ),
            (
                file(
                    r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                    8,
                ),
                "gap",
            ),
            (
                file(
                    r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
                    4,
                ),
                "truncated",
            ),
            (
                file(
                    r#"{"a":{"dtype":"F32","shape":[18446744073709551615,2],"data_offsets":[0,0]}}"#,
                    0,
                ),
                "overflows",
            ),
        ];
        for (bytes, needle) in cases {
            let e = read_safetensors(&mut Mem(bytes)).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }
}
