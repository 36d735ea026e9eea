//! Image-generation models: the parts of a diffusion pipeline (the denoiser — a UNet or a
//! transformer —, its text encoders and the VAE) as tensor inventories built from their published
//! configurations, and the multiply-accumulates of one forward pass at a latent size.
//!
//! Tensor names and shapes follow the original checkpoints' layouts (CompVis `ldm` for the UNets
//! and VAEs, Black Forest Labs' `flux`, Stability's `sd3` MMDiT, Hugging Face `transformers` for
//! CLIP and T5), which is what stable-diffusion.cpp, ComfyUI and the GGUF conversions of them load.
//! Shapes are PyTorch's (out, in, kh, kw); a weight's row, the dimension ggml quantizes in blocks,
//! is the last one. Each generator is checked against the published parameter counts in tests.

use serde::Serialize;

/// One weight of a pipeline part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffTensor {
    /// Name in the original checkpoint, without the part's prefix.
    pub name: String,
    /// PyTorch shape; the last dimension is the row ggml quantizes.
    pub shape: Vec<u64>,
}

impl DiffTensor {
    /// Number of elements.
    #[must_use]
    pub fn n_elements(&self) -> u64 {
        self.shape.iter().product()
    }
}

/// A latent UNet (CompVis `ldm.modules.diffusionmodules.openaimodel.UNetModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnetConfig {
    /// Latent channels in and out (4).
    pub in_channels: u64,
    /// Width of the first level (320).
    pub model_channels: u64,
    /// Width of each level as a multiple of `model_channels` (`[1, 2, 4, 4]`; SDXL `[1, 2, 4]`).
    pub channel_mult: Vec<u64>,
    /// Residual blocks per level going down (one more going up).
    pub num_res_blocks: u64,
    /// Transformer blocks per attention layer of each level (0: the level has no attention).
    pub transformer_depth: Vec<u64>,
    /// Transformer blocks in the middle block's attention layer.
    pub transformer_depth_middle: u64,
    /// Width of the text encoder's states the cross-attention reads (768, 1024, 2048).
    pub context_dim: u64,
    /// Width of the extra conditioning vector (SDXL's 2816 of pooled text and size embeddings).
    pub adm_in_channels: Option<u64>,
    /// Whether the transformers' `proj_in`/`proj_out` are linear layers (SD 2 and XL) rather than
    /// 1×1 convolutions (SD 1), whose rows of one element ggml cannot quantize.
    pub linear_proj: bool,
}

/// A Flux transformer (Black Forest Labs `flux.model.Flux`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FluxConfig {
    /// Width (3072).
    pub hidden: u64,
    /// Attention head width (128).
    pub head_dim: u64,
    /// Blocks with separate image and text weights (19).
    pub double_blocks: u64,
    /// Blocks over the joint sequence (38).
    pub single_blocks: u64,
    /// Patchified latent channels in (16 × 2 × 2 = 64).
    pub in_channels: u64,
    /// Width of the T5 states (4096).
    pub context_dim: u64,
    /// Width of the pooled CLIP vector (768).
    pub vec_dim: u64,
    /// FLUX.1 dev's distilled guidance embedding (schnell has none).
    pub guidance_embed: bool,
}

/// Stable Diffusion 3's MMDiT (Stability `sd3.mmditx.MMDiTX`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MmditConfig {
    /// Joint blocks; the width is 64 × depth (SD3.5 Large 38 → 2432, Medium 24 → 1536).
    pub depth: u64,
    /// Blocks (from the first) whose image stream has a second self-attention (MMDiT-X, SD3.5
    /// Medium: 13).
    pub x_attn2_blocks: u64,
    /// Side of the learned position table in patches (192; SD3.5 Medium 384).
    pub pos_embed_max: u64,
    /// Latent channels (16).
    pub in_channels: u64,
    /// Width of the T5/CLIP context (4096).
    pub context_dim: u64,
    /// Width of the pooled CLIP-L + CLIP-G vector (2048).
    pub pooled_dim: u64,
}

/// Qwen-Image's transformer (diffusers `QwenImageTransformer2DModel`): a double-stream MMDiT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QwenImageConfig {
    /// Blocks (60).
    pub layers: u64,
    /// Width (24 heads × 128).
    pub hidden: u64,
    /// Head width (128).
    pub head_dim: u64,
    /// Patchified latent channels in (16 × 2 × 2 = 64).
    pub in_channels: u64,
    /// Width of the Qwen2.5-VL states (3584).
    pub context_dim: u64,
}

/// A CLIP text transformer (`transformers` `CLIPTextModel`, with the projection for OpenCLIP bigG).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClipTextConfig {
    /// Width (768 CLIP-L, 1024 OpenCLIP ViT-H, 1280 bigG).
    pub hidden: u64,
    /// Blocks (12, 24, 32).
    pub layers: u64,
    /// MLP width (4 × hidden).
    pub ff: u64,
    /// Tokens (49408).
    pub vocab: u64,
    /// Positions (77).
    pub positions: u64,
    /// Whether the checkpoint carries the pooled output's projection (bigG).
    pub projection: bool,
}

/// A T5 v1.1 encoder (`transformers` `T5EncoderModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct T5Config {
    /// Width (4096 for XXL).
    pub d_model: u64,
    /// Attention width, heads × 64 (4096).
    pub inner: u64,
    /// Gated-GELU width (10240).
    pub d_ff: u64,
    /// Blocks (24).
    pub layers: u64,
    /// Tokens (32128).
    pub vocab: u64,
    /// Heads (64): the relative position bias has one column per head.
    pub heads: u64,
}

/// A convolutional VAE (`ldm.models.autoencoder.AutoencoderKL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VaeConfig {
    /// Latent channels (4; 16 for SD3 and Flux).
    pub z_channels: u64,
    /// Width of the full-resolution level (128).
    pub ch: u64,
    /// Level widths as multiples of `ch` (`[1, 2, 4, 4]`).
    pub ch_mult: Vec<u64>,
    /// Residual blocks per encoder level (one more per decoder level).
    pub num_res_blocks: u64,
    /// Whether the checkpoint has the 1×1 `quant_conv`/`post_quant_conv` (SD 1/2/XL yes; SD3 and
    /// Flux no).
    pub quant_conv: bool,
}

/// What a part of the pipeline is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartArch {
    Unet(UnetConfig),
    Flux(FluxConfig),
    Mmdit(MmditConfig),
    QwenImage(QwenImageConfig),
    ClipText(ClipTextConfig),
    T5(T5Config),
    /// A decoder-only LLM used as a text encoder (Qwen-Image's Qwen2.5-VL 7B): its tensors come
    /// from the text model's inventory, handed over as (name, shape) pairs.
    Llm {
        /// Catalog id of the text model.
        model: String,
        /// Width of its states.
        hidden: u64,
        /// Its blocks.
        layers: u64,
        /// Parameters.
        params: u64,
    },
    Vae(VaeConfig),
}

/// Multiply-accumulates of one forward pass, split where the engines' speed differs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Macs {
    /// Convolutions and matrix products with weights.
    pub weights: f64,
    /// Attention's two products (QKᵀ and AV), which have no weights.
    pub attention: f64,
}

impl Macs {
    /// Both.
    #[must_use]
    pub fn total(&self) -> f64 {
        self.weights + self.attention
    }
}

/// The latent the denoiser sees: `h × w` positions of the image / 8, and the text tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latent {
    /// Latent rows (image height / 8).
    pub h: u64,
    /// Latent columns (image width / 8).
    pub w: u64,
    /// Text tokens the denoiser attends to (77 for CLIP; 256 or 512 for T5).
    pub text_tokens: u64,
}

#[derive(Default)]
struct B {
    t: Vec<DiffTensor>,
    m: Macs,
}

impl B {
    fn w(&mut self, name: String, shape: &[u64]) {
        self.t.push(DiffTensor {
            name,
            shape: shape.to_vec(),
        });
    }
    /// A linear layer applied at `n` positions.
    #[allow(clippy::cast_precision_loss)]
    fn linear(&mut self, name: &str, out: u64, inp: u64, bias: bool, n: u64) {
        self.w(format!("{name}.weight"), &[out, inp]);
        if bias {
            self.w(format!("{name}.bias"), &[out]);
        }
        self.m.weights += (out * inp * n) as f64;
    }
    /// A `k × k` convolution producing `n` output positions.
    #[allow(clippy::cast_precision_loss)]
    fn conv(&mut self, name: &str, out: u64, inp: u64, k: u64, n: u64) {
        self.w(format!("{name}.weight"), &[out, inp, k, k]);
        self.w(format!("{name}.bias"), &[out]);
        self.m.weights += (out * inp * k * k * n) as f64;
    }
    fn norm(&mut self, name: &str, ch: u64, bias: bool) {
        self.w(format!("{name}.weight"), &[ch]);
        if bias {
            self.w(format!("{name}.bias"), &[ch]);
        }
    }
    /// Attention of `q` queries over `kv` keys at width `d`.
    #[allow(clippy::cast_precision_loss)]
    fn attention(&mut self, q: u64, kv: u64, d: u64) {
        self.m.attention += 2.0 * (q * kv * d) as f64;
    }
}

impl UnetConfig {
    fn res(b: &mut B, p: &str, inp: u64, out: u64, emb: u64, n: u64) {
        b.norm(&format!("{p}.in_layers.0"), inp, true);
        b.conv(&format!("{p}.in_layers.2"), out, inp, 3, n);
        b.linear(&format!("{p}.emb_layers.1"), out, emb, true, 1);
        b.norm(&format!("{p}.out_layers.0"), out, true);
        b.conv(&format!("{p}.out_layers.3"), out, out, 3, n);
        if inp != out {
            b.conv(&format!("{p}.skip_connection"), out, inp, 1, n);
        }
    }

    fn transformer(&self, b: &mut B, p: &str, ch: u64, depth: u64, n: u64, text: u64) {
        b.norm(&format!("{p}.norm"), ch, true);
        if self.linear_proj {
            b.linear(&format!("{p}.proj_in"), ch, ch, true, n);
        } else {
            b.conv(&format!("{p}.proj_in"), ch, ch, 1, n);
        }
        for d in 0..depth {
            let q = format!("{p}.transformer_blocks.{d}");
            for a in ["attn1", "attn2"] {
                let kv_in = if a == "attn1" { ch } else { self.context_dim };
                let kv_n = if a == "attn1" { n } else { text };
                b.linear(&format!("{q}.{a}.to_q"), ch, ch, false, n);
                b.linear(&format!("{q}.{a}.to_k"), ch, kv_in, false, kv_n);
                b.linear(&format!("{q}.{a}.to_v"), ch, kv_in, false, kv_n);
                b.linear(&format!("{q}.{a}.to_out.0"), ch, ch, true, n);
                b.attention(n, kv_n, ch);
            }
            b.linear(&format!("{q}.ff.net.0.proj"), 8 * ch, ch, true, n);
            b.linear(&format!("{q}.ff.net.2"), ch, 4 * ch, true, n);
            for i in 1..=3 {
                b.norm(&format!("{q}.norm{i}"), ch, true);
            }
        }
        if self.linear_proj {
            b.linear(&format!("{p}.proj_out"), ch, ch, true, n);
        } else {
            b.conv(&format!("{p}.proj_out"), ch, ch, 1, n);
        }
    }

    fn build(&self, lat: Latent) -> B {
        let mut b = B::default();
        let c = self.model_channels;
        let emb = 4 * c;
        b.linear("time_embed.0", emb, c, true, 1);
        b.linear("time_embed.2", emb, emb, true, 1);
        if let Some(adm) = self.adm_in_channels {
            b.linear("label_emb.0.0", emb, adm, true, 1);
            b.linear("label_emb.0.2", emb, emb, true, 1);
        }
        let (mut h, mut w) = (lat.h, lat.w);
        b.conv("input_blocks.0.0", c, self.in_channels, 3, h * w);
        let mut skips = vec![c];
        let mut ch = c;
        let mut i = 1;
        let last = self.channel_mult.len() - 1;
        for (level, &mult) in self.channel_mult.iter().enumerate() {
            for _ in 0..self.num_res_blocks {
                Self::res(
                    &mut b,
                    &format!("input_blocks.{i}.0"),
                    ch,
                    mult * c,
                    emb,
                    h * w,
                );
                ch = mult * c;
                if self.transformer_depth[level] > 0 {
                    let p = format!("input_blocks.{i}.1");
                    let d = self.transformer_depth[level];
                    self.transformer(&mut b, &p, ch, d, h * w, lat.text_tokens);
                }
                skips.push(ch);
                i += 1;
            }
            if level != last {
                h = h.div_ceil(2);
                w = w.div_ceil(2);
                b.conv(&format!("input_blocks.{i}.0.op"), ch, ch, 3, h * w);
                skips.push(ch);
                i += 1;
            }
        }
        Self::res(&mut b, "middle_block.0", ch, ch, emb, h * w);
        let d = self.transformer_depth_middle;
        self.transformer(&mut b, "middle_block.1", ch, d, h * w, lat.text_tokens);
        Self::res(&mut b, "middle_block.2", ch, ch, emb, h * w);
        let mut i = 0;
        for (level, &mult) in self.channel_mult.iter().enumerate().rev() {
            for r in 0..=self.num_res_blocks {
                let skip = skips.pop().unwrap_or(0);
                let p = format!("output_blocks.{i}");
                Self::res(&mut b, &format!("{p}.0"), ch + skip, mult * c, emb, h * w);
                ch = mult * c;
                let mut j = 1;
                if self.transformer_depth[level] > 0 {
                    let d = self.transformer_depth[level];
                    self.transformer(&mut b, &format!("{p}.1"), ch, d, h * w, lat.text_tokens);
                    j = 2;
                }
                if level != 0 && r == self.num_res_blocks {
                    h *= 2;
                    w *= 2;
                    b.conv(&format!("{p}.{j}.conv"), ch, ch, 3, h * w);
                }
                i += 1;
            }
        }
        b.norm("out.0", c, true);
        b.conv("out.2", self.in_channels, c, 3, h * w);
        b
    }
}

impl FluxConfig {
    fn build(&self, lat: Latent) -> B {
        let mut b = B::default();
        let h = self.hidden;
        // 2 × 2 patches of the latent.
        let img = lat.h.div_ceil(2) * lat.w.div_ceil(2);
        let txt = lat.text_tokens;
        b.linear("img_in", h, self.in_channels, true, img);
        let mlp_embedder = |b: &mut B, p: &str, inp: u64| {
            b.linear(&format!("{p}.in_layer"), h, inp, true, 1);
            b.linear(&format!("{p}.out_layer"), h, h, true, 1);
        };
        mlp_embedder(&mut b, "time_in", 256);
        if self.guidance_embed {
            mlp_embedder(&mut b, "guidance_in", 256);
        }
        mlp_embedder(&mut b, "vector_in", self.vec_dim);
        b.linear("txt_in", h, self.context_dim, true, txt);
        for i in 0..self.double_blocks {
            for (s, n) in [("img", img), ("txt", txt)] {
                let p = format!("double_blocks.{i}.{s}");
                b.linear(&format!("{p}_mod.lin"), 6 * h, h, true, 1);
                b.linear(&format!("{p}_attn.qkv"), 3 * h, h, true, n);
                b.norm(
                    &format!("{p}_attn.norm.query_norm.scale"),
                    self.head_dim,
                    false,
                );
                b.norm(
                    &format!("{p}_attn.norm.key_norm.scale"),
                    self.head_dim,
                    false,
                );
                b.linear(&format!("{p}_attn.proj"), h, h, true, n);
                b.linear(&format!("{p}_mlp.0"), 4 * h, h, true, n);
                b.linear(&format!("{p}_mlp.2"), h, 4 * h, true, n);
            }
            b.attention(img + txt, img + txt, h);
        }
        for i in 0..self.single_blocks {
            let p = format!("single_blocks.{i}");
            let n = img + txt;
            b.linear(&format!("{p}.modulation.lin"), 3 * h, h, true, 1);
            b.linear(&format!("{p}.linear1"), 3 * h + 4 * h, h, true, n);
            b.linear(&format!("{p}.linear2"), h, h + 4 * h, true, n);
            b.norm(&format!("{p}.norm.query_norm.scale"), self.head_dim, false);
            b.norm(&format!("{p}.norm.key_norm.scale"), self.head_dim, false);
            b.attention(n, n, h);
        }
        b.linear("final_layer.adaLN_modulation.1", 2 * h, h, true, 1);
        b.linear("final_layer.linear", self.in_channels, h, true, img);
        // The Flux norms are stored as `…norm.query_norm.scale` without a `.weight` suffix.
        for t in &mut b.t {
            if let Some(s) = t.name.strip_suffix(".scale.weight") {
                t.name = format!("{s}.scale");
            }
        }
        b
    }
}

impl MmditConfig {
    fn build(&self, lat: Latent) -> B {
        let mut b = B::default();
        let h = 64 * self.depth;
        let img = lat.h.div_ceil(2) * lat.w.div_ceil(2);
        let txt = lat.text_tokens;
        let p2 = self.in_channels * 4;
        b.w(
            "pos_embed".into(),
            &[1, self.pos_embed_max * self.pos_embed_max, h],
        );
        b.conv("x_embedder.proj", h, self.in_channels, 2, img);
        b.linear("t_embedder.mlp.0", h, 256, true, 1);
        b.linear("t_embedder.mlp.2", h, h, true, 1);
        b.linear("y_embedder.mlp.0", h, self.pooled_dim, true, 1);
        b.linear("y_embedder.mlp.2", h, h, true, 1);
        b.linear("context_embedder", h, self.context_dim, true, txt);
        for i in 0..self.depth {
            let last = i + 1 == self.depth;
            for (s, n) in [("x_block", img), ("context_block", txt)] {
                let p = format!("joint_blocks.{i}.{s}");
                let pre_only = last && s == "context_block";
                let attn2 = s == "x_block" && i < self.x_attn2_blocks;
                let mods = if pre_only {
                    2
                } else if attn2 {
                    9
                } else {
                    6
                };
                b.linear(&format!("{p}.adaLN_modulation.1"), mods * h, h, true, 1);
                b.linear(&format!("{p}.attn.qkv"), 3 * h, h, true, n);
                b.norm(&format!("{p}.attn.ln_q"), 64, false);
                b.norm(&format!("{p}.attn.ln_k"), 64, false);
                if !pre_only {
                    b.linear(&format!("{p}.attn.proj"), h, h, true, n);
                    b.linear(&format!("{p}.mlp.fc1"), 4 * h, h, true, n);
                    b.linear(&format!("{p}.mlp.fc2"), h, 4 * h, true, n);
                }
                if attn2 {
                    b.linear(&format!("{p}.attn2.qkv"), 3 * h, h, true, n);
                    b.norm(&format!("{p}.attn2.ln_q"), 64, false);
                    b.norm(&format!("{p}.attn2.ln_k"), 64, false);
                    b.linear(&format!("{p}.attn2.proj"), h, h, true, n);
                    b.attention(img, img, h);
                }
            }
            b.attention(img + txt, img + txt, h);
        }
        b.linear("final_layer.adaLN_modulation.1", 2 * h, h, true, 1);
        b.linear("final_layer.linear", p2, h, true, img);
        b
    }
}

impl QwenImageConfig {
    fn build(&self, lat: Latent) -> B {
        let mut b = B::default();
        let h = self.hidden;
        let img = lat.h.div_ceil(2) * lat.w.div_ceil(2);
        let txt = lat.text_tokens;
        b.linear("img_in", h, self.in_channels, true, img);
        b.norm("txt_norm", self.context_dim, false);
        b.linear("txt_in", h, self.context_dim, true, txt);
        b.linear(
            "time_text_embed.timestep_embedder.linear_1",
            h,
            256,
            true,
            1,
        );
        b.linear("time_text_embed.timestep_embedder.linear_2", h, h, true, 1);
        for i in 0..self.layers {
            let p = format!("transformer_blocks.{i}");
            for (s, n) in [("img", img), ("txt", txt)] {
                b.linear(&format!("{p}.{s}_mod.1"), 6 * h, h, true, 1);
                b.linear(&format!("{p}.{s}_mlp.net.0.proj"), 4 * h, h, true, n);
                b.linear(&format!("{p}.{s}_mlp.net.2"), h, 4 * h, true, n);
            }
            for (q, n) in [("to", img), ("add", txt)] {
                let sfx = if q == "to" { "" } else { "_proj" };
                for x in ["q", "k", "v"] {
                    b.linear(&format!("{p}.attn.{q}_{x}{sfx}"), h, h, true, n);
                }
            }
            b.linear(&format!("{p}.attn.to_out.0"), h, h, true, img);
            b.linear(&format!("{p}.attn.to_add_out"), h, h, true, txt);
            for nrm in ["norm_q", "norm_k", "norm_added_q", "norm_added_k"] {
                b.norm(&format!("{p}.attn.{nrm}"), self.head_dim, false);
            }
            b.attention(img + txt, img + txt, h);
        }
        b.linear("norm_out.linear", 2 * h, h, true, 1);
        b.linear("proj_out", self.in_channels, h, true, img);
        b
    }
}

impl ClipTextConfig {
    fn build(&self, tokens: u64) -> B {
        let mut b = B::default();
        let d = self.hidden;
        b.w(
            "text_model.embeddings.token_embedding.weight".into(),
            &[self.vocab, d],
        );
        b.w(
            "text_model.embeddings.position_embedding.weight".into(),
            &[self.positions, d],
        );
        for i in 0..self.layers {
            let p = format!("text_model.encoder.layers.{i}");
            for x in ["q", "k", "v", "out"] {
                b.linear(&format!("{p}.self_attn.{x}_proj"), d, d, true, tokens);
            }
            b.norm(&format!("{p}.layer_norm1"), d, true);
            b.norm(&format!("{p}.layer_norm2"), d, true);
            b.linear(&format!("{p}.mlp.fc1"), self.ff, d, true, tokens);
            b.linear(&format!("{p}.mlp.fc2"), d, self.ff, true, tokens);
            b.attention(tokens, tokens, d);
        }
        b.norm("text_model.final_layer_norm", d, true);
        if self.projection {
            b.linear("text_projection", d, d, false, 1);
        }
        b
    }
}

impl T5Config {
    fn build(&self, tokens: u64) -> B {
        let mut b = B::default();
        let (d, i) = (self.d_model, self.inner);
        b.w("shared.weight".into(), &[self.vocab, d]);
        for l in 0..self.layers {
            let p = format!("encoder.block.{l}.layer");
            for x in ["q", "k", "v"] {
                b.linear(&format!("{p}.0.SelfAttention.{x}"), i, d, false, tokens);
            }
            b.linear(&format!("{p}.0.SelfAttention.o"), d, i, false, tokens);
            if l == 0 {
                b.w(
                    format!("{p}.0.SelfAttention.relative_attention_bias.weight"),
                    &[32, self.heads],
                );
            }
            b.norm(&format!("{p}.0.layer_norm"), d, false);
            b.linear(
                &format!("{p}.1.DenseReluDense.wi_0"),
                self.d_ff,
                d,
                false,
                tokens,
            );
            b.linear(
                &format!("{p}.1.DenseReluDense.wi_1"),
                self.d_ff,
                d,
                false,
                tokens,
            );
            b.linear(
                &format!("{p}.1.DenseReluDense.wo"),
                d,
                self.d_ff,
                false,
                tokens,
            );
            b.norm(&format!("{p}.1.layer_norm"), d, false);
            b.attention(tokens, tokens, i);
        }
        b.norm("encoder.final_layer_norm", d, false);
        b
    }
}

impl VaeConfig {
    fn res(b: &mut B, p: &str, inp: u64, out: u64, n: u64) {
        b.norm(&format!("{p}.norm1"), inp, true);
        b.conv(&format!("{p}.conv1"), out, inp, 3, n);
        b.norm(&format!("{p}.norm2"), out, true);
        b.conv(&format!("{p}.conv2"), out, out, 3, n);
        if inp != out {
            b.conv(&format!("{p}.nin_shortcut"), out, inp, 1, n);
        }
    }
    fn attn(b: &mut B, p: &str, ch: u64, n: u64) {
        b.norm(&format!("{p}.norm"), ch, true);
        for x in ["q", "k", "v", "proj_out"] {
            b.conv(&format!("{p}.{x}"), ch, ch, 1, n);
        }
        b.attention(n, n, ch);
    }

    /// The encoder's tensors (the decode MACs are not counted: txt2img never encodes).
    fn encoder(&self, b: &mut B) {
        let mut m = B::default();
        let c = self.ch;
        m.conv("encoder.conv_in", c, 3, 3, 0);
        let mut ch = c;
        let last = self.ch_mult.len() - 1;
        for (l, &mult) in self.ch_mult.iter().enumerate() {
            for r in 0..self.num_res_blocks {
                Self::res(
                    &mut m,
                    &format!("encoder.down.{l}.block.{r}"),
                    ch,
                    mult * c,
                    0,
                );
                ch = mult * c;
            }
            if l != last {
                m.conv(&format!("encoder.down.{l}.downsample.conv"), ch, ch, 3, 0);
            }
        }
        Self::res(&mut m, "encoder.mid.block_1", ch, ch, 0);
        Self::attn(&mut m, "encoder.mid.attn_1", ch, 0);
        Self::res(&mut m, "encoder.mid.block_2", ch, ch, 0);
        m.norm("encoder.norm_out", ch, true);
        m.conv("encoder.conv_out", 2 * self.z_channels, ch, 3, 0);
        if self.quant_conv {
            let z2 = 2 * self.z_channels;
            m.conv("quant_conv", z2, z2, 1, 0);
        }
        b.t.extend(m.t);
    }

    /// The decoder from a `lat.h × lat.w` latent to the image.
    fn build(&self, lat: Latent) -> B {
        let mut b = B::default();
        self.encoder(&mut b);
        let c = self.ch;
        let levels = self.ch_mult.len();
        let mut ch = c * self.ch_mult[levels - 1];
        let (mut h, mut w) = (lat.h, lat.w);
        if self.quant_conv {
            let z = self.z_channels;
            b.conv("post_quant_conv", z, z, 1, h * w);
        }
        b.conv("decoder.conv_in", ch, self.z_channels, 3, h * w);
        Self::res(&mut b, "decoder.mid.block_1", ch, ch, h * w);
        Self::attn(&mut b, "decoder.mid.attn_1", ch, h * w);
        Self::res(&mut b, "decoder.mid.block_2", ch, ch, h * w);
        for l in (0..levels).rev() {
            let out = c * self.ch_mult[l];
            for r in 0..=self.num_res_blocks {
                let p = format!("decoder.up.{l}.block.{r}");
                Self::res(&mut b, &p, ch, out, h * w);
                ch = out;
            }
            if l != 0 {
                h *= 2;
                w *= 2;
                b.conv(&format!("decoder.up.{l}.upsample.conv"), ch, ch, 3, h * w);
            }
        }
        b.norm("decoder.norm_out", ch, true);
        b.conv("decoder.conv_out", 3, ch, 3, h * w);
        b
    }
}

impl PartArch {
    fn build(&self, lat: Latent) -> B {
        match self {
            PartArch::Unet(c) => c.build(lat),
            PartArch::Flux(c) => c.build(lat),
            PartArch::Mmdit(c) => c.build(lat),
            PartArch::QwenImage(c) => c.build(lat),
            PartArch::ClipText(c) => c.build(c.positions.min(lat.text_tokens.max(1))),
            PartArch::T5(c) => c.build(lat.text_tokens),
            PartArch::Vae(c) => c.build(lat),
            PartArch::Llm { params, .. } => {
                // A decoder LLM reads its weights once per token of the prompt.
                #[allow(clippy::cast_precision_loss)]
                let m = Macs {
                    weights: (*params * lat.text_tokens) as f64,
                    attention: 0.0,
                };
                B { t: Vec::new(), m }
            }
        }
    }

    /// The part's weights (empty for [`PartArch::Llm`], whose tensors the caller has).
    #[must_use]
    pub fn tensors(&self) -> Vec<DiffTensor> {
        self.build(Latent {
            h: 8,
            w: 8,
            text_tokens: 1,
        })
        .t
    }

    /// Parameters.
    #[must_use]
    pub fn params(&self) -> u64 {
        match self {
            PartArch::Llm { params, .. } => *params,
            _ => self.tensors().iter().map(DiffTensor::n_elements).sum(),
        }
    }

    /// Multiply-accumulates of one forward pass over `lat` (the denoiser: one step for one image
    /// and one guidance branch; a text encoder: one prompt; the VAE: one decode).
    #[must_use]
    pub fn macs(&self, lat: Latent) -> Macs {
        self.build(lat).m
    }

    /// Whether this is the denoiser (UNet or transformer).
    #[must_use]
    pub fn is_denoiser(&self) -> bool {
        matches!(
            self,
            PartArch::Unet(_) | PartArch::Flux(_) | PartArch::Mmdit(_) | PartArch::QwenImage(_)
        )
    }
}

/// What a part does in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartRole {
    /// The UNet or transformer that runs every step.
    Denoiser,
    /// A text encoder, run once per prompt.
    TextEncoder,
    /// The VAE, whose decoder turns the final latent into pixels once per image.
    Vae,
}

impl PartRole {
    /// The role's name in the JSON `components` (`unet`/`dit` for the denoiser).
    #[must_use]
    pub fn json_name(self, arch: &PartArch) -> &'static str {
        match self {
            PartRole::Denoiser if matches!(arch, PartArch::Unet(_)) => "unet",
            PartRole::Denoiser => "dit",
            PartRole::TextEncoder => "text-encoder",
            PartRole::Vae => "vae",
        }
    }
}

/// How weights are stored: a ggml type (F32, F16, BF16 or a GGUF quant) or FP8 (E4M3FN
/// safetensors, which the PyTorch engines keep as one byte per weight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WeightFormat {
    Ggml(crate::quant::GgmlType),
    Fp8,
}

impl WeightFormat {
    /// The name users write (`f16`, `bf16`, `fp8`, `q8_0`, `q4_k`).
    #[must_use]
    pub fn name(self) -> String {
        match self {
            WeightFormat::Ggml(t) => t.name().to_ascii_lowercase(),
            WeightFormat::Fp8 => "fp8".into(),
        }
    }

    /// Parses a name (`fp16` and `f16` alike; `fp8`, `fp8_e4m3fn`; any ggml type; `Q4_K_M`-style
    /// llama.cpp file-type names give their main type, which is what a diffusion GGUF holds).
    #[must_use]
    pub fn parse(s: &str) -> Option<WeightFormat> {
        use crate::quant::GgmlType as G;
        let l = s.trim().to_ascii_lowercase();
        Some(match l.as_str() {
            "fp16" | "f16" | "float16" => WeightFormat::Ggml(G::F16),
            "bf16" | "bfloat16" => WeightFormat::Ggml(G::BF16),
            "fp32" | "f32" | "float32" => WeightFormat::Ggml(G::F32),
            "fp8" | "fp8_e4m3fn" | "fp8_e4m3" | "f8_e4m3" | "e4m3fn" | "fp8_e5m2" => {
                WeightFormat::Fp8
            }
            "q4_k_m" | "q4_k_s" => WeightFormat::Ggml(G::Q4_K),
            "q5_k_m" | "q5_k_s" => WeightFormat::Ggml(G::Q5_K),
            "q3_k_m" | "q3_k_s" | "q3_k_l" => WeightFormat::Ggml(G::Q3_K),
            "q2_k_s" => WeightFormat::Ggml(G::Q2_K),
            _ => WeightFormat::Ggml(G::from_name(&l)?),
        })
    }
}

/// One part of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// What it does.
    pub role: PartRole,
    /// Its usual name (`unet`, `flux`, `clip-l`, `t5xxl`, `vae`).
    pub name: String,
    /// Its architecture.
    pub arch: PartArch,
    /// The format its usual file holds (`t5xxl_fp16.safetensors`: F16).
    pub format: WeightFormat,
}

/// Whether a step runs the denoiser once or twice (classifier-free guidance: a conditional and
/// an unconditional pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guidance {
    /// Two passes per step (SD 1.5/2.1/XL/3.5, Qwen-Image at CFG > 1).
    Cfg,
    /// One pass per step: guidance distilled into the model (FLUX.1 dev, schnell).
    Distilled,
}

/// An image-generation model: its parts and the defaults its makers publish.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    /// The parts, denoiser first.
    pub parts: Vec<Part>,
    /// Sampling steps the model card recommends.
    pub steps: u32,
    /// Native resolution.
    pub width: u32,
    /// Native resolution.
    pub height: u32,
    /// Passes per step.
    pub guidance: Guidance,
    /// Text tokens the denoiser attends to.
    pub text_tokens: u64,
    /// Latent channels (4 for SD 1/2/XL, 16 for SD3, Flux and Qwen-Image).
    pub latent_channels: u64,
}

impl Pipeline {
    /// The denoiser.
    ///
    /// # Panics
    /// A pipeline without one (the catalog's all have one).
    #[must_use]
    pub fn denoiser(&self) -> &Part {
        self.parts
            .iter()
            .find(|p| p.role == PartRole::Denoiser)
            .expect("a pipeline has a denoiser")
    }

    /// The latent of a `width × height` image (the VAE downsamples 8×).
    #[must_use]
    pub fn latent(&self, width: u32, height: u32) -> Latent {
        Latent {
            h: u64::from(height).div_ceil(8),
            w: u64::from(width).div_ceil(8),
            text_tokens: self.text_tokens,
        }
    }

    /// Passes of the denoiser per step.
    #[must_use]
    pub fn passes(&self) -> u64 {
        match self.guidance {
            Guidance::Cfg => 2,
            Guidance::Distilled => 1,
        }
    }

    /// Parameters of all parts.
    #[must_use]
    pub fn params(&self) -> u64 {
        self.parts.iter().map(|p| p.arch.params()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sd15_unet() -> PartArch {
        PartArch::Unet(UnetConfig {
            in_channels: 4,
            model_channels: 320,
            channel_mult: vec![1, 2, 4, 4],
            num_res_blocks: 2,
            transformer_depth: vec![1, 1, 1, 0],
            transformer_depth_middle: 1,
            context_dim: 768,
            adm_in_channels: None,
            linear_proj: false,
        })
    }

    #[test]
    fn sdxl_and_flux_have_their_published_sizes() {
        let sdxl = PartArch::Unet(UnetConfig {
            in_channels: 4,
            model_channels: 320,
            channel_mult: vec![1, 2, 4],
            num_res_blocks: 2,
            transformer_depth: vec![0, 2, 10],
            transformer_depth_middle: 10,
            context_dim: 2048,
            adm_in_channels: Some(2816),
            linear_proj: true,
        });
        let flux = PartArch::Flux(FluxConfig {
            hidden: 3072,
            head_dim: 128,
            double_blocks: 19,
            single_blocks: 38,
            in_channels: 64,
            context_dim: 4096,
            vec_dim: 768,
            guidance_embed: true,
        });
        assert_eq!(sdxl.params(), 2_567_463_684);
        // black-forest-labs/FLUX.1-dev: 11,901,408,320 parameters (flux1-dev.safetensors, BF16,
        // 23.8 GB).
        assert_eq!(flux.params(), 11_901_408_320);
        // One SDXL UNet pass at 1024² is about 3.4 T multiply-adds; FLUX's at 1024² with T5's 512
        // tokens about 37 T (2 × params × tokens for the blocks' matrices, attention on top).
        let big = Latent {
            h: 128,
            w: 128,
            text_tokens: 512,
        };
        let m = flux.macs(big);
        assert!(m.weights > 29e12 && m.weights < 31e12, "{m:?}");
        let clip = Latent {
            text_tokens: 77,
            ..big
        };
        let x = sdxl.macs(clip).weights;
        assert!(x > 2.9e12 && x < 3.1e12, "{x}");
    }

    #[test]
    fn sd15_parts_have_their_published_sizes() {
        // diffusers' UNet2DConditionModel for runwayml/stable-diffusion-v1-5 counts 859,520,964
        // parameters; CLIPTextModel (openai/clip-vit-large-patch14) 123,060,480; AutoencoderKL
        // 83,653,863.
        assert_eq!(sd15_unet().params(), 859_520_964);
        let clip_l = PartArch::ClipText(ClipTextConfig {
            hidden: 768,
            layers: 12,
            ff: 3072,
            vocab: 49408,
            positions: 77,
            projection: false,
        });
        assert_eq!(clip_l.params(), 123_060_480);
        let vae = PartArch::Vae(VaeConfig {
            z_channels: 4,
            ch: 128,
            ch_mult: vec![1, 2, 4, 4],
            num_res_blocks: 2,
            quant_conv: true,
        });
        assert_eq!(vae.params(), 83_653_863);
    }

    #[test]
    fn t5_xxl_encoder_has_its_published_size() {
        let t5 = PartArch::T5(T5Config {
            d_model: 4096,
            inner: 4096,
            d_ff: 10240,
            layers: 24,
            vocab: 32128,
            heads: 64,
        });
        // google/t5-v1_1-xxl's encoder: 4,762,310,656 parameters (T5EncoderModel).
        assert_eq!(t5.params(), 4_762_310_656);
    }

    #[test]
    fn unet_work_grows_with_the_latent() {
        let u = sd15_unet();
        let small = u.macs(Latent {
            h: 64,
            w: 64,
            text_tokens: 77,
        });
        let big = u.macs(Latent {
            h: 128,
            w: 128,
            text_tokens: 77,
        });
        assert!(big.weights > 3.9 * small.weights && big.weights < 4.1 * small.weights);
        assert!(big.attention > 10.0 * small.attention);
    }
}
