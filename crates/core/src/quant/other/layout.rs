//! Storage layouts of the non-GGUF formats: which tensors a checkpoint of each
//! format stores for one weight matrix (packed payload, scales, zero points,
//! group metadata, `g_idx`/permutations, per-tensor codebooks), and the bits
//! per weight and bytes that follow. The dimension convention (`n_in`,
//! `n_out`, `0` for unknown) is in the parent module's docs. Which parameters
//! a format supports ([`OtherFormat::is_valid`]) is here too, since EXL2's
//! head bits are the rows of its head table.

use super::format::{Fp8Scales, OtherFormat, WeightRole};

// ---------------------------------------------------------------------------
// Storage constants. Each says what tensor it describes and where the layout
// was read.
// ---------------------------------------------------------------------------

/// Bits of the float dtype that unquantized tensors (norms, embeddings and
/// heads the format skips, biases) keep in a quantized checkpoint: bf16/fp16.
const KEPT_FLOAT_BITS: f64 = 16.0;

/// 32-bit entries: bitsandbytes `absmax`/`SCB` (fp32), FP8 `weight_scale(_inv)`
/// (fp32), NVFP4 global scales (fp32), GPTQ `g_idx` and EXL2 `q_invperm` (int32).
const BITS_32: f64 = 32.0;

/// 16-bit entries: GPTQ/AWQ `scales` (`torch.float16` buffers), MLX
/// `scales`/`biases` (the weights' dtype), HQQ `scale`/`zero` (compute dtype),
/// compressed-tensors `weight_scale` (the weights' dtype), EXL3 `suh`/`svh`.
const BITS_16: f64 = 16.0;

/// 8-bit entries: FP8 e4m3 weights, NVFP4 e4m3 block scales, MXFP4 e8m0 block
/// scales, bitsandbytes double-quant uint8 absmax, `LLM.int8()` int8 weights.
const BITS_8: f64 = 8.0;

/// NVFP4 block: 16 e2m1 values share one e4m3 `weight_scale`.
/// Source: neuralmagic/compressed-tensors
/// `compressors/quantized_compressors/nvfp4_quantized.py` (`weight_packed` uint8
/// `[out, in/2]`, `weight_scale` fp8 `[out, in/16]`, `weight_global_scale` fp32).
const NVFP4_BLOCK: u64 = 16;

/// NVFP4 per-tensor extras: `weight_global_scale` + `input_global_scale`, one
/// fp32 each (`nvfp4_quantized.py`; `weight_scale_2`/`input_scale` in `ModelOpt`).
const NVFP4_PER_TENSOR_BITS: f64 = 2.0 * BITS_32;

/// MXFP4 block: 32 e2m1 values share one e8m0 scale (OCP MX spec). gpt-oss
/// stores `*_blocks` uint8 `[.., out, in/32, 16]` and `*_scales` uint8
/// `[.., out, in/32]`; vLLM `layers/quantization/mxfp4.py` (`Mxfp4Config`)
/// quantizes only `FusedMoE` layers and returns `UnquantizedLinearMethod` for
/// every `LinearBase`.
const MXFP4_BLOCK: u64 = 32;

/// FP8 block-scaled tile edge: DeepSeek-V3 style `weight_scale_inv` fp32
/// `[ceil(out/128), ceil(in/128)]`.
const FP8_TILE: u64 = 128;

/// bitsandbytes 4-bit block: one fp32 `absmax` per 64 values of the flattened
/// tensor. Source: bitsandbytes-foundation/bitsandbytes `bitsandbytes/functional.py`
/// `quantize_4bit(blocksize=64)`: `absmax = zeros((ceil(n/blocksize),), float32)`,
/// `out` uint8 `((n+1)//2, 1)`; transformers `BitsAndBytesConfig` keeps the default.
const BNB4_BLOCK: u64 = 64;

/// bitsandbytes double quant: `quantize_4bit(compress_statistics=True)` runs
/// `quantize_blockwise(absmax, blocksize=256)`, so each absmax becomes one uint8
/// and every 256 of them share one fp32 `nested_absmax` (`functional.py`).
const BNB4_NESTED_BLOCK: u64 = 256;

/// bitsandbytes per-tensor codebook serialized by `QuantState.as_dict`:
/// `quant_map` (the 16 fp32 levels of NF4/FP4).
const BNB4_QUANT_MAP_BITS: f64 = 16.0 * BITS_32;

/// Double quant adds `nested_quant_map`, the 256-entry fp32 dynamic map of the
/// 8-bit absmax quantization (`QuantState.as_dict`, `functional.py`). The
/// `quant_state.bitsandbytes__nf4` JSON blob (~100 bytes) is not counted.
const BNB4_NESTED_QUANT_MAP_BITS: f64 = 256.0 * BITS_32;

/// One row of the EXL2 head option table.
#[derive(Debug, Clone, Copy)]
struct Exl2HeadOption {
    /// The `--head_bits` value it answers.
    head_bits: u8,
    /// Group size along the input rows.
    group: u64,
    /// `(bits, proportion of rows)` pairs.
    mix: &'static [(f64, f64)],
}

/// EXL2 head options, `qparams_headoptions` in turboderp/exllamav2
/// `exllamav2/conversion/qparams.py` (e.g. `6: QParams(128, [8, 6], [0.15, 0.85], 4)`);
/// scale bits are 4 for all.
const EXL2_HEAD_OPTIONS: [Exl2HeadOption; 6] = [
    Exl2HeadOption {
        head_bits: 2,
        group: 32,
        mix: &[(4.0, 0.3), (2.0, 0.7)],
    },
    Exl2HeadOption {
        head_bits: 3,
        group: 32,
        mix: &[(4.0, 0.15), (3.0, 0.85)],
    },
    Exl2HeadOption {
        head_bits: 4,
        group: 32,
        mix: &[(6.0, 0.15), (4.0, 0.85)],
    },
    Exl2HeadOption {
        head_bits: 5,
        group: 128,
        mix: &[(6.0, 0.15), (5.0, 0.85)],
    },
    Exl2HeadOption {
        head_bits: 6,
        group: 128,
        mix: &[(8.0, 0.15), (6.0, 0.85)],
    },
    Exl2HeadOption {
        head_bits: 8,
        group: 128,
        mix: &[(8.0, 1.0)],
    },
];

/// EXL2 `QParams.total_bits` (`qparams.py`): `q_scale` costs `scale_bits = 4`
/// per group per output column.
const EXL2_SCALE_BITS: f64 = 4.0;

/// EXL2 `QParams.total_bits`: `q_scale_max` (16) + `q_groups` (16 + 16) per
/// group, i.e. 48 bits per group of input rows, shared by all output columns.
const EXL2_PER_GROUP_ROW_BITS: f64 = 48.0;

/// Per-tensor storage layout: every format is a sum of these terms.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Bits per stored weight value (packed payload).
    payload: f64,
    /// `(group length along n_in, bits per group per output row)`.
    row_group: Option<(u64, f64)>,
    /// `(block length over the flattened tensor, bits per block)` (bitsandbytes).
    flat_block: Option<(u64, f64)>,
    /// `(flat blocks per nested block, bits per nested block)` (bnb double quant).
    nested: Option<(u64, f64)>,
    /// `(square tile edge, bits per tile)` (FP8 block scales).
    tile: Option<(u64, f64)>,
    /// Bits per output row.
    per_out: f64,
    /// Bits per input feature.
    per_in: f64,
    /// Bits per tensor.
    per_tensor: f64,
}

impl Layout {
    const fn plain(bits: f64) -> Layout {
        Layout {
            payload: bits,
            row_group: None,
            flat_block: None,
            nested: None,
            tile: None,
            per_out: 0.0,
            per_in: 0.0,
            per_tensor: 0.0,
        }
    }

    /// Integer weights with `per_group` bits of metadata per group of `group`
    /// inputs per output row, or per output row when `group` is `None`.
    fn grouped(payload: f64, group: Option<u32>, per_group: f64) -> Layout {
        match group {
            Some(g) => Layout {
                row_group: Some((u64::from(g), per_group)),
                ..Layout::plain(payload)
            },
            None => Layout {
                per_out: per_group,
                ..Layout::plain(payload)
            },
        }
    }

    /// Bits per weight in the large-matrix limit.
    #[allow(clippy::cast_precision_loss)] // group sizes are small integers
    fn limit(&self) -> f64 {
        let mut b = self.payload;
        if let Some((g, bits)) = self.row_group {
            b += bits / g as f64;
        }
        if let Some((blk, bits)) = self.flat_block {
            b += bits / blk as f64;
            if let Some((nblk, nbits)) = self.nested {
                b += nbits / (blk as f64 * nblk as f64);
            }
        }
        if let Some((edge, bits)) = self.tile {
            b += bits / (edge as f64 * edge as f64);
        }
        b
    }

    /// Exact bits of one `n_out x n_in` tensor (both non-zero).
    #[allow(clippy::cast_precision_loss)] // f64 is exact far beyond real tensor sizes
    fn total_bits(&self, n_in: u64, n_out: u64) -> f64 {
        let (fi, fo) = (n_in as f64, n_out as f64);
        let numel = fi * fo;
        let mut b = self.payload * numel;
        if let Some((g, bits)) = self.row_group {
            b += fo * (fi / g as f64).ceil() * bits;
        }
        if let Some((blk, bits)) = self.flat_block {
            let blocks = (numel / blk as f64).ceil();
            b += blocks * bits;
            if let Some((nblk, nbits)) = self.nested {
                b += (blocks / nblk as f64).ceil() * nbits;
            }
        }
        if let Some((edge, bits)) = self.tile {
            let e = edge as f64;
            b += (fo / e).ceil() * (fi / e).ceil() * bits;
        }
        b + fo * self.per_out + fi * self.per_in + self.per_tensor
    }
}

impl OtherFormat {
    /// Whether the parameters are ones the format supports (exactly what
    /// [`OtherFormat::parse`] accepts).
    #[must_use]
    pub fn is_valid(&self) -> bool {
        let pow2_group = |g: u32| g.is_power_of_two() && (32..=1024).contains(&g);
        match *self {
            OtherFormat::Gptq { bits, group, .. } => {
                matches!(bits, 2 | 3 | 4 | 8) && group.is_none_or(pow2_group)
            }
            OtherFormat::Wna16 { bits, group, .. } => {
                matches!(bits, 4 | 8) && group.is_none_or(pow2_group)
            }
            OtherFormat::Awq { bits, group } => bits == 4 && matches!(group, 32 | 64 | 128),
            OtherFormat::Exl2 { bpw, head_bits } => {
                (2.0..=8.0).contains(&bpw)
                    && EXL2_HEAD_OPTIONS.iter().any(|o| o.head_bits == head_bits)
            }
            OtherFormat::Exl3 { bpw, head_bits } => {
                bpw > 1.0 && bpw <= 8.0 && matches!(head_bits, 1..=8 | 16)
            }
            OtherFormat::Mlx { bits, group } => {
                matches!(bits, 2..=6 | 8) && matches!(group, 32 | 64 | 128)
            }
            OtherFormat::Hqq { bits, group } => {
                matches!(bits, 1..=6 | 8) && group % 8 == 0 && (8..=1024).contains(&group)
            }
            OtherFormat::Fp8 { .. }
            | OtherFormat::Nvfp4
            | OtherFormat::Mxfp4
            | OtherFormat::BnbNf4 { .. }
            | OtherFormat::BnbFp4 { .. }
            | OtherFormat::BnbInt8
            | OtherFormat::Fp16
            | OtherFormat::Bf16
            | OtherFormat::Fp32 => true,
        }
    }
}

impl OtherFormat {
    /// Effective stored bits per weight of one `n_out x n_in` tensor of this
    /// role, including scales, zero points, group metadata, `g_idx`,
    /// permutations and per-tensor codebooks. See the module docs for the
    /// dimension convention; `0` for either dimension gives the large-matrix
    /// limit. Roles the format does not quantize return their stored float
    /// bits (16, or 32 for [`OtherFormat::Fp32`]). `NaN` if the format fails
    /// [`OtherFormat::is_valid`].
    ///
    /// Worked values (large-matrix limit): GPTQ 4-bit g128 `4 + 20/128`
    /// (+ `32/n_out` for `g_idx`), AWQ 4-bit g128 `4.15625`, NF4 `4.5`, NF4
    /// with double quant `4 + 8/64 + 32/16384 = 4.1270`, MLX 4-bit g64 `4.5`,
    /// g32 `5.0`, NVFP4 `4.5`, MXFP4 `4.25`.
    #[must_use]
    pub fn bits_per_weight(&self, role: WeightRole, n_in: u64, n_out: u64) -> f64 {
        if !self.is_valid() {
            return f64::NAN;
        }
        let layout = self.layout(role);
        if n_in == 0 || n_out == 0 {
            return layout.limit();
        }
        #[allow(clippy::cast_precision_loss)]
        let numel = n_in as f64 * n_out as f64;
        layout.total_bits(n_in, n_out) / numel
    }

    /// Stored bytes of one `n_out x n_in` tensor of this role (bits rounded up
    /// to whole bytes, saturating at `u64::MAX`); `0` if a dimension is `0` or
    /// the format is invalid.
    #[must_use]
    pub fn tensor_bytes(&self, role: WeightRole, n_in: u64, n_out: u64) -> u64 {
        if n_in == 0 || n_out == 0 || !self.is_valid() {
            return 0;
        }
        let bytes = (self.layout(role).total_bits(n_in, n_out) / 8.0).ceil();
        // A float-to-int `as` saturates at the target's bounds, as wanted here.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let out = bytes as u64;
        out
    }

    /// The storage layout of a tensor of `role`.
    fn layout(&self, role: WeightRole) -> Layout {
        if !self.quantizes(role) {
            let bits = if *self == OtherFormat::Fp32 {
                BITS_32
            } else {
                KEPT_FLOAT_BITS
            };
            return Layout::plain(bits);
        }
        match *self {
            // FP8: weight e4m3 (8 bits). Scales: compressed-tensors
            // `initialize_qparams` registers `weight_scale` of shape 1 (tensor) or
            // `(out, 1)` (channel), stored in the weight dtype; vLLM keeps
            // per-channel scales as fp32 in memory, so 32 bits is counted. Block:
            // DeepSeek-V3 `weight_scale_inv` fp32 per 128x128 tile.
            OtherFormat::Fp8 { scales } => match scales {
                Fp8Scales::PerTensor => Layout {
                    per_tensor: BITS_32,
                    ..Layout::plain(BITS_8)
                },
                Fp8Scales::PerChannel => Layout {
                    per_out: BITS_32,
                    ..Layout::plain(BITS_8)
                },
                Fp8Scales::Block128 => Layout {
                    tile: Some((FP8_TILE, BITS_32)),
                    ..Layout::plain(BITS_8)
                },
            },
            OtherFormat::Nvfp4 => Layout {
                row_group: Some((NVFP4_BLOCK, BITS_8)),
                per_tensor: NVFP4_PER_TENSOR_BITS,
                ..Layout::plain(4.0)
            },
            OtherFormat::Mxfp4 => Layout {
                row_group: Some((MXFP4_BLOCK, BITS_8)),
                ..Layout::plain(4.0)
            },
            // AutoGPTQ `auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py` and
            // GPTQModel `gptqmodel/nn_modules/qlinear/__init__.py`
            // (`GPTQQuantLinear._register_gptq_buffers`):
            //   qweight int32 [in // 32 * bits, out]           -> `bits` per weight
            //   qzeros  int32 [ceil(in / g), out // 32 * bits] -> `bits` per group per column
            //   scales  fp16  [ceil(in / g), out]              -> 16 per group per column
            //   g_idx   int32 [in]                             -> 32 per input feature
            // group_size -1 means g = in (one group per column).
            OtherFormat::Gptq { bits, group, .. } => Layout {
                per_in: BITS_32,
                ..Layout::grouped(f64::from(bits), group, BITS_16 + f64::from(bits))
            },
            // compressed-tensors `compressors/quantized_compressors/pack_quantized.py`:
            // weight_packed int32 [out, ceil(in / (32 // bits))], weight_scale
            // [out, in / g] in the weight dtype, weight_zero_point int32
            // [ceil(out / (32 // bits)), in / g] only when asymmetric, weight_shape
            // int32 [2]; weight_g_idx only for group act-order (not modelled).
            OtherFormat::Wna16 { bits, group, sym } => {
                let zero_bits = if sym { 0.0 } else { f64::from(bits) };
                Layout {
                    per_tensor: 2.0 * BITS_32,
                    ..Layout::grouped(f64::from(bits), group, BITS_16 + zero_bits)
                }
            }
            // AutoAWQ `awq/modules/linear/gemm.py` `WQLinear_GEMM`:
            //   qweight int32 [in, out // (32 // w_bit)]      -> w_bit per weight
            //   qzeros  int32 [in // g, out // (32 // w_bit)] -> w_bit per group per column
            //   scales  fp16  [in // g, out]                  -> 16 per group per column
            OtherFormat::Awq { bits, group } => Layout {
                row_group: Some((u64::from(group), BITS_16 + f64::from(bits))),
                ..Layout::plain(f64::from(bits))
            },
            OtherFormat::Exl2 { .. } | OtherFormat::Exl3 { .. } => self.exl_layout(role),
            OtherFormat::BnbNf4 { double_quant } | OtherFormat::BnbFp4 { double_quant } => {
                bnb4_layout(double_quant)
            }
            // LLM.int8(): `Int8Params` stores CB int8 [out, in] and SCB fp32 [out]
            // (bitsandbytes `functional.py` `int8_vectorwise_quant`: "row-wise
            // quantization statistics", float32, one per row).
            OtherFormat::BnbInt8 => Layout {
                per_out: BITS_32,
                ..Layout::plain(BITS_8)
            },
            // `mx.quantize(w, group_size, bits)` -> w_q uint32 [out, in * bits / 32],
            // scales and biases [out, in / group] in the weights' dtype (16-bit).
            OtherFormat::Mlx { bits, group } => Layout {
                row_group: Some((u64::from(group), 2.0 * BITS_16)),
                ..Layout::plain(f64::from(bits))
            },
            // HQQ `hqq/core/quantize.py` `Quantizer.quantize`: meta `scale` and
            // `zero` per group in the compute dtype (fp16/bf16); `bit_to_packing`:
            // 8/6/5 bits -> `8bit_u8` (one byte each, "todo: bitpacking"), 4 ->
            // `4bit_u8`, 3 -> `3bit_32` (10 values per int32 = 3.2 bits, see
            // `hqq/core/bitpack.py`), 2 -> `2bit_u8`, 1 -> `1bit_u8`.
            OtherFormat::Hqq { bits, group } => {
                let payload = match bits {
                    3 => 3.2,
                    5 | 6 => 8.0,
                    b => f64::from(b),
                };
                Layout {
                    row_group: Some((u64::from(group), 2.0 * BITS_16)),
                    ..Layout::plain(payload)
                }
            }
            OtherFormat::Fp16 | OtherFormat::Bf16 => Layout::plain(BITS_16),
            OtherFormat::Fp32 => Layout::plain(BITS_32),
        }
    }

    /// EXL2 / EXL3 layouts (only called for roles they quantize).
    ///
    /// EXL2: the converter's bpw target is computed with `QParams.total_bits`
    /// (`qparams.py`), which already counts `q_scale`, `q_scale_max`, `q_groups`
    /// and `q_invperm`, so block linears cost exactly `bpw`; the head uses
    /// `qparams_headoptions[head_bits]`, costed the same way.
    ///
    /// EXL3 (turboderp-org/exllamav3 `exllamav3/modules/quant/exl3.py`
    /// `LinearEXL3`): `trellis` int16 `[in/16, out/16, 16*K]` is exactly K bits
    /// per weight; `suh` fp16 `[in]` and `svh` fp16 `[out]` come on top, since
    /// the bpw budget in `exllamav3/conversion/allocation.py` counts only
    /// `numel * K`. Head bits 16 means the head is stored unquantized.
    fn exl_layout(&self, role: WeightRole) -> Layout {
        let head = role == WeightRole::Output;
        match *self {
            OtherFormat::Exl2 { head_bits, .. } if head => exl2_head_layout(head_bits),
            OtherFormat::Exl2 { bpw, .. } => Layout::plain(bpw),
            OtherFormat::Exl3 { head_bits: 16, .. } if head => Layout::plain(KEPT_FLOAT_BITS),
            OtherFormat::Exl3 { bpw, head_bits } => Layout {
                per_in: BITS_16,
                per_out: BITS_16,
                ..Layout::plain(if head { f64::from(head_bits) } else { bpw })
            },
            _ => Layout::plain(KEPT_FLOAT_BITS),
        }
    }
}

/// bitsandbytes `Params4bit` layout: packed 4-bit payload (two values per
/// uint8), absmax per 64 values (fp32, or uint8 + fp32 per 256 blocks with
/// double quant) and the per-tensor codebooks.
fn bnb4_layout(double_quant: bool) -> Layout {
    if double_quant {
        Layout {
            flat_block: Some((BNB4_BLOCK, BITS_8)),
            nested: Some((BNB4_NESTED_BLOCK, BITS_32)),
            per_tensor: BNB4_QUANT_MAP_BITS + BNB4_NESTED_QUANT_MAP_BITS,
            ..Layout::plain(4.0)
        }
    } else {
        Layout {
            flat_block: Some((BNB4_BLOCK, BITS_32)),
            per_tensor: BNB4_QUANT_MAP_BITS,
            ..Layout::plain(4.0)
        }
    }
}

/// EXL2 head layout for `head_bits`, following `QParams.total_bits`: mixed
/// payload, 4-bit scales per group per column, 48 bits per group of rows and a
/// 32-bit `q_invperm` entry per input row.
fn exl2_head_layout(head_bits: u8) -> Layout {
    // Only valid formats get here; the fallback (head 6) just avoids a panic path.
    let Exl2HeadOption { group, mix, .. } = EXL2_HEAD_OPTIONS
        .iter()
        .find(|o| o.head_bits == head_bits)
        .copied()
        .unwrap_or(EXL2_HEAD_OPTIONS[4]);
    let payload: f64 = mix.iter().map(|&(b, p)| b * p).sum();
    #[allow(clippy::cast_precision_loss)]
    let per_in = BITS_32 + EXL2_PER_GROUP_ROW_BITS / group as f64;
    Layout {
        row_group: Some((group, EXL2_SCALE_BITS)),
        per_in,
        ..Layout::plain(payload)
    }
}
