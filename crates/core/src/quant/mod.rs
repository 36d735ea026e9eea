//! Quantization formats: every ggml tensor type, llama.cpp's file types and their per-tensor mixes,
//! and the other weight formats (GPTQ, AWQ, EXL2/EXL3, FP8, NVFP4, bitsandbytes, MLX, HQQ), with the
//! names people write for them.

pub mod ftype;
pub mod ggml;
pub mod other;

use serde::Serialize;

pub use ftype::{FileType, Mix};
pub use ggml::GgmlType;
pub use other::OtherFormat;

/// A weight format as the user asked for it. Serializes as its canonical name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quant {
    /// A GGUF file made by llama-quantize (or a publisher variant of one).
    Gguf(Mix),
    /// A non-GGUF checkpoint format.
    Other(OtherFormat),
}

impl Serialize for Quant {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(&self.name())
    }
}

/// A quant name that matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quant `{input}`: expected a llama.cpp type such as Q4_K_M or IQ4_XS, or a format such as fp8, awq, gptq-4bit-128g, exl2:4.65{}", crate::did_you_mean(.closest))]
pub struct QuantError {
    /// What the user typed.
    pub input: String,
    /// The closest known names, best first.
    pub closest: Vec<String>,
}

/// Publisher variants that keep a llama-quantize preset but store embeddings and output in Q8_0
/// (bartowski's `_L`/`_XL` files: "uses Q8_0 for embed and output weights").
const Q8_EMBED_VARIANTS: &[(&str, FileType)] = &[
    ("Q2_K_L", FileType::Q2_K),
    ("Q3_K_XL", FileType::Q3_K_L),
    ("Q4_K_L", FileType::Q4_K_M),
    ("Q5_K_L", FileType::Q5_K_M),
    ("Q6_K_L", FileType::Q6_K),
];

/// Short names people use for the usual preset of a bit width.
const SHORTHANDS: &[(&str, FileType)] = &[
    ("Q2", FileType::Q2_K),
    ("Q3", FileType::Q3_K_M),
    ("Q4", FileType::Q4_K_M),
    ("Q4_K", FileType::Q4_K_M),
    ("Q5", FileType::Q5_K_M),
    ("Q5_K", FileType::Q5_K_M),
    ("Q6", FileType::Q6_K),
    ("Q8", FileType::Q8_0),
    ("Q3_K", FileType::Q3_K_M),
    ("FP16", FileType::F16),
    ("BF16", FileType::BF16),
    ("FP32", FileType::F32),
];

impl Quant {
    /// Parses a quant name as people write it: `Q4_K_M`, `q4_k_m`, `Q6` (→ Q6_K), `IQ4_XS`,
    /// `Q4_K_L` (Q8_0 embeddings), `Q4_K_M-imat` / `i1-Q4_K_M` (made with an importance matrix),
    /// `fp8`, `awq`, `gptq-4bit-128g`, `exl2:4.65`, `int4`, `nf4`, `mlx-4bit`.
    ///
    /// # Errors
    /// [`QuantError`] with the closest known names.
    pub fn parse(input: &str) -> Result<Quant, QuantError> {
        let trimmed = input.trim();
        let mut name = trimmed.replace(['-', ' ', '.'], "_").to_ascii_uppercase();
        let mut imatrix = false;
        for suffix in ["_IMATRIX", "_IMAT"] {
            if let Some(stripped) = name.strip_suffix(suffix) {
                name = stripped.to_string();
                imatrix = true;
            }
        }
        if let Some(stripped) = name.strip_prefix("I1_") {
            name = stripped.to_string();
            imatrix = true;
        }
        let gguf = |ft: FileType| {
            let mut mix = Mix::new(ft);
            mix.imatrix |= imatrix;
            mix
        };
        if let Some(ft) = FileType::from_name(&name) {
            return Ok(Quant::Gguf(gguf(ft)));
        }
        if let Some((_, ft)) = Q8_EMBED_VARIANTS.iter().find(|(n, _)| *n == name) {
            let mut mix = gguf(*ft);
            mix.output_type = Some(GgmlType::Q8_0);
            mix.embd_type = Some(GgmlType::Q8_0);
            return Ok(Quant::Gguf(mix));
        }
        if let Some((_, ft)) = SHORTHANDS.iter().find(|(n, _)| *n == name) {
            return Ok(Quant::Gguf(gguf(*ft)));
        }
        if let Some(f) = OtherFormat::parse(trimmed) {
            return Ok(Quant::Other(f));
        }
        Err(QuantError {
            input: input.to_string(),
            closest: closest_names(trimmed),
        })
    }

    /// The canonical name (`Q4_K_M`, `Q4_K_L`, `awq-4bit-g128`).
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Quant::Gguf(mix) => {
                let base = Q8_EMBED_VARIANTS
                    .iter()
                    .find(|(_, ft)| {
                        *ft == mix.ftype
                            && mix.output_type == Some(GgmlType::Q8_0)
                            && mix.embd_type == Some(GgmlType::Q8_0)
                    })
                    .map_or(mix.ftype.name(), |(n, _)| n);
                if mix.imatrix && !mix.ftype.requires_imatrix() {
                    format!("{base}-imat")
                } else {
                    base.to_string()
                }
            }
            Quant::Other(f) => f.name(),
        }
    }

    /// Every canonical name, for listings and suggestions.
    #[must_use]
    pub fn known_names() -> Vec<String> {
        let mut v: Vec<String> = FileType::all().map(|f| f.name().to_string()).collect();
        v.extend(Q8_EMBED_VARIANTS.iter().map(|(n, _)| (*n).to_string()));
        v.extend(OtherFormat::examples().iter().map(|s| (*s).to_string()));
        v
    }
}

/// Unsloth's dynamic quants (`UD-Q4_K_XL`, `Q4_K_XL`, `UD-IQ2_XXS`): a mix Unsloth chooses per
/// model, giving sensitive layers more bits. Returns the nearest llama-quantize preset (`_XL`
/// K-quants as their `_M`, Q2_K_XL as Q2_K, Q6_K_XL as Q6_K, Q8_K_XL as Q8_0; a `UD-` name of
/// a preset as that preset), or `None` when `q` names no dynamic mix. Only the file itself says
/// the mix exactly.
#[must_use]
pub fn unsloth_base(q: &str) -> Option<&str> {
    let t = q.trim();
    let bare = t
        .strip_prefix("UD-")
        .or_else(|| t.strip_prefix("ud-"))
        .unwrap_or(t);
    Some(match bare.to_ascii_uppercase().as_str() {
        "Q2_K_XL" => "Q2_K",
        "Q3_K_XL" => "Q3_K_M",
        "Q4_K_XL" => "Q4_K_M",
        "Q5_K_XL" => "Q5_K_M",
        "Q6_K_XL" => "Q6_K",
        "Q8_K_XL" => "Q8_0",
        _ if bare.len() != t.len() => bare,
        _ => return None,
    })
}

/// The known names closest to `input` (case-insensitive edit distance), best first, at most three.
#[must_use]
pub fn closest_names(input: &str) -> Vec<String> {
    crate::closest(input, Quant::known_names().iter().map(String::as_str), 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ft(name: &str) -> FileType {
        match Quant::parse(name).unwrap() {
            Quant::Gguf(m) => m.ftype,
            Quant::Other(o) => panic!("{name} parsed as {o:?}"),
        }
    }

    #[test]
    fn names_as_people_write_them() {
        assert_eq!(ft("q4_k_m"), FileType::Q4_K_M);
        assert_eq!(ft("Q4_K_M"), FileType::Q4_K_M);
        assert_eq!(ft("Q6"), FileType::Q6_K);
        assert_eq!(ft("iq4_xs"), FileType::IQ4_XS);
        assert_eq!(ft("q4-k-m"), FileType::Q4_K_M);
        assert_eq!(ft("mxfp4_moe"), FileType::MXFP4_MOE);
        let Quant::Gguf(l) = Quant::parse("Q4_K_L").unwrap() else {
            panic!()
        };
        assert_eq!(l.output_type, Some(GgmlType::Q8_0));
        let Quant::Gguf(i) = Quant::parse("i1-Q4_0").unwrap() else {
            panic!()
        };
        assert!(i.imatrix);
    }

    #[test]
    fn other_formats_parse() {
        for name in ["fp8", "awq", "gptq-4bit-128g", "exl2:4.65", "int4", "nf4"] {
            assert!(
                matches!(Quant::parse(name), Ok(Quant::Other(_))),
                "{name} should be a non-GGUF format"
            );
        }
    }

    #[test]
    fn unknown_name_lists_closest() {
        let err = Quant::parse("Q4_K_N").unwrap_err();
        assert!(err.closest.contains(&"Q4_K_M".to_string()), "{err}");
        assert!(err.to_string().contains("Q4_K_N"));
        assert!(Quant::parse("").is_err());
    }

    #[test]
    fn unsloth_dynamic_names_map_to_their_nearest_preset() {
        for (name, base) in [
            ("UD-Q4_K_XL", Some("Q4_K_M")),
            ("Q4_K_XL", Some("Q4_K_M")),
            ("ud-q2_k_xl", Some("Q2_K")),
            ("UD-Q8_K_XL", Some("Q8_0")),
            ("UD-IQ2_XXS", Some("IQ2_XXS")),
            ("Q4_K_M", None),
            ("IQ3_XS", None),
        ] {
            assert_eq!(unsloth_base(name), base, "{name}");
        }
        // Every preset it names parses.
        for name in [
            "Q2_K_XL", "Q3_K_XL", "Q4_K_XL", "Q5_K_XL", "Q6_K_XL", "Q8_K_XL",
        ] {
            let base = unsloth_base(name).unwrap();
            assert!(Quant::parse(base).is_ok(), "{name} -> {base}");
        }
    }

    #[test]
    fn canonical_names_round_trip() {
        for name in Quant::known_names() {
            let q = Quant::parse(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(Quant::parse(&q.name()).unwrap(), q, "{name}");
        }
    }
}
