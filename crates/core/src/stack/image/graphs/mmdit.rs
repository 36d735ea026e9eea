//! Stable Diffusion 3.5's MMDiT as stable-diffusion.cpp builds it (`mmdit.hpp`, batch 1), call by
//! call: the patch embedding (an im2col convolution) plus the learned position table cropped to
//! the latent, the timestep and pooled-text embedders, the joint blocks (SD 3.5 Medium's first
//! ones MMDiT-X, with a second image-only self-attention), and the final layer. Q and K are
//! RMS-normed (SD 3.5; SD 3 Medium had no QK norm and is not in the catalog).

use crate::estimate::graph::{Graph, Id};
use crate::model::diffusion::MmditConfig;

use super::flux::unpatchify_and_crop;
use super::ggml::{Gb, Ty};

/// `split_qkv` (ggml_extend.hpp): the fused qkv viewed as three.
fn split_qkv(g: &mut Gb, qkv: Id) -> [Id; 3] {
    let n = g.ne(qkv);
    let qkv = g.reshape(qkv, [n[0] / 3, 3, n[1], n[2]]);
    let qkv = g.permute(qkv, [0, 3, 1, 2]);
    let qkv = g.cont(qkv);
    let (n, b) = (g.ne(qkv), g.nb(qkv));
    [0; 3].map(|_| g.view_3d(qkv, [n[0], n[1], n[2]], b[1], b[2]))
}

/// `SelfAttention::pre_attention` with RMS QK norm.
fn self_attention_pre(g: &mut Gb, x: Id, h: u64, heads: u64) -> [Id; 3] {
    let qkv = g.linear(x, h, 3 * h, true);
    let [q, k, v] = split_qkv(g, qkv);
    let hd = g.ne(q)[0] / heads;
    let mut qk = [q, k].map(|t| {
        let n = g.ne(t);
        g.reshape(t, [hd, heads, n[1], n[2]])
    });
    for t in &mut qk {
        let r = g.rms_norm(*t);
        let w = g.weight(Ty::F32, [hd, 1, 1, 1]);
        let r = g.mul_inplace(r, w);
        let n = g.ne(r);
        *t = g.reshape(r, [n[0] * n[1], n[2], n[3], 1]);
    }
    [qk[0], qk[1], v]
}

/// A gate `[h, 1]` as `[h, 1, 1]`.
fn gate(g: &mut Gb, t: Id) -> Id {
    let n = g.ne(t);
    g.reshape(t, [n[0], 1, n[1], 1])
}

/// What a block keeps for after the attention: x, gate_msa, shift_mlp, scale_mlp, gate_mlp and
/// (MMDiT-X) gate_msa2.
struct Kept {
    x: Id,
    mods: Vec<Id>,
}

/// `DismantledBlock::pre_attention`: (qkv, what `post_attention` needs; none when pre-only).
fn pre_attention(g: &mut Gb, x: Id, c: Id, h: u64, heads: u64, pre_only: bool) -> ([Id; 3], Kept) {
    let n_mods = if pre_only { 2 } else { 6 };
    let s = g.unary(c, false);
    let m = g.linear(s, h, n_mods * h, true);
    let mv = g.ext_chunk(m, n_mods, 0);
    let n = g.norm(x);
    let attn_in = g.modulate(n, mv[0], mv[1]);
    let qkv = self_attention_pre(g, attn_in, h, heads);
    let mods = if pre_only {
        Vec::new()
    } else {
        mv[2..6].to_vec()
    };
    (qkv, Kept { x, mods })
}

/// `DismantledBlock::pre_attention_x` (MMDiT-X): two self-attentions over one `norm1(x)`.
fn pre_attention_x(g: &mut Gb, x: Id, c: Id, h: u64, heads: u64) -> ([Id; 3], [Id; 3], Kept) {
    let s = g.unary(c, false);
    let m = g.linear(s, h, 9 * h, true);
    let mv = g.ext_chunk(m, 9, 0);
    let x_norm = g.norm(x);
    let attn_in = g.modulate(x_norm, mv[0], mv[1]);
    let qkv = self_attention_pre(g, attn_in, h, heads);
    let attn2_in = g.modulate(x_norm, mv[6], mv[7]);
    let qkv2 = self_attention_pre(g, attn2_in, h, heads);
    let mods = vec![mv[2], mv[3], mv[4], mv[5], mv[8]];
    (qkv, qkv2, Kept { x, mods })
}

/// `DismantledBlock::post_attention(_x)`: projection(s), gated residuals, the MLP.
fn post_attention(g: &mut Gb, attn: Id, attn2: Option<Id>, k: &Kept, h: u64) -> Id {
    let gate_msa = gate(g, k.mods[0]);
    let gate_mlp = gate(g, k.mods[3]);
    let gate_msa2 = attn2.map(|_| gate(g, k.mods[4]));
    let a = g.linear(attn, h, h, true);
    let a2 = attn2.map(|t| g.linear(t, h, h, true));
    let o = g.mul(a, gate_msa);
    let mut x = g.add(k.x, o);
    if let (Some(a2), Some(g2)) = (a2, gate_msa2) {
        let o = g.mul(a2, g2);
        x = g.add(x, o);
    }
    let n = g.norm(x);
    let m = g.modulate(n, k.mods[1], k.mods[2]);
    let m = g.gelu_mlp(m, h, 4 * h);
    let o = g.mul(m, gate_mlp);
    g.add(x, o)
}

/// `block_mixing`: joint attention over context and image; the new (context, x).
fn joint_block(
    g: &mut Gb,
    context: Id,
    x: Id,
    c: Id,
    h: u64,
    last: bool,
    x_attn2: bool,
) -> (Id, Id) {
    let heads = h / 64;
    let (cqkv, ckept) = pre_attention(g, context, c, h, heads, last);
    let (xqkv, xqkv2, xkept) = if x_attn2 {
        let (a, b, k) = pre_attention_x(g, x, c, h, heads);
        (a, Some(b), k)
    } else {
        let (a, k) = pre_attention(g, x, c, h, heads, false);
        (a, None, k)
    };
    let qkv: Vec<Id> = (0..3).map(|i| g.concat(cqkv[i], xqkv[i], 1)).collect();
    let attn = g.attention_ext(qkv[0], qkv[1], qkv[2], heads, false);
    let (an, ab) = (g.ne(attn), g.nb(attn));
    let (cn, xn) = (g.ne(context)[1], g.ne(x)[1]);
    let context_attn = g.view_3d(attn, [an[0], cn, an[2]], ab[1], ab[2]);
    let x_attn = g.view_3d(attn, [an[0], xn, an[2]], ab[1], ab[2]);
    let context = if last {
        context
    } else {
        post_attention(g, context_attn, None, &ckept, h)
    };
    let attn2 = xqkv2.map(|q| g.attention_ext(q[0], q[1], q[2], heads, false));
    let x = post_attention(g, x_attn, attn2, &xkept, h);
    (context, x)
}

/// `Conv2d` through im2col, as `ggml_ext_conv_2d` builds it.
fn conv2d(g: &mut Gb, x: Id, cin: u64, cout: u64, k: u64) -> Id {
    let w = g.weight(Ty::F16, [k, k, cin, cout]);
    let b = g.weight(Ty::F32, [cout, 1, 1, 1]);
    let im = g.im2col(w, x, k, 0);
    let imn = g.ne(im);
    let wn = g.ne(w);
    let im2 = g.reshape(im, [imn[0], imn[3] * imn[2] * imn[1], 1, 1]);
    let w2 = g.reshape(w, [wn[0] * wn[1] * wn[2], wn[3], 1, 1]);
    let r = g.mul_mat(im2, w2);
    let r = g.reshape(r, [imn[1], imn[2], imn[3], wn[3]]);
    let r = g.permute(r, [0, 1, 3, 2]);
    let r = g.cont(r);
    let b = g.reshape(b, [1, 1, cout, 1]);
    g.add_inplace(r, b)
}

/// The graph sd.cpp reserves SD 3.5's compute buffer with: latent `lat_w × lat_h`, `txt` tokens.
pub(super) fn graph(m: &MmditConfig, lat_w: u64, lat_h: u64, txt: u64, fa: bool) -> Graph {
    let mut g = Gb::new(fa);
    let h = 64 * m.depth;
    let p = 2;
    let pos_max = m.pos_embed_max;
    let x = g.input(Ty::F32, [lat_w, lat_h, m.in_channels, 1]);
    let t = g.input(Ty::F32, [1, 1, 1, 1]);
    let context = g.input(Ty::F32, [m.context_dim, txt, 1, 1]);
    let y = g.input(Ty::F32, [m.pooled_dim, 1, 1, 1]);
    // PatchEmbed: sd.cpp pads unconditionally (a copy even when nothing is added).
    let xe = g.pad(x, lat_w % p, lat_h % p);
    let xe = conv2d(&mut g, xe, m.in_channels, h, p);
    let n = g.ne(xe);
    let xe = g.reshape(xe, [n[0] * n[1], n[2], n[3], 1]);
    let xe = g.permute(xe, [1, 0, 2, 3]);
    let xe = g.cont(xe);
    // cropped_pos_embed: the table's centre crop, copied twice.
    let pos = g.weight(Ty::F32, [h, pos_max * pos_max, 1, 1]);
    let (hh, ww) = (lat_h.div_ceil(p), lat_w.div_ceil(p));
    let sp = g.reshape(pos, [h, pos_max, pos_max, 1]);
    let b = g.nb(sp);
    let sp = g.view_3d(sp, [h, pos_max, hh], b[1], b[2]);
    let sp = g.permute(sp, [0, 2, 1, 3]);
    let sp = g.cont(sp);
    let b = g.nb(sp);
    let sp = g.view_3d(sp, [h, hh, ww], b[1], b[2]);
    let sp = g.permute(sp, [0, 2, 1, 3]);
    let sp = g.cont(sp);
    let sp = g.reshape(sp, [h, hh * ww, 1, 1]);
    let mut xx = g.add(xe, sp);
    // Timestep and pooled-text embedders.
    let te = g.ext_timestep_embedding(t, 256);
    let c = g.linear(te, 256, h, true);
    let c = g.unary(c, true);
    let c = g.linear(c, h, h, true);
    let yy = g.linear(y, m.pooled_dim, h, true);
    let yy = g.unary(yy, true);
    let yy = g.linear(yy, h, h, true);
    let c = g.add(c, yy);
    let mut ctxt = g.linear(context, m.context_dim, h, true);
    for i in 0..m.depth {
        let last = i + 1 == m.depth;
        (ctxt, xx) = joint_block(&mut g, ctxt, xx, c, h, last, i < m.x_attn2_blocks);
    }
    // FinalLayer.
    let s = g.unary(c, false);
    let mo = g.linear(s, h, 2 * h, true);
    let ch = g.ext_chunk(mo, 2, 0);
    let n = g.norm(xx);
    let xx = g.modulate(n, ch[0], ch[1]);
    let xx = g.linear(xx, h, p * p * m.in_channels, true);
    let out = unpatchify_and_crop(&mut g, xx, lat_h, lat_w, p, false);
    let (one, zero) = (g.one, g.zero_int);
    g.finish(&[out, one, zero])
}
