//! Each architecture's tensors and multiply-accumulates, in its checkpoint's order.

use super::{
    ClipTextConfig, FluxConfig, Latent, MmditConfig, QwenImageConfig, T5Config, UnetConfig,
    VaeConfig, B,
};

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

    pub(super) fn build(&self, lat: Latent) -> B {
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
    pub(super) fn build(&self, lat: Latent) -> B {
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
    pub(super) fn build(&self, lat: Latent) -> B {
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
    pub(super) fn build(&self, lat: Latent) -> B {
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
    pub(super) fn build(&self, tokens: u64) -> B {
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
    pub(super) fn build(&self, tokens: u64) -> B {
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
    pub(super) fn build(&self, lat: Latent) -> B {
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
