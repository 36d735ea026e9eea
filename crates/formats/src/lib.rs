//! llmrig-formats: reads what a model file says about itself — GGUF headers, safetensors headers and
//! `config.json` — from a local file or over HTTP range requests, without reading the weights; and
//! llama-bench's results (`llmrig calibrate`).
//! Every length and count in a file is checked before it is used; nothing is allocated in
//! proportion to a number the file claims.

pub mod remote;
pub mod source;

pub use remote::{open_url, HttpSource, RemoteConfig, RemoteError};
pub use source::{ByteSource, FileSource, MemSource, Slice, SourceError};
pub mod gguf;
pub mod hf_config;
pub mod installed;
pub mod llama_bench;
pub mod llamafile;
pub mod local;
pub mod open;
pub mod safetensors;
