//! The byte-level GGUF header parser. Hostile input is the normal case here: every count and
//! length is checked against the bytes that remain before anything is allocated for it.

use llmrig_core::quant::GgmlType;

use crate::source::{ByteSource, Cursor, SourceError};

/// `GGUF` in file order.
const MAGIC: [u8; 4] = *b"GGUF";
/// Default data alignment (`GGUF_DEFAULT_ALIGNMENT`).
const DEFAULT_ALIGNMENT: u64 = 32;
/// Longest metadata string kept in memory (chat templates run to ~100 KiB); longer ones are an error.
const MAX_STRING: u64 = 16 << 20;
/// Arrays up to this many elements are kept; longer ones (tokenizer tables) are skipped and
/// summarised by type, length and byte size.
const MAX_KEPT_ARRAY: u64 = 1024;
/// Nested arrays deeper than this are rejected.
const MAX_DEPTH: u32 = 4;
/// `GGML_MAX_DIMS`.
const MAX_DIMS: u32 = 4;

/// Byte order of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Little-endian (almost every file).
    Little,
    /// Big-endian (files converted for s390x and similar).
    Big,
}

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(ArrayValue),
}

/// An array value: kept when short, summarised when long.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayValue {
    /// Every element.
    Items(Vec<Value>),
    /// Skipped without being read into memory (tokenizer tokens, scores, merges).
    Skipped {
        /// GGUF value type id of the elements.
        elem_type: u32,
        /// Number of elements.
        len: u64,
        /// Bytes the array occupies in the file.
        bytes: u64,
    },
}

impl Value {
    /// The value as an unsigned integer, if it is a non-negative integer of any width.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(u64::from(v)),
            Value::U16(v) => Some(u64::from(v)),
            Value::U32(v) => Some(u64::from(v)),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float, if numeric.
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(f64::from(v)),
            Value::F64(v) => Some(v),
            #[allow(clippy::cast_precision_loss)]
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    /// The value as a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Number of elements if an array.
    #[must_use]
    pub fn array_len(&self) -> Option<u64> {
        match self {
            Value::Array(ArrayValue::Items(v)) => Some(v.len() as u64),
            Value::Array(ArrayValue::Skipped { len, .. }) => Some(*len),
            _ => None,
        }
    }
}

/// One tensor-table entry.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorEntry {
    /// Tensor name.
    pub name: String,
    /// Dimensions, `ne[0]` first.
    pub dims: Vec<u64>,
    /// The raw ggml type id.
    pub type_id: u32,
    /// The type, if llmrig knows the id.
    pub ggml_type: Option<GgmlType>,
    /// Offset of the data relative to the data section.
    pub offset: u64,
    /// Bytes of data (0 when the type is unknown).
    pub bytes: u64,
}

impl TensorEntry {
    /// Number of elements.
    #[must_use]
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A parsed GGUF header.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufHeader {
    /// Format version (1–3).
    pub version: u32,
    /// Byte order.
    pub endian: Endian,
    /// Metadata in file order.
    pub metadata: Vec<(String, Value)>,
    /// The tensor table.
    pub tensors: Vec<TensorEntry>,
    /// Data alignment (`general.alignment`).
    pub alignment: u64,
    /// Where tensor data starts.
    pub data_offset: u64,
    /// File length.
    pub file_len: u64,
}

impl GgufHeader {
    /// A metadata value by key.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// A file that is not a readable GGUF header.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// Reading bytes failed or the file is truncated.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The first four bytes are not `GGUF`.
    #[error("`{name}` is not a GGUF file: it starts with {found:?}, expected \"GGUF\"")]
    Magic {
        /// The file.
        name: String,
        /// Its first bytes.
        found: String,
    },
    /// A version this reader does not know.
    #[error("`{name}`: GGUF version {version} is not supported (expected 1, 2 or 3)")]
    Version {
        /// The file.
        name: String,
        /// The version read.
        version: u32,
    },
    /// A count, length or value outside what a real file can hold.
    #[error("`{name}`: {what} at byte {offset}")]
    Invalid {
        /// The file.
        name: String,
        /// What is wrong, with the numbers.
        what: String,
        /// Where.
        offset: u64,
    },
}

struct Reader<'a> {
    c: Cursor<'a>,
    endian: Endian,
    version: u32,
}

macro_rules! int_reader {
    ($fn:ident, $t:ty, $n:expr) => {
        fn $fn(&mut self) -> Result<$t, GgufError> {
            let e = self.endian;
            Ok(self.c.take($n, |b| {
                let a: [u8; $n] = b.try_into().unwrap_or([0; $n]);
                match e {
                    Endian::Little => <$t>::from_le_bytes(a),
                    Endian::Big => <$t>::from_be_bytes(a),
                }
            })?)
        }
    };
}

impl Reader<'_> {
    int_reader!(u8, u8, 1);
    int_reader!(i8, i8, 1);
    int_reader!(u16, u16, 2);
    int_reader!(i16, i16, 2);
    int_reader!(u32, u32, 4);
    int_reader!(i32, i32, 4);
    int_reader!(u64, u64, 8);
    int_reader!(i64, i64, 8);
    int_reader!(f32, f32, 4);
    int_reader!(f64, f64, 8);

    fn invalid(&self, what: String) -> GgufError {
        GgufError::Invalid {
            name: self.c.name(),
            what,
            offset: self.c.pos(),
        }
    }

    fn remaining(&self) -> u64 {
        self.c.len().saturating_sub(self.c.pos())
    }

    /// Counts and lengths: u32 in version 1, u64 after.
    fn count(&mut self) -> Result<u64, GgufError> {
        if self.version == 1 {
            Ok(u64::from(self.u32()?))
        } else {
            self.u64()
        }
    }

    fn string_len(&mut self, limit: u64, what: &str) -> Result<u64, GgufError> {
        let n = self.count()?;
        if n > limit {
            return Err(self.invalid(format!(
                "{what} of {n} bytes is longer than the {limit}-byte limit"
            )));
        }
        if n > self.remaining() {
            return Err(self.invalid(format!(
                "{what} of {n} bytes runs past the end of the file ({} bytes remain)",
                self.remaining()
            )));
        }
        Ok(n)
    }

    fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let n = self.string_len(MAX_STRING, what)?;
        let bytes = self
            .c
            .take(usize::try_from(n).unwrap_or(usize::MAX), <[u8]>::to_vec)?;
        // Invalid UTF-8 is replaced rather than rejected: names and templates are for display.
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    fn value(&mut self, ty: u32, depth: u32) -> Result<Value, GgufError> {
        Ok(match ty {
            0 => Value::U8(self.u8()?),
            1 => Value::I8(self.i8()?),
            2 => Value::U16(self.u16()?),
            3 => Value::I16(self.i16()?),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(self.i32()?),
            6 => Value::F32(self.f32()?),
            7 => match self.u8()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(self.invalid(format!("bool value {b} is neither 0 nor 1"))),
            },
            8 => Value::String(self.string("string value")?),
            9 => self.array(depth)?,
            10 => Value::U64(self.u64()?),
            11 => Value::I64(self.i64()?),
            12 => Value::F64(self.f64()?),
            t => {
                return Err(self.invalid(format!("unknown metadata value type {t} (expected 0–12)")))
            }
        })
    }

    fn array(&mut self, depth: u32) -> Result<Value, GgufError> {
        if depth >= MAX_DEPTH {
            return Err(self.invalid(format!("arrays nested deeper than {MAX_DEPTH}")));
        }
        let elem_type = self.u32()?;
        let len = self.count()?;
        let fixed = match elem_type {
            0 | 1 | 7 => Some(1),
            2 | 3 => Some(2),
            4..=6 => Some(4),
            10..=12 => Some(8),
            8 | 9 => None,
            t => {
                return Err(self.invalid(format!("unknown array element type {t} (expected 0–12)")))
            }
        };
        // Every element takes at least one byte (strings at least their length prefix).
        let min_size = fixed.unwrap_or(if self.version == 1 { 4 } else { 8 });
        if len
            .checked_mul(min_size)
            .is_none_or(|b| b > self.remaining())
        {
            return Err(self.invalid(format!(
                "array of {len} elements cannot fit in the {} bytes that remain",
                self.remaining()
            )));
        }
        if len <= MAX_KEPT_ARRAY {
            let mut items = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            for _ in 0..len {
                items.push(self.value(elem_type, depth + 1)?);
            }
            return Ok(Value::Array(ArrayValue::Items(items)));
        }
        let start = self.c.pos();
        match fixed {
            Some(size) => self.c.skip(len * size)?,
            None if elem_type == 8 => {
                for _ in 0..len {
                    let n = self.string_len(MAX_STRING, "string in an array")?;
                    self.c.skip(n)?;
                }
            }
            None => {
                for _ in 0..len {
                    self.skip_value(9, depth + 1)?;
                }
            }
        }
        Ok(Value::Array(ArrayValue::Skipped {
            elem_type,
            len,
            bytes: self.c.pos() - start,
        }))
    }

    fn skip_value(&mut self, ty: u32, depth: u32) -> Result<(), GgufError> {
        // Long nested arrays are rare; parse and drop (each level is itself bounded).
        self.value(ty, depth).map(drop)
    }
}

fn detect_version(raw: [u8; 4]) -> Option<(u32, Endian)> {
    let le = u32::from_le_bytes(raw);
    let be = u32::from_be_bytes(raw);
    if (1..=3).contains(&le) {
        Some((le, Endian::Little))
    } else if (1..=3).contains(&be) {
        Some((be, Endian::Big))
    } else {
        None
    }
}

/// Reads the header (metadata and tensor table) of a GGUF file; the tensor data is not read.
///
/// # Errors
/// [`GgufError`] naming the file, the byte offset and what was expected.
pub fn read_gguf(src: &mut dyn ByteSource) -> Result<GgufHeader, GgufError> {
    let file_len = src.len();
    let name = src.name();
    let mut c = Cursor::new(src);
    if file_len < 4 {
        return Err(GgufError::Magic {
            name,
            found: format!("{file_len} bytes"),
        });
    }
    let magic = c.take(4, |b| [b[0], b[1], b[2], b[3]])?;
    if magic != MAGIC {
        return Err(GgufError::Magic {
            name,
            found: String::from_utf8_lossy(&magic).escape_debug().to_string(),
        });
    }
    let raw = c.take(4, |b| [b[0], b[1], b[2], b[3]])?;
    let Some((version, endian)) = detect_version(raw) else {
        return Err(GgufError::Version {
            name,
            version: u32::from_le_bytes(raw),
        });
    };
    let mut r = Reader { c, endian, version };
    let n_tensors = r.count()?;
    let n_kv = r.count()?;
    // A metadata pair takes at least 13 bytes, a tensor info at least 24: reject counts the file
    // cannot hold before reserving anything.
    if n_kv.checked_mul(13).is_none_or(|b| b > r.remaining()) {
        return Err(r.invalid(format!(
            "{n_kv} metadata entries cannot fit in a {file_len}-byte file"
        )));
    }
    if n_tensors.checked_mul(24).is_none_or(|b| b > r.remaining()) {
        return Err(r.invalid(format!(
            "{n_tensors} tensors cannot fit in a {file_len}-byte file"
        )));
    }
    let mut metadata = Vec::new();
    for _ in 0..n_kv {
        let key = r.string("metadata key")?;
        let ty = r.u32()?;
        let value = r.value(ty, 0)?;
        metadata.push((key, value));
    }
    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, v)) => match v.as_u64() {
            Some(a) if a > 0 && a.is_power_of_two() && a <= 1 << 20 => a,
            _ => {
                return Err(r.invalid(format!(
                    "general.alignment {v:?} is not a power of two up to 1 MiB"
                )))
            }
        },
    };
    let mut tensors = Vec::new();
    for _ in 0..n_tensors {
        let tname = r.string("tensor name")?;
        let n_dims = r.u32()?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(r.invalid(format!(
                "tensor `{tname}` has {n_dims} dimensions (expected 1–{MAX_DIMS})"
            )));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(r.count()?);
        }
        // No real tensor has an empty or 2^50-element dimension; refusing them keeps every size
        // computation below far from overflow.
        let n = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
        let Some(n) = n.filter(|&n| n < 1 << 50 && dims.iter().all(|&d| d > 0)) else {
            return Err(r.invalid(format!(
                "tensor `{tname}` has dimensions {dims:?}: empty, or a product that overflows"
            )));
        };
        let type_id = r.u32()?;
        let offset = r.u64()?;
        let ggml_type = GgmlType::from_id(type_id);
        let bytes = match ggml_type {
            Some(t) => {
                if dims[0] % t.block_size() != 0 {
                    return Err(r.invalid(format!(
                        "tensor `{tname}`: row of {} elements is not a multiple of {}'s block size {}",
                        dims[0],
                        t.name(),
                        t.block_size()
                    )));
                }
                t.row_size(dims[0]) * (n / dims[0].max(1))
            }
            None => 0,
        };
        tensors.push(TensorEntry {
            name: tname,
            dims,
            type_id,
            ggml_type,
            offset,
            bytes,
        });
    }
    let header_end = r.c.pos();
    let data_offset = header_end.div_ceil(alignment) * alignment;
    // Tensor data must lie inside the file (checked only for known types).
    let data_len = file_len.saturating_sub(data_offset);
    for t in &tensors {
        if t.ggml_type.is_some()
            && t.offset
                .checked_add(t.bytes)
                .is_none_or(|end| end > data_len)
        {
            return Err(GgufError::Invalid {
                name: r.c.name(),
                what: format!(
                    "tensor `{}` ({} bytes at data offset {}) lies past the end of the {}-byte file (truncated?)",
                    t.name, t.bytes, t.offset, file_len
                ),
                offset: header_end,
            });
        }
    }
    Ok(GgufHeader {
        version,
        endian,
        metadata,
        tensors,
        alignment,
        data_offset,
        file_len,
    })
}
