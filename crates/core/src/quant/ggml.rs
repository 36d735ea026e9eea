//! Every ggml tensor type: its id in GGUF files, its block geometry and hence its exact size.
//!
//! Sizes are those of the block structs in ggml's `ggml/src/ggml-common.h` (checked with `sizeof`
//! on the header as Ollama vendors it, llama.cpp upstream ec98e2002, Dec 2025); the three 2026
//! types (NVFP4, Q1_0, Q2_0) come from the 2026 header. A row of `ne0` weights takes
//! `ne0 / block_size * type_size` bytes (`ggml_row_size`), and `ne0` must be a multiple of the
//! block size. This module does not decide which type a tensor gets; see
//! `ftype.rs` for llama.cpp's quantization mixes.

use serde::Serialize;

/// A ggml tensor element type, as stored in a GGUF tensor-info record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
#[allow(non_camel_case_types)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
    IQ2_XXS,
    IQ2_XS,
    IQ3_XXS,
    IQ1_S,
    IQ4_NL,
    IQ3_S,
    IQ2_S,
    IQ4_XS,
    I8,
    I16,
    I32,
    I64,
    F64,
    IQ1_M,
    BF16,
    TQ1_0,
    TQ2_0,
    MXFP4,
    NVFP4,
    Q1_0,
    Q2_0,
}

/// Geometry of one type: (type, GGUF id, name, weights per block, bytes per block, quantized-by-llama-quantize).
///
/// Ids are `enum ggml_type` in `ggml.h`; 4, 5, 31–33 and 36–38 were removed upstream and are unknown here.
const TABLE: &[(GgmlType, u32, &str, u32, u32)] = &[
    (GgmlType::F32, 0, "F32", 1, 4),
    (GgmlType::F16, 1, "F16", 1, 2),
    (GgmlType::Q4_0, 2, "Q4_0", 32, 18),
    (GgmlType::Q4_1, 3, "Q4_1", 32, 20),
    (GgmlType::Q5_0, 6, "Q5_0", 32, 22),
    (GgmlType::Q5_1, 7, "Q5_1", 32, 24),
    (GgmlType::Q8_0, 8, "Q8_0", 32, 34),
    (GgmlType::Q8_1, 9, "Q8_1", 32, 36),
    (GgmlType::Q2_K, 10, "Q2_K", 256, 84),
    (GgmlType::Q3_K, 11, "Q3_K", 256, 110),
    (GgmlType::Q4_K, 12, "Q4_K", 256, 144),
    (GgmlType::Q5_K, 13, "Q5_K", 256, 176),
    (GgmlType::Q6_K, 14, "Q6_K", 256, 210),
    (GgmlType::Q8_K, 15, "Q8_K", 256, 292),
    (GgmlType::IQ2_XXS, 16, "IQ2_XXS", 256, 66),
    (GgmlType::IQ2_XS, 17, "IQ2_XS", 256, 74),
    (GgmlType::IQ3_XXS, 18, "IQ3_XXS", 256, 98),
    (GgmlType::IQ1_S, 19, "IQ1_S", 256, 50),
    (GgmlType::IQ4_NL, 20, "IQ4_NL", 32, 18),
    (GgmlType::IQ3_S, 21, "IQ3_S", 256, 110),
    (GgmlType::IQ2_S, 22, "IQ2_S", 256, 82),
    (GgmlType::IQ4_XS, 23, "IQ4_XS", 256, 136),
    (GgmlType::I8, 24, "I8", 1, 1),
    (GgmlType::I16, 25, "I16", 1, 2),
    (GgmlType::I32, 26, "I32", 1, 4),
    (GgmlType::I64, 27, "I64", 1, 8),
    (GgmlType::F64, 28, "F64", 1, 8),
    (GgmlType::IQ1_M, 29, "IQ1_M", 256, 56),
    (GgmlType::BF16, 30, "BF16", 1, 2),
    (GgmlType::TQ1_0, 34, "TQ1_0", 256, 54),
    (GgmlType::TQ2_0, 35, "TQ2_0", 256, 66),
    (GgmlType::MXFP4, 39, "MXFP4", 32, 17),
    (GgmlType::NVFP4, 40, "NVFP4", 64, 36),
    (GgmlType::Q1_0, 41, "Q1_0", 128, 18),
    (GgmlType::Q2_0, 42, "Q2_0", 64, 18),
];

impl GgmlType {
    /// Every known type, in id order.
    pub const ALL: [GgmlType; 35] = [
        Self::F32,
        Self::F16,
        Self::Q4_0,
        Self::Q4_1,
        Self::Q5_0,
        Self::Q5_1,
        Self::Q8_0,
        Self::Q8_1,
        Self::Q2_K,
        Self::Q3_K,
        Self::Q4_K,
        Self::Q5_K,
        Self::Q6_K,
        Self::Q8_K,
        Self::IQ2_XXS,
        Self::IQ2_XS,
        Self::IQ3_XXS,
        Self::IQ1_S,
        Self::IQ4_NL,
        Self::IQ3_S,
        Self::IQ2_S,
        Self::IQ4_XS,
        Self::I8,
        Self::I16,
        Self::I32,
        Self::I64,
        Self::F64,
        Self::IQ1_M,
        Self::BF16,
        Self::TQ1_0,
        Self::TQ2_0,
        Self::MXFP4,
        Self::NVFP4,
        Self::Q1_0,
        Self::Q2_0,
    ];

    fn row(self) -> &'static (GgmlType, u32, &'static str, u32, u32) {
        // The table is in the same order as `ALL`, which a test checks.
        &TABLE[self as usize]
    }

    /// The GGUF type id.
    #[must_use]
    pub fn id(self) -> u32 {
        self.row().1
    }

    /// The type for a GGUF type id, or `None` for a removed or unknown id.
    #[must_use]
    pub fn from_id(id: u32) -> Option<GgmlType> {
        TABLE.iter().find(|r| r.1 == id).map(|r| r.0)
    }

    /// The name ggml prints (upper case, e.g. `Q4_K`).
    #[must_use]
    pub fn name(self) -> &'static str {
        self.row().2
    }

    /// The type for a name such as `q4_k`, `Q8_0`, `bf16` (case-insensitive).
    #[must_use]
    pub fn from_name(name: &str) -> Option<GgmlType> {
        TABLE
            .iter()
            .find(|r| r.2.eq_ignore_ascii_case(name))
            .map(|r| r.0)
    }

    /// Weights per block (`ggml_blck_size`).
    #[must_use]
    pub fn block_size(self) -> u64 {
        u64::from(self.row().3)
    }

    /// Bytes per block (`ggml_type_size`).
    #[must_use]
    pub fn type_size(self) -> u64 {
        u64::from(self.row().4)
    }

    /// Exact bits per weight: `8 * type_size / block_size`.
    #[must_use]
    pub fn bits_per_weight(self) -> f64 {
        8.0 * self.type_size() as f64 / self.block_size() as f64
    }

    /// Bytes of one row of `ne0` elements (`ggml_row_size`). `ne0` must be a multiple of the block
    /// size; a partial block is rounded up, which is what a padded allocation holds. Saturates
    /// instead of overflowing for absurd `ne0`.
    #[must_use]
    pub fn row_size(self, ne0: u64) -> u64 {
        ne0.div_ceil(self.block_size())
            .saturating_mul(self.type_size())
    }

    /// Whether rows of `ne0` elements can be stored in this type at all.
    #[must_use]
    pub fn fits_row(self, ne0: u64) -> bool {
        ne0 % self.block_size() == 0
    }

    /// Whether this is a block-quantized type (not a plain float or integer).
    #[must_use]
    pub fn is_quantized(self) -> bool {
        self.block_size() > 1
    }
}

impl std::fmt::Display for GgmlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_order_matches_enum() {
        for (i, t) in GgmlType::ALL.iter().enumerate() {
            assert_eq!(TABLE[i].0, *t, "row {i}");
            assert_eq!(*t as usize, i);
        }
        assert_eq!(TABLE.len(), GgmlType::ALL.len());
    }

    #[test]
    fn ids_round_trip_and_removed_ids_are_unknown() {
        for t in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(t.id()), Some(t));
            assert_eq!(GgmlType::from_name(&t.name().to_lowercase()), Some(t));
        }
        for removed in [4, 5, 31, 32, 33, 36, 37, 38, 43, 1000] {
            assert_eq!(GgmlType::from_id(removed), None);
        }
    }

    #[test]
    fn bits_per_weight_of_k_quants() {
        assert!((GgmlType::Q4_K.bits_per_weight() - 4.5).abs() < 1e-12);
        assert!((GgmlType::Q6_K.bits_per_weight() - 6.5625).abs() < 1e-12);
        assert!((GgmlType::Q2_K.bits_per_weight() - 2.625).abs() < 1e-12);
        assert!((GgmlType::IQ2_XXS.bits_per_weight() - 2.0625).abs() < 1e-12);
        assert!((GgmlType::IQ1_S.bits_per_weight() - 1.5625).abs() < 1e-12);
        assert!((GgmlType::MXFP4.bits_per_weight() - 4.25).abs() < 1e-12);
        assert!((GgmlType::Q8_0.bits_per_weight() - 8.5).abs() < 1e-12);
    }

    #[test]
    fn row_size_of_llama_rows() {
        // One Q6_K row of Llama-3's 4096-wide output matrix: 16 blocks of 210 bytes.
        assert_eq!(GgmlType::Q6_K.row_size(4096), 3360);
        assert_eq!(GgmlType::Q4_0.row_size(11008), 6192);
        assert!(!GgmlType::Q4_K.fits_row(896));
        assert!(GgmlType::Q5_0.fits_row(896));
    }
}
