//! NVIDIA GPU architectures, which decide the kernels llama.cpp's CUDA backend multiplies a
//! prompt's quantized weights with (`estimate::prompt_kernels::cuda_kernels`).

use serde::Serialize;

/// An NVIDIA GPU architecture as llama.cpp's CUDA backend tells them apart: by compute capability
/// (`GGML_CUDA_CC_PASCAL`, `GGML_CUDA_CC_DP4A`, `GGML_CUDA_CC_VOLTA`, `turing_mma_available`, … in
/// ggml-cuda/common.cuh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NvidiaArch {
    /// Compute capability 6.1 (GTX 10xx, Tesla P40/P4): `__dp4a`, FP16 at 1/64 rate.
    Pascal,
    /// Compute capability 6.0 (Tesla P100): fast packed FP16, but no `__dp4a`.
    PascalP100,
    /// 7.0 (V100, Titan V): FP16 tensor cores, no INT8 ones.
    Volta,
    /// 7.5 (RTX 20xx, GTX 16xx, T4): INT8 `mma` (llama.cpp counts the GTX 16xx in, by capability).
    Turing,
    /// 8.0/8.6/8.7 (A100, RTX 30xx, RTX A-series, Jetson Orin).
    Ampere,
    /// 8.9 (RTX 40xx, L4, L40, L40S, RTX Ada).
    Ada,
    /// 9.0 (H100, H200, GH200).
    Hopper,
    /// 10.x/12.x (B200, RTX 50xx, RTX PRO Blackwell, GB10).
    Blackwell,
}

impl NvidiaArch {
    /// Whether llama.cpp counts its FP16 as fast (`fp16_performance_good` before #8075,
    /// `fast_fp16_available` after): compute capability 6.0 and 7.0 or newer, not 6.1.
    #[must_use]
    pub fn fast_fp16(self) -> bool {
        self != NvidiaArch::Pascal
    }

    /// Whether it has the `__dp4a` int8 dot product MMQ needs (compute capability 6.1 or newer).
    #[must_use]
    pub fn dp4a(self) -> bool {
        self != NvidiaArch::PascalP100
    }

    /// Whether llama.cpp's MMQ runs on its INT8 tensor cores (`turing_mma_available`: Turing on).
    #[must_use]
    pub fn int8_mma(self) -> bool {
        !matches!(
            self,
            NvidiaArch::Pascal | NvidiaArch::PascalP100 | NvidiaArch::Volta
        )
    }
}

/// The NVIDIA architecture a device name places (`DeviceSpec::nvidia_arch`): the catalog's or the
/// driver's name (`NVIDIA GeForce RTX 4090`, `Tesla V100-PCIE-32GB`, `NVIDIA L40S`); `None` for
/// names it cannot place.
#[must_use]
pub fn nvidia_arch_of(name: &str) -> Option<NvidiaArch> {
    let n = name.to_ascii_uppercase();
    let words: Vec<&str> = n
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    // Names that carry the generation in words: RTX 6000 Ada Generation, RTX PRO 6000 Blackwell.
    if has("BLACKWELL") || has("GB10") || has("THOR") || n.contains("DGX SPARK") {
        return Some(NvidiaArch::Blackwell);
    }
    if has("ADA") {
        return Some(NvidiaArch::Ada);
    }
    if has("ORIN") {
        return Some(NvidiaArch::Ampere);
    }
    for (i, w) in words.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|j| words.get(j)).copied();
        match *w {
            "P100" | "GP100" => return Some(NvidiaArch::PascalP100),
            "P40" | "P4" | "P6" | "P10" => return Some(NvidiaArch::Pascal),
            "V100" | "V100S" | "GV100" => return Some(NvidiaArch::Volta),
            "T4" | "T10" | "T40" => return Some(NvidiaArch::Turing),
            "L4" | "L20" | "L40" | "L40S" | "L40G" => return Some(NvidiaArch::Ada),
            "H100" | "H200" | "H800" | "H20" | "GH200" => return Some(NvidiaArch::Hopper),
            "B100" | "B200" | "B300" | "GB200" | "GB300" => return Some(NvidiaArch::Blackwell),
            "A100" | "A800" | "A10" | "A10G" | "A16" | "A2" | "A30" | "A40" => {
                return Some(NvidiaArch::Ampere)
            }
            _ => {}
        }
        // Titan V (Volta) and Titan RTX (Turing); the Titan X and Xp are Pascal.
        if prev == Some("TITAN") {
            return match *w {
                "V" => Some(NvidiaArch::Volta),
                "RTX" => Some(NvidiaArch::Turing),
                "X" | "XP" => Some(NvidiaArch::Pascal),
                _ => None,
            };
        }
        // RTX A4000 … A6000 (Ampere workstation cards).
        if prev == Some("RTX")
            && w.len() == 5
            && w.starts_with('A')
            && w[1..].bytes().all(|b| b.is_ascii_digit())
        {
            return Some(NvidiaArch::Ampere);
        }
        // Quadro RTX 4000 … 8000 (Turing).
        if prev == Some("RTX") && has("QUADRO") {
            return Some(NvidiaArch::Turing);
        }
        // GeForce model numbers: GTX 1080 Ti, GTX 1660, RTX 2080, RTX 3090, RTX 4090, RTX 5090.
        if matches!(prev, Some("GTX" | "RTX"))
            && w.len() == 4
            && w.bytes().all(|b| b.is_ascii_digit())
        {
            return match &w[..2] {
                "10" => Some(NvidiaArch::Pascal),
                "16" | "20" => Some(NvidiaArch::Turing),
                "30" => Some(NvidiaArch::Ampere),
                "40" => Some(NvidiaArch::Ada),
                "50" => Some(NvidiaArch::Blackwell),
                _ => None,
            };
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_place_their_architecture() {
        let cases = [
            ("NVIDIA GeForce GTX 1080 Ti", Some(NvidiaArch::Pascal)),
            ("NVIDIA Tesla P40", Some(NvidiaArch::Pascal)),
            ("Tesla P100-PCIE-16GB", Some(NvidiaArch::PascalP100)),
            ("Tesla V100-PCIE-32GB", Some(NvidiaArch::Volta)),
            ("NVIDIA TITAN V", Some(NvidiaArch::Volta)),
            ("NVIDIA GeForce GTX 1660 SUPER", Some(NvidiaArch::Turing)),
            ("NVIDIA GeForce RTX 2080 Ti", Some(NvidiaArch::Turing)),
            ("NVIDIA T4", Some(NvidiaArch::Turing)),
            ("Quadro RTX 8000", Some(NvidiaArch::Turing)),
            ("NVIDIA GeForce RTX 3090 24GB", Some(NvidiaArch::Ampere)),
            ("NVIDIA A100 SXM 80GB", Some(NvidiaArch::Ampere)),
            ("NVIDIA RTX A6000 48GB", Some(NvidiaArch::Ampere)),
            ("NVIDIA Jetson AGX Orin 64GB", Some(NvidiaArch::Ampere)),
            ("NVIDIA L40S 48GB", Some(NvidiaArch::Ada)),
            ("NVIDIA RTX 6000 Ada Generation", Some(NvidiaArch::Ada)),
            ("NVIDIA GeForce RTX 4090 Laptop GPU", Some(NvidiaArch::Ada)),
            ("NVIDIA H200 SXM 141GB", Some(NvidiaArch::Hopper)),
            ("NVIDIA GH200 144GB HBM3e", Some(NvidiaArch::Hopper)),
            ("NVIDIA RTX PRO 6000 Blackwell", Some(NvidiaArch::Blackwell)),
            ("NVIDIA DGX Spark (GB10)", Some(NvidiaArch::Blackwell)),
            (
                "NVIDIA GeForce RTX 5060 Ti 16GB",
                Some(NvidiaArch::Blackwell),
            ),
            ("NVIDIA HGX B200", Some(NvidiaArch::Blackwell)),
            ("AMD Radeon RX 7900 XTX", None),
            ("NVIDIA Mystery GPU", None),
        ];
        for (name, want) in cases {
            assert_eq!(nvidia_arch_of(name), want, "{name}");
        }
    }

    #[test]
    fn kernels_follow_compute_capability() {
        assert!(!NvidiaArch::Pascal.fast_fp16() && NvidiaArch::Pascal.dp4a());
        assert!(NvidiaArch::PascalP100.fast_fp16() && !NvidiaArch::PascalP100.dp4a());
        assert!(NvidiaArch::Volta.fast_fp16() && !NvidiaArch::Volta.int8_mma());
        assert!(NvidiaArch::Turing.int8_mma() && NvidiaArch::Blackwell.int8_mma());
    }
}
