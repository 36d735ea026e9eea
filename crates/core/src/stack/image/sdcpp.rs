//! stable-diffusion.cpp's rules: the type each layer class holds a tensor in, and the compute
//! buffers as closed forms of the largest tensors alive together in its graphs (the UNet's and
//! FLUX's derived from a replay of ggml-alloc over their exact graphs).

use crate::model::diffusion::{DiffTensor, Latent, Part, PartArch, Pipeline, WeightFormat};
use crate::quant::GgmlType;

/// Bytes of one tensor of `part` held in `fmt` by stable-diffusion.cpp (its layer classes fix the
/// type: `GGMLBlock::get_type` and the Linear, Conv2d, Embedding and norm constructors in
/// `ggml_extend.hpp`; `tensor_should_be_converted` keeps the embedders' and in/out layers' file
/// type).
pub(super) fn sdcpp_tensor_bytes(t: &DiffTensor, fmt: GgmlType, base: GgmlType, sd3: bool) -> u64 {
    let n = t.n_elements();
    let name = t.name.as_str();
    // Norms and biases: F32.
    if t.shape.len() == 1 || name.ends_with(".scale") {
        return 4 * n;
    }
    // Convolutions: F16 whatever the file holds.
    if t.shape.len() == 4 {
        return 2 * n;
    }
    // Position tables and OpenCLIP's text projection are F32 parameters (CLIP's learned
    // positions, SD3's `pos_embed`; sd.cpp logs bigG's 1329.29 MiB with a 1280² F32 projection).
    if name.contains("position_embedding")
        || name == "pos_embed"
        || name == "text_projection.weight"
    {
        return 4 * n;
    }
    // Token tables: CLIP's (`…embedding…`) keeps the file's type (`tensor_should_be_converted`
    // skips the name); T5's `shared` is converted like any matrix. `Embedding` then holds a type
    // `get_rows` takes (F16, Q8_0, Q5_1, Q5_0, Q4_1, Q4_0) and turns any other into F32.
    if name.contains("embedding") || name == "shared.weight" {
        let ty = if name == "shared.weight" { fmt } else { base };
        return match ty {
            GgmlType::F16
            | GgmlType::Q8_0
            | GgmlType::Q5_1
            | GgmlType::Q5_0
            | GgmlType::Q4_1
            | GgmlType::Q4_0 => {
                ty.row_size(*t.shape.last().unwrap_or(&1))
                    * (n / t.shape.last().copied().unwrap_or(1).max(1))
            }
            _ => 4 * n,
        };
    }
    let keep = [
        "img_in.",
        "txt_in.",
        "time_in.",
        "vector_in.",
        "guidance_in.",
        "final_layer.",
        "x_embedder.",
        "t_embedder.",
        "y_embedder.",
        "context_embedder.",
        "time_embed.",
        "label_emb.",
    ];
    // SD3's MMDiT builds its embedders' and final layer's linears with `force_f32` (mmdit.hpp).
    if sd3
        && [
            "t_embedder.",
            "y_embedder.",
            "context_embedder.",
            "final_layer.linear",
        ]
        .iter()
        .any(|k| name.starts_with(k))
    {
        return 4 * n;
    }
    let row = *t.shape.last().unwrap_or(&1);
    let ty = if keep
        .iter()
        .any(|k| name.starts_with(k) || name.contains(&format!(".{k}")))
    {
        base
    } else {
        fmt
    };
    // A row the type's blocks do not divide keeps the file's type (`tensor_should_be_converted`):
    // SD 1.5's 320- and 640-wide rows stay F16 under `--type q4_K`.
    if ty.fits_row(row) {
        ty.row_size(row) * (n / row)
    } else if base.fits_row(row) {
        base.row_size(row) * (n / row)
    } else {
        4 * n
    }
}

/// The 16-bit type a part's GGUF keeps its unquantized tensors in.
pub(super) fn base_type(fmt: WeightFormat, usual: WeightFormat) -> GgmlType {
    match usual {
        WeightFormat::Ggml(GgmlType::BF16) => GgmlType::BF16,
        WeightFormat::Ggml(GgmlType::F32) => match fmt {
            WeightFormat::Ggml(GgmlType::F32) => GgmlType::F32,
            _ => GgmlType::F16,
        },
        _ => GgmlType::F16,
    }
}

/// Bytes of `n` F32 values.
pub(super) fn f32s(n: u64) -> u64 {
    4 * n
}

/// stable-diffusion.cpp's compute buffer for one run of `part` (batch 1: it runs the guidance
/// passes and the images one after another), the high-water mark of ggml-alloc over the graph:
/// - FLUX and SD 3.5: the allocator replayed over the rebuilt graph (`dit`), exact;
/// - the UNets: closed forms read off that replay, exact for the catalog's three;
/// - T5-XXL: the same replay;
/// - CLIP, the LLM text encoder, Qwen-Image and the VAE: the largest tensors alive together
///   (attention scores without flash attention, F32 heads × Lq × Lk; im2col's F16 copy of every
///   3×3 window; the MLP's hidden states).
///
/// validation/ checks these against the real sd.cpp.
#[must_use]
pub fn sdcpp_compute_bytes(part: &Part, lat: Latent, fa: bool) -> u64 {
    match &part.arch {
        PartArch::Unet(u) => unet_compute(u, lat, fa),
        // FLUX and SD 3.5: ggml-alloc replayed over sd.cpp's graph (`dit`), exact.
        PartArch::Flux(f) => super::graphs::flux_compute(f, lat, fa),
        PartArch::Mmdit(m) => super::graphs::mmdit_compute(m, lat, fa),
        PartArch::QwenImage(q) => {
            let img = lat.h.div_ceil(2) * lat.w.div_ceil(2);
            let heads = q.hidden / q.head_dim;
            dit_compute(img + lat.text_tokens, q.hidden, heads, 4 * q.hidden, fa)
        }
        PartArch::ClipText(c) => {
            // The MLP's hidden states, two residual-wide ones and the causal mask over the 77
            // tokens (CLIP-L 1.38 MiB against sd.cpp's 1.42, bigG 2.28 against 2.36).
            let t = c.positions;
            f32s(t * (c.ff + 2 * c.hidden) + t * t)
        }
        // T5-XXL: the replay (`graphs`), exact.
        PartArch::T5(c) => super::graphs::t5_compute(c, lat.text_tokens.max(1)),
        PartArch::Llm { hidden, .. } => {
            let t = lat.text_tokens.max(1);
            // Qwen2.5-VL 7B's MLP is 18944 wide (5.3 × hidden).
            f32s(hidden * t * 8 + hidden * 53 / 10 * t * 3 + 28 * t * t)
        }
        PartArch::Vae(v) => {
            let (h, w) = (lat.h * 8, lat.w * 8);
            let c0 = v.ch * v.ch_mult[0];
            let c1 = v.ch * v.ch_mult[1];
            // The last up-block's widest convolution: the level-1 width at full resolution
            // after the upsample, its im2col in F16 with its input and output in F32.
            let conv = 2 * 9 * c1 * h * w + f32s(c1 * h * w) + f32s(c0.max(c1) * h * w);
            // The mid-block's single-head attention over every latent position.
            let n = lat.h * lat.w;
            let cm = v.ch * v.ch_mult[v.ch_mult.len() - 1];
            let attn = if fa {
                f32s(3 * cm * n)
            } else {
                f32s(n * n) + f32s(3 * cm * n)
            };
            conv.max(attn)
        }
    }
}

/// 256·⌈x/256⌉: sd.cpp pads flash attention's K and V to a multiple of 256 tokens.
fn pad256(x: u64) -> u64 {
    x.div_ceil(256) * 256
}

/// The flash-attention mask sd.cpp builds when a level's `t` tokens are not a multiple of 256: an
/// F32 `t×t` zeros tensor concatenated with the padding and its F16 copy, `4t·(t + P(t))`.
fn fa_mask(t: u64) -> u64 {
    4 * t * (t + pad256(t))
}

/// SD 1.x, 2.x and XL's UNet in sd.cpp (`unet.hpp`), the high-water mark of ggml-alloc over its
/// graph, derived by replaying the allocator over the exact graph and checked byte for byte
/// against sd-cli (54 runs, 2,200 replayed sizes; docs/research/image-engines.md). `n` latent
/// pixels after sd.cpp rounds the image up to 64 px; `ctx` the context and pooled inputs, live
/// throughout; the cross-attention K/V of every later block (77 × C, F32) are computed first,
/// because ggml's depth-first order reaches those context-only branches first.
///
/// * flash attention: the im2col of the first full-resolution up-block's 3×3 convolution,
///   `(8·c0 + 30·(c0 + c1) + 88)·n` with the two skips, the concat and its GroupNorm live; or the
///   256-padding mask of the first attention of a level whose tokens are not a multiple of 256;
/// * without: the first level's second transformer's scores (heads × tokens², F32) with q, k, vᵀ
///   and the level's states, or (SD 1/2, small images) its GEGLU; SDXL's up-block convolutions
///   reuse the freed K/V's hole until n = 6400.
///
/// The catalog's UNets are these three; the slack constants (leftover freed tensors) were read
/// from their replay, so another UNet shape would need its own.
fn unet_compute(u: &crate::model::diffusion::UnetConfig, lat: Latent, fa: bool) -> u64 {
    let n = lat.h.div_ceil(8) * 8 * lat.w.div_ceil(8) * 8;
    let m = n / 4;
    let c0 = u.model_channels;
    let c1 = c0 * u.channel_mult.get(1).copied().unwrap_or(1);
    let xl = u.adm_in_channels.is_some();
    let ctx = 4 * 77 * u.context_dim + 4 * u.adm_in_channels.unwrap_or(0);
    if fa {
        let conv = (8 * c0 + 30 * (c0 + c1) + 88) * n + ctx + 96;
        let mask0 = if !xl && n % 256 != 0 {
            fa_mask(n) + 2 * c0 * pad256(n) + (28 * c0 + 88) * n + ctx + 96
        } else {
            0
        };
        let mask1 = if m % 256 != 0 {
            fa_mask(m) + 2 * c1 * pad256(m) + (26 * c0 + 88) * n + ctx + 96
        } else {
            0
        };
        return conv.max(mask0).max(mask1);
    }
    if xl {
        // K/V of the 68 transformer blocks after input_blocks.4.1's two, the context, and the
        // replay's 788,576 bytes of small freed tensors.
        let base = 51_893_344 - 4 * 77 * 2048 - 4 * 2816 + ctx;
        let attn = 4 * 10 * m * m + (28 * c0 + 88) * n + base;
        let other = if n < 1984 {
            16_656 * n
        } else if n < 6400 {
            21_136 * n
        } else {
            26_328 * n
        };
        return attn.max(other + base);
    }
    // SD 1.x: 8 heads; SD 2.x: 64-wide heads (5 at level 0). K/V of the 15 blocks after
    // input_blocks.1.1: 8·77·(ΣC − 320) = 7,490,560.
    let heads = if u.context_dim == 768 { 8 } else { c0 / 64 };
    let kv = 7_490_560;
    let attn = 4 * heads * n * n + (32 * c0 + 88) * n + kv + ctx + 197_216;
    let ff = 80 * c0 * n + 7_293_440 + ctx + 726_112;
    attn.max(ff)
}

/// SDXL's VAE run from the checkpoint itself: sd.cpp scales every convolution by 1/32 against
/// F16 overflow (stable-diffusion.cpp `set_conv2d_scale`, unless `--vae` names a fixed VAE), one
/// more F32 copy of the widest full-resolution activation (sd.cpp logs 1920.06 MiB at 512²
/// where SD 1.5's VAE takes 1664).
pub(super) fn sdxl_conv_scale_bytes(pipe: &Pipeline, p: &Part, lat: Latent) -> u64 {
    let sdxl = matches!(&pipe.denoiser().arch, PartArch::Unet(u) if u.adm_in_channels.is_some());
    match &p.arch {
        PartArch::Vae(v) if sdxl => f32s(v.ch * v.ch_mult[1] * lat.h * 8 * lat.w * 8),
        _ => 0,
    }
}

/// A transformer denoiser's peak: the joint sequence's scores (without flash attention), or its
/// MLP's hidden states, over a few hidden-wide activations.
pub(super) fn dit_compute(l: u64, hidden: u64, heads: u64, mlp: u64, fa: bool) -> u64 {
    let scores = if fa { 0 } else { f32s(heads * l * l) };
    f32s(4 * hidden * l) + scores.max(f32s(mlp * l))
}
