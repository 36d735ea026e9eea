//! llama.cpp file types (`llama-quantize` presets such as Q4_K_M) and the per-tensor mix rules that
//! decide which ggml type each tensor of a model gets.
//!
//! The rules follow `llama_tensor_get_type_impl` and `tensor_type_fallback` in llama.cpp's
//! `src/llama-quant.cpp` (2026, after the `tensor_category` refactor), read and re-expressed here.
//! Older files (before 2026; `src/llama-quant.cpp` at upstream ec98e2002, Dec 2025) differ in two
//! places: a fused `attn_qkv` got its own rule, and Q2_K/Q3_K fell back to IQ4_NL instead of Q4_0.

use serde::Serialize;

use super::ggml::GgmlType;

/// A `llama-quantize` file type (`LLAMA_FTYPE_*`), plus the publisher variants that only override the
/// embedding and output types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
#[allow(non_camel_case_types)]
pub enum FileType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2_K,
    Q2_K_S,
    Q3_K_S,
    Q3_K_M,
    Q3_K_L,
    Q4_K_S,
    Q4_K_M,
    Q5_K_S,
    Q5_K_M,
    Q6_K,
    IQ1_S,
    IQ1_M,
    IQ2_XXS,
    IQ2_XS,
    IQ2_S,
    IQ2_M,
    IQ3_XXS,
    IQ3_XS,
    IQ3_S,
    IQ3_M,
    IQ4_NL,
    IQ4_XS,
    TQ1_0,
    TQ2_0,
    MXFP4_MOE,
}

/// (file type, name, default tensor type, `LLAMA_FTYPE_*` id as stored in `general.file_type`).
///
/// Default types are `llama_ftype_get_default_type`; note IQ2_S→IQ2_XS, IQ2_M→IQ2_S, IQ3_XS→IQ3_S.
const TABLE: &[(FileType, &str, GgmlType, u32)] = &[
    (FileType::F32, "F32", GgmlType::F32, 0),
    (FileType::F16, "F16", GgmlType::F16, 1),
    (FileType::BF16, "BF16", GgmlType::BF16, 32),
    (FileType::Q4_0, "Q4_0", GgmlType::Q4_0, 2),
    (FileType::Q4_1, "Q4_1", GgmlType::Q4_1, 3),
    (FileType::Q5_0, "Q5_0", GgmlType::Q5_0, 8),
    (FileType::Q5_1, "Q5_1", GgmlType::Q5_1, 9),
    (FileType::Q8_0, "Q8_0", GgmlType::Q8_0, 7),
    (FileType::Q2_K, "Q2_K", GgmlType::Q2_K, 10),
    (FileType::Q2_K_S, "Q2_K_S", GgmlType::Q2_K, 21),
    (FileType::Q3_K_S, "Q3_K_S", GgmlType::Q3_K, 11),
    (FileType::Q3_K_M, "Q3_K_M", GgmlType::Q3_K, 12),
    (FileType::Q3_K_L, "Q3_K_L", GgmlType::Q3_K, 13),
    (FileType::Q4_K_S, "Q4_K_S", GgmlType::Q4_K, 14),
    (FileType::Q4_K_M, "Q4_K_M", GgmlType::Q4_K, 15),
    (FileType::Q5_K_S, "Q5_K_S", GgmlType::Q5_K, 16),
    (FileType::Q5_K_M, "Q5_K_M", GgmlType::Q5_K, 17),
    (FileType::Q6_K, "Q6_K", GgmlType::Q6_K, 18),
    (FileType::IQ1_S, "IQ1_S", GgmlType::IQ1_S, 24),
    (FileType::IQ1_M, "IQ1_M", GgmlType::IQ1_M, 31),
    (FileType::IQ2_XXS, "IQ2_XXS", GgmlType::IQ2_XXS, 19),
    (FileType::IQ2_XS, "IQ2_XS", GgmlType::IQ2_XS, 20),
    (FileType::IQ2_S, "IQ2_S", GgmlType::IQ2_XS, 28),
    (FileType::IQ2_M, "IQ2_M", GgmlType::IQ2_S, 29),
    (FileType::IQ3_XXS, "IQ3_XXS", GgmlType::IQ3_XXS, 23),
    (FileType::IQ3_XS, "IQ3_XS", GgmlType::IQ3_S, 22),
    (FileType::IQ3_S, "IQ3_S", GgmlType::IQ3_S, 26),
    (FileType::IQ3_M, "IQ3_M", GgmlType::IQ3_S, 27),
    (FileType::IQ4_NL, "IQ4_NL", GgmlType::IQ4_NL, 25),
    (FileType::IQ4_XS, "IQ4_XS", GgmlType::IQ4_XS, 30),
    (FileType::TQ1_0, "TQ1_0", GgmlType::TQ1_0, 36),
    (FileType::TQ2_0, "TQ2_0", GgmlType::TQ2_0, 37),
    (FileType::MXFP4_MOE, "MXFP4_MOE", GgmlType::MXFP4, 38),
];

impl FileType {
    /// Every file type, in table order.
    pub fn all() -> impl Iterator<Item = FileType> {
        TABLE.iter().map(|r| r.0)
    }

    fn row(self) -> &'static (FileType, &'static str, GgmlType, u32) {
        TABLE
            .iter()
            .find(|r| r.0 == self)
            .expect("every FileType has a table row")
    }

    /// The name `llama-quantize` takes (`Q4_K_M`).
    #[must_use]
    pub fn name(self) -> &'static str {
        self.row().1
    }

    /// The type most tensors get (`llama_ftype_get_default_type`).
    #[must_use]
    pub fn default_type(self) -> GgmlType {
        self.row().2
    }

    /// The `general.file_type` value llama.cpp writes for this file type.
    #[must_use]
    pub fn gguf_id(self) -> u32 {
        self.row().3
    }

    /// The file type for a `general.file_type` value.
    #[must_use]
    pub fn from_gguf_id(id: u32) -> Option<FileType> {
        TABLE.iter().find(|r| r.3 == id).map(|r| r.0)
    }

    /// Case-insensitive lookup of the exact name (`q4_k_m`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<FileType> {
        TABLE
            .iter()
            .find(|r| r.1.eq_ignore_ascii_case(name))
            .map(|r| r.0)
    }

    /// Whether llama-quantize refuses this file type without an importance matrix (it puts IQ1/IQ2
    /// or, for Q2_K_S, Q2_K types on tensors other than the embeddings; `tensor_requires_imatrix`).
    #[must_use]
    pub fn requires_imatrix(self) -> bool {
        matches!(
            self,
            FileType::IQ1_S
                | FileType::IQ1_M
                | FileType::IQ2_XXS
                | FileType::IQ2_XS
                | FileType::IQ2_S
                | FileType::IQ2_M
                | FileType::Q2_K_S
        )
    }

    /// Whether the file type runs the per-tensor mix rules (float file types copy or convert only).
    #[must_use]
    pub fn is_quantized(self) -> bool {
        self.default_type().is_quantized()
    }
}

impl std::fmt::Display for FileType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything besides the model that decides a quantization mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Mix {
    /// The llama-quantize preset.
    pub ftype: FileType,
    /// Whether an importance matrix was used (changes a few IQ3/IQ4/Q4_0/Q5_0 rules).
    pub imatrix: bool,
    /// `--output-tensor-type`, as the `_L`/`_XL` publisher variants set it (Q8_0).
    pub output_type: Option<GgmlType>,
    /// `--token-embedding-type`.
    pub embd_type: Option<GgmlType>,
}

impl Mix {
    /// A stock mix for a file type: imatrix only where llama-quantize requires one.
    #[must_use]
    pub fn new(ftype: FileType) -> Mix {
        Mix {
            ftype,
            imatrix: ftype.requires_imatrix(),
            output_type: None,
            embd_type: None,
        }
    }
}

/// What a tensor is, as far as the quantizer's rules care (`tensor_category` plus expert-ness).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    TokenEmbd,
    Output,
    AttnQ,
    AttnK,
    AttnV,
    AttnQkv,
    AttnKvB,
    AttnOutput,
    FfnUp,
    FfnGate,
    FfnDown,
    Other,
}

impl Category {
    /// attn_v-like tensors share the attn_v rules and counter (`category_is_attn_v`).
    fn is_attn_v(self) -> bool {
        matches!(
            self,
            Category::AttnV | Category::AttnQkv | Category::AttnKvB
        )
    }
}

/// Model facts the rules read (from `llama_hparams` and `llama_model::type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixModel {
    /// `n_head / n_head_kv` of layer 0.
    pub n_gqa: u32,
    /// Routed experts (0 or 1 for dense models).
    pub n_expert: u32,
    /// Blocks, including any next-token-prediction layers (`n_layer_all`).
    pub n_layer: u32,
    /// llama.cpp classifies the model as `LLM_TYPE_70B` (80-layer llama with GQA, qwen2, …).
    pub is_70b: bool,
    /// Falcon has its own rules.
    pub is_falcon: bool,
    /// Whether the file has a separate `output.weight` (otherwise token_embd doubles as output).
    pub has_output: bool,
    /// How many attn_v-like tensors the model has (`n_attention_wv`).
    pub n_attention_wv: u32,
}

/// One tensor as the quantizer sees it.
#[derive(Debug, Clone, Copy)]
pub struct MixTensor {
    /// Rule category.
    pub category: Category,
    /// Block index, if the tensor belongs to a block.
    pub layer: Option<u32>,
    /// Row length (`ne[0]`).
    pub ne0: u64,
    /// Whether the tensor is 3-D with more than one slice (`ne[2] > 1`: stacked experts).
    pub stacked: bool,
    /// Whether llama-quantize quantizes this tensor at all (2-D+, ends in `weight`, not a norm/router).
    pub quantizable: bool,
    /// Its type in the unquantized source file (F32 for norms and biases, F16/BF16 for matrices).
    pub source_type: GgmlType,
}

/// Runs the rules over a model's tensors in llama-quantize's order, keeping its counters.
#[derive(Debug)]
pub struct Quantizer {
    mix: Mix,
    model: MixModel,
    i_attention_wv: u32,
    i_ffn_down: u32,
}

fn use_more_bits(i: u32, n: u32) -> bool {
    let (i, n) = (i64::from(i), i64::from(n));
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

impl Quantizer {
    /// A quantizer for one model; feed it tensors in file order (non-block tensors first, then block
    /// by block, names sorted within a block).
    #[must_use]
    pub fn new(mix: Mix, model: MixModel) -> Quantizer {
        Quantizer {
            mix,
            model,
            i_attention_wv: 0,
            i_ffn_down: 0,
        }
    }

    /// The type llama-quantize gives this tensor.
    pub fn tensor_type(&mut self, t: &MixTensor) -> GgmlType {
        // A tensor the source already stores quantized (gpt-oss's MXFP4 experts, which the
        // converter writes as they are released: conversion/gpt_oss.py repack_mxfp4) keeps its
        // type: llama-quantize refuses to requantize it without --allow-requantize
        // (llama-quant.cpp "requantizing from type %s is disabled"), and the published files
        // weigh what that gives (llama-bench: gpt-oss 20B F16 13,779,630,336 bytes, lhl/strix-halo-testing).
        if !t.quantizable || t.source_type.is_quantized() {
            return t.source_type;
        }
        if t.category == Category::TokenEmbd {
            if let Some(ty) = self.mix.embd_type {
                return ty;
            }
        }
        let is_output = t.category == Category::Output
            || (!self.model.has_output && t.category == Category::TokenEmbd);
        if is_output {
            if let Some(ty) = self.mix.output_type {
                return ty;
            }
        }
        let default = self.mix.ftype.default_type();
        if !default.is_quantized() {
            // F16/BF16/F32 files convert every quantizable matrix to the default type.
            return default;
        }
        let chosen = self.rule(t, default);
        fallback(chosen, t.ne0)
    }

    #[allow(clippy::too_many_lines)]
    fn rule(&mut self, t: &MixTensor, default: GgmlType) -> GgmlType {
        use FileType as F;
        use GgmlType as G;
        let ft = self.mix.ftype;
        let m = self.model;
        let imatrix = self.mix.imatrix;
        let mut ty = default;
        let cat = t.category;
        // Layer for ffn rules: the counter for dense models, the name's block for MoE models.
        let ffn_layer = |counter: u32| -> u32 {
            if m.n_expert > 1 {
                t.layer.unwrap_or(counter)
            } else {
                counter
            }
        };
        let n = m.n_layer;
        let is_iq12 = matches!(
            ft,
            F::IQ2_XXS | F::IQ2_XS | F::IQ1_S | F::IQ2_S | F::IQ2_M | F::IQ1_M
        );

        if cat == Category::Output || (!m.has_output && cat == Category::TokenEmbd) {
            if ft == F::MXFP4_MOE || m.is_falcon || t.ne0 % ty.block_size() != 0 {
                ty = G::Q8_0;
            } else if matches!(
                ft,
                F::IQ2_XXS | F::IQ2_XS | F::IQ3_XXS | F::IQ1_S | F::IQ2_S | F::IQ2_M | F::IQ1_M
            ) {
                ty = G::Q5_K;
            } else if ty != G::Q8_0 {
                ty = G::Q6_K;
            }
        } else if ft == F::MXFP4_MOE {
            ty = if t.stacked { G::MXFP4 } else { G::Q8_0 };
        } else if cat == Category::TokenEmbd {
            match ft {
                F::IQ2_XXS | F::IQ2_XS | F::IQ1_S | F::IQ1_M => ty = G::Q2_K,
                F::IQ2_S | F::IQ2_M | F::IQ3_XXS => ty = G::IQ3_S,
                F::TQ1_0 | F::TQ2_0 => ty = G::Q4_K,
                _ => {}
            }
        } else if is_iq12 {
            let iq2sm = matches!(ft, F::IQ2_S | F::IQ2_M);
            if cat.is_attn_v() {
                ty = if m.n_gqa >= 4 || m.n_expert >= 4 {
                    G::Q4_K
                } else if iq2sm {
                    G::IQ3_S
                } else {
                    G::Q2_K
                };
                self.i_attention_wv += 1;
            } else if m.n_expert == 8 && cat == Category::AttnK {
                ty = G::Q4_K;
            } else if cat == Category::FfnDown {
                // This branch counts tensors, not layers, even for MoE models.
                if self.i_ffn_down < n / 8 {
                    ty = if iq2sm { G::IQ3_S } else { G::Q2_K };
                }
                self.i_ffn_down += 1;
            } else if cat == Category::AttnOutput {
                if m.n_expert == 8 {
                    ty = G::Q5_K;
                } else if matches!(ft, F::IQ1_S | F::IQ1_M) {
                    ty = G::IQ2_XXS;
                } else if iq2sm {
                    ty = G::IQ3_S;
                }
            }
        } else if cat.is_attn_v() {
            let i = self.i_attention_wv;
            match ft {
                F::Q2_K => ty = if m.n_gqa >= 4 { G::Q4_K } else { G::Q3_K },
                F::Q2_K_S if m.n_gqa >= 4 => ty = G::Q4_K,
                F::IQ3_XXS => {
                    ty = if m.n_gqa >= 4 {
                        G::Q4_K
                    } else if imatrix {
                        G::IQ3_XXS
                    } else {
                        G::IQ3_S
                    }
                }
                F::IQ3_XS | F::IQ3_S if m.n_gqa >= 4 => ty = G::Q4_K,
                F::IQ3_M => ty = G::Q4_K,
                F::Q3_K_M => ty = if i < 2 { G::Q5_K } else { G::Q4_K },
                F::Q3_K_L => ty = G::Q5_K,
                F::IQ4_NL | F::IQ4_XS if m.n_gqa >= 4 => ty = G::Q5_K,
                F::Q4_K_M | F::Q5_K_M if use_more_bits(i, m.n_attention_wv) => ty = G::Q6_K,
                F::Q4_K_S if i < 4 => ty = G::Q5_K,
                _ => {}
            }
            if m.is_70b && matches!(ty, G::Q3_K | G::Q4_K) {
                ty = G::Q5_K;
            }
            if m.n_expert == 8 {
                ty = G::Q8_0;
            }
            self.i_attention_wv += 1;
        } else if cat == Category::AttnK {
            if m.n_expert == 8 {
                ty = G::Q8_0;
            } else if ft == F::IQ3_XS {
                ty = G::IQ3_XXS;
            } else if ft == F::IQ3_XXS {
                ty = G::IQ2_S;
            }
        } else if cat == Category::AttnQ {
            if ft == F::IQ3_XS {
                ty = G::IQ3_XXS;
            } else if ft == F::IQ3_XXS {
                ty = G::IQ2_S;
            }
        } else if cat == Category::FfnDown {
            let i = ffn_layer(self.i_ffn_down);
            match ft {
                F::Q2_K => ty = G::Q3_K,
                F::Q2_K_S if i < n / 8 => ty = G::Q4_K,
                F::IQ3_XXS if !imatrix => ty = if i < n / 8 { G::Q4_K } else { G::Q3_K },
                F::Q3_K_M => {
                    ty = if i < n / 16 {
                        G::Q5_K
                    } else if !m.is_falcon || use_more_bits(i, n) {
                        G::Q4_K
                    } else {
                        G::Q3_K
                    }
                }
                F::IQ3_M if i < n / 8 || (m.n_expert == 8 && use_more_bits(i, n)) => ty = G::Q4_K,
                F::Q3_K_L => ty = if m.is_falcon { G::Q4_K } else { G::Q5_K },
                F::Q4_K_M => {
                    if m.is_falcon {
                        ty = if i < n / 16 {
                            G::Q6_K
                        } else if use_more_bits(i, n) {
                            G::Q5_K
                        } else {
                            G::Q4_K
                        };
                    } else if use_more_bits(i, n) {
                        ty = G::Q6_K;
                    }
                }
                F::IQ4_NL | F::IQ4_XS if i < n / 8 && !imatrix => ty = G::Q5_K,
                F::Q5_K_M if use_more_bits(i, n) => ty = G::Q6_K,
                F::Q4_K_S if !m.is_falcon && i < n / 8 => ty = G::Q5_K,
                F::Q4_0 if imatrix && i < n / 8 => ty = G::Q4_1,
                F::Q5_0 if imatrix && i < n / 8 => ty = G::Q5_1,
                _ => {}
            }
            self.i_ffn_down += 1;
        } else if cat == Category::AttnOutput {
            if m.is_falcon {
                if ft == F::Q3_K_L {
                    ty = G::Q4_K;
                }
            } else if m.n_expert == 8 {
                if matches!(
                    ft,
                    F::Q2_K
                        | F::IQ3_XS
                        | F::IQ3_XXS
                        | F::Q3_K_S
                        | F::Q3_K_M
                        | F::IQ4_NL
                        | F::Q4_K_S
                        | F::Q4_K_M
                        | F::IQ3_S
                        | F::IQ3_M
                        | F::IQ4_XS
                ) {
                    ty = G::Q5_K;
                }
            } else {
                match ft {
                    F::Q2_K => ty = G::Q3_K,
                    F::IQ3_XXS => ty = G::IQ3_S,
                    F::Q3_K_M | F::IQ3_M => ty = G::Q4_K,
                    F::Q3_K_L => ty = G::Q5_K,
                    _ => {}
                }
            }
        } else if matches!(cat, Category::FfnGate | Category::FfnUp) {
            // Counters for gate/up equal the layer for dense models; MoE models use the name's block.
            let i = t.layer.unwrap_or(0);
            if ft == F::IQ3_XS && i >= n / 8 && i < 7 * n / 8 {
                ty = G::IQ3_XXS;
            }
        }
        ty
    }
}

/// `tensor_type_fallback`: a type whose block does not divide the row length is replaced.
#[must_use]
pub fn fallback(ty: GgmlType, ne0: u64) -> GgmlType {
    use GgmlType as G;
    if ty.fits_row(ne0) {
        return ty;
    }
    let next = match ty {
        G::IQ1_S
        | G::IQ1_M
        | G::IQ2_XXS
        | G::IQ2_XS
        | G::IQ2_S
        | G::IQ3_XXS
        | G::IQ3_S
        | G::IQ4_XS => G::IQ4_NL,
        G::Q2_0 | G::Q2_K | G::Q3_K | G::TQ1_0 | G::TQ2_0 => G::Q4_0,
        G::Q4_K => G::Q5_0,
        G::Q5_K => G::Q5_1,
        G::Q6_K => G::Q8_0,
        // llama.cpp throws here; F16 is what it would have to store.
        _ => G::F16,
    };
    if next.fits_row(ne0) {
        next
    } else {
        G::F16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_more_bits_selects_16_of_32_and_24_of_48() {
        assert_eq!((0..32).filter(|&i| use_more_bits(i, 32)).count(), 16);
        assert_eq!((0..48).filter(|&i| use_more_bits(i, 48)).count(), 24);
        assert_eq!((0..18).filter(|&i| use_more_bits(i, 18)).count(), 9);
    }

    #[test]
    fn fallbacks_follow_block_sizes() {
        assert_eq!(fallback(GgmlType::Q4_K, 896), GgmlType::Q5_0);
        assert_eq!(fallback(GgmlType::Q6_K, 2880), GgmlType::Q8_0);
        assert_eq!(fallback(GgmlType::IQ4_XS, 1152), GgmlType::IQ4_NL);
        assert_eq!(fallback(GgmlType::Q3_K, 640), GgmlType::Q4_0);
        assert_eq!(fallback(GgmlType::Q4_K, 4096), GgmlType::Q4_K);
        assert_eq!(fallback(GgmlType::Q4_K, 100), GgmlType::F16);
    }

    #[test]
    fn a_quantized_source_tensor_keeps_its_type() {
        let model = MixModel {
            n_gqa: 8,
            n_expert: 32,
            n_layer: 24,
            is_70b: false,
            is_falcon: false,
            has_output: true,
            n_attention_wv: 24,
        };
        let experts = |source_type| MixTensor {
            category: Category::FfnDown,
            layer: Some(0),
            ne0: 2880,
            stacked: true,
            quantizable: true,
            source_type,
        };
        for ft in [
            FileType::Q4_K_M,
            FileType::Q8_0,
            FileType::F16,
            FileType::Q2_K,
        ] {
            let mut q = Quantizer::new(Mix::new(ft), model);
            assert_eq!(
                q.tensor_type(&experts(GgmlType::MXFP4)),
                GgmlType::MXFP4,
                "{ft:?}"
            );
            let mut q = Quantizer::new(Mix::new(ft), model);
            assert_ne!(
                q.tensor_type(&experts(GgmlType::BF16)),
                GgmlType::MXFP4,
                "{ft:?}"
            );
        }
    }

    #[test]
    fn gguf_ids_round_trip() {
        for ft in FileType::all() {
            assert_eq!(FileType::from_gguf_id(ft.gguf_id()), Some(ft));
            assert_eq!(FileType::from_name(&ft.name().to_lowercase()), Some(ft));
        }
    }
}
