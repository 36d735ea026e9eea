//! Models: architecture numbers ([`ModelSpec`]) and the tensors they imply; multimodal projectors
//! ([`ProjectorSpec`]).

mod projector;
mod spec;
mod tensors;

pub use projector::{ProjectorKind, ProjectorSpec, ProjectorTensor};
pub use spec::{Arch, ModelSpec, Pooling, RecurrentSpec, SpecError};
pub use tensors::{classify, tensor_inventory, Role, TensorInfo};
