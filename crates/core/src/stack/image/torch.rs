//! The PyTorch engines' rules (ComfyUI's reserve estimates, which diffusers' measured peaks
//! follow): weights as stored, activations per latent area.

use super::sdcpp::sdcpp_compute_bytes;
use crate::model::diffusion::{DiffTensor, Latent, Part, PartArch, PartRole, WeightFormat};

/// ComfyUI's `EXTRA_RESERVED_VRAM` on Linux and macOS (comfy/model_management.py: 400 MiB; 600
/// on Windows).
pub(super) const COMFY_RESERVED: u64 = 400 << 20;

/// ComfyUI's `minimum_inference_memory()`: 0.8 GiB plus the reserve.
pub(super) const COMFY_MIN_INFERENCE: u64 = (819 << 20) + COMFY_RESERVED;

/// ComfyUI's `memory_usage_factor` for a denoiser (comfy/supported_models.py): SD1.5 and SD2 1.0,
/// SDXL 0.8, SD3 1.6, Flux 3.1, Qwen-Image 1.8.
pub(super) fn comfy_memory_factor(arch: &PartArch) -> f64 {
    match arch {
        PartArch::Unet(u) if u.adm_in_channels.is_some() => 0.8,
        PartArch::Unet(_) => 1.0,
        PartArch::Mmdit(_) => 1.6,
        PartArch::Flux(_) => 3.1,
        PartArch::QwenImage(_) => 1.8,
        _ => 2.0,
    }
}

/// Bytes of one tensor in a PyTorch engine: 16-bit formats as stored; FP8 files hold matrices in
/// one byte and the rest (token tables included) in 16 bits; GGUF quants (ComfyUI-GGUF, diffusers' GGUF loader) keep the
/// file's blocks and dequantize per layer, with 1-D tensors in F32 as the converters write them.
pub(super) fn torch_tensor_bytes(t: &DiffTensor, fmt: WeightFormat) -> u64 {
    let n = t.n_elements();
    let row = *t.shape.last().unwrap_or(&1);
    let table = t.name.contains("embedding") || t.name == "shared.weight";
    match fmt {
        // FP8 files keep their token tables in 16 bits (t5xxl_fp8_e4m3fn.safetensors is 4.89 GB:
        // 4.63 G matrix weights in one byte, the 131.6 M-entry `shared` table in two).
        WeightFormat::Fp8 if t.shape.len() >= 2 && !table => n,
        WeightFormat::Fp8 => 2 * n,
        WeightFormat::Ggml(g) if g.is_quantized() => {
            if t.shape.len() >= 2 && g.fits_row(row) {
                g.row_size(row) * (n / row)
            } else if t.shape.len() == 1 {
                4 * n
            } else {
                2 * n
            }
        }
        WeightFormat::Ggml(g) => g.type_size() * n,
    }
}

/// Activations a PyTorch engine allocates for one run of `part` (the denoiser at `batch` images
/// and both guidance branches, which ComfyUI batches together; a text encoder; one VAE decode).
/// ComfyUI's own reserve rules (comfy/model_base.py `memory_required`, comfy/sd.py
/// `memory_used_decode`) with SDPA, which diffusers' measured peaks agree with to within its
/// margin.
pub(super) fn torch_compute_bytes(
    part: &Part,
    lat: Latent,
    batch: u64,
    passes: u64,
    comfy: bool,
) -> u64 {
    let area = lat.h * lat.w;
    match part.role {
        PartRole::Denoiser => {
            // ComfyUI reserves for both guidance branches in one forward whatever the model
            // (`memory_required(batch × 2)`); diffusers batches them only where the pipeline runs
            // CFG (FLUX's guidance is distilled: one branch).
            let b = if comfy { 2 * batch } else { passes * batch };
            // area × dtype size (2) × 0.01 × factor MiB.
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let mib = (b * area) as f64 * 2.0 * 0.01 * comfy_memory_factor(&part.arch);
            (mib * f64::from(1u32 << 20)) as u64
        }
        // 2178 × h × w × 64 × dtype size (bf16).
        PartRole::Vae => 2178 * area * 64 * 2,
        PartRole::TextEncoder => sdcpp_compute_bytes(part, lat, true),
    }
}
