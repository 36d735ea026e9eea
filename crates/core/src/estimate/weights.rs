//! `ModelWeights`: a model's tensors with the type and byte size each one has in a given quant.
//!
//! Built once per (model, quant) and reused by every estimate and by the context search, so the
//! per-tensor work is not repeated.

use serde::Serialize;

use crate::model::{tensor_inventory, ModelSpec, Role, TensorInfo};
use crate::quant::ftype::{MixModel, MixTensor, Quantizer};
use crate::quant::other::WeightRole;
use crate::quant::{GgmlType, OtherFormat, Quant};

/// One tensor with its storage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightTensor {
    /// Name, shape and role.
    #[serde(flatten)]
    pub info: TensorInfo,
    /// The ggml type (GGUF quants), or `None` for other formats.
    pub ggml_type: Option<GgmlType>,
    /// Bytes as stored (`ggml_nbytes` for GGUF).
    pub bytes: u64,
}

/// A model in one quant: the spec plus every tensor's storage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelWeights {
    /// Architecture numbers.
    pub spec: ModelSpec,
    /// The quant the tensors are stored in.
    pub quant: Quant,
    /// Every tensor.
    pub tensors: Vec<WeightTensor>,
}

/// llama.cpp's classification of the model as `LLM_TYPE_70B` (`llama_model::load_hparams`): an
/// 80-layer llama with GQA or an 80-layer qwen2.
fn is_70b(spec: &ModelSpec) -> bool {
    use crate::model::Arch;
    spec.n_layer == 80
        && match spec.arch {
            Arch::Llama => spec.n_head != spec.n_head_kv,
            Arch::Qwen2 => true,
            _ => false,
        }
}

/// The type convert_hf_to_gguf gives the tensors llama-quantize leaves alone: norms, biases, the MoE
/// router and other small tensors are written as F32; Gemma 3n's AltUp projections and router,
/// LAuReL and per-layer projection, which llama-quantize also skips, are ordinary matrices to the
/// converter and stay in the 16-bit type of the conversion (conversion/base.py forces only the
/// AltUp coefficients to F32).
fn unquantized_type(name: &str) -> GgmlType {
    let sixteen = (name.contains("altup")
        && !name.contains("altup_correct_coef")
        && !name.contains("altup_predict_coef")
        && !name.contains("_norm"))
        || name.contains("laurel_l.")
        || name.contains("laurel_r.")
        || name.contains("per_layer_model_proj");
    if sixteen {
        GgmlType::F16
    } else {
        GgmlType::F32
    }
}

impl ModelWeights {
    /// Derives every tensor of `spec` and the storage `quant` gives it.
    #[must_use]
    pub fn new(spec: &ModelSpec, quant: Quant) -> ModelWeights {
        let inventory = tensor_inventory(spec);
        let tensors = match quant {
            Quant::Gguf(mix) => {
                let n_attention_wv = inventory
                    .iter()
                    .filter(|t| {
                        matches!(
                            t.category,
                            crate::quant::ftype::Category::AttnV
                                | crate::quant::ftype::Category::AttnQkv
                                | crate::quant::ftype::Category::AttnKvB
                        )
                    })
                    .count();
                let n_gqa = if spec.is_mla() {
                    // MLA GGUFs store one latent KV head (`head_count_kv = 1`).
                    spec.n_head
                } else {
                    // llama-quant.cpp reads `hparams.n_gqa()`, block 0's (a sliding block on
                    // Gemma 4, whose KV heads differ from the global blocks').
                    spec.n_head / spec.layer_n_head_kv(0).max(1)
                };
                // gpt-oss is released with MXFP4 experts, and its GGUFs at every type keep them.
                let mxfp4_experts = spec.arch == crate::model::Arch::GptOss;
                let mut q = Quantizer::new(
                    mix,
                    MixModel {
                        n_gqa,
                        n_expert: spec.n_expert,
                        n_layer: spec.n_layer,
                        is_70b: is_70b(spec),
                        is_falcon: false,
                        has_output: !spec.tied_embeddings,
                        n_attention_wv: u32::try_from(n_attention_wv).unwrap_or(u32::MAX),
                    },
                );
                inventory
                    .into_iter()
                    .map(|info| {
                        let ty = q.tensor_type(&MixTensor {
                            category: info.category,
                            layer: info.layer,
                            ne0: info.ne[0],
                            stacked: info.ne[2] > 1,
                            quantizable: info.quantizable(),
                            source_type: if mxfp4_experts && info.role == Role::Experts {
                                GgmlType::MXFP4
                            } else {
                                unquantized_type(&info.name)
                            },
                        });
                        let bytes = ty.row_size(info.ne[0]) * info.ne[1] * info.ne[2];
                        WeightTensor {
                            info,
                            ggml_type: Some(ty),
                            bytes,
                        }
                    })
                    .collect()
            }
            Quant::Other(fmt) => inventory
                .into_iter()
                .map(|info| {
                    let role = match info.role {
                        Role::TokenEmbd | Role::LayerInput => WeightRole::Embedding,
                        Role::Output => WeightRole::Output,
                        Role::Matrix => WeightRole::Linear,
                        Role::Experts => WeightRole::Expert,
                        Role::OutputNorm | Role::Small => WeightRole::Norm,
                    };
                    let bits = fmt.bits_per_weight(role, info.ne[0], info.ne[1]);
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let bytes = (info.n_elements() as f64 * bits / 8.0).ceil() as u64;
                    WeightTensor {
                        info,
                        ggml_type: None,
                        bytes,
                    }
                })
                .collect(),
        };
        ModelWeights {
            spec: spec.clone(),
            quant,
            tensors,
        }
    }

    /// Builds from tensors read from a file (their types and sizes are facts, not predictions).
    #[must_use]
    pub fn from_tensors(spec: ModelSpec, quant: Quant, tensors: Vec<WeightTensor>) -> ModelWeights {
        ModelWeights {
            spec,
            quant,
            tensors,
        }
    }

    /// The same tensors with every quantized one's bytes scaled so that the total is `total`
    /// bytes: a file known only by its size and the preset nearest its mix (an Unsloth dynamic
    /// quant that llama-bench reports with its size), each tensor keeping its preset type and so
    /// its speed class. `None` when the quantized tensors cannot make up the difference.
    #[must_use]
    pub fn scaled_to(&self, total: u64) -> Option<ModelWeights> {
        let fixed: u64 = self
            .tensors
            .iter()
            .filter(|t| !t.info.quantizable())
            .map(|t| t.bytes)
            .sum();
        let scalable = self.total_bytes().checked_sub(fixed).filter(|&b| b > 0)?;
        let want = total.checked_sub(fixed).filter(|&b| b > 0)?;
        #[allow(clippy::cast_precision_loss)]
        let f = want as f64 / scalable as f64;
        let mut out = self.clone();
        for t in out.tensors.iter_mut().filter(|t| t.info.quantizable()) {
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let b = (t.bytes as f64 * f).round() as u64;
            t.bytes = b;
        }
        Some(out)
    }

    /// Σ bytes of every tensor (llama.cpp's "model size").
    #[must_use]
    pub fn total_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.bytes).sum()
    }

    /// Parameters (elements of every tensor).
    #[must_use]
    pub fn params(&self) -> u64 {
        self.tensors.iter().map(|t| t.info.n_elements()).sum()
    }

    /// Parameters one token uses: routed experts count only `n_expert_used / n_expert`, and the
    /// input embedding is a lookup, not a matmul.
    #[must_use]
    pub fn active_params(&self) -> u64 {
        let s = &self.spec;
        self.tensors
            .iter()
            .map(|t| match t.info.role {
                Role::Experts => {
                    t.info.n_elements() / u64::from(s.n_expert.max(1))
                        * u64::from(s.n_expert_used.max(1))
                }
                Role::TokenEmbd if !s.output_reads_embeddings() => 0,
                Role::LayerInput => 0,
                _ => t.info.n_elements(),
            })
            .sum()
    }

    /// Effective bits per weight over all tensors.
    #[must_use]
    pub fn bits_per_weight(&self) -> f64 {
        let p = self.params();
        if p == 0 {
            return 0.0;
        }
        self.total_bytes() as f64 * 8.0 / p as f64
    }

    /// Count and bytes of tensors per ggml type, sorted by type id.
    #[must_use]
    pub fn type_histogram(&self) -> Vec<(GgmlType, usize, u64)> {
        let mut h: Vec<(GgmlType, usize, u64)> = Vec::new();
        for t in &self.tensors {
            let Some(ty) = t.ggml_type else { continue };
            match h.iter_mut().find(|e| e.0 == ty) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += t.bytes;
                }
                None => h.push((ty, 1, t.bytes)),
            }
        }
        h.sort_by_key(|e| e.0.id());
        h
    }
}

/// Weight storage classes whose kernels read memory at different efficiencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightClass {
    /// F32, F16, BF16.
    Float,
    /// Q8_0.
    Q8,
    /// Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL.
    Legacy,
    /// Q2_K…Q6_K.
    KQuant,
    /// IQ1…IQ4_XS, TQ.
    Iq,
    /// MXFP4, NVFP4.
    Fp4,
}

impl WeightClass {
    /// Number of classes.
    pub const COUNT: usize = 6;

    /// The class of a tensor stored as `ty` (or in `quant` when there is no ggml type).
    #[must_use]
    pub fn of(ty: Option<GgmlType>, quant: Quant) -> WeightClass {
        use GgmlType as G;
        match ty {
            Some(G::F32 | G::F16 | G::BF16 | G::F64 | G::I8 | G::I16 | G::I32 | G::I64) => {
                WeightClass::Float
            }
            Some(G::Q8_0 | G::Q8_1 | G::Q8_K) => WeightClass::Q8,
            Some(G::Q4_0 | G::Q4_1 | G::Q5_0 | G::Q5_1 | G::IQ4_NL | G::Q1_0 | G::Q2_0) => {
                WeightClass::Legacy
            }
            Some(G::Q2_K | G::Q3_K | G::Q4_K | G::Q5_K | G::Q6_K) => WeightClass::KQuant,
            Some(G::MXFP4 | G::NVFP4) => WeightClass::Fp4,
            Some(_) => WeightClass::Iq,
            None => match quant {
                Quant::Other(OtherFormat::Fp16 | OtherFormat::Bf16 | OtherFormat::Fp32) => {
                    WeightClass::Float
                }
                Quant::Other(OtherFormat::Fp8 { .. } | OtherFormat::BnbInt8) => WeightClass::Q8,
                Quant::Other(OtherFormat::Nvfp4 | OtherFormat::Mxfp4) => WeightClass::Fp4,
                _ => WeightClass::KQuant,
            },
        }
    }

    /// Index into per-class arrays.
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Arch, ModelSpec};

    fn q4_k_m_8b() -> ModelWeights {
        let spec = ModelSpec {
            arch: Arch::Llama,
            n_layer: 32,
            n_embd: 4096,
            n_ff: 14336,
            n_head: 32,
            n_head_kv: 8,
            n_vocab: 128_256,
            context_length: 8192,
            ..ModelSpec::default()
        };
        ModelWeights::new(&spec, Quant::parse("Q4_K_M").unwrap())
    }

    /// An Unsloth dynamic file known by its size: the preset's tensors scaled to that size, the
    /// norms (not quantized) kept, every tensor keeping its type.
    #[test]
    fn scaled_to_a_stated_size() {
        let w = q4_k_m_8b();
        let want = w.total_bytes() / 20 * 21;
        let s = w.scaled_to(want).unwrap();
        // Rounding each tensor moves the total by at most a byte per tensor.
        assert!(s.total_bytes().abs_diff(want) <= w.tensors.len() as u64);
        for (a, b) in w.tensors.iter().zip(&s.tensors) {
            assert_eq!(a.ggml_type, b.ggml_type, "{}", a.info.name);
            if a.info.quantizable() {
                assert!(b.bytes > a.bytes, "{}", a.info.name);
            } else {
                assert_eq!(a.bytes, b.bytes, "{}", a.info.name);
            }
        }
        // Smaller than its unquantized tensors alone: no such file.
        let fixed: u64 = w
            .tensors
            .iter()
            .filter(|t| !t.info.quantizable())
            .map(|t| t.bytes)
            .sum();
        assert!(w.scaled_to(fixed).is_none());
    }
}
