//! GGUF: the header of a llama.cpp model file — metadata and the tensor table — read without the
//! tensor data. Versions 1–3, either byte order, every metadata value type, split files.
//!
//! Format: `ggml/docs/gguf.md` and `gguf-py/gguf/constants.py` in llama.cpp. Version 1 stored
//! counts and string lengths as u32, later versions as u64. Tensor data starts at the first multiple
//! of `general.alignment` (default 32) after the header.

pub mod build;
mod parse;
mod spec;

pub use parse::{read_gguf, ArrayValue, Endian, GgufError, GgufHeader, TensorEntry, Value};
pub use spec::{model_from_gguf, GgufKind, GgufModel, SpecFromGguf};
