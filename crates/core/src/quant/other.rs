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

/// What a weight tensor is used for; decides whether a format quantizes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightRole {
    /// Token embedding table (`embed_tokens`, `wte`).
    Embedding,
    /// Output projection / LM head (`lm_head`).
    Output,
    /// Dense linear layers of the transformer blocks (attention, dense MLP).
    Linear,
    /// Routed mixture-of-experts weights.
    Expert,
    /// Normalisation weights (`RMSNorm`, `LayerNorm`).
    Norm,
    /// Anything else (router gates, biases, convolutions, positional tables):
    /// kept at the checkpoint's float dtype.
    Other,
}

/// Scale granularity of an FP8 (e4m3) checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fp8Scales {
    /// One fp32 `weight_scale` per tensor (llm-compressor `FP8` scheme, vLLM
    /// `--quantization fp8` on the fly).
    PerTensor,
    /// One scale per output row (llm-compressor `FP8_DYNAMIC`).
    PerChannel,
    /// One fp32 `weight_scale_inv` per 128x128 tile (DeepSeek-V3, Qwen3 FP8).
    Block128,
}

/// A non-GGUF weight format. Construct it with [`OtherFormat::parse`], which
/// validates the parameters; a hand-built value with unsupported parameters
/// fails [`OtherFormat::is_valid`] and yields `NaN` from
/// [`OtherFormat::bits_per_weight`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OtherFormat {
    /// FP8 e4m3 weights with the given scale layout.
    Fp8 {
        /// Scale granularity.
        scales: Fp8Scales,
    },
    /// NVIDIA NVFP4: e2m1 values, one e4m3 scale per 16 values, fp32 global scales.
    Nvfp4,
    /// OCP MX FP4 as gpt-oss ships it: e2m1 values, one e8m0 scale per 32
    /// values, mixture-of-experts weights only (attention and other linears
    /// stay bf16).
    Mxfp4,
    /// GPTQ (`AutoGPTQ` / `GPTQModel` `QuantLinear` layout).
    Gptq {
        /// Bits per weight: 2, 3, 4 or 8.
        bits: u8,
        /// Group size along the input dimension (a power of two from 32 to
        /// 1024); `None` is per-channel (`group_size = -1`).
        group: Option<u32>,
        /// Activation-order (`desc_act`) quantization. Does not change the
        /// stored size: `g_idx` is serialized either way.
        desc_act: bool,
    },
    /// compressed-tensors `pack-quantized` weight-only integers (llm-compressor
    /// `W4A16` / `W8A16` schemes): no `g_idx`, and no zero point unless asymmetric.
    Wna16 {
        /// Bits per weight: 4 or 8.
        bits: u8,
        /// Group size along the input dimension (a power of two from 32 to
        /// 1024); `None` is per-channel.
        group: Option<u32>,
        /// Symmetric (no zero points stored).
        sym: bool,
    },
    /// AWQ (`AutoAWQ` `WQLinear_GEMM` layout).
    Awq {
        /// Bits per weight: 4.
        bits: u8,
        /// Group size along the input dimension: 32, 64 or 128.
        group: u32,
    },
    /// `ExLlamaV2` EXL2 at an average bits per weight.
    Exl2 {
        /// Average bits per weight of the block linears, 2.0 to 8.0.
        bpw: f64,
        /// Bits of the output head: 2, 3, 4, 5, 6 (default) or 8.
        head_bits: u8,
    },
    /// `ExLlamaV3` EXL3 (QTIP-style trellis) at an average bits per weight.
    Exl3 {
        /// Average trellis bits per weight of the block linears, above 1.0 up to 8.0.
        bpw: f64,
        /// Bits of the output head: 1 to 8, 6 by default, or 16 for unquantized.
        head_bits: u8,
    },
    /// bitsandbytes 4-bit NF4 (`Params4bit`).
    BnbNf4 {
        /// Nested quantization of the absmax statistics (`bnb_4bit_use_double_quant`).
        double_quant: bool,
    },
    /// bitsandbytes 4-bit FP4 (`Params4bit`).
    BnbFp4 {
        /// Nested quantization of the absmax statistics (`bnb_4bit_use_double_quant`).
        double_quant: bool,
    },
    /// bitsandbytes `LLM.int8()` (`Int8Params`).
    BnbInt8,
    /// mlx-lm affine quantization.
    Mlx {
        /// Bits per weight: 2, 3, 4, 5, 6 or 8.
        bits: u8,
        /// Group size: 32, 64 or 128.
        group: u32,
    },
    /// HQQ (Half-Quadratic Quantization).
    Hqq {
        /// Bits per weight: 1, 2, 3, 4, 5, 6 or 8.
        bits: u8,
        /// Group size, a multiple of 8 from 8 to 1024 (64 by default).
        group: u32,
    },
    /// Unquantized IEEE half precision.
    Fp16,
    /// Unquantized bfloat16.
    Bf16,
    /// Unquantized single precision.
    Fp32,
}

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

/// Default head bits of both `ExLlama` converters: exllamav2 `convert.py`
/// `-hb/--head_bits default = 6`; exllamav3 `convert.py` "default: 6".
const EXL_DEFAULT_HEAD_BITS: u8 = 6;

/// GPTQ default group size when a name gives none (`gptq`, `gptq-4bit`):
/// 128 is the `AutoGPTQ`/`GPTQModel` `BaseQuantizeConfig` default.
const GPTQ_DEFAULT_GROUP: u32 = 128;

/// AWQ default group size: `AutoAWQ` `quant_config` `q_group_size = 128`.
const AWQ_DEFAULT_GROUP: u32 = 128;

/// llm-compressor `W4A16` preset: group strategy, `group_size = 128`, symmetric
/// (`W8A16` is per-channel).
const WNA16_DEFAULT_GROUP: u32 = 128;

/// mlx-lm `convert` defaults: `q_bits = 4`, `q_group_size = 64`
/// (ml-explore/mlx `python/mlx/nn/layers/quantized.py` `_defaults_for_mode`:
/// `"affine": (64, 4)`).
const MLX_DEFAULT_BITS: u8 = 4;
/// See [`MLX_DEFAULT_BITS`].
const MLX_DEFAULT_GROUP: u32 = 64;

/// HQQ defaults: mobiusml/hqq `hqq/core/quantize.py` `hqq_base_quant_config(nbits=4,
/// group_size=64, quant_zero=False, quant_scale=False, axis=1)` (hqq >= 0.2;
/// transformers `HqqConfig` also defaults to 4 bits, group 64, axis 1).
const HQQ_DEFAULT_BITS: u8 = 4;
/// See [`HQQ_DEFAULT_BITS`].
const HQQ_DEFAULT_GROUP: u32 = 64;

/// Longest name `parse` looks at; anything longer is not a format name.
const MAX_NAME_LEN: usize = 64;

/// Canonical names, each equal to `parse(name).unwrap().name()`.
const EXAMPLES: &[&str] = &[
    "fp8",
    "fp8-per-channel",
    "fp8-block",
    "nvfp4",
    "mxfp4",
    "gptq-4bit-128g",
    "gptq-4bit-32g",
    "gptq-4bit-128g-actorder",
    "gptq-3bit-128g",
    "gptq-8bit-128g",
    "gptq-4bit-channel",
    "w4a16",
    "w8a16",
    "awq-4bit-128g",
    "awq-4bit-64g",
    "exl2-4.65bpw",
    "exl2-6bpw-h8",
    "exl3-4bpw",
    "exl3-3.5bpw",
    "nf4",
    "nf4-dq",
    "bnb-fp4",
    "bnb-int8",
    "mlx-4bit-g64",
    "mlx-4bit-g32",
    "mlx-8bit-g64",
    "hqq-4bit-g64",
    "fp16",
    "bf16",
    "fp32",
];

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
    /// Parses a format name, case-insensitively, with `-`, `_`, space, `:` and
    /// `/` interchangeable. Examples: `fp8-dynamic`, `fp8-block`, `nvfp4`,
    /// `mxfp4`, `gptq-4bit-128g-actorder`, `w4a16`, `int4` (AWQ 4-bit g128),
    /// `awq-4bit-64g`, `exl2:4.65`, `4.65bpw-exl2`, `exl2:4.0h8`, `exl3:3.0`,
    /// `nf4`, `bnb-4bit`, `nf4-dq`, `bnb-fp4`, `llm.int8`, `mlx:8`,
    /// `4bit-mlx`, `hqq-4bit-g64`, `bf16`, `f32`.
    ///
    /// Returns `None` for GGUF type names (`q4_k_m`, `iq2_xxs`; those belong
    /// to the GGUF module, except `mxfp4`, which is read here as the
    /// safetensors format), for unknown words, for repeated separators, for
    /// missing parameters (`exl2` without a bpw) and for parameters outside
    /// what the format supports. Never panics.
    #[must_use]
    pub fn parse(name: &str) -> Option<OtherFormat> {
        let s = name.trim().to_ascii_lowercase();
        if s.is_empty() || s.len() > MAX_NAME_LEN {
            return None;
        }
        let tokens: Vec<&str> = s.split(['-', '_', ' ', ':', '/']).collect();
        if tokens.iter().any(|t| t.is_empty()) {
            return None;
        }
        let (idx, fam) = tokens
            .iter()
            .enumerate()
            .filter_map(|(i, t)| family_of(t).map(|f| (i, f)))
            .min_by_key(|&(_, f)| f as u8)?;
        let params: Vec<&str> = tokens
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != idx)
            .map(|(_, t)| *t)
            .collect();
        let only = |allowed: &[&str], f: OtherFormat| {
            params.iter().all(|t| allowed.contains(t)).then_some(f)
        };
        let fmt = match fam {
            Family::Gptq => parse_gptq(&params)?,
            Family::Awq | Family::Int4 => parse_awq(&params)?,
            Family::Exl2 | Family::Exl3 => parse_exl(fam, &params)?,
            Family::Mlx | Family::Hqq => parse_mlx_hqq(fam, &params)?,
            Family::Bnb => parse_bnb(&params)?,
            Family::Nf4 => parse_nf4(&params)?,
            Family::Fp8 => parse_fp8(&params)?,
            Family::Nvfp4 => only(&["a16", "w4a16", "a4", "w4a4"], OtherFormat::Nvfp4)?,
            Family::Mxfp4 => only(&[], OtherFormat::Mxfp4)?,
            Family::W4a16 | Family::W8a16 => parse_wna16(fam, &params)?,
            Family::Int8 => only(&["bnb"], OtherFormat::BnbInt8)?,
            Family::F16 => only(&[], OtherFormat::Fp16)?,
            Family::Bf16 => only(&[], OtherFormat::Bf16)?,
            Family::F32 => only(&[], OtherFormat::Fp32)?,
        };
        fmt.is_valid().then_some(fmt)
    }

    /// Canonical name; `OtherFormat::parse(&f.name()) == Some(f)` for every
    /// valid `f`.
    #[must_use]
    pub fn name(&self) -> String {
        match *self {
            OtherFormat::Fp8 { scales } => match scales {
                Fp8Scales::PerTensor => "fp8".into(),
                Fp8Scales::PerChannel => "fp8-per-channel".into(),
                Fp8Scales::Block128 => "fp8-block".into(),
            },
            OtherFormat::Nvfp4 => "nvfp4".into(),
            OtherFormat::Mxfp4 => "mxfp4".into(),
            OtherFormat::Gptq {
                bits,
                group,
                desc_act,
            } => {
                let g = group.map_or_else(|| "channel".to_string(), |g| format!("{g}g"));
                let act = if desc_act { "-actorder" } else { "" };
                format!("gptq-{bits}bit-{g}{act}")
            }
            OtherFormat::Wna16 { bits, group, sym } => {
                let g = if group == wna16_default_group(bits) {
                    String::new()
                } else {
                    group.map_or_else(|| "-channel".to_string(), |g| format!("-g{g}"))
                };
                let asym = if sym { "" } else { "-asym" };
                format!("w{bits}a16{g}{asym}")
            }
            OtherFormat::Awq { bits, group } => format!("awq-{bits}bit-{group}g"),
            OtherFormat::Exl2 { bpw, head_bits } => exl_name("exl2", bpw, head_bits),
            OtherFormat::Exl3 { bpw, head_bits } => exl_name("exl3", bpw, head_bits),
            OtherFormat::BnbNf4 {
                double_quant: false,
            } => "nf4".into(),
            OtherFormat::BnbNf4 { double_quant: true } => "nf4-dq".into(),
            OtherFormat::BnbFp4 {
                double_quant: false,
            } => "bnb-fp4".into(),
            OtherFormat::BnbFp4 { double_quant: true } => "bnb-fp4-dq".into(),
            OtherFormat::BnbInt8 => "bnb-int8".into(),
            OtherFormat::Mlx { bits, group } => format!("mlx-{bits}bit-g{group}"),
            OtherFormat::Hqq { bits, group } => format!("hqq-{bits}bit-g{group}"),
            OtherFormat::Fp16 => "fp16".into(),
            OtherFormat::Bf16 => "bf16".into(),
            OtherFormat::Fp32 => "fp32".into(),
        }
    }

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

    /// Whether the format stores tensors of this role quantized (otherwise they
    /// keep the checkpoint's 16-bit float dtype, or 32 bits for [`OtherFormat::Fp32`]).
    ///
    /// - Norms and [`WeightRole::Other`] are never quantized.
    /// - Embeddings are quantized only by MLX (`QuantizedEmbedding`, ml-explore/mlx
    ///   `python/mlx/nn/layers/quantized.py`: "Both Linear and Embedding layers
    ///   will be quantized").
    /// - The LM head is quantized by MLX and by EXL2/EXL3 (at `head_bits`);
    ///   GPTQ, AWQ, `WnA16`, FP8, NVFP4, bitsandbytes (`llm_int8_skip_modules`)
    ///   and HQQ (`skip_modules=["lm_head"]`) keep it in 16 bits.
    /// - MXFP4 quantizes only experts (gpt-oss layout; vLLM `Mxfp4Config`).
    #[must_use]
    pub fn quantizes(&self, role: WeightRole) -> bool {
        let float = matches!(
            self,
            OtherFormat::Fp16 | OtherFormat::Bf16 | OtherFormat::Fp32
        );
        match role {
            WeightRole::Norm | WeightRole::Other => false,
            WeightRole::Embedding => matches!(self, OtherFormat::Mlx { .. }),
            WeightRole::Output => matches!(
                self,
                OtherFormat::Mlx { .. } | OtherFormat::Exl2 { .. } | OtherFormat::Exl3 { .. }
            ),
            WeightRole::Linear => !float && *self != OtherFormat::Mxfp4,
            WeightRole::Expert => !float,
        }
    }

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

    /// The headline bits per weight (4 for GPTQ 4-bit, the bpw for EXL2/EXL3).
    #[must_use]
    pub fn nominal_bits(&self) -> f64 {
        match *self {
            OtherFormat::Fp8 { .. } | OtherFormat::BnbInt8 => 8.0,
            OtherFormat::Nvfp4
            | OtherFormat::Mxfp4
            | OtherFormat::BnbNf4 { .. }
            | OtherFormat::BnbFp4 { .. } => 4.0,
            OtherFormat::Gptq { bits, .. }
            | OtherFormat::Wna16 { bits, .. }
            | OtherFormat::Awq { bits, .. }
            | OtherFormat::Mlx { bits, .. }
            | OtherFormat::Hqq { bits, .. } => f64::from(bits),
            OtherFormat::Exl2 { bpw, .. } | OtherFormat::Exl3 { bpw, .. } => bpw,
            OtherFormat::Fp16 | OtherFormat::Bf16 => 16.0,
            OtherFormat::Fp32 => 32.0,
        }
    }

    /// One line describing the format, for a table.
    #[must_use]
    pub fn description(&self) -> &'static str {
        match self {
            OtherFormat::Fp8 { scales } => match scales {
                Fp8Scales::PerTensor => "FP8 e4m3 weights, one fp32 scale per tensor",
                Fp8Scales::PerChannel => "FP8 e4m3 weights, one scale per output channel",
                Fp8Scales::Block128 => "FP8 e4m3 weights, one fp32 scale per 128x128 block",
            },
            OtherFormat::Nvfp4 => "NVFP4: e2m1 values, e4m3 scale per 16, fp32 global scale",
            OtherFormat::Mxfp4 => "MXFP4 (gpt-oss): e2m1 MoE experts, e8m0 scale per 32",
            OtherFormat::Gptq { .. } => "GPTQ int weights, fp16 scales, packed zeros, g_idx",
            OtherFormat::Wna16 { .. } => "compressed-tensors WnA16 int weights, group scales",
            OtherFormat::Awq { .. } => "AWQ int4 weights, fp16 scales and packed zeros per group",
            OtherFormat::Exl2 { .. } => "ExLlamaV2 EXL2 mixed-precision GPTQ-style weights",
            OtherFormat::Exl3 { .. } => "ExLlamaV3 EXL3 trellis-coded weights (QTIP)",
            OtherFormat::BnbNf4 { .. } => "bitsandbytes NF4, absmax per 64 values",
            OtherFormat::BnbFp4 { .. } => "bitsandbytes FP4, absmax per 64 values",
            OtherFormat::BnbInt8 => "bitsandbytes LLM.int8(), fp32 scale per output row",
            OtherFormat::Mlx { .. } => "MLX affine ints, scale and bias per group",
            OtherFormat::Hqq { .. } => "HQQ affine ints, fp16 scale and zero per group",
            OtherFormat::Fp16 => "unquantized float16",
            OtherFormat::Bf16 => "unquantized bfloat16",
            OtherFormat::Fp32 => "unquantized float32",
        }
    }

    /// Canonical names of representative formats, for listing and "did you mean".
    #[must_use]
    pub fn examples() -> &'static [&'static str] {
        EXAMPLES
    }

    /// Inference engines that load checkpoints in this format.
    #[must_use]
    pub fn backends(&self) -> &'static [&'static str] {
        match self {
            OtherFormat::Fp8 { .. } => &["vllm", "sglang", "tensorrt-llm", "transformers"],
            OtherFormat::Nvfp4 => &["vllm", "sglang", "tensorrt-llm"],
            OtherFormat::Mxfp4 => &[
                "vllm",
                "sglang",
                "transformers",
                "tensorrt-llm",
                "llama.cpp",
            ],
            OtherFormat::Gptq { .. } => &["vllm", "sglang", "transformers", "exllamav2"],
            OtherFormat::Wna16 { .. } => &["vllm", "sglang", "transformers"],
            OtherFormat::Awq { .. } => &["vllm", "sglang", "transformers", "tensorrt-llm"],
            OtherFormat::Exl2 { .. } => &["exllamav2"],
            OtherFormat::Exl3 { .. } => &["exllamav3"],
            OtherFormat::BnbNf4 { .. } | OtherFormat::BnbFp4 { .. } | OtherFormat::BnbInt8 => {
                &["transformers", "vllm"]
            }
            OtherFormat::Mlx { .. } => &["mlx"],
            OtherFormat::Hqq { .. } => &["transformers"],
            OtherFormat::Fp16 | OtherFormat::Bf16 => {
                &["vllm", "sglang", "transformers", "tensorrt-llm", "mlx"]
            }
            OtherFormat::Fp32 => &["vllm", "transformers", "mlx"],
        }
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

fn exl_name(prefix: &str, bpw: f64, head_bits: u8) -> String {
    if head_bits == EXL_DEFAULT_HEAD_BITS {
        format!("{prefix}-{bpw}bpw")
    } else {
        format!("{prefix}-{bpw}bpw-h{head_bits}")
    }
}

fn wna16_default_group(bits: u8) -> Option<u32> {
    if bits == 8 {
        None
    } else {
        Some(WNA16_DEFAULT_GROUP)
    }
}

// ---------------------------------------------------------------------------
// Parsing helpers.
// ---------------------------------------------------------------------------

/// Format families by parse priority: when a name holds several family words
/// (`gptq-int4`, `int4-awq`, `w8a8-fp8`, `bnb-nf4`) the first in this order
/// wins and the others must be valid parameters of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Gptq,
    Awq,
    Exl2,
    Exl3,
    Mlx,
    Hqq,
    Bnb,
    Nf4,
    Fp8,
    Nvfp4,
    Mxfp4,
    W4a16,
    W8a16,
    Int4,
    Int8,
    F16,
    Bf16,
    F32,
}

fn family_of(token: &str) -> Option<Family> {
    Some(match token {
        "gptq" => Family::Gptq,
        "awq" => Family::Awq,
        "exl2" => Family::Exl2,
        "exl3" => Family::Exl3,
        "mlx" => Family::Mlx,
        "hqq" => Family::Hqq,
        "bnb" | "bitsandbytes" => Family::Bnb,
        "nf4" => Family::Nf4,
        "fp8" | "float8" => Family::Fp8,
        "nvfp4" | "nvfp4a16" => Family::Nvfp4,
        "mxfp4" => Family::Mxfp4,
        "w4a16" => Family::W4a16,
        "w8a16" => Family::W8a16,
        "int4" => Family::Int4,
        "int8" | "llm.int8" | "llmint8" => Family::Int8,
        "fp16" | "f16" | "float16" | "half" => Family::F16,
        "bf16" | "bfloat16" => Family::Bf16,
        "fp32" | "f32" | "float32" => Family::F32,
        _ => return None,
    })
}

/// A short run of ASCII digits as a number (`None` for anything else).
fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A plain decimal (`4`, `4.65`, `.5`); rejects signs, exponents, `inf`, `nan`.
fn decimal(s: &str) -> Option<f64> {
    let ok = !s.is_empty()
        && s.len() <= 8
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|&b| b == b'.').count() <= 1
        && s.bytes().any(|b| b.is_ascii_digit());
    if ok {
        s.parse().ok()
    } else {
        None
    }
}

/// Bit-width tokens: `4bit`, `4bits`, `4b`, `int4`, `w4a16`, and a bare `4`.
fn bits_token(t: &str) -> Option<u32> {
    if let Some(n) = t.strip_prefix('w').and_then(|r| r.strip_suffix("a16")) {
        return digits(n);
    }
    if let Some(n) = t.strip_prefix("int") {
        return digits(n);
    }
    ["bits", "bit", "b"]
        .iter()
        .find_map(|suffix| t.strip_suffix(suffix))
        .map_or_else(|| digits(t), digits)
}

/// Group-size tokens: `128g`, `g128`, `gs128`, `group128`.
fn group_token(t: &str) -> Option<u32> {
    ["group", "gs", "g"]
        .iter()
        .find_map(|prefix| t.strip_prefix(prefix))
        .or_else(|| t.strip_suffix('g'))
        .and_then(digits)
}

/// Stores `v` into an unset slot; a second value is a conflict.
fn set_once<T>(slot: &mut Option<T>, v: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(v);
    Some(())
}

fn to_u8(v: u32) -> Option<u8> {
    u8::try_from(v).ok()
}

/// A group size as given in a name.
#[derive(Clone, Copy)]
enum GroupSpec {
    /// `channel` / `perchannel` / `nogroup`: one group per output row.
    Channel,
    /// An explicit group size.
    Size(u32),
}

impl GroupSpec {
    /// The group size, `None` meaning per-channel; `default` when not given.
    fn or_default(spec: Option<GroupSpec>, default: Option<u32>) -> Option<u32> {
        match spec {
            None => default,
            Some(GroupSpec::Channel) => None,
            Some(GroupSpec::Size(g)) => Some(g),
        }
    }
}

/// Bits and group tokens shared by GPTQ, AWQ, MLX and HQQ names.
#[derive(Default)]
struct IntParams {
    bits: Option<u32>,
    group: Option<GroupSpec>,
    act_order: bool,
}

/// Collects `bits`/`group` tokens; `channel_ok` also accepts per-channel
/// words and act-order words (GPTQ).
fn int_params(params: &[&str], channel_ok: bool) -> Option<IntParams> {
    let mut p = IntParams::default();
    for &t in params {
        let channel_word = matches!(t, "channel" | "perchannel" | "nogroup");
        let act_word = matches!(t, "actorder" | "act" | "order" | "descact" | "desc");
        if channel_ok && channel_word {
            set_once(&mut p.group, GroupSpec::Channel)?;
        } else if channel_ok && act_word {
            p.act_order = true;
        } else if channel_ok && t == "per" {
            // `per-channel` after splitting.
        } else if let Some(g) = group_token(t) {
            set_once(&mut p.group, GroupSpec::Size(g))?;
        } else {
            set_once(&mut p.bits, bits_token(t)?)?;
        }
    }
    Some(p)
}

fn parse_gptq(params: &[&str]) -> Option<OtherFormat> {
    let p = int_params(params, true)?;
    Some(OtherFormat::Gptq {
        bits: to_u8(p.bits.unwrap_or(4))?,
        group: GroupSpec::or_default(p.group, Some(GPTQ_DEFAULT_GROUP)),
        desc_act: p.act_order,
    })
}

fn parse_awq(params: &[&str]) -> Option<OtherFormat> {
    let p = int_params(params, false)?;
    Some(OtherFormat::Awq {
        bits: to_u8(p.bits.unwrap_or(4))?,
        group: GroupSpec::or_default(p.group, Some(AWQ_DEFAULT_GROUP))?,
    })
}

fn parse_mlx_hqq(fam: Family, params: &[&str]) -> Option<OtherFormat> {
    let p = int_params(params, false)?;
    Some(if fam == Family::Mlx {
        OtherFormat::Mlx {
            bits: to_u8(p.bits.unwrap_or(u32::from(MLX_DEFAULT_BITS)))?,
            group: GroupSpec::or_default(p.group, Some(MLX_DEFAULT_GROUP))?,
        }
    } else {
        OtherFormat::Hqq {
            bits: to_u8(p.bits.unwrap_or(u32::from(HQQ_DEFAULT_BITS)))?,
            group: GroupSpec::or_default(p.group, Some(HQQ_DEFAULT_GROUP))?,
        }
    })
}

fn parse_wna16(fam: Family, params: &[&str]) -> Option<OtherFormat> {
    let bits: u8 = if fam == Family::W8a16 { 8 } else { 4 };
    let mut group = None;
    let mut sym = true;
    for &t in params {
        match t {
            "asym" | "asymmetric" => sym = false,
            "sym" | "symmetric" => {}
            "channel" | "perchannel" => set_once(&mut group, GroupSpec::Channel)?,
            _ => set_once(&mut group, GroupSpec::Size(group_token(t)?))?,
        }
    }
    Some(OtherFormat::Wna16 {
        bits,
        group: GroupSpec::or_default(group, wna16_default_group(bits)),
        sym,
    })
}

fn parse_exl(fam: Family, params: &[&str]) -> Option<OtherFormat> {
    let mut bpw = None;
    let mut head = None;
    for &t in params {
        let head_word = ["head", "hb", "h"]
            .iter()
            .find_map(|p| t.strip_prefix(p).and_then(digits));
        if let Some(h) = head_word {
            set_once(&mut head, h)?;
            continue;
        }
        // `4.65`, `4.65bpw`, `4.65b`, `4.0h8`.
        let (num, h) = match t.split_once('h') {
            Some((n, h)) => (n, Some(digits(h)?)),
            None => (t, None),
        };
        let num = num
            .strip_suffix("bpw")
            .or_else(|| num.strip_suffix('b'))
            .unwrap_or(num);
        set_once(&mut bpw, decimal(num)?)?;
        if let Some(h) = h {
            set_once(&mut head, h)?;
        }
    }
    let bpw = bpw?;
    let head_bits = to_u8(head.unwrap_or(u32::from(EXL_DEFAULT_HEAD_BITS)))?;
    Some(if fam == Family::Exl2 {
        OtherFormat::Exl2 { bpw, head_bits }
    } else {
        OtherFormat::Exl3 { bpw, head_bits }
    })
}

fn is_double_quant_word(t: &str) -> bool {
    matches!(t, "dq" | "double" | "quant" | "doublequant" | "nested")
}

fn parse_bnb(params: &[&str]) -> Option<OtherFormat> {
    #[derive(Clone, Copy)]
    enum Kind {
        Nf4,
        Fp4,
        Int8,
    }
    let mut kind = None;
    let mut four_bit_word = false;
    let mut dq = false;
    for &t in params {
        match t {
            "nf4" => set_once(&mut kind, Kind::Nf4)?,
            "fp4" => set_once(&mut kind, Kind::Fp4)?,
            "int8" | "8bit" | "llm.int8" | "llmint8" => set_once(&mut kind, Kind::Int8)?,
            "4bit" => four_bit_word = true,
            _ if is_double_quant_word(t) => dq = true,
            _ => return None,
        }
    }
    match (kind, four_bit_word) {
        (Some(Kind::Nf4), _) => Some(OtherFormat::BnbNf4 { double_quant: dq }),
        (Some(Kind::Fp4), _) => Some(OtherFormat::BnbFp4 { double_quant: dq }),
        (Some(Kind::Int8), false) => (!dq).then_some(OtherFormat::BnbInt8),
        // `bnb-4bit` is the suffix of the pre-quantized Hub checkpoints
        // (Unsloth), which are NF4 with `bnb_4bit_use_double_quant: true`.
        (None, true) => Some(OtherFormat::BnbNf4 { double_quant: true }),
        (Some(Kind::Int8), true) | (None, false) => None,
    }
}

fn parse_nf4(params: &[&str]) -> Option<OtherFormat> {
    let mut dq = false;
    for &t in params {
        match t {
            "4bit" => {}
            _ if is_double_quant_word(t) => dq = true,
            _ => return None,
        }
    }
    Some(OtherFormat::BnbNf4 { double_quant: dq })
}

fn parse_fp8(params: &[&str]) -> Option<OtherFormat> {
    let mut scales = None;
    let mut dynamic = false;
    for &t in params {
        match t {
            "dynamic" => dynamic = true,
            "channel" | "perchannel" | "channelwise" => {
                set_once(&mut scales, Fp8Scales::PerChannel)?;
            }
            "block" | "blockwise" | "block128" | "128x128" => {
                set_once(&mut scales, Fp8Scales::Block128)?;
            }
            "tensor" | "pertensor" | "static" => set_once(&mut scales, Fp8Scales::PerTensor)?,
            "per" | "w8a8" | "e4m3" | "w8a16" => {}
            _ => return None,
        }
    }
    let default = if dynamic {
        Fp8Scales::PerChannel
    } else {
        Fp8Scales::PerTensor
    };
    Some(OtherFormat::Fp8 {
        scales: scales.unwrap_or(default),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-9;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < EPS
    }

    fn p(name: &str) -> OtherFormat {
        OtherFormat::parse(name).unwrap_or_else(|| panic!("{name} should parse"))
    }

    fn gptq(bits: u8, group: Option<u32>, desc_act: bool) -> OtherFormat {
        OtherFormat::Gptq {
            bits,
            group,
            desc_act,
        }
    }

    fn fp8(scales: Fp8Scales) -> OtherFormat {
        OtherFormat::Fp8 { scales }
    }

    const LIN: WeightRole = WeightRole::Linear;

    #[test]
    fn examples_round_trip_and_are_canonical() {
        for &e in OtherFormat::examples() {
            let f = p(e);
            assert_eq!(f.name(), e, "{e} is not canonical");
            assert_eq!(OtherFormat::parse(&f.name()), Some(f));
            assert!(!f.description().is_empty());
            assert!(!f.backends().is_empty());
            assert!(f.nominal_bits() > 0.0);
        }
    }

    #[test]
    fn brief_names_parse() {
        use OtherFormat as F;
        let g4 = gptq(4, Some(128), false);
        let awq = F::Awq {
            bits: 4,
            group: 128,
        };
        let e2 = F::Exl2 {
            bpw: 4.65,
            head_bits: 6,
        };
        let nf4 = F::BnbNf4 {
            double_quant: false,
        };
        let nf4dq = F::BnbNf4 { double_quant: true };
        let mlx = |bits, group| F::Mlx { bits, group };
        let cases: &[(&str, OtherFormat)] = &[
            ("fp8", fp8(Fp8Scales::PerTensor)),
            ("fp8-dynamic", fp8(Fp8Scales::PerChannel)),
            ("fp8-per-channel", fp8(Fp8Scales::PerChannel)),
            ("fp8-block", fp8(Fp8Scales::Block128)),
            ("w8a8-fp8", fp8(Fp8Scales::PerTensor)),
            ("NVFP4", F::Nvfp4),
            ("mxfp4", F::Mxfp4),
            ("gptq", g4),
            ("gptq-4bit", g4),
            ("gptq-4bit-128g", g4),
            ("GPTQ-Int4", g4),
            ("gptq_8bit_32g", gptq(8, Some(32), false)),
            ("gptq-4bit-128g-actorder", gptq(4, Some(128), true)),
            ("gptq-4bit-per-channel", gptq(4, None, false)),
            (
                "w4a16",
                F::Wna16 {
                    bits: 4,
                    group: Some(128),
                    sym: true,
                },
            ),
            ("int4", awq),
            ("int4-awq", awq),
            ("awq", awq),
            ("awq-4bit", awq),
            ("awq-4bit-64g", F::Awq { bits: 4, group: 64 }),
            ("exl2:4.65", e2),
            ("exl2-4.65bpw", e2),
            ("4.65bpw-exl2", e2),
            ("Exl2 4.65", e2),
            (
                "exl3:3.0",
                F::Exl3 {
                    bpw: 3.0,
                    head_bits: 6,
                },
            ),
            (
                "exl2:4.0h8",
                F::Exl2 {
                    bpw: 4.0,
                    head_bits: 8,
                },
            ),
            ("nf4", nf4),
            ("bnb-nf4", nf4),
            ("bnb-4bit", nf4dq),
            ("nf4-dq", nf4dq),
            (
                "bnb-fp4",
                F::BnbFp4 {
                    double_quant: false,
                },
            ),
            ("int8", F::BnbInt8),
            ("bnb-int8", F::BnbInt8),
            ("llm.int8", F::BnbInt8),
            ("mlx-4bit", mlx(4, 64)),
            ("mlx-4bit-g32", mlx(4, 32)),
            ("mlx:8", mlx(8, 64)),
            ("4bit-mlx", mlx(4, 64)),
            ("hqq-4bit", F::Hqq { bits: 4, group: 64 }),
            ("hqq-4bit-g64", F::Hqq { bits: 4, group: 64 }),
            ("fp16", F::Fp16),
            ("bf16", F::Bf16),
            ("fp32", F::Fp32),
            ("f32", F::Fp32),
        ];
        for (name, want) in cases {
            assert_eq!(OtherFormat::parse(name), Some(*want), "{name}");
            assert_eq!(OtherFormat::parse(&want.name()), Some(*want), "{name}");
        }
    }

    #[test]
    fn gguf_and_junk_names_are_rejected_without_panic() {
        let odd = [
            "",
            " ",
            "exl2:",
            "exl2:abc",
            "exl2:99",
            "exl2",
            "exl2:1.0",
            "exl3:1",
            "exl3:16.5",
            "exl2:nan",
            "exl2:inf",
            "exl2:1e3",
            "exl2:4.65h7",
            "exl2:4.6.5",
            "exl2:.",
            "gptq-0bit",
            "gptq-5bit",
            "gptq-4bit-0g",
            "gptq-4bit-100g",
            "gptq-99999999999bit",
            "gptq--4bit",
            "-gptq",
            "gptq-4bit-8bit",
            "mlx:-4",
            "mlx:7",
            "mlx-4bit-g0",
            "mlx:4:4",
            "hqq-7bit",
            "hqq-4bit-g0",
            "awq-3bit",
            "awq-4bit-256g",
            "awq-4bit-channel",
            "q4_k_m",
            "Q8_0",
            "iq2_xxs",
            "q4_0",
            "tq1_0",
            "bnb",
            "fp4",
            "4bit",
            "fp8-block-channel",
            "bnb-int8-dq",
            "int8-4bit",
            "nf4-8bit",
            "w4a16-g0",
            "w4a16-abc",
            "mxfp4-w4a16",
            "fp16-dq",
            "😀",
            "::::",
        ];
        for s in odd {
            assert_eq!(OtherFormat::parse(s), None, "{s:?} should not parse");
        }
        assert_eq!(OtherFormat::parse(&"gptq-".repeat(100)), None);
    }

    #[test]
    fn gptq_layout() {
        // qweight 4 + (scales 16 + qzeros 4)/128 + g_idx 32/n_out.
        let f = p("gptq-4bit-128g");
        let want = 4.0 + 20.0 / 128.0 + 32.0 / 11008.0;
        assert!(close(f.bits_per_weight(LIN, 4096, 11008), want));
        assert!(close(f.bits_per_weight(LIN, 0, 0), 4.15625));
        // Per-channel: one scale + zero per output column, amortised over n_in.
        let c = p("gptq-4bit-channel");
        let want = 4.0 + 20.0 / 4096.0 + 32.0 / 4096.0;
        assert!(close(c.bits_per_weight(LIN, 4096, 4096), want));
        // act-order does not change storage.
        let a = p("gptq-4bit-128g-actorder");
        let e = WeightRole::Expert;
        assert!(close(
            a.bits_per_weight(e, 2048, 768),
            f.bits_per_weight(e, 2048, 768)
        ));
        // 8-bit g32: 8 + (16 + 8)/32.
        assert!(close(p("gptq-8bit-32g").bits_per_weight(LIN, 0, 0), 8.75));
        // Embeddings, head and norms stay 16-bit.
        for role in [WeightRole::Embedding, WeightRole::Output, WeightRole::Norm] {
            assert!(close(f.bits_per_weight(role, 4096, 128_256), 16.0));
        }
    }

    #[test]
    fn awq_and_wna16_layout() {
        let awq = p("awq-4bit-128g");
        assert!(close(awq.bits_per_weight(LIN, 4096, 4096), 4.15625));
        assert!(close(p("awq-4bit-64g").bits_per_weight(LIN, 0, 0), 4.3125));
        // compressed-tensors W4A16: symmetric, no zeros, no g_idx.
        assert!(close(p("w4a16").bits_per_weight(LIN, 0, 0), 4.125));
        assert!(close(p("w4a16-asym").bits_per_weight(LIN, 0, 0), 4.15625));
        // W8A16 per-channel: 8 + 16/n_in (+ 64-bit weight_shape per tensor).
        let want = 8.0 + 16.0 / 4096.0 + 64.0 / (4096.0 * 4096.0);
        assert!(close(p("w8a16").bits_per_weight(LIN, 4096, 4096), want));
    }

    #[test]
    fn bnb_layout() {
        assert!(close(p("nf4").bits_per_weight(LIN, 0, 0), 4.5));
        let dq = 4.0 + 8.0 / 64.0 + 32.0 / (64.0 * 256.0);
        assert!(close(p("nf4-dq").bits_per_weight(LIN, 0, 0), dq));
        assert!((dq - 4.127).abs() < 1e-3);
        // Exact, with the 16-entry fp32 quant_map per tensor.
        let want = 4.5 + 512.0 / (4096.0 * 4096.0);
        assert!(close(p("bnb-fp4").bits_per_weight(LIN, 4096, 4096), want));
        // 64 values: 32 bytes payload + 4 bytes absmax + 64 bytes quant_map.
        assert_eq!(p("bnb-fp4").tensor_bytes(LIN, 64, 1), 32 + 4 + 64);
        let int8 = p("llm.int8");
        let want = 8.0 + 32.0 / 4096.0;
        assert!(close(int8.bits_per_weight(LIN, 4096, 14336), want));
        assert!(close(
            int8.bits_per_weight(WeightRole::Output, 4096, 32000),
            16.0
        ));
    }

    #[test]
    fn mlx_and_hqq_layout() {
        let m = p("mlx-4bit-g64");
        assert!(close(m.bits_per_weight(LIN, 4096, 4096), 4.5));
        assert!(close(p("mlx-4bit-g32").bits_per_weight(LIN, 0, 0), 5.0));
        // MLX quantizes the embedding table and the head too.
        assert!(close(
            m.bits_per_weight(WeightRole::Embedding, 4096, 128_256),
            4.5
        ));
        assert!(close(
            m.bits_per_weight(WeightRole::Output, 4096, 128_256),
            4.5
        ));
        assert!(close(m.bits_per_weight(WeightRole::Norm, 4096, 1), 16.0));
        assert!(close(p("hqq-4bit-g64").bits_per_weight(LIN, 0, 0), 4.5));
        assert!(close(p("hqq-3bit-g64").bits_per_weight(LIN, 0, 0), 3.7));
        assert!(close(p("hqq-6bit-g128").bits_per_weight(LIN, 0, 0), 8.25));
        let head = p("hqq-4bit").bits_per_weight(WeightRole::Output, 0, 0);
        assert!(close(head, 16.0));
    }

    #[test]
    fn fp4_and_fp8_layout() {
        let nv = p("nvfp4");
        assert!(close(nv.bits_per_weight(WeightRole::Expert, 0, 0), 4.5));
        assert!(close(nv.bits_per_weight(WeightRole::Output, 0, 0), 16.0));
        let mx = p("mxfp4");
        assert!(close(
            mx.bits_per_weight(WeightRole::Expert, 2880, 5760),
            4.25
        ));
        assert!(close(mx.bits_per_weight(LIN, 2880, 4096), 16.0));
        let ch = p("fp8-per-channel");
        assert!(close(
            ch.bits_per_weight(LIN, 7168, 2048),
            8.0 + 32.0 / 7168.0
        ));
        let blk = p("fp8-block");
        assert!(close(blk.bits_per_weight(LIN, 0, 0), 8.0 + 32.0 / 16384.0));
        // Partial tiles round up: 7168 x 1536 -> 56 x 12 tiles.
        let want = 8.0 + 56.0 * 12.0 * 32.0 / (7168.0 * 1536.0);
        assert!(close(blk.bits_per_weight(LIN, 7168, 1536), want));
        assert!(close(
            p("fp8").bits_per_weight(WeightRole::Embedding, 0, 0),
            16.0
        ));
    }

    #[test]
    fn exllama_layout() {
        let e2 = p("exl2-4.65bpw");
        assert!(close(e2.bits_per_weight(LIN, 4096, 4096), 4.65));
        assert!(close(
            e2.bits_per_weight(WeightRole::Embedding, 4096, 32000),
            16.0
        ));
        // Head 6: 15% 8-bit + 85% 6-bit at g128, 4-bit scales: 6.3 + 4/128.
        assert!(close(e2.bits_per_weight(WeightRole::Output, 0, 0), 6.33125));
        let h8 = p("exl2:4.0h8").bits_per_weight(WeightRole::Output, 4096, 128_256);
        assert!(close(
            h8,
            8.0 + 4.0 / 128.0 + (32.0 + 48.0 / 128.0) / 128_256.0
        ));
        let e3 = p("exl3-4bpw");
        let want = 4.0 + 16.0 / 4096.0 + 16.0 / 14336.0;
        assert!(close(e3.bits_per_weight(LIN, 4096, 14336), want));
        let unq = p("exl3-4bpw-h16").bits_per_weight(WeightRole::Output, 0, 0);
        assert!(close(unq, 16.0));
    }

    #[test]
    fn floats_and_roles() {
        let f32f = p("fp32");
        for role in [WeightRole::Norm, LIN, WeightRole::Embedding] {
            assert!(close(f32f.bits_per_weight(role, 10, 10), 32.0));
        }
        assert!(close(
            p("bf16").bits_per_weight(WeightRole::Expert, 10, 10),
            16.0
        ));
        assert_eq!(p("bf16").tensor_bytes(LIN, 4096, 4096), 4096 * 4096 * 2);
        assert!(!p("gptq").quantizes(WeightRole::Other));
    }

    #[test]
    fn hostile_dimensions_and_invalid_values_do_not_panic() {
        let dims = [0, 1, 3, 17, 4096, u64::from(u32::MAX), u64::MAX];
        let roles = [
            WeightRole::Embedding,
            WeightRole::Output,
            WeightRole::Linear,
            WeightRole::Expert,
            WeightRole::Norm,
            WeightRole::Other,
        ];
        for &e in OtherFormat::examples() {
            let f = p(e);
            for &r in &roles {
                for &a in &dims {
                    for &b in &dims {
                        let v = f.bits_per_weight(r, a, b);
                        assert!(v.is_finite() && v > 0.0, "{e} {r:?} {a} {b} -> {v}");
                        let _ = f.tensor_bytes(r, a, b);
                    }
                }
            }
        }
        let bad = [
            gptq(0, Some(0), false),
            OtherFormat::Awq { bits: 4, group: 0 },
            OtherFormat::Mlx { bits: 7, group: 64 },
            OtherFormat::Hqq { bits: 4, group: 0 },
            OtherFormat::Exl2 {
                bpw: f64::NAN,
                head_bits: 6,
            },
            OtherFormat::Exl3 {
                bpw: 99.0,
                head_bits: 6,
            },
            OtherFormat::Wna16 {
                bits: 4,
                group: Some(0),
                sym: true,
            },
        ];
        for f in bad {
            assert!(!f.is_valid());
            assert!(f.bits_per_weight(LIN, 4096, 4096).is_nan());
            assert_eq!(f.tensor_bytes(LIN, 4096, 4096), 0);
            let _ = (f.name(), f.description(), f.backends(), f.nominal_bits());
        }
    }
}
