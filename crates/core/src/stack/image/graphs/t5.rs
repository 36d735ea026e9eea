//! T5's encoder as stable-diffusion.cpp builds it (`t5.hpp`, batch 1, no attention mask: how FLUX
//! and SD 3.5 run it): the token embedding, then per block an RMS-normed self-attention whose
//! scores get the relative position bias (computed once, in block 0, from an I32 bucket table
//! over every token pair, and kept live to the last block) and a gated-GELU FFN whose output
//! projection is scaled by 1/32 against F16 overflow (a copy before and after the product).

use crate::estimate::graph::{Graph, Id};
use crate::model::diffusion::T5Config;

use super::ggml::{Gb, Ty};

/// T5's relative position buckets (`relative_attention_num_buckets`).
const BUCKETS: u64 = 32;

/// `T5LayerNorm`: RMS norm times its scale.
fn layer_norm(g: &mut Gb, x: Id, dim: u64) -> Id {
    let n = g.rms_norm(x);
    let w = g.weight(Ty::F32, [dim, 1, 1, 1]);
    g.mul(n, w)
}

/// The graph sd.cpp reserves T5's compute buffer with, for one chunk of `tokens`.
pub(super) fn graph(c: &T5Config, tokens: u64) -> Graph {
    let mut g = Gb::new(false);
    let ids = g.input(Ty::I32, [tokens, 1, 1, 1]);
    let bucket = g.input(Ty::I32, [tokens, tokens, 1, 1]);
    let mut x = g.embedding(ids, c.vocab, c.d_model);
    let mut bias = None;
    for _ in 0..c.layers {
        let n = layer_norm(&mut g, x, c.d_model);
        let q = g.linear(n, c.d_model, c.inner, false);
        let k = g.linear(n, c.d_model, c.inner, false);
        let v = g.linear(n, c.d_model, c.inner, false);
        let b = *bias.get_or_insert_with(|| {
            let values = g.embedding(bucket, BUCKETS, c.heads);
            let values = g.permute(values, [2, 0, 1, 3]);
            g.cont(values)
        });
        let k = g.ext_scale(k, true);
        let a = g.attention_masked(q, k, v, c.heads, false, Some(b));
        let o = g.linear(a, c.inner, c.d_model, false);
        x = g.add_inplace(o, x);
        let f = layer_norm(&mut g, x, c.d_model);
        let h0 = g.linear(f, c.d_model, c.d_ff, false);
        let h0 = g.ext_gelu(h0, true);
        let h1 = g.linear(f, c.d_model, c.d_ff, false);
        let h = g.mul_inplace(h0, h1);
        let h = g.linear_scaled(h, c.d_ff, c.d_model, false, true);
        x = g.add_inplace(h, x);
    }
    let out = layer_norm(&mut g, x, c.d_model);
    let (one, zero) = (g.one, g.zero_int);
    g.finish(&[out, one, zero])
}
