//! The encoder's compute buffer, reserved at load for the warm-up image, and the graph inputs a
//! GPU encoder keeps in host memory.
//!
//! Each family's closed form is ggml-alloc's peak over clip.cpp's graph (`tools/mtmd/models/*.cpp`),
//! worked out by replaying the allocator over the graph and reading which tensors are live at the
//! peak, then checked against the real libmtmd at the released towers and at shapes not used to
//! derive them (validation/, synthetic projectors; docs/research/projectors.md). Notation: N
//! patches (T = N + 1 with a class token), E width, F FFN width, H heads; U = 4·T·E one F32
//! activation, V = 4·T·F, KQ = 4·T²·H every head's attention matrix in F32 (only without flash
//! attention), R = 12·side² the raw F32 image.

use super::{ProjectorKind, ProjectorSpec};

/// ggml-alloc's 32-byte tensor alignment.
fn al(x: u64) -> u64 {
    x.div_ceil(32) * 32
}

impl ProjectorSpec {
    /// Side of the warm-up image, pixels.
    fn warmup_side(&self) -> u64 {
        match self.kind {
            ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl => 46 * self.patch * self.merge,
            ProjectorKind::Pixtral => 16 * self.patch * self.merge,
            _ => self.image_size,
        }
    }

    /// Tiles encoded together: InternVL batches a multi-tile image's tiles up to
    /// `batch_max_tokens` image tokens (mtmd's `support_batch`), and ggml grows the compute
    /// buffer to that graph and keeps it; the other families encode one tile at a time.
    #[must_use]
    pub fn encode_batch(&self, tiles: u64, batch_max_tokens: u64) -> u64 {
        if self.kind != ProjectorKind::InternVl {
            return 1;
        }
        let per = self.tile_tokens().max(1);
        (batch_max_tokens / per).clamp(1, tiles.max(1))
    }

    /// The compute buffer clip.cpp reserves at warm-up (one image or tile), bytes:
    ///
    /// * Gemma 3: KQ + 6U without flash attention, 3U + V with it;
    /// * Qwen2.5-VL: its F32 window mask M = 4·N² and R join them: KQ + M + 5U + R + inputs, or
    ///   1.5M + 4U + V + R + inputs;
    /// * Qwen3-VL (k deep-stack mergers, positions p = 16·N): R + p + (7 + k)·U + KQ, or
    ///   R + p + max((6 + k)·U, (2 + k)·U + V, the mergers' tail) with flash attention;
    /// * Pixtral (warm-up 16×16 merged tokens): a0 + max(5U + KQ, 3U + 3V), or a0 + 3.5U + 3V with
    ///   flash attention, where a0 = R + 8N (positions) + 64·D (the `[IMG_BREAK]` row as a
    ///   16-row leaf), SwiGLU's gate, up and product giving 3V; held for 3P² < E ≤ 6P²;
    /// * Llama 4: R + P + KQ + 5U, or R + P + max(2U + V, 5U), P the two position inputs;
    /// * SmolVLM: max(4U + KQ, 3U + V), or 3U + V (no class token, each term 32-aligned);
    /// * InternVL: X + max(2U + KQ, U + V, 3U), or X + max(3U, U + V), X = 2U (2U_N + U when
    ///   the class-token concat lands in the freed raw image: R < U_N ≤ R + 6·side²);
    /// * LLaVA: R′ + U_N + max(4U + KQ, 2M), or R′ + U_N + max(3U + V, 2M), R′ the three inputs,
    ///   U_N the class-less patch embedding whose slot is never reused, M = 4·D·N the MLP's two
    ///   outputs.
    ///
    /// They hold at the released shapes (the warm-up image dominates); the peak can move for toy
    /// sizes, which llmrig does not size.
    #[must_use]
    pub fn compute_bytes(&self, flash_attn: bool) -> u64 {
        let (e, f, h) = (self.n_embd, self.n_ff, self.n_head);
        let n = self.warmup_patches();
        let side = self.warmup_side();
        let raw = 12 * side * side;
        let u = 4 * n * e;
        let v = 4 * n * f;
        let kq = 4 * n * n * h;
        match self.kind {
            ProjectorKind::Gemma3 => {
                if flash_attn {
                    3 * u + v
                } else {
                    kq + 6 * u
                }
            }
            ProjectorKind::Qwen25Vl => {
                let mask = 4 * n * n;
                // Positions (4 int32 per patch) and the window index in and out.
                let inputs = 16 * n + 2 * n.div_ceil(32) * 32;
                if flash_attn {
                    mask + mask / 2 + 4 * u + v + raw + inputs
                } else {
                    kq + mask + 5 * u + raw + inputs
                }
            }
            ProjectorKind::Qwen3Vl => {
                // The k deep-stack outputs stay live to the end of the graph (their mergers run
                // last); R and the 4-per-patch positions sit below everything.
                let k = u64::from(self.deepstack);
                let base = raw + 16 * n;
                if !flash_attn {
                    return base + (7 + k) * u + kq;
                }
                // The deep-stack mergers' tail, which binds for the 27-block tower's wide text
                // models: 4U + 6·N·D up to D = 4E, then 5U + 5·N·D (exact to D = 5376).
                let d = n * self.text_embd;
                let end = match k {
                    0 => 0,
                    _ if self.text_embd <= 4 * e => 4 * u + 6 * d,
                    _ => 5 * u + 5 * d,
                };
                base + ((6 + k) * u).max((2 + k) * u + v).max(end)
            }
            ProjectorKind::Pixtral => {
                let a0 = raw + 8 * n + 64 * self.text_embd;
                if flash_attn {
                    a0 + 7 * u / 2 + 3 * v
                } else {
                    a0 + (5 * u + kq).max(3 * u + 3 * v)
                }
            }
            ProjectorKind::Llama4 => {
                let t = n + 1;
                let (u, v, kq) = (4 * t * e, 4 * t * f, al(4 * t * t * h));
                let pos = 2 * al(4 * t);
                if flash_attn {
                    raw + pos + (2 * u + v).max(5 * u)
                } else {
                    raw + pos + kq + 5 * u
                }
            }
            ProjectorKind::Idefics3 => {
                let (u, v, kq) = (al(u), al(v), al(kq));
                if flash_attn {
                    3 * u + v
                } else {
                    (4 * u + kq).max(3 * u + v)
                }
            }
            ProjectorKind::InternVl => {
                let t = n + 1;
                let (u, v, kq, u_n) = (4 * e * t, 4 * f * t, al(4 * t * t * h), 4 * e * n);
                let x = if raw < u_n && u_n <= raw + 6 * side * side {
                    2 * u_n + u
                } else {
                    2 * u
                };
                if flash_attn {
                    x + (3 * u).max(u + v)
                } else {
                    x + (2 * u + kq).max(u + v).max(3 * u)
                }
            }
            ProjectorKind::Llava => {
                let t = n + 1;
                let inputs = al(raw) + al(4 * t) + al(4 * n);
                let (u, v, kq, u_n) = (4 * t * e, 4 * t * f, al(4 * t * t * h), 4 * n * e);
                let tail = 2 * 4 * self.text_embd * n;
                let body = if flash_attn { 3 * u + v } else { 4 * u + kq };
                inputs + u_n + body.max(tail)
            }
        }
    }

    /// The compute buffer after encoding `batch` tiles at once (InternVL's batched tiles: every
    /// term of its peak scales with the batch), bytes.
    #[must_use]
    pub fn compute_bytes_batched(&self, flash_attn: bool, batch: u64) -> u64 {
        self.compute_bytes(flash_attn) * batch.max(1)
    }

    /// The graph inputs clip.cpp keeps in host memory when the encoder runs on a GPU (the
    /// scheduler assigns inputs to the CPU): the raw image, and the positions, masks and indices
    /// a family feeds, bytes.
    #[must_use]
    pub fn host_input_bytes(&self) -> u64 {
        let n = self.warmup_patches();
        let side = self.warmup_side();
        let raw = 12 * side * side;
        match self.kind {
            ProjectorKind::Gemma3 | ProjectorKind::Idefics3 | ProjectorKind::InternVl => raw,
            ProjectorKind::Qwen25Vl => raw + 4 * n * n + 16 * n,
            ProjectorKind::Qwen3Vl => raw + 16 * n,
            ProjectorKind::Pixtral => raw + 8 * n,
            ProjectorKind::Llama4 => raw + 8 * (n + 1),
            ProjectorKind::Llava => al(raw) + al(4 * (n + 1)) + al(4 * n),
        }
    }
}
