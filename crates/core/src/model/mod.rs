//! Models: architecture numbers ([`ModelSpec`]) and the tensors they imply; multimodal projectors
//! ([`ProjectorSpec`]); Whisper speech models ([`WhisperSpec`]); the parts of image-generation
//! pipelines ([`diffusion`]).

pub mod diffusion;
mod projector;
mod spec;
mod tensors;
mod whisper;

pub use projector::{
    ProjectorKind, ProjectorSpec, ProjectorTensor, DEFAULT_PHOTO, MTMD_BATCH_MAX_TOKENS,
};
pub use spec::{Arch, ModelSpec, Pooling, RecurrentSpec, SpecError};
pub use tensors::{classify, tensor_inventory, Role, TensorInfo};
pub use whisper::{WhisperMemory, WhisperSpec, WHISPER_META_BYTES};
