//! FLUX.1's graph as stable-diffusion.cpp builds it (`flux.hpp`, batch 1), call by call: the
//! patchified latent and its embedders, the double-stream blocks (separate image and text
//! weights, joint attention), the single-stream blocks over the concatenated sequence, and the
//! last layer with sd.cpp's unpatchify and crop.

use crate::estimate::graph::{Graph, Id};
use crate::model::diffusion::FluxConfig;

use super::ggml::{Gb, Ty};

/// `Flux::rms_norm` (QK norm): RMS norm times its scale.
fn qk_norm(g: &mut Gb, x: Id, dim: u64) -> Id {
    let x = g.rms_norm(x);
    let w = g.weight(Ty::F32, [dim, 1, 1, 1]);
    g.mul(x, w)
}

/// `apply_rope` (rope.hpp): q or k `[d_head, heads, L]` rotated by the position table `pe`.
fn apply_rope(g: &mut Gb, x: Id, pe: Id) -> Id {
    let [d_head, n_head, l, n] = g.ne(x);
    let x = g.permute(x, [0, 2, 1, 3]);
    let x = g.cont(x);
    let x = g.reshape(x, [2, d_head / 2, l, n_head * n]);
    let x = g.permute(x, [3, 0, 1, 2]);
    let x = g.cont(x);
    let (xn, xb) = (g.ne(x), g.nb(x));
    let x0 = g.view_3d(x, [xn[0], xn[1], xn[2]], xb[1], xb[2]);
    let x1 = g.view_3d(x, [xn[0], xn[1], xn[2]], xb[1], xb[2]);
    let x0 = g.reshape(x0, [1, xn[0], xn[1], xn[2]]);
    let x1 = g.reshape(x1, [1, xn[0], xn[1], xn[2]]);
    let x0 = g.repeat(x0, [2, xn[0], xn[1], xn[2]]);
    let x1 = g.repeat(x1, [2, xn[0], xn[1], xn[2]]);
    let pe = g.permute(pe, [3, 0, 1, 2]);
    let pe = g.cont(pe);
    let (pn, pb) = (g.ne(pe), g.nb(pe));
    let pe0 = g.view_3d(pe, [pn[0], pn[1], pn[2]], pb[1], pb[2]);
    let pe1 = g.view_3d(pe, [pn[0], pn[1], pn[2]], pb[1], pb[2]);
    let a = g.mul(x0, pe0);
    let b = g.mul(x1, pe1);
    let out = g.add_inplace(a, b);
    g.reshape(out, [d_head, l, n_head * n, 1])
}

fn rope_attention(g: &mut Gb, q: Id, k: Id, v: Id, pe: Id) -> Id {
    let q = apply_rope(g, q, pe);
    let k = apply_rope(g, k, pe);
    let heads = g.ne(v)[1];
    g.attention_ext(q, k, v, heads, true)
}

/// `Modulation`: SiLU(vec) through one linear, cut into `mult` hidden-wide vectors, as triples.
fn modulation(g: &mut Gb, vec: Id, hidden: u64, mult: u64) -> Vec<[Id; 3]> {
    let out = g.unary(vec, false);
    let out = g.linear(out, hidden, hidden * mult, true);
    let vn = g.ne(vec);
    let m = g.reshape(out, [vn[0], mult, vn[1], 1]);
    let m = g.permute(m, [0, 2, 1, 3]);
    let m = g.cont(m);
    let (mn, mb) = (g.ne(m), g.nb(m));
    (0..mult / 3)
        .map(|_| [0; 3].map(|_| g.view_2d(m, mn[0], mn[1], mb[1])))
        .collect()
}

/// `SelfAttention::pre_attention`: the fused qkv linear viewed as q, k, v, with q and k normed.
fn pre_attention(g: &mut Gb, x: Id, hidden: u64, heads: u64) -> [Id; 3] {
    let qkv = g.linear(x, hidden, 3 * hidden, true);
    let (n, b) = (g.ne(qkv), g.nb(qkv));
    let hd = n[0] / 3 / heads;
    let shape = [hd, heads, n[1], n[2]];
    let strides = [b[0] * hd, b[1], b[2]];
    let q = g.view_4d(qkv, shape, strides);
    let k = g.view_4d(qkv, shape, strides);
    let v = g.view_4d(qkv, shape, strides);
    let q = qk_norm(g, q, hd);
    let k = qk_norm(g, k, hd);
    [q, k, v]
}

/// `DoubleStreamBlock`.
fn double_block(g: &mut Gb, c: &Cfg, img: Id, txt: Id, vec: Id, pe: Id) -> (Id, Id) {
    let h = c.hidden;
    let im = modulation(g, vec, h, 6);
    let tm = modulation(g, vec, h, 6);
    let [iq, ik, iv] = stream_qkv(g, c, img, im[0]);
    let [tq, tk, tv] = stream_qkv(g, c, txt, tm[0]);
    let q = g.concat(tq, iq, 2);
    let k = g.concat(tk, ik, 2);
    let v = g.concat(tv, iv, 2);
    let attn = rope_attention(g, q, k, v, pe);
    let (an, ab) = (g.ne(attn), g.nb(attn));
    let (txt_n, img_n) = (g.ne(txt)[1], g.ne(img)[1]);
    let txt_attn = g.view_3d(attn, [an[0], txt_n, an[2]], ab[1], ab[2]);
    let img_attn = g.view_3d(attn, [an[0], img_n, an[2]], ab[1], ab[2]);
    // The image stream first, then the text stream, as flux.hpp writes them.
    let img = stream_out(g, c, img, img_attn, &im);
    let txt = stream_out(g, c, txt, txt_attn, &tm);
    (img, txt)
}

/// One stream's input to the joint attention: normed, modulated, its q, k, v.
fn stream_qkv(g: &mut Gb, c: &Cfg, x: Id, m: [Id; 3]) -> [Id; 3] {
    let n = g.norm(x);
    let x = g.modulate(n, m[0], m[1]);
    pre_attention(g, x, c.hidden, c.heads)
}

/// One stream after the joint attention: the gated projection and the gated MLP, each added to it.
fn stream_out(g: &mut Gb, c: &Cfg, x: Id, attn: Id, m: &[[Id; 3]]) -> Id {
    let h = c.hidden;
    let o = g.linear(attn, h, h, true);
    let o = g.mul(o, m[0][2]);
    let x = g.add(x, o);
    let n = g.norm(x);
    let y = g.modulate(n, m[1][0], m[1][1]);
    let o = g.gelu_mlp(y, h, c.mlp_hidden);
    let o = g.mul(o, m[1][2]);
    g.add(x, o)
}

/// `SingleStreamBlock`: one linear to q|k|v|MLP, attention and GELU side by side, one linear back.
fn single_block(g: &mut Gb, c: &Cfg, x: Id, vec: Id, pe: Id) -> Id {
    let h = c.hidden;
    let [shift, scale, gate] = modulation(g, vec, h, 3)[0];
    let n = g.norm(x);
    let x_mod = g.modulate(n, shift, scale);
    let qkv_mlp = g.linear(x_mod, h, 3 * h + c.mlp_hidden, true);
    let (n, b) = (g.ne(qkv_mlp), g.nb(qkv_mlp));
    let hd = h / c.heads;
    let shape = [hd, c.heads, n[1], n[2]];
    let strides = [b[0] * hd, b[1], b[2]];
    let q = g.view_4d(qkv_mlp, shape, strides);
    let k = g.view_4d(qkv_mlp, shape, strides);
    let v = g.view_4d(qkv_mlp, shape, strides);
    let q = qk_norm(g, q, hd);
    let k = qk_norm(g, k, hd);
    let attn = rope_attention(g, q, k, v, pe);
    let m = g.view_3d(qkv_mlp, [c.mlp_hidden, n[1], n[2]], b[1], b[2]);
    let m = g.ext_gelu(m, true);
    let attn_mlp = g.concat(attn, m, 0);
    let out = g.linear(attn_mlp, h + c.mlp_hidden, h, true);
    let out = g.mul(out, gate);
    g.add(x, out)
}

/// sd.cpp's `patchify`: `[W, H, C]` to `[p·p·C, (W/p)·(H/p)]`.
fn patchify(g: &mut Gb, x: Id, p: u64) -> Id {
    let [w, h, c, n] = g.ne(x);
    let (hh, ww) = (h / p, w / p);
    let x = g.reshape(x, [p, ww, p, hh * c * n]);
    let x = g.permute(x, [0, 2, 1, 3]);
    let x = g.cont(x);
    let x = g.reshape(x, [p * p, ww * hh, c, n]);
    let x = g.permute(x, [0, 2, 1, 3]);
    let x = g.cont(x);
    g.reshape(x, [p * p * c, ww * hh, n, 1])
}

/// sd.cpp's `unpatchify` and crop back to the latent's size (two copied slices). `patch_last`:
/// FLUX's channel order (patch innermost); MMDiT's is channels innermost.
pub(super) fn unpatchify_and_crop(
    g: &mut Gb,
    x: Id,
    lat_h: u64,
    lat_w: u64,
    p: u64,
    patch_last: bool,
) -> Id {
    let (h, w) = (lat_h.div_ceil(p), lat_w.div_ceil(p));
    let xn = g.ne(x);
    let (n, c) = (xn[2], xn[0] / p / p);
    let x = if patch_last {
        let x = g.reshape(x, [p * p, c, w * h, n]);
        let x = g.permute(x, [0, 2, 1, 3]);
        g.cont(x)
    } else {
        let x = g.reshape(x, [c, p * p, w * h, n]);
        let x = g.permute(x, [2, 0, 1, 3]);
        g.cont(x)
    };
    let x = g.reshape(x, [p, p, w, h * c * n]);
    let x = g.permute(x, [0, 2, 1, 3]);
    let x = g.cont(x);
    let x = g.reshape(x, [w * p, h * p, c, n]);
    let x = g.ext_slice(x, 1, 0, lat_h);
    g.ext_slice(x, 0, 0, lat_w)
}

struct Cfg {
    hidden: u64,
    heads: u64,
    mlp_hidden: u64,
}

/// The graph sd.cpp reserves FLUX's compute buffer with: latent `lat_w × lat_h`, `txt` T5 tokens.
pub(super) fn graph(f: &FluxConfig, lat_w: u64, lat_h: u64, txt: u64, fa: bool) -> Graph {
    let mut g = Gb::new(fa);
    let c = Cfg {
        hidden: f.hidden,
        heads: f.hidden / f.head_dim,
        mlp_hidden: 4 * f.hidden,
    };
    let in_ch = f.in_channels / 4;
    let x = g.input(Ty::F32, [lat_w, lat_h, in_ch, 1]);
    let timesteps = g.input(Ty::F32, [1, 1, 1, 1]);
    let context = g.input(Ty::F32, [f.context_dim, txt, 1, 1]);
    let y = g.input(Ty::F32, [f.vec_dim, 1, 1, 1]);
    let guidance = f.guidance_embed.then(|| g.input(Ty::F32, [1, 1, 1, 1]));
    let p = 2;
    let (pad_h, pad_w) = (lat_h % p, lat_w % p);
    let img_tokens = lat_h.div_ceil(p) * lat_w.div_ceil(p);
    // The RoPE table: (cos, −sin; sin, cos) per frequency per position (rope.hpp).
    let pe = g.input(Ty::F32, [2, 2, f.head_dim / 2, img_tokens + txt]);

    let mut img = x;
    if pad_h > 0 || pad_w > 0 {
        img = g.pad(img, pad_w, pad_h);
    }
    let img = patchify(&mut g, img, p);
    let mut img = g.linear(img, in_ch * 4, c.hidden, true);
    let t = g.ext_timestep_embedding(timesteps, 256);
    let t = g.linear(t, 256, c.hidden, true);
    let t = g.unary(t, true);
    let mut vec = g.linear(t, c.hidden, c.hidden, true);
    if let Some(gd) = guidance {
        let e = g.ext_timestep_embedding(gd, 256);
        let e = g.linear(e, 256, c.hidden, true);
        let e = g.unary(e, true);
        let e = g.linear(e, c.hidden, c.hidden, true);
        vec = g.add(vec, e);
    }
    let v = g.linear(y, f.vec_dim, c.hidden, true);
    let v = g.unary(v, true);
    let v = g.linear(v, c.hidden, c.hidden, true);
    let vec = g.add(vec, v);
    let mut txt_s = g.linear(context, f.context_dim, c.hidden, true);
    for _ in 0..f.double_blocks {
        (img, txt_s) = double_block(&mut g, &c, img, txt_s, vec, pe);
    }
    let mut joint = g.concat(txt_s, img, 1);
    for _ in 0..f.single_blocks {
        joint = single_block(&mut g, &c, joint, vec, pe);
    }
    let (jn, jb) = (g.ne(joint), g.nb(joint));
    let img = g.view_3d(joint, [jn[0], g.ne(img)[1], jn[2]], jb[1], jb[2]);
    // LastLayer.
    let s = g.unary(vec, false);
    let m = g.linear(s, c.hidden, 2 * c.hidden, true);
    let ch = g.ext_chunk(m, 2, 0);
    let n = g.norm(img);
    let img = g.modulate(n, ch[0], ch[1]);
    let img = g.linear(img, c.hidden, p * p * in_ch, true);
    let out = unpatchify_and_crop(&mut g, img, lat_h, lat_w, p, true);
    let (one, zero) = (g.one, g.zero_int);
    g.finish(&[out, one, zero])
}
