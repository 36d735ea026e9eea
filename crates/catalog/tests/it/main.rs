//! Calibration: catalog models run through the core rules must reproduce real GGUF files and real
//! llama.cpp allocation logs (crates/catalog/tests/data/*.csv; its README names the rows' sources).

mod backends;
mod common;
/// llama.cpp with CUDA on an H200: every weight, KV and output buffer logged.
mod cuda_h200;
mod gguf_sizes;
mod image_memory;
mod image_speed;
mod memory_logs;
/// New catalog models against their published parameter counts (issue 14).
mod model_cards;
/// Ollama library tags: quant by listed size.
mod ollama;
mod properties;
/// Scenarios of issue 12: answers users act on.
mod scenarios;
mod speed_accuracy;
