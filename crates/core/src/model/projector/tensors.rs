//! Each projector family's tensors as the converter writes them and clip.cpp loads them.

use super::{ProjectorKind, ProjectorSpec, ProjectorTensor};
use crate::quant::GgmlType;

/// Collects tensors, applying the converter's fallback: a quantized matrix whose rows its blocks
/// do not divide is written F16.
struct Out(Vec<ProjectorTensor>);

impl Out {
    fn add(&mut self, name: impl Into<String>, ne: &[u64], t: GgmlType) {
        let mut full = [1u64; 4];
        full[..ne.len()].copy_from_slice(ne);
        let t = if t.is_quantized() && full[0] % t.block_size() != 0 {
            GgmlType::F16
        } else {
            t
        };
        self.0.push(ProjectorTensor {
            name: name.into(),
            ne: full,
            ggml_type: t,
        });
    }

    /// A weight and its bias.
    fn linear(&mut self, name: &str, n_in: u64, n_out: u64, t: GgmlType) {
        self.add(format!("{name}.weight"), &[n_in, n_out], t);
        self.add(format!("{name}.bias"), &[n_out], GgmlType::F32);
    }

    /// A LayerNorm's weight and bias.
    fn norm(&mut self, name: &str, n: u64) {
        self.add(format!("{name}.weight"), &[n], GgmlType::F32);
        self.add(format!("{name}.bias"), &[n], GgmlType::F32);
    }
}

const F32: GgmlType = GgmlType::F32;

impl ProjectorSpec {
    /// The tensors of the projector file with matrices of `wtype` (F16, BF16, F32 or Q8_0).
    #[must_use]
    pub fn tensors(&self, wtype: GgmlType) -> Vec<ProjectorTensor> {
        let mut o = Out(Vec::with_capacity(self.n_layer as usize * 20 + 16));
        // `MmprojModel.tensor_force_quant`: the patch convolution (and Pixtral's merger) is F16 in
        // an F16 file and F32 in any other.
        let f16_or_f32 = if wtype == GgmlType::F16 {
            GgmlType::F16
        } else {
            F32
        };
        match self.kind {
            ProjectorKind::Gemma3 => self.gemma3_tensors(&mut o, wtype),
            ProjectorKind::Qwen25Vl => self.qwen25vl_tensors(&mut o, wtype, f16_or_f32),
            ProjectorKind::Qwen3Vl => self.qwen3vl_tensors(&mut o, wtype, f16_or_f32),
            ProjectorKind::Pixtral => self.pixtral_tensors(&mut o, wtype, f16_or_f32),
            ProjectorKind::Llama4 => self.llama4_tensors(&mut o, wtype, f16_or_f32),
            ProjectorKind::Idefics3 => self.idefics3_tensors(&mut o, wtype),
            ProjectorKind::InternVl => self.internvl_tensors(&mut o, wtype, f16_or_f32),
            ProjectorKind::Llava => self.llava_tensors(&mut o, wtype),
        }
        o.0
    }

    /// SigLIP's blocks (Gemma 3, SmolVLM): LayerNorms, biased Q/K/V/O, a GELU FFN.
    fn siglip_blocks(&self, o: &mut Out, wtype: GgmlType) {
        let (e, f) = (self.n_embd, self.n_ff);
        for il in 0..self.n_layer {
            let b = |t: &str| format!("v.blk.{il}.{t}");
            o.norm(&b("ln1"), e);
            o.norm(&b("ln2"), e);
            for n in ["attn_q", "attn_k", "attn_v", "attn_out"] {
                o.linear(&b(n), e, e, wtype);
            }
            o.linear(&b("ffn_up"), e, f, wtype);
            o.linear(&b("ffn_down"), f, e, wtype);
        }
    }

    fn gemma3_tensors(&self, o: &mut Out, wtype: GgmlType) {
        let (e, p, d) = (self.n_embd, self.patch, self.text_embd);
        // Gemma 3's patch embedding is always F32, its input projection F16 (gemma.py).
        o.add("v.patch_embd.weight", &[p, p, 3, e], F32);
        o.add("v.patch_embd.bias", &[e], F32);
        o.add("v.position_embd.weight", &[e, self.warmup_patches()], F32);
        self.siglip_blocks(o, wtype);
        o.norm("v.post_ln", e);
        o.add("mm.input_projection.weight", &[d, e], GgmlType::F16);
        o.add("mm.soft_emb_norm.weight", &[e], F32);
    }

    fn qwen25vl_tensors(&self, o: &mut Out, wtype: GgmlType, patch: GgmlType) {
        let (e, f, p) = (self.n_embd, self.n_ff, self.patch);
        o.add("v.patch_embd.weight", &[p, p, 3, e], patch);
        o.add("v.patch_embd.weight.1", &[p, p, 3, e], patch);
        for il in 0..self.n_layer {
            let b = |t: &str| format!("v.blk.{il}.{t}");
            o.add(b("ln1.weight"), &[e], F32);
            o.add(b("ln2.weight"), &[e], F32);
            for n in ["attn_q", "attn_k", "attn_v", "attn_out"] {
                o.linear(&b(n), e, e, wtype);
            }
            o.linear(&b("ffn_gate"), e, f, wtype);
            o.linear(&b("ffn_up"), e, f, wtype);
            o.linear(&b("ffn_down"), f, e, wtype);
        }
        o.add("v.post_ln.weight", &[e], F32);
        self.qwen_merger(o, wtype);
    }

    fn qwen3vl_tensors(&self, o: &mut Out, wtype: GgmlType, patch: GgmlType) {
        let (e, f, p, d) = (self.n_embd, self.n_ff, self.patch, self.text_embd);
        o.add("v.patch_embd.weight", &[p, p, 3, e], patch);
        o.add("v.patch_embd.weight.1", &[p, p, 3, e], patch);
        o.add("v.patch_embd.bias", &[e], F32);
        o.add("v.position_embd.weight", &[e, self.n_pos], F32);
        let ds = self.deepstack_layers();
        for il in 0..self.n_layer {
            let b = |t: &str| format!("v.blk.{il}.{t}");
            o.norm(&b("ln1"), e);
            o.norm(&b("ln2"), e);
            o.linear(&b("attn_qkv"), e, 3 * e, wtype);
            o.linear(&b("attn_out"), e, e, wtype);
            o.linear(&b("ffn_up"), e, f, wtype);
            o.linear(&b("ffn_down"), f, e, wtype);
            if ds.contains(&il) {
                let q = |t: &str| format!("v.deepstack.{il}.{t}");
                o.norm(&q("norm"), 4 * e);
                o.linear(&q("fc1"), 4 * e, 4 * e, wtype);
                o.linear(&q("fc2"), 4 * e, d, wtype);
            }
        }
        o.norm("v.post_ln", e);
        self.qwen_merger(o, wtype);
    }

    /// Qwen's patch merger: 2×2 patches concatenated (4E), an MLP to the text width.
    fn qwen_merger(&self, o: &mut Out, wtype: GgmlType) {
        let (e4, d) = (4 * self.n_embd, self.text_embd);
        o.linear("mm.0", e4, e4, wtype);
        o.linear("mm.2", e4, d, wtype);
    }

    /// Qwen3-VL's deep-stack blocks (`vision_config.deepstack_visual_indexes`, a list in the
    /// config rather than a rule): [5, 11, 17] of the 24-block tower (2B, 4B), [8, 16, 24] of the
    /// 27-block one (8B, 32B, 30B-A3B, 235B-A22B); spread evenly for other shapes.
    pub(super) fn deepstack_layers(&self) -> Vec<u32> {
        let (l, n) = (self.n_layer, self.deepstack);
        match (l, n) {
            (_, 0) => Vec::new(),
            (24, 3) => vec![5, 11, 17],
            (27, 3) => vec![8, 16, 24],
            _ => {
                let step = (l / (n + 1)).max(1);
                (1..=n).map(|i| (i * step).min(l - 1)).collect()
            }
        }
    }

    fn pixtral_tensors(&self, o: &mut Out, wtype: GgmlType, patch: GgmlType) {
        let (e, f, p, d, m) = (
            self.n_embd,
            self.n_ff,
            self.patch,
            self.text_embd,
            self.merge,
        );
        o.add("v.patch_embd.weight", &[p, p, 3, e], patch);
        o.add("v.pre_ln.weight", &[e], F32);
        // RMS norms and bias-free matrices throughout (Mistral's `multimodal_projector_bias`
        // false; Pixtral 12B's adapter biases are read from its file when given one).
        for il in 0..self.n_layer {
            let b = |t: &str| format!("v.blk.{il}.{t}");
            o.add(b("ln1.weight"), &[e], F32);
            o.add(b("ln2.weight"), &[e], F32);
            for n in ["attn_q", "attn_k", "attn_v", "attn_out"] {
                o.add(b(&format!("{n}.weight")), &[e, e], wtype);
            }
            o.add(b("ffn_gate.weight"), &[e, f], wtype);
            o.add(b("ffn_up.weight"), &[e, f], wtype);
            o.add(b("ffn_down.weight"), &[f, e], wtype);
        }
        if m > 1 {
            o.add("mm.input_norm.weight", &[e], F32);
            o.add("mm.patch_merger.weight", &[e * m * m, e], patch);
        }
        o.add("mm.1.weight", &[e, d], wtype);
        o.add("mm.2.weight", &[d, d], wtype);
        // The text model's `[IMG_BREAK]` embedding row, copied into the projector.
        o.add("v.token_embd.img_break", &[d], F32);
    }

    fn llama4_tensors(&self, o: &mut Out, wtype: GgmlType, patch: GgmlType) {
        let (e, p, d, a, s) = (
            self.n_embd,
            self.patch,
            self.text_embd,
            self.adapter,
            self.merge,
        );
        // The patch embedding is a flat [3·P·P, E] matrix, reshaped in the graph.
        o.add("v.patch_embd.weight", &[3 * p * p, e], patch);
        o.add("v.class_embd", &[e], F32);
        o.add(
            "v.position_embd.weight",
            &[e, self.warmup_patches() + 1],
            F32,
        );
        o.norm("v.pre_ln", e);
        o.norm("v.post_ln", e);
        self.siglip_blocks(o, wtype);
        // The pixel-shuffled adapter and the projector carry no biases.
        o.add("mm.model.mlp.1.weight", &[e * s * s, a], wtype);
        o.add("mm.model.mlp.2.weight", &[a, a], wtype);
        o.add("mm.model.fc.weight", &[a, d], wtype);
    }

    fn idefics3_tensors(&self, o: &mut Out, wtype: GgmlType) {
        let (e, p, d, s) = (self.n_embd, self.patch, self.text_embd, self.merge);
        // SmolVLM's embeddings stay F32 in every file (`SmolVLMModel.tensor_force_quant`).
        o.add("v.patch_embd.weight", &[p, p, 3, e], F32);
        o.add("v.patch_embd.bias", &[e], F32);
        o.add("v.position_embd.weight", &[e, self.warmup_patches()], F32);
        self.siglip_blocks(o, wtype);
        o.norm("v.post_ln", e);
        o.add("mm.model.fc.weight", &[e * s * s, d], wtype);
    }

    fn internvl_tensors(&self, o: &mut Out, wtype: GgmlType, patch: GgmlType) {
        let (e, f, p, d, s) = (
            self.n_embd,
            self.n_ff,
            self.patch,
            self.text_embd,
            self.merge,
        );
        // InternViT-6B: RMS norms without biases, q/k norms, no Q/K/V biases (clip.cpp keys the
        // RMS graph on this exact width and depth).
        let big = e == 3200 && self.n_layer == 45;
        o.add("v.class_embd", &[e], F32);
        o.add("v.patch_embd.weight", &[p, p, 3, e], patch);
        o.add("v.patch_embd.bias", &[e], F32);
        o.add(
            "v.position_embd.weight",
            &[e, self.warmup_patches() + 1],
            F32,
        );
        for il in 0..self.n_layer {
            let b = |t: &str| format!("v.blk.{il}.{t}");
            let norm = |o: &mut Out, n: &str| {
                if big {
                    o.add(b(&format!("{n}.weight")), &[e], F32);
                } else {
                    o.norm(&b(n), e);
                }
            };
            norm(o, "ln1");
            for n in ["attn_q", "attn_k", "attn_v"] {
                if big {
                    o.add(b(&format!("{n}.weight")), &[e, e], wtype);
                } else {
                    o.linear(&b(n), e, e, wtype);
                }
            }
            if big {
                o.add(b("attn_q_norm.weight"), &[e], F32);
                o.add(b("attn_k_norm.weight"), &[e], F32);
            }
            o.linear(&b("attn_out"), e, e, wtype);
            o.add(b("ls1.weight"), &[e], F32);
            o.add(b("ls2.weight"), &[e], F32);
            norm(o, "ln2");
            o.linear(&b("ffn_up"), e, f, wtype);
            o.linear(&b("ffn_down"), f, e, wtype);
        }
        let m = e * s * s;
        o.norm("mm.model.mlp.0", m);
        o.linear("mm.model.mlp.1", m, d, wtype);
        o.linear("mm.model.mlp.3", d, d, wtype);
    }

    fn llava_tensors(&self, o: &mut Out, wtype: GgmlType) {
        let (e, f, p, d) = (self.n_embd, self.n_ff, self.patch, self.text_embd);
        o.linear("mm.0", e, d, wtype);
        o.linear("mm.2", d, d, wtype);
        // 1.6's `model.image_newline` is in the file but clip.cpp looks for `v.image_newline`:
        // it is never loaded, so it takes no memory.
        o.add("v.class_embd", &[e], F32);
        // The legacy converter writes the 4-D patch kernel F16 and the position table (a 2-D
        // `.weight`) in the file type.
        o.add("v.patch_embd.weight", &[p, p, 3, e], GgmlType::F16);
        o.add(
            "v.position_embd.weight",
            &[e, self.warmup_patches() + 1],
            wtype,
        );
        o.norm("v.pre_ln", e);
        for il in 0..self.n_layer {
            let b = |t: &str| format!("v.blk.{il}.{t}");
            for n in ["attn_q", "attn_k", "attn_v", "attn_out"] {
                o.linear(&b(n), e, e, wtype);
            }
            o.norm(&b("ln1"), e);
            o.norm(&b("ln2"), e);
            // CLIP's fc1 and fc2 under swapped names (clip.cpp swaps them back at load).
            o.linear(&b("ffn_down"), e, f, wtype);
            o.linear(&b("ffn_up"), f, e, wtype);
        }
    }
}
