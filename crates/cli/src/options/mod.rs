//! Typed flags → validated inputs for the library. Every error names the input and what was
//! expected.
//!
//! - [`settings`](mod@settings): `estimate`'s flags → the estimator's `Settings`.
//! - [`machine`](mod@machine): the machine — `--system` or detection, the device catalog, the user config's
//!   measured RAM bandwidth, `--gpu`/`--no-gpu`/`--cpu`/`--ram`/`--ram-bw`/`--api` — and what was
//!   assumed about it ([`MachineNote`]).
//! - [`model`](mod@model): MODEL and `-q` → weights: a GGUF file, a Hugging Face folder, `hf:`/`ollama:`
//!   repositories, an installed Ollama tag, the catalog or a bare size.

mod machine;
mod model;
mod settings;
#[cfg(test)]
mod tests;

pub use machine::{detect, machine, machine_from, machine_with, MachineNote};
pub use model::{for_program, model, projector, ResolvedModel};
pub use settings::{apply_devices, given, program_env, settings};
