//! Multimodal projectors (llama.cpp's `--mmproj`, `tools/mtmd/clip.cpp`): the vision encoder and
//! the merger that turns image patches into the language model's embeddings. A projector is its
//! own GGUF (`general.architecture = clip`), loaded into its own buffer and given its own compute
//! buffer, reserved at load for one warm-up image.
//!
//! * [`tensors`](ProjectorSpec::tensors): each family's tensor list, after clip.cpp's loaders and
//!   the converter's dtype rules (`conversion/base.py` `MmprojModel`, `gemma.py`, `qwenvl.py`,
//!   `llava.py`, `llama4.py`, `smolvlm.py`, `internvl.py`, and the legacy LLaVA converter): norms,
//!   biases and position tables stay F32, matrices take the file type, a Q8_0 file keeps F16 where
//!   a row is not a multiple of 32; the patch convolution's type is per family (tensors.rs).
//! * [`compute_bytes`](ProjectorSpec::compute_bytes): the encoder's compute buffer, closed forms
//!   of ggml-alloc's peak over each family's graph (compute.rs).
//! * The image tokens a picture takes in the context, with each family's resizing or tiling
//!   (`mtmd-image.cpp`), here.

mod compute;
mod tensors;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::quant::GgmlType;

/// The projector families llmrig sizes (`clip.projector_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProjectorKind {
    /// Gemma 3 (`gemma3`): SigLIP-so400m at 896 px, 4×4 average pooling to 256 tokens.
    Gemma3,
    /// Qwen2.5-VL (`qwen2.5vl_merger`): a windowed-attention ViT with SwiGLU, 2×2 patch merging,
    /// dynamic resolution.
    Qwen25Vl,
    /// Qwen3-VL (`qwen3vl_merger`): a ViT with fused QKV, learned positions and deep-stack mergers.
    Qwen3Vl,
    /// Pixtral (`pixtral`, Mistral Small 3.1/3.2, Magistral Small 1.2, Pixtral 12B): RMS norms,
    /// SwiGLU, 2-D RoPE, dynamic resolution with a 2×2 patch merger and a `[IMG_BREAK]` per row.
    Pixtral,
    /// Llama 4 (`llama4`): a 336 px ViT with a class token, 2×2 pixel shuffle and an MLP adapter;
    /// large images are tiled.
    Llama4,
    /// SmolVLM / Idefics3 (`idefics3`): SigLIP with pixel shuffle and one linear projection; the
    /// image is resized to a long edge and tiled.
    Idefics3,
    /// InternVL (`internvl`): InternViT (300M or 6B) with a class token and layer scales, 2×2
    /// pixel shuffle, a LayerNorm-MLP projector; tiled, and the only family here whose tiles are
    /// encoded in batches.
    InternVl,
    /// LLaVA 1.5/1.6 (`mlp`): CLIP ViT-L/14-336 and a two-layer MLP; 1.6 tiles (anyres).
    Llava,
}

impl ProjectorKind {
    /// The `clip.projector_type` string.
    #[must_use]
    pub fn gguf_name(self) -> &'static str {
        match self {
            ProjectorKind::Gemma3 => "gemma3",
            ProjectorKind::Qwen25Vl => "qwen2.5vl_merger",
            ProjectorKind::Qwen3Vl => "qwen3vl_merger",
            ProjectorKind::Pixtral => "pixtral",
            ProjectorKind::Llama4 => "llama4",
            ProjectorKind::Idefics3 => "idefics3",
            ProjectorKind::InternVl => "internvl",
            ProjectorKind::Llava => "mlp",
        }
    }

    /// The family's name for people (`mlp` is LLaVA's).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            ProjectorKind::Gemma3 => "Gemma 3 SigLIP",
            ProjectorKind::Qwen25Vl => "Qwen2.5-VL ViT",
            ProjectorKind::Qwen3Vl => "Qwen3-VL ViT",
            ProjectorKind::Pixtral => "Pixtral",
            ProjectorKind::Llama4 => "Llama 4 ViT",
            ProjectorKind::Idefics3 => "SmolVLM SigLIP",
            ProjectorKind::InternVl => "InternViT",
            ProjectorKind::Llava => "LLaVA CLIP ViT-L",
        }
    }

    /// The kind for a `clip.projector_type` string.
    #[must_use]
    pub fn from_gguf_name(s: &str) -> Option<ProjectorKind> {
        Some(match s {
            "gemma3" => ProjectorKind::Gemma3,
            "qwen2.5vl_merger" => ProjectorKind::Qwen25Vl,
            "qwen3vl_merger" => ProjectorKind::Qwen3Vl,
            "pixtral" => ProjectorKind::Pixtral,
            "llama4" => ProjectorKind::Llama4,
            "idefics3" => ProjectorKind::Idefics3,
            "internvl" => ProjectorKind::InternVl,
            "mlp" => ProjectorKind::Llava,
            _ => return None,
        })
    }

    /// Whether the image's size sets its token count (and the encoder's buffer grows with large
    /// images past the warm-up reservation), rather than a fixed size or fixed tiles.
    #[must_use]
    pub fn dynamic_resolution(self) -> bool {
        matches!(
            self,
            ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl | ProjectorKind::Pixtral
        )
    }
}

/// The numbers of one projector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectorSpec {
    /// Its family.
    pub kind: ProjectorKind,
    /// Vision encoder width (`clip.vision.embedding_length`).
    pub n_embd: u64,
    /// Vision FFN width.
    pub n_ff: u64,
    /// Attention heads.
    pub n_head: u64,
    /// Encoder blocks.
    pub n_layer: u32,
    /// Patch side, pixels.
    pub patch: u64,
    /// Image side the encoder is trained at, pixels (the warm-up size of the fixed-size and tiled
    /// families).
    pub image_size: u64,
    /// Patches merged per side into one token (Gemma 3's pooling 4, Qwen's and Pixtral's merge 2,
    /// the pixel-shuffle factor of Llama 4, SmolVLM and InternVL; 1 for LLaVA).
    pub merge: u64,
    /// The language model's width the merger projects to.
    pub text_embd: u64,
    /// Qwen3-VL's learned position table, rows.
    pub n_pos: u64,
    /// Qwen3-VL's deep-stack merger count.
    pub deepstack: u32,
    /// Llama 4's adapter width (`vision_output_dim`, 4096), 0 for the others.
    #[serde(default)]
    pub adapter: u64,
    /// SmolVLM's long edge every image is resized to before tiling
    /// (`clip.vision.preproc_image_size`), 0 for the others.
    #[serde(default)]
    pub preproc: u64,
    /// LLaVA 1.6's anyres tiling (`clip.vision.image_grid_pinpoints`); 1.5 pads every image to
    /// one tile.
    #[serde(default)]
    pub anyres: bool,
}

/// One projector tensor: name, shape (ggml order) and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectorTensor {
    /// GGUF name.
    pub name: String,
    /// `[ne0, ne1, ne2, ne3]`.
    pub ne: [u64; 4],
    /// Its type.
    pub ggml_type: GgmlType,
}

impl ProjectorTensor {
    /// Bytes in the file.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        let rows = self.ne[1] * self.ne[2] * self.ne[3];
        self.ggml_type.row_size(self.ne[0]) * rows
    }
}

/// clip.cpp allocates its weights in one CPU buffer with ggml's 32-byte tensor alignment.
const ALIGN: u64 = 32;

/// The image tokens llama-server encodes in one batch by default (`--mtmd-batch-max-tokens`,
/// common/arg.cpp and mtmd.cpp: 1024).
pub const MTMD_BATCH_MAX_TOKENS: u64 = 1024;

/// The photo llmrig sizes an image's context tokens for when none is given: 1024×768, a
/// typical camera or screenshot aspect that every tiling family splits into several tiles.
pub const DEFAULT_PHOTO: (u64, u64) = (1024, 768);

/// LLaVA 1.6's `image_grid_pinpoints` as the liuhaotian configs publish them, (w, h).
const LLAVA_PINPOINTS: [(u64, u64); 5] =
    [(336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008)];

impl ProjectorSpec {
    #[allow(clippy::too_many_arguments)]
    fn tower(
        kind: ProjectorKind,
        (n_embd, n_ff, n_head, n_layer): (u64, u64, u64, u32),
        patch: u64,
        image_size: u64,
        merge: u64,
        text_embd: u64,
    ) -> ProjectorSpec {
        ProjectorSpec {
            kind,
            n_embd,
            n_ff,
            n_head,
            n_layer,
            patch,
            image_size,
            merge,
            text_embd,
            n_pos: 0,
            deepstack: 0,
            adapter: 0,
            preproc: 0,
            anyres: false,
        }
    }

    /// Gemma 3's projector (the same SigLIP tower for 4B, 12B and 27B), projecting to `text_embd`.
    #[must_use]
    pub fn gemma3(text_embd: u64) -> ProjectorSpec {
        // transformers `convert_gemma3_weights_orbax_to_hf.py` `_VISION_CONFIG`: 1152 wide, FFN
        // 4304, 27 layers, 16 heads, patch 14, image 896; mm_tokens_per_image 256.
        let t = (1152, 4304, 16, 27);
        Self::tower(ProjectorKind::Gemma3, t, 14, 896, 4, text_embd)
    }

    /// Qwen2.5-VL's vision tower (the same for 3B, 7B, 32B and 72B), projecting to `text_embd`.
    #[must_use]
    pub fn qwen25vl(text_embd: u64) -> ProjectorSpec {
        // Qwen2.5-VL-7B-Instruct config.json vision_config: depth 32, hidden 1280, intermediate
        // 3420, 16 heads, patch 14, spatial_merge_size 2, full attention on every 8th block.
        let t = (1280, 3420, 16, 32);
        Self::tower(ProjectorKind::Qwen25Vl, t, 14, 560, 2, text_embd)
    }

    /// Qwen3-VL's vision tower: `large` is the 27-block one of 8B, 32B, 30B-A3B and 235B-A22B,
    /// else the 24-block one of 2B and 4B; three deep-stack mergers either way.
    #[must_use]
    pub fn qwen3vl(text_embd: u64, large: bool) -> ProjectorSpec {
        // xtuner qwen3_vl_config.py (vision default 27 x 1152, 4304, 16 heads; Dense4B 24 x 1024,
        // 4096), Qwen3-VL-30B-A3B-Instruct config.json: patch 16, spatial_merge_size 2,
        // num_position_embeddings 2304, deepstack_visual_indexes [8, 16, 24] ([5, 11, 17]).
        // ik_llama.cpp#919 logs the 30B-A3B mmproj F16 at 1033.29 MiB, 352 tensors.
        let t = if large {
            (1152, 4304, 16, 27)
        } else {
            (1024, 4096, 16, 24)
        };
        let mut p = Self::tower(ProjectorKind::Qwen3Vl, t, 16, 768, 2, text_embd);
        p.n_pos = 2304;
        p.deepstack = 3;
        p
    }

    /// Qwen3.5's vision tower: Qwen3-VL's kind (llama.cpp converts `Qwen3_5ForConditionalGeneration`
    /// with its Qwen3-VL vision class, conversion/qwen3vl.py) without deep-stack mergers
    /// (transformers' `Qwen3_5VisionModel` deletes them; `deepstack_visual_indexes` is `[]`).
    /// `blocks`: 12 (0.8B: 768 wide, 3072, 12 heads), 24 (2B, 4B: 1024, 4096, 16 heads) or 27
    /// (9B and up: 1152, 4304, 16 heads), per NVIDIA/Megatron-LM@0670889a
    /// examples/multimodal_dev/models/qwen35_vl/configuration.py.
    #[must_use]
    pub fn qwen35(text_embd: u64, blocks: u64) -> ProjectorSpec {
        let t = match blocks {
            12 => (768, 3072, 12, 12),
            24 => (1024, 4096, 16, 24),
            _ => (1152, 4304, 16, 27),
        };
        let mut p = Self::tower(ProjectorKind::Qwen3Vl, t, 16, 768, 2, text_embd);
        p.n_pos = 2304;
        p.deepstack = 0;
        p
    }

    /// Pixtral as Mistral Small 3.1 and 3.2 and Magistral Small 1.2 ship it.
    #[must_use]
    pub fn pixtral(text_embd: u64) -> ProjectorSpec {
        // Mistral-Small-3.1-24B-Instruct-2503 config.json vision_config: hidden 1024,
        // intermediate 4096, 24 layers, 16 heads of 64, patch 14, image 1540, silu;
        // spatial_merge_size 2, multimodal_projector_bias false. Published mmproj F16: 878 MB.
        let t = (1024, 4096, 16, 24);
        Self::tower(ProjectorKind::Pixtral, t, 14, 1540, 2, text_embd)
    }

    /// Llama 4 Scout's and Maverick's vision tower (one shape for both).
    #[must_use]
    pub fn llama4(text_embd: u64) -> ProjectorSpec {
        // Llama-4-Scout-17B-16E-Instruct and Maverick vision_config: hidden 1408, intermediate
        // 5632, 34 layers, 16 heads, patch 14, image 336, pixel_shuffle_ratio 0.5,
        // vision_output_dim / projector dims 4096; HF's per-tensor parameter table agrees.
        let mut p = Self::tower(
            ProjectorKind::Llama4,
            (1408, 5632, 16, 34),
            14,
            336,
            2,
            text_embd,
        );
        p.adapter = 4096;
        p
    }

    /// SmolVLM-256M/500M's SigLIP-base (93M, patch 16 at 512 px) with 4×4 pixel shuffle.
    #[must_use]
    pub fn idefics3_base(text_embd: u64) -> ProjectorSpec {
        // HF SmolVLM blog and model cards ("93M SigLIP base patch-16/512", 64 tokens per 512²
        // tile); SmolVLM-256M-Instruct config scale_factor 4; SmolVLM2-256M-Video
        // preprocessor_config longest_edge 2048.
        let mut p = Self::tower(
            ProjectorKind::Idefics3,
            (768, 3072, 12, 12),
            16,
            512,
            4,
            text_embd,
        );
        p.preproc = 2048;
        p
    }

    /// SmolVLM2-2.2B's SigLIP-so400m at 384 px with 3×3 pixel shuffle.
    #[must_use]
    pub fn idefics3_so400m(text_embd: u64) -> ProjectorSpec {
        // SmolVLM2-2.2B-Instruct config.json: scale_factor 3; SigLIP-so400m (1152, 4304, 16
        // heads, 27 layers, patch 14) at 384; preprocessor longest_edge 1536.
        let mut p = Self::tower(
            ProjectorKind::Idefics3,
            (1152, 4304, 16, 27),
            14,
            384,
            3,
            text_embd,
        );
        p.preproc = 1536;
        p
    }

    /// InternViT-300M-448px-V2.5, as InternVL3 1B/2B/8B/14B ship it.
    #[must_use]
    pub fn internvit_300m(text_embd: u64) -> ProjectorSpec {
        // OpenGVLab/InternVL3-1B config vision_config: hidden 1024, intermediate 4096, 16 heads,
        // 24 layers, patch 14, image 448, qkv_bias, layer_norm; downsample_ratio 0.5.
        let t = (1024, 4096, 16, 24);
        Self::tower(ProjectorKind::InternVl, t, 14, 448, 2, text_embd)
    }

    /// InternViT-6B-448px-V2.5 (InternVL3 38B/78B): RMS norms, q/k norms, no Q/K/V biases.
    #[must_use]
    pub fn internvit_6b(text_embd: u64) -> ProjectorSpec {
        // OpenGVLab/InternViT-6B-448px-V1-5 config.json: hidden 3200, intermediate 12800, 25
        // heads, 45 layers, qk_normalization, no qkv_bias. clip.cpp picks RMS norm for exactly
        // this width and depth (models/internvl.cpp).
        let t = (3200, 12800, 25, 45);
        Self::tower(ProjectorKind::InternVl, t, 14, 448, 2, text_embd)
    }

    /// LLaVA's CLIP ViT-L/14-336 as the legacy converter writes it: 23 of CLIP's 24 blocks (the
    /// feature layer is the second to last), a two-layer MLP to `text_embd`; `anyres` for 1.6.
    #[must_use]
    pub fn llava(text_embd: u64, anyres: bool) -> ProjectorSpec {
        // openai/clip-vit-large-patch14-336 (llava-hf vision_config: 1024, 4096, 24 layers, 16
        // heads, patch 14, image 336); mm_vision_select_layer -2; published mmproj F16 for
        // llava-v1.5-7b: 624 MB.
        let mut p = Self::tower(
            ProjectorKind::Llava,
            (1024, 4096, 16, 23),
            14,
            336,
            1,
            text_embd,
        );
        p.anyres = anyres;
        p
    }

    /// The weights buffer: every tensor at ggml's 32-byte alignment.
    #[must_use]
    pub fn weights_bytes(&self, wtype: GgmlType) -> u64 {
        self.tensors(wtype)
            .iter()
            .map(|t| t.bytes().div_ceil(ALIGN) * ALIGN)
            .sum()
    }

    /// Parameters.
    #[must_use]
    pub fn params(&self) -> u64 {
        self.tensors(GgmlType::F32)
            .iter()
            .map(|t| t.ne.iter().product::<u64>())
            .sum()
    }

    /// Patches of the image clip.cpp warms up with (`warmup_image_size` in `load_hparams`):
    /// Gemma 3, Llama 4, SmolVLM, InternVL and LLaVA at their image size; Qwen-VL at 46×46
    /// merged tokens; Pixtral at 16×16 (`set_warmup_n_tokens(256)`).
    #[must_use]
    pub fn warmup_patches(&self) -> u64 {
        match self.kind {
            ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl => (46 * self.merge).pow(2),
            ProjectorKind::Pixtral => (16 * self.merge).pow(2),
            _ => (self.image_size / self.patch).pow(2),
        }
    }

    /// Tokens one tile (or the fixed-size image) takes after merging.
    fn tile_tokens(&self) -> u64 {
        (self.image_size / self.patch / self.merge).pow(2)
    }

    /// Image tokens one image takes in the context: Gemma 3's fixed 256; Qwen-VL's at the
    /// warm-up size (dynamic: a `W×H` image takes `(W/28)·(H/28)` with Qwen2.5-VL's 14-pixel
    /// patches); the others for [`DEFAULT_PHOTO`].
    #[must_use]
    pub fn image_tokens(&self) -> u64 {
        match self.kind {
            ProjectorKind::Gemma3 => self.tile_tokens(),
            ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl => {
                self.warmup_patches() / self.merge.pow(2)
            }
            _ => self.image_tokens_for(DEFAULT_PHOTO.0, DEFAULT_PHOTO.1),
        }
    }

    /// Tiles a `w×h` image is encoded as (slices plus the overview), 1 for the untiled families.
    #[must_use]
    pub fn tiles_for(&self, w: u64, h: u64) -> u64 {
        let s = self.image_size;
        match self.kind {
            ProjectorKind::Llama4 if w > s || h > s => {
                // Grids of 1..3 × 1..3 tiles but not 1×1 (`set_llava_uhd_res_candidates(model, 3)`).
                let c: Vec<(u64, u64)> = (1..=3)
                    .flat_map(|x| (1..=3).map(move |y| (x * s, y * s)))
                    .filter(|&(cw, ch)| (cw, ch) != (s, s))
                    .collect();
                let (gw, gh) = best_resolution(w, h, &c);
                (gw / s) * (gh / s) + 1
            }
            ProjectorKind::InternVl if w > s || h > s => {
                // Every a×b grid with a·b ≤ 12 (`set_internvl_dhr_res_candidates`, max tiles 12).
                let c: Vec<(u64, u64)> = (1..=12u64)
                    .flat_map(|a| (1..=12 / a).map(move |b| (a * s, b * s)))
                    .collect();
                let (gw, gh) = best_resolution(w, h, &c);
                (gw / s) * (gh / s) + 1
            }
            ProjectorKind::Llava if self.anyres && (w > s || h > s) => {
                let (gw, gh) = best_resolution(w, h, &LLAVA_PINPOINTS);
                (gw / s) * (gh / s) + 1
            }
            ProjectorKind::Idefics3 if self.preproc > 0 => {
                let (gx, gy) = self.idefics3_grid(w, h);
                gx * gy + 1
            }
            _ => 1,
        }
    }

    /// SmolVLM's grid: the long side resized to `preproc` (small images are enlarged too), the
    /// short side in proportion and rounded up to even, then cut into `image_size` tiles.
    fn idefics3_grid(&self, w: u64, h: u64) -> (u64, u64) {
        let (l, s) = (self.preproc, self.image_size);
        let (w, h) = (w.max(1), h.max(1));
        let (w2, h2) = if w >= h {
            let h2 = (l * h / w).max(1);
            (l, h2 + h2 % 2)
        } else {
            let w2 = (l * w / h).max(1);
            (w2 + w2 % 2, l)
        };
        (w2.div_ceil(s), h2.div_ceil(s))
    }

    /// Context tokens a `w×h` image takes, with each family's resizing, tiling and separator
    /// tokens as libmtmd emits them (`mtmd-image.cpp`, `mtmd.cpp`).
    #[must_use]
    pub fn image_tokens_for(&self, w: u64, h: u64) -> u64 {
        let tile = self.tile_tokens();
        match self.kind {
            ProjectorKind::Gemma3 => tile,
            ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl => {
                let a = self.patch * self.merge;
                (w.div_ceil(a) * h.div_ceil(a)).max(1)
            }
            ProjectorKind::Pixtral => {
                let (gx, gy) = self.pixtral_grid(w, h);
                // One embedding per merged patch, an [IMG_BREAK] after every row but the last,
                // and the [IMG_END] text token.
                gx * gy + gy - 1 + 1
            }
            ProjectorKind::Llama4 => {
                // 144 per tile and the overview, `<|image_start|>` and `<|image_end|>`.
                tile * self.tiles_for(w, h) + 2
            }
            ProjectorKind::InternVl | ProjectorKind::Llava => tile * self.tiles_for(w, h),
            ProjectorKind::Idefics3 => {
                if self.preproc == 0 {
                    return tile;
                }
                // Each slice `<fake_token_around_image><row_r_col_c>`, a newline between rows,
                // and `\n\n<fake_token_around_image><global-img>…<fake_token_around_image>`
                // around the overview.
                let (gx, gy) = self.idefics3_grid(w, h);
                (gx * gy + 1) * tile + 2 * gx * gy + (gy - 1) + 4
            }
        }
    }

    /// Pixtral's merged grid for a `w×h` image: sides rounded to whole merged patches, scaled
    /// down past 1024 tokens or up below 8 (`calc_size_preserved_ratio`,
    /// `set_limit_image_tokens(8, 1024)`).
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn pixtral_grid(&self, w: u64, h: u64) -> (u64, u64) {
        let a = self.patch * self.merge;
        let (wf, hf, af) = (w.max(1) as f64, h.max(1) as f64, a as f64);
        let round = |x: f64| ((x / af).round() as u64 * a).max(a);
        let (mut gw, mut gh) = (round(wf), round(hf));
        if gw * gh > 1024 * a * a {
            let beta = (wf * hf / (1024.0 * af * af)).sqrt();
            gw = (((wf / beta / af).floor() as u64) * a).max(a);
            gh = (((hf / beta / af).floor() as u64) * a).max(a);
        } else if gw * gh < 8 * a * a {
            let beta = (8.0 * af * af / (wf * hf)).sqrt();
            gw = (((wf * beta / af).ceil() as u64) * a).max(a);
            gh = (((hf * beta / af).ceil() as u64) * a).max(a);
        }
        (gw / a, gh / a)
    }
}

/// LLaVA-NeXT's `select_best_resolution` as libmtmd has it: the candidate whose fitted image keeps
/// the most of the original's pixels, ties to the least padding.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn best_resolution(w: u64, h: u64, candidates: &[(u64, u64)]) -> (u64, u64) {
    let (w, h) = (w.max(1), h.max(1));
    let mut best = candidates[0];
    let (mut best_eff, mut best_waste) = (0u64, u64::MAX);
    for &(cw, ch) in candidates {
        let scale = (cw as f64 / w as f64).min(ch as f64 / h as f64);
        let (dw, dh) = ((w as f64 * scale) as u64, (h as f64 * scale) as u64);
        let eff = (dw * dh).min(w * h);
        let waste = cw * ch - eff;
        if eff > best_eff || (eff == best_eff && waste < best_waste) {
            (best, best_eff, best_waste) = ((cw, ch), eff, waste);
        }
    }
    best
}
