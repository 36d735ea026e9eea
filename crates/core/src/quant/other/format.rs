//! The non-GGUF formats themselves: [`OtherFormat`], with the [`WeightRole`] a
//! tensor plays and the [`Fp8Scales`] of an FP8 checkpoint, and the metadata
//! that needs no storage layout (which roles a format quantizes, nominal bits,
//! description, canonical examples, backends). Validity and sizes, which read
//! the layout tables, are in `layout`; names are in `parse`.

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

impl OtherFormat {
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
}
