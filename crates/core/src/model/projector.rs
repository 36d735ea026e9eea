//! Multimodal projectors (llama.cpp's `--mmproj`, `tools/mtmd/clip.cpp`): the vision encoder and
//! the merger that turns image patches into the language model's embeddings. A projector is its
//! own GGUF (`general.architecture = clip`), loaded into its own buffer and given its own compute
//! buffer, reserved at load for one warm-up image.
//!
//! Tensor lists follow clip.cpp's loaders and the converter's dtype rules
//! (`conversion/base.py`, `gemma.py`, `qwenvl.py` in the vendored llama.cpp): norms, biases and
//! position tables stay F32, matrices take the file type, a Q8_0 file keeps F16 where a row is not
//! a multiple of 32, Gemma 3's patch embedding is always F32 and its input projection F16.

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
}

impl ProjectorKind {
    /// The `clip.projector_type` string.
    #[must_use]
    pub fn gguf_name(self) -> &'static str {
        match self {
            ProjectorKind::Gemma3 => "gemma3",
            ProjectorKind::Qwen25Vl => "qwen2.5vl_merger",
            ProjectorKind::Qwen3Vl => "qwen3vl_merger",
        }
    }

    /// The kind for a `clip.projector_type` string.
    #[must_use]
    pub fn from_gguf_name(s: &str) -> Option<ProjectorKind> {
        Some(match s {
            "gemma3" => ProjectorKind::Gemma3,
            "qwen2.5vl_merger" => ProjectorKind::Qwen25Vl,
            "qwen3vl_merger" => ProjectorKind::Qwen3Vl,
            _ => return None,
        })
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
    /// Image side the encoder is trained at, pixels (Gemma 3's warm-up size).
    pub image_size: u64,
    /// Patches merged per side into one token (Gemma 3's pooling 4, Qwen's merge 2).
    pub merge: u64,
    /// The language model's width the merger projects to.
    pub text_embd: u64,
    /// Qwen3-VL's learned position table, rows.
    pub n_pos: u64,
    /// Qwen3-VL's deep-stack merger count.
    pub deepstack: u32,
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

impl ProjectorSpec {
    /// Gemma 3's projector (the same SigLIP tower for 4B, 12B and 27B), projecting to `text_embd`.
    #[must_use]
    pub fn gemma3(text_embd: u64) -> ProjectorSpec {
        // transformers `convert_gemma3_weights_orbax_to_hf.py` `_VISION_CONFIG`: 1152 wide, FFN
        // 4304, 27 layers, 16 heads, patch 14, image 896; mm_tokens_per_image 256.
        ProjectorSpec {
            kind: ProjectorKind::Gemma3,
            n_embd: 1152,
            n_ff: 4304,
            n_head: 16,
            n_layer: 27,
            patch: 14,
            image_size: 896,
            merge: 4,
            text_embd,
            n_pos: 0,
            deepstack: 0,
        }
    }

    /// Qwen2.5-VL's vision tower (the same for 3B, 7B, 32B and 72B), projecting to `text_embd`.
    #[must_use]
    pub fn qwen25vl(text_embd: u64) -> ProjectorSpec {
        // Qwen2.5-VL-7B-Instruct config.json vision_config: depth 32, hidden 1280, intermediate
        // 3420, 16 heads, patch 14, spatial_merge_size 2, full attention on every 8th block.
        ProjectorSpec {
            kind: ProjectorKind::Qwen25Vl,
            n_embd: 1280,
            n_ff: 3420,
            n_head: 16,
            n_layer: 32,
            patch: 14,
            image_size: 560,
            merge: 2,
            text_embd,
            n_pos: 0,
            deepstack: 0,
        }
    }

    /// The tensors of the projector file with matrices of `wtype` (F16, BF16, F32 or Q8_0).
    #[must_use]
    pub fn tensors(&self, wtype: GgmlType) -> Vec<ProjectorTensor> {
        let (e, f, p, d) = (self.n_embd, self.n_ff, self.patch, self.text_embd);
        let mut v = Vec::new();
        let mut add = |name: String, ne: &[u64], t: GgmlType| {
            let mut full = [1u64; 4];
            full[..ne.len()].copy_from_slice(ne);
            // convert_hf_to_gguf keeps a tensor F16 when Q8_0 cannot split its rows.
            let t = if t.is_quantized() && full[0] % t.block_size() != 0 {
                GgmlType::F16
            } else {
                t
            };
            v.push(ProjectorTensor {
                name,
                ne: full,
                ggml_type: t,
            });
        };
        let f32 = GgmlType::F32;
        // The patch convolution: F16 in an F16 file, else F32 (MmprojModel.tensor_force_quant).
        let patch_type = if wtype == GgmlType::F16 {
            GgmlType::F16
        } else {
            f32
        };
        match self.kind {
            ProjectorKind::Gemma3 => {
                let n_pos = (self.image_size / p).pow(2);
                add("v.patch_embd.weight".into(), &[p, p, 3, e], f32);
                add("v.patch_embd.bias".into(), &[e], f32);
                add("v.position_embd.weight".into(), &[e, n_pos], f32);
                for il in 0..self.n_layer {
                    let b = |t: &str| format!("v.blk.{il}.{t}");
                    for n in ["ln1", "ln2"] {
                        add(b(&format!("{n}.weight")), &[e], f32);
                        add(b(&format!("{n}.bias")), &[e], f32);
                    }
                    for n in ["attn_q", "attn_k", "attn_v", "attn_out"] {
                        add(b(&format!("{n}.weight")), &[e, e], wtype);
                        add(b(&format!("{n}.bias")), &[e], f32);
                    }
                    add(b("ffn_up.weight"), &[e, f], wtype);
                    add(b("ffn_up.bias"), &[f], f32);
                    add(b("ffn_down.weight"), &[f, e], wtype);
                    add(b("ffn_down.bias"), &[e], f32);
                }
                add("v.post_ln.weight".into(), &[e], f32);
                add("v.post_ln.bias".into(), &[e], f32);
                add("mm.input_projection.weight".into(), &[d, e], GgmlType::F16);
                add("mm.soft_emb_norm.weight".into(), &[e], f32);
            }
            ProjectorKind::Qwen25Vl => {
                add("v.patch_embd.weight".into(), &[p, p, 3, e], patch_type);
                add("v.patch_embd.weight.1".into(), &[p, p, 3, e], patch_type);
                for il in 0..self.n_layer {
                    let b = |t: &str| format!("v.blk.{il}.{t}");
                    add(b("ln1.weight"), &[e], f32);
                    add(b("ln2.weight"), &[e], f32);
                    for n in ["attn_q", "attn_k", "attn_v", "attn_out"] {
                        add(b(&format!("{n}.weight")), &[e, e], wtype);
                        add(b(&format!("{n}.bias")), &[e], f32);
                    }
                    for n in ["ffn_gate", "ffn_up"] {
                        add(b(&format!("{n}.weight")), &[e, f], wtype);
                        add(b(&format!("{n}.bias")), &[f], f32);
                    }
                    add(b("ffn_down.weight"), &[f, e], wtype);
                    add(b("ffn_down.bias"), &[e], f32);
                }
                add("v.post_ln.weight".into(), &[e], f32);
                self.merger(&mut add, wtype);
            }
            ProjectorKind::Qwen3Vl => {
                add("v.patch_embd.weight".into(), &[p, p, 3, e], patch_type);
                add("v.patch_embd.weight.1".into(), &[p, p, 3, e], patch_type);
                add("v.patch_embd.bias".into(), &[e], f32);
                add("v.position_embd.weight".into(), &[e, self.n_pos], f32);
                let ds = self.deepstack_layers();
                for il in 0..self.n_layer {
                    let b = |t: &str| format!("v.blk.{il}.{t}");
                    for n in ["ln1", "ln2"] {
                        add(b(&format!("{n}.weight")), &[e], f32);
                        add(b(&format!("{n}.bias")), &[e], f32);
                    }
                    add(b("attn_qkv.weight"), &[e, 3 * e], wtype);
                    add(b("attn_qkv.bias"), &[3 * e], f32);
                    add(b("attn_out.weight"), &[e, e], wtype);
                    add(b("attn_out.bias"), &[e], f32);
                    add(b("ffn_up.weight"), &[e, f], wtype);
                    add(b("ffn_up.bias"), &[f], f32);
                    add(b("ffn_down.weight"), &[f, e], wtype);
                    add(b("ffn_down.bias"), &[e], f32);
                    if ds.contains(&il) {
                        let q = |t: &str| format!("v.deepstack.{il}.{t}");
                        add(q("norm.weight"), &[4 * e], f32);
                        add(q("norm.bias"), &[4 * e], f32);
                        add(q("fc1.weight"), &[4 * e, 4 * e], wtype);
                        add(q("fc1.bias"), &[4 * e], f32);
                        add(q("fc2.weight"), &[4 * e, d], wtype);
                        add(q("fc2.bias"), &[d], f32);
                    }
                }
                add("v.post_ln.weight".into(), &[e], f32);
                add("v.post_ln.bias".into(), &[e], f32);
                self.merger(&mut add, wtype);
            }
        }
        v
    }

    /// Qwen's patch merger: 2×2 patches concatenated (4E), an MLP to the text width.
    fn merger(&self, add: &mut impl FnMut(String, &[u64], GgmlType), wtype: GgmlType) {
        let (e4, d) = (4 * self.n_embd, self.text_embd);
        add("mm.0.weight".into(), &[e4, e4], wtype);
        add("mm.0.bias".into(), &[e4], GgmlType::F32);
        add("mm.2.weight".into(), &[e4, d], wtype);
        add("mm.2.bias".into(), &[d], GgmlType::F32);
    }

    /// Qwen3-VL's deep-stack blocks, spread as the released models have them (8, 16, 24 of 27;
    /// 5, 11, 17 of 24).
    fn deepstack_layers(&self) -> Vec<u32> {
        let n = self.deepstack;
        if n == 0 {
            return Vec::new();
        }
        let step = self.n_layer / (n + 1);
        let first = if self.n_layer % (n + 1) == 0 {
            step
        } else {
            step - 1
        };
        (0..n)
            .map(|i| (first + i * step).min(self.n_layer - 1))
            .collect()
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
    /// Gemma 3 at its image size, Qwen-VL at 46×46 merged tokens.
    #[must_use]
    pub fn warmup_patches(&self) -> u64 {
        match self.kind {
            ProjectorKind::Gemma3 => (self.image_size / self.patch).pow(2),
            ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl => (46 * self.merge).pow(2),
        }
    }

    /// Image tokens one image takes in the context: Gemma 3's fixed 256; Qwen-VL's at the
    /// warm-up size (dynamic: a `W×H` image takes `(W/28)·(H/28)` with Qwen2.5-VL's 14-pixel
    /// patches).
    #[must_use]
    pub fn image_tokens(&self) -> u64 {
        match self.kind {
            ProjectorKind::Gemma3 => (self.image_size / self.patch / self.merge).pow(2),
            ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl => {
                self.warmup_patches() / self.merge.pow(2)
            }
        }
    }

    /// The CPU compute buffer clip.cpp reserves at warm-up, bytes. Closed forms of ggml-alloc's
    /// peak over the encoder graph, worked out with an allocator replay of clip.cpp's graphs and
    /// checked against the real libmtmd (validation/, synthetic projectors at the released
    /// shapes). N patches, U = 4·N·E (one activation), V = 4·N·F, KQ = 4·N²·H (every head's
    /// attention matrix in F32, only without flash attention):
    ///
    /// * Gemma 3: KQ + 6U without flash attention, 3U + V with it;
    /// * Qwen2.5-VL: its F32 window mask M = 4·N² and the raw image R = 12·side² join them:
    ///   KQ + M + 5U + R + inputs, or 1.5M + 4U + V + R + inputs;
    /// * Qwen3-VL: about 10U (+ KQ + R without flash attention), exact for the 8B tower.
    ///
    /// They hold at the released shapes (the warm-up image dominates); the peak can move for
    /// toy sizes, which llmrig does not size.
    #[must_use]
    pub fn compute_bytes(&self, flash_attn: bool) -> u64 {
        let n = self.warmup_patches();
        let u = 4 * n * self.n_embd;
        let v = 4 * n * self.n_ff;
        let kq = 4 * n * n * self.n_head;
        match self.kind {
            ProjectorKind::Gemma3 => {
                if flash_attn {
                    3 * u + v
                } else {
                    kq + 6 * u
                }
            }
            ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl => {
                let side = 46 * self.patch * self.merge;
                let raw = 12 * side * side;
                if self.kind == ProjectorKind::Qwen3Vl {
                    return if flash_attn {
                        10 * u
                    } else {
                        kq + raw + 10 * u
                    };
                }
                let mask = 4 * n * n;
                // Positions (4 int32 per patch) and the window index in and out.
                let inputs = 16 * n + 2 * n.div_ceil(32) * 32;
                if flash_attn {
                    mask + mask / 2 + 4 * u + v + raw + inputs
                } else {
                    kq + mask + 5 * u + raw + inputs
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemma3_tensors_rebuild_the_published_file() {
        // ggml-org/gemma-3-4b-it-GGUF mmproj-model-f16.gguf is 851,251,104 bytes: 851,226,048 of
        // tensor data (439 tensors) and about 25 KB of header.
        let p = ProjectorSpec::gemma3(2560);
        let t = p.tensors(GgmlType::F16);
        assert_eq!(t.len(), 439);
        let data: u64 = t.iter().map(ProjectorTensor::bytes).sum();
        assert_eq!(data, 851_226_048);
        assert!(851_251_104 - data < 64 * 1024);
        // Q8_0 keeps ffn_down (rows of 4304) and the input projection F16.
        let q8 = p.tensors(GgmlType::Q8_0);
        let down = q8
            .iter()
            .find(|t| t.name == "v.blk.0.ffn_down.weight")
            .unwrap();
        assert_eq!(down.ggml_type, GgmlType::F16);
        let up = q8
            .iter()
            .find(|t| t.name == "v.blk.0.ffn_up.weight")
            .unwrap();
        assert_eq!(up.ggml_type, GgmlType::Q8_0);
    }

    #[test]
    fn warmup_buffers_match_libmtmd() {
        // Measured with libmtmd on CPU (llama.cpp 0c1e570): 1132.00 / 121.25 MiB for Gemma 3,
        // 4871.57 / 704.79 MiB for Qwen2.5-VL, whatever the text width.
        let g = ProjectorSpec::gemma3(3840);
        assert_eq!(g.compute_bytes(false), 1_186_988_032);
        assert_eq!(g.compute_bytes(true), 127_139_840);
        assert_eq!(g.image_tokens(), 256);
        let q = ProjectorSpec::qwen25vl(3584);
        assert_eq!(q.compute_bytes(false), 5_108_210_240);
        assert_eq!(q.compute_bytes(true), 739_025_728);
    }
}
