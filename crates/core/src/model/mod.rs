//! Models: architecture numbers ([`ModelSpec`]) and the tensors they imply.

mod spec;
mod tensors;

pub use spec::{Arch, ModelSpec, Pooling, RecurrentSpec, SpecError};
pub use tensors::{classify, tensor_inventory, Role, TensorInfo};
