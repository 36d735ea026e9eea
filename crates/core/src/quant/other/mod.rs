//! Non-GGUF weight formats (safetensors-era quantizations): FP8, NVFP4, MXFP4,
//! GPTQ, AWQ, compressed-tensors `WnA16`, EXL2, EXL3, bitsandbytes (NF4, FP4,
//! `LLM.int8()`), MLX, HQQ and the plain float dtypes.
//!
//! Every number here is derived from the tensors a checkpoint of that format
//! actually stores; the source file each layout was read from is cited next to
//! the constant or branch that encodes it.
//!
//! # Dimension convention
//!
//! Sizes follow the ggml convention: `n_in` is `ne0`, the row length (input
//! features of a linear layer, hidden size of an embedding table) and `n_out`
//! is `ne1`, the number of rows (output features, vocabulary size). A
//! `torch.nn.Linear.weight` of shape `[out, in]` therefore has
//! `n_in = in, n_out = out`. For a stacked expert tensor `[experts, out, in]`
//! pass one expert's `n_in`/`n_out`: the per-weight cost is the same for each.
//!
//! Groups of GPTQ/AWQ/MLX/HQQ/NVFP4/MXFP4 run along `n_in`; per-row scales
//! (FP8 per-channel, `LLM.int8()`, EXL3 `svh`) are one per output row (`n_out`
//! of them, each amortised over `n_in` weights); per-input-feature tensors
//! (GPTQ `g_idx`, EXL2 `q_invperm`, EXL3 `suh`) are one per input feature
//! (`n_in` of them, amortised over `n_out` weights).
//!
//! Passing `0` for either dimension means "unknown": the result is then the
//! large-matrix limit, i.e. only the per-weight and per-group terms, without
//! per-row, per-column and per-tensor terms.
//!
//! # Files
//!
//! - this file: the module declarations and the re-exports;
//! - `format`: the [`OtherFormat`] enum with [`WeightRole`] and [`Fp8Scales`],
//!   and the format's metadata (which roles it quantizes, nominal bits,
//!   description, examples, backends);
//! - `layout`: how each format stores a tensor, the parameters it supports
//!   ([`OtherFormat::is_valid`], which reads the EXL2 head table), and the bits
//!   and bytes that follow from it ([`OtherFormat::bits_per_weight`],
//!   [`OtherFormat::tensor_bytes`]);
//! - `parse`: format names, from the strings people write
//!   ([`OtherFormat::parse`]) and back ([`OtherFormat::name`]).

mod format;
mod layout;
mod parse;
#[cfg(test)]
mod tests;

pub use format::{Fp8Scales, OtherFormat, WeightRole};
