//! AMD GPU architectures, which decide the kernels llama.cpp's HIP backend multiplies a prompt's
//! quantized weights with (`estimate::prompt_kernels`).

use serde::Serialize;

/// An AMD GPU architecture family as llama.cpp's HIP backend tells them apart
/// (`GGML_CUDA_CC_IS_RDNA3`, `GGML_CUDA_CC_IS_CDNA3`, … in ggml-cuda/common.cuh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AmdArch {
    /// Polaris and older (gfx8): no int8 dot-product instruction.
    Gcn4,
    /// Vega 20 (gfx906: MI50, MI60, Radeon VII): `v_dot4_i32_i8`, no matrix cores.
    Gcn5,
    /// MI100 (gfx908): the first matrix cores (MFMA).
    Cdna1,
    /// MI210, MI250 (gfx90a).
    Cdna2,
    /// MI300X, MI325X (gfx942).
    Cdna3,
    /// MI350, MI355X (gfx950); llama.cpp gives it CDNA1/2's rules, not CDNA3's.
    Cdna4,
    /// RX 5000 (gfx101x).
    Rdna1,
    /// RX 6000 (gfx103x).
    Rdna2,
    /// RX 7000, Radeon 780M (gfx110x): WMMA matrix instructions.
    Rdna3,
    /// Strix Point and Strix Halo iGPUs (gfx115x: Radeon 880M/890M, 8060S).
    Rdna35,
    /// RX 9000, AI PRO R9700 (gfx120x).
    Rdna4,
}

impl AmdArch {
    /// The int8 dot-product rate (`v_dot4_i32_i8`: 4 multiply-adds per lane per clock) as a
    /// multiple of the listed FP32 vector rate: 4× where FP32 is listed at one FMA per lane and
    /// clock (GCN5, CDNA1/2, RDNA2), 2× where the listed FP32 already counts dual issue or packed
    /// FP32 (RDNA3 and later, CDNA3 and CDNA4: MI300X's 163.4 TFLOPS is 304 CUs × 64 lanes × 2 × 2
    /// × 2.1 GHz, MI355X's 157.3 is 256 CUs × 64 × 2 × 2 × 2.4 GHz), and the FP16 rate (a software dot product) where there is no such instruction (GCN4,
    /// RDNA1's gfx1010).
    #[must_use]
    pub fn dp4a_per_fp32(self) -> Option<f64> {
        match self {
            AmdArch::Gcn5 | AmdArch::Cdna1 | AmdArch::Cdna2 | AmdArch::Rdna2 => Some(4.0),
            AmdArch::Cdna3 | AmdArch::Cdna4 | AmdArch::Rdna3 | AmdArch::Rdna35 | AmdArch::Rdna4 => {
                Some(2.0)
            }
            AmdArch::Gcn4 | AmdArch::Rdna1 => None,
        }
    }

    /// The BF16 matrix rate as a share of the FP16 one, or `None` where the GPU has no BF16
    /// instructions (GCN4/5, RDNA1/2: gfx906 has no BF16 math at all). CDNA1's BF16 MFMA does
    /// half the K of its FP16 MFMA per instruction (MI100: 92.3 against 184.6 TFLOPS, AMD's
    /// datasheet); CDNA2 and later and RDNA3 and later list both at one rate.
    #[must_use]
    pub fn bf16_per_fp16(self) -> Option<f64> {
        match self {
            AmdArch::Gcn4 | AmdArch::Gcn5 | AmdArch::Rdna1 | AmdArch::Rdna2 => None,
            AmdArch::Cdna1 => Some(0.5),
            AmdArch::Cdna2
            | AmdArch::Cdna3
            | AmdArch::Cdna4
            | AmdArch::Rdna3
            | AmdArch::Rdna35
            | AmdArch::Rdna4 => Some(1.0),
        }
    }

    /// Whether it has matrix instructions llama.cpp's MMQ kernels can use (MFMA or WMMA).
    #[must_use]
    pub fn has_matrix_cores(self) -> bool {
        !matches!(
            self,
            AmdArch::Gcn4 | AmdArch::Gcn5 | AmdArch::Rdna1 | AmdArch::Rdna2
        )
    }
}

/// The AMD architecture a device name places (`DeviceSpec::amd_arch`): the catalog's or the
/// driver's name (`AMD Radeon RX 7900 XTX`, `AMD Instinct MI300X`, `Radeon 8060S Graphics`) or a
/// `gfxNNNN` target in it; `None` for names it cannot place.
#[must_use]
pub fn amd_arch_of(name: &str) -> Option<AmdArch> {
    let n = name.to_ascii_uppercase();
    let words: Vec<&str> = n
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(gfx) = words.iter().find_map(|w| w.strip_prefix("GFX")) {
        return match gfx {
            "906" => Some(AmdArch::Gcn5),
            "908" => Some(AmdArch::Cdna1),
            "90A" => Some(AmdArch::Cdna2),
            "942" => Some(AmdArch::Cdna3),
            "950" => Some(AmdArch::Cdna4),
            g if g.starts_with('8') => Some(AmdArch::Gcn4),
            g if g.starts_with("101") => Some(AmdArch::Rdna1),
            g if g.starts_with("103") => Some(AmdArch::Rdna2),
            g if g.starts_with("110") => Some(AmdArch::Rdna3),
            g if g.starts_with("115") => Some(AmdArch::Rdna35),
            g if g.starts_with("120") => Some(AmdArch::Rdna4),
            _ => None,
        };
    }
    for (i, w) in words.iter().enumerate() {
        match *w {
            "MI50" | "MI60" | "VII" => return Some(AmdArch::Gcn5),
            "MI100" => return Some(AmdArch::Cdna1),
            "MI210" | "MI250" | "MI250X" => return Some(AmdArch::Cdna2),
            "MI300" | "MI300X" | "MI300A" | "MI325X" => return Some(AmdArch::Cdna3),
            "MI350X" | "MI355X" => return Some(AmdArch::Cdna4),
            "8060S" | "8050S" | "880M" | "890M" => return Some(AmdArch::Rdna35),
            "740M" | "760M" | "780M" => return Some(AmdArch::Rdna3),
            "R9700" | "R9600D" => return Some(AmdArch::Rdna4),
            _ => {}
        }
        // RX and Radeon PRO model numbers: RX 5700, RX 6800 XT, RX 7900 XTX, RX 9070, W7900.
        let number = if matches!(words.get(i.wrapping_sub(1)), Some(&"RX")) {
            Some(*w)
        } else {
            w.strip_prefix('W').filter(|_| n.contains("PRO"))
        };
        if let Some(num) = number.filter(|s| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
        {
            return match num.as_bytes()[0] {
                b'5' => Some(AmdArch::Rdna1),
                b'6' => Some(AmdArch::Rdna2),
                b'7' => Some(AmdArch::Rdna3),
                b'9' => Some(AmdArch::Rdna4),
                _ => None,
            };
        }
        if let Some(num) = number.filter(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        {
            return (num.as_bytes()[0] <= b'5').then_some(AmdArch::Gcn4);
        }
    }
    if n.contains("RYZEN AI MAX") || n.contains("STRIX HALO") {
        return Some(AmdArch::Rdna35);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_place_their_architecture() {
        let cases = [
            ("AMD Instinct MI50", Some(AmdArch::Gcn5)),
            ("AMD Instinct MI100", Some(AmdArch::Cdna1)),
            ("AMD Instinct MI300X", Some(AmdArch::Cdna3)),
            ("AMD Radeon RX 580", Some(AmdArch::Gcn4)),
            ("AMD Radeon RX 5700 XT", Some(AmdArch::Rdna1)),
            ("AMD Radeon RX 6800 XT", Some(AmdArch::Rdna2)),
            ("AMD Radeon RX 7900 XTX", Some(AmdArch::Rdna3)),
            ("AMD Radeon PRO W7800", Some(AmdArch::Rdna3)),
            ("AMD Radeon RX 9060 XT", Some(AmdArch::Rdna4)),
            ("AMD Radeon AI PRO R9700", Some(AmdArch::Rdna4)),
            ("AMD Ryzen AI Max+ 395", Some(AmdArch::Rdna35)),
            ("Radeon 8060S Graphics", Some(AmdArch::Rdna35)),
            ("AMD Radeon 780M", Some(AmdArch::Rdna3)),
            ("AMD Radeon Graphics (gfx1151)", Some(AmdArch::Rdna35)),
            ("gfx90a", Some(AmdArch::Cdna2)),
            ("NVIDIA GeForce RTX 4090", None),
        ];
        for (name, want) in cases {
            assert_eq!(amd_arch_of(name), want, "{name}");
        }
    }
}
