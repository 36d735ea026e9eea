//! stable-diffusion.cpp's rules: the type each layer class holds a tensor in, and the compute
//! buffers as closed forms of the largest tensors alive together in its graphs.

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
/// passes and the images one after another), the high-water mark of ggml-alloc over the graph,
/// from the largest tensors alive together at the peak:
/// - attention without flash attention materializes F32 scores, heads × Lq × Lk;
/// - convolutions go through im2col, an F16 copy of every 3×3 window of the input;
/// - a UNet keeps its skip connections (F32) until the decoder half consumes them.
///
/// validation/ checks these against the real sd.cpp.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn sdcpp_compute_bytes(part: &Part, lat: Latent, fa: bool) -> u64 {
    match &part.arch {
        PartArch::Unet(u) => {
            // The first up-block at full resolution: the level-1 features and a level-0 skip
            // concatenated (`cin` channels), group-normed and activated, their im2col in F16,
            // the convolution's output, and the two level-0 skips still waiting.
            let c0 = u.model_channels;
            let n = lat.h * lat.w;
            let cin = c0 + c0 * u.channel_mult.get(1).copied().unwrap_or(1);
            let conv = n * (4 * (2 * c0 + 3 * cin + c0) + 2 * 9 * cin);
            // Without flash attention, the highest-resolution attention's F32 scores (softmax
            // runs in place) over about 23 level-wide states, and 10.8 MB that do not scale
            // with the image (fitted on SD 1.5 at 128² and 256²; validation/ checks 512² and
            // SDXL).
            let attn = if fa {
                0
            } else {
                u.transformer_depth
                    .iter()
                    .enumerate()
                    .filter(|(_, &d)| d > 0)
                    .map(|(l, _)| {
                        let ch = c0 * u.channel_mult[l];
                        let nl = n >> (2 * l);
                        // SD 1.x has 8 heads everywhere; SD 2 and XL 64-wide heads.
                        let heads = if u.context_dim == 768 { 8 } else { ch / 64 };
                        f32s(heads * nl * nl) + nl * ch * 93 / 4 + 10_807_904
                    })
                    .max()
                    .unwrap_or(0)
            };
            conv.max(attn)
        }
        PartArch::Flux(f) => {
            // Without flash attention a single block's peak: its fused first linear (QKV and the
            // MLP's input, 3h + 4h wide), the MLP's activation, two hidden-wide states and the
            // joint sequence's scores (within 1.5% of sd.cpp at 256², 512², 1024²). With
            // `--diffusion-fa`, 15.27 hidden-wide F32 states per token and 1.5 MB, fitted on sd.cpp
            // at 512² and 1024² (256² is 9% under that line).
            let img = lat.h.div_ceil(2) * lat.w.div_ceil(2);
            let l = img + lat.text_tokens;
            let (h, heads) = (f.hidden, f.hidden / f.head_dim);
            if fa {
                l * h * 6108 / 100 + 1_510_528
            } else {
                f32s(l * (7 * h + 4 * h + 2 * h)) + f32s(heads * l * l)
            }
        }
        PartArch::Mmdit(m) => {
            // A joint block's scores over image and text tokens and eight hidden-wide states;
            // with flash attention 12.56 hidden-wide states per token (SD 3.5 Medium at 512² in
            // sd.cpp).
            let h = 64 * m.depth;
            let img = lat.h.div_ceil(2) * lat.w.div_ceil(2);
            let l = img + lat.text_tokens;
            if fa {
                l * h * 5022 / 100
            } else {
                f32s(8 * l * h) + f32s(m.depth * l * l)
            }
        }
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
        PartArch::T5(c) => {
            // The gated MLP's three d_ff-wide states, the residual, and two score tensors (the
            // relative position bias is added to a copy).
            let t = lat.text_tokens.max(1);
            f32s(t * (3 * c.d_ff + c.d_model)) + f32s(2 * c.heads * t * t)
        }
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
