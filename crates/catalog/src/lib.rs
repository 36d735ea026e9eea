//! llmrig-catalog: the model and device catalogs, embedded as TOML data (`data/models.toml`,
//! `data/devices.toml`) and parsed once; lookup by id or by the names people use (Hugging Face repo
//! names, Ollama tags, `-instruct`/`-it`/`-chat` variants), with "did you mean" suggestions.
//!
//! ```
//! let catalog = llmrig_catalog::models();
//! let m = catalog.find("Meta-Llama-3.1-8B-Instruct").unwrap();
//! assert_eq!(m.spec.id, "llama-3.1-8b");
//! ```

pub mod accuracy;
pub mod calibrate;
mod devices;
pub mod image;
mod interconnect;
mod models;
mod ollama;
pub mod prices;
pub mod projectors;
pub mod quality;
pub mod recommend;
mod row_build;
mod row_model;
pub mod speech;

pub use devices::{devices, vendor_from_name, DeviceCatalog, DeviceEntry, DeviceError, EntryKind};
pub use interconnect::interconnect;
pub use models::{models, ModelCatalog, ModelEntry, ModelError};
pub use ollama::{ollama, OllamaCatalog, OllamaLibrary, OllamaName, OllamaTag};

/// Lower-cases and unifies separators so `Qwen/Qwen2.5-14B-Instruct`, `qwen2.5_14b` and
/// `Qwen2.5 14B` compare equal after the org prefix is dropped.
pub(crate) fn normalize(name: &str) -> String {
    let base = name.trim().rsplit('/').next().unwrap_or("");
    base.to_ascii_lowercase().replace(['_', ' '], "-")
}
