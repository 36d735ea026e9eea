//! Format names: [`OtherFormat::parse`] turns the strings people write
//! (`gptq-4bit-128g`, `exl2:4.65`, `mlx-4bit`, `nf4-dq`, ...) into an
//! [`OtherFormat`], and [`OtherFormat::name`] gives the canonical name back
//! (the defaults here decide which parameters a canonical name leaves out).

use super::format::{Fp8Scales, OtherFormat};

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
