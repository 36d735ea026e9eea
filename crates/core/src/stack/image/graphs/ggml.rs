//! The few ggml ops stable-diffusion.cpp's transformer graphs use, with the result shape, type and
//! strides `ggml.c` gives them, and `ggml_ext_*` helpers from sd.cpp's `ggml_extend.hpp` built
//! on them; enough for ggml-alloc's replay (`estimate::graph::cpu_buffer_bytes`), which needs
//! each tensor's size, whether it is a view (and of what), its sources in order, and whether its
//! op may run in place (`ggml_op_can_inplace`).
//!
//! Rules that move the buffer and are easy to miss:
//! - an `*_inplace` op is a view of its first source (it allocates nothing);
//! - a non-`inplace` ADD, MUL, SCALE, UNARY, RMS_NORM or SOFT_MAX may still take its source's
//!   memory at allocation time (`ggml_op_can_inplace`); NORM, CONT, CPY, CONCAT, REPEAT, PAD,
//!   MUL_MAT, IM2COL and FLASH_ATTN_EXT never do;
//! - `ggml_cast` lists its own result as its second source (`ggml_cpy` into a new tensor), so it
//!   counts one consumer more;
//! - nodes reach the allocator in the order of `ggml_build_forward_expand`'s depth-first walk from
//!   the outputs (sources left to right), not in the order they were written.

use crate::estimate::graph::{Graph, Id, Kind, Op, Tensor, NONE};

/// ggml's element types that occur here (their size in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    F32,
    F16,
    I32,
}

impl Ty {
    fn size(self) -> u64 {
        match self {
            Ty::F32 | Ty::I32 => 4,
            Ty::F16 => 2,
        }
    }
}

/// What the allocator needs of one tensor besides the IR: its strides and whether it is a leaf
/// (`GGML_OP_NONE`: a weight or a graph input).
#[derive(Debug, Clone, Copy)]
struct Meta {
    ty: Ty,
    nb: [u64; 4],
    leaf: bool,
}

/// A graph under construction.
pub(super) struct Gb {
    t: Vec<Tensor>,
    m: Vec<Meta>,
    /// `--diffusion-fa`: attention through `ggml_flash_attn_ext`.
    pub fa: bool,
    /// sd.cpp's `one` input (F32 scalar), used to build masks.
    pub one: Id,
    /// sd.cpp's `zero_int` input (I32 scalar), in every graph and consumed by none of these.
    pub zero_int: Id,
}

fn contiguous_nb(ty: Ty, ne: [u64; 4]) -> [u64; 4] {
    let s = ty.size();
    [s, s * ne[0], s * ne[0] * ne[1], s * ne[0] * ne[1] * ne[2]]
}

/// `ggml_op_can_inplace` for the ops written here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reuse {
    /// The allocator may hand it its source's memory.
    Inplace,
    /// It always gets its own.
    Own,
}

impl Gb {
    pub(super) fn new(fa: bool) -> Gb {
        let mut g = Gb {
            t: Vec::new(),
            m: Vec::new(),
            fa,
            one: NONE,
            zero_int: NONE,
        };
        g.one = g.input(Ty::F32, [1, 1, 1, 1]);
        g.zero_int = g.input(Ty::I32, [1, 1, 1, 1]);
        g
    }

    pub(super) fn ne(&self, a: Id) -> [u64; 4] {
        self.t[a].ne
    }

    pub(super) fn nb(&self, a: Id) -> [u64; 4] {
        self.m[a].nb
    }

    fn push(
        &mut self,
        ty: Ty,
        ne: [u64; 4],
        nb: [u64; 4],
        kind: Kind,
        srcs: &[Id],
        r: Reuse,
    ) -> Id {
        let mut s = [NONE; 4];
        s[..srcs.len()].copy_from_slice(srcs);
        self.t.push(Tensor {
            name: "sd.cpp",
            layer: -1,
            ne,
            esize: ty.size(),
            kind,
            srcs: s,
            inplace: r == Reuse::Inplace,
            output: false,
            op: Op::Other,
            weight: None,
            reads_kv: false,
        });
        self.m.push(Meta {
            ty,
            nb,
            leaf: srcs.is_empty() && !matches!(kind, Kind::View(_)),
        });
        self.t.len() - 1
    }

    /// A weight: in the model's buffer, not the compute buffer.
    pub(super) fn weight(&mut self, ty: Ty, ne: [u64; 4]) -> Id {
        self.push(
            ty,
            ne,
            contiguous_nb(ty, ne),
            Kind::External,
            &[],
            Reuse::Own,
        )
    }

    /// A graph input, allocated before the graph runs.
    pub(super) fn input(&mut self, ty: Ty, ne: [u64; 4]) -> Id {
        self.push(ty, ne, contiguous_nb(ty, ne), Kind::Input, &[], Reuse::Own)
    }

    /// A new contiguous result.
    fn op(&mut self, ty: Ty, ne: [u64; 4], srcs: &[Id], r: Reuse) -> Id {
        self.push(ty, ne, contiguous_nb(ty, ne), Kind::Op, srcs, r)
    }

    /// A view of `a` (its root, as `ggml_new_tensor_impl` resolves a view of a view).
    fn view_of(&mut self, a: Id, ne: [u64; 4], nb: [u64; 4], srcs: &[Id]) -> Id {
        let kind = match self.t[a].kind {
            Kind::External => Kind::External,
            Kind::View(root) => Kind::View(root),
            Kind::Input | Kind::Op => Kind::View(a),
        };
        let ty = self.m[a].ty;
        self.push(ty, ne, nb, kind, srcs, Reuse::Own)
    }

    pub(super) fn is_contiguous(&self, a: Id) -> bool {
        let (ne, nb) = (self.t[a].ne, self.m[a].nb);
        let mut want = self.m[a].ty.size();
        for i in 0..4 {
            if ne[i] != 1 && nb[i] != want {
                return false;
            }
            want *= ne[i];
        }
        true
    }

    fn binary(&mut self, a: Id, b: Id, inplace: bool) -> Id {
        if inplace {
            let (ne, nb) = (self.ne(a), self.nb(a));
            self.view_of(a, ne, nb, &[a, b])
        } else {
            let (ty, ne) = (self.m[a].ty, self.ne(a));
            self.op(ty, ne, &[a, b], Reuse::Inplace)
        }
    }

    pub(super) fn add(&mut self, a: Id, b: Id) -> Id {
        self.binary(a, b, false)
    }

    pub(super) fn add_inplace(&mut self, a: Id, b: Id) -> Id {
        self.binary(a, b, true)
    }

    pub(super) fn mul(&mut self, a: Id, b: Id) -> Id {
        self.binary(a, b, false)
    }

    pub(super) fn mul_inplace(&mut self, a: Id, b: Id) -> Id {
        self.binary(a, b, true)
    }

    /// SCALE, UNARY (GELU, SiLU), RMS_NORM, SOFT_MAX: same shape, may run in place.
    pub(super) fn unary(&mut self, a: Id, inplace: bool) -> Id {
        if inplace {
            let (ne, nb) = (self.ne(a), self.nb(a));
            self.view_of(a, ne, nb, &[a])
        } else {
            let (ty, ne) = (self.m[a].ty, self.ne(a));
            self.op(ty, ne, &[a], Reuse::Inplace)
        }
    }

    pub(super) fn rms_norm(&mut self, a: Id) -> Id {
        self.unary(a, false)
    }

    /// NORM (LayerNorm without affine): never in place.
    pub(super) fn norm(&mut self, a: Id) -> Id {
        let (ty, ne) = (self.m[a].ty, self.ne(a));
        self.op(ty, ne, &[a], Reuse::Own)
    }

    pub(super) fn soft_max_inplace(&mut self, a: Id) -> Id {
        self.unary(a, true)
    }

    pub(super) fn cont(&mut self, a: Id) -> Id {
        let (ty, ne) = (self.m[a].ty, self.ne(a));
        self.op(ty, ne, &[a], Reuse::Own)
    }

    /// `ggml_ext_cont`: a copy only when `a` is not contiguous.
    pub(super) fn ext_cont(&mut self, a: Id) -> Id {
        if self.is_contiguous(a) {
            a
        } else {
            self.cont(a)
        }
    }

    /// `ggml_cast`: a copy in `ty` whose second source is itself.
    pub(super) fn cast(&mut self, a: Id, ty: Ty) -> Id {
        let ne = self.ne(a);
        let id = self.op(ty, ne, &[a], Reuse::Own);
        self.t[id].srcs[1] = id;
        id
    }

    pub(super) fn mul_mat(&mut self, a: Id, b: Id) -> Id {
        let (an, bn) = (self.ne(a), self.ne(b));
        self.op(Ty::F32, [an[1], bn[1], bn[2], bn[3]], &[a, b], Reuse::Own)
    }

    pub(super) fn concat(&mut self, a: Id, b: Id, dim: usize) -> Id {
        let mut ne = self.ne(a);
        ne[dim] += self.ne(b)[dim];
        let ty = self.m[a].ty;
        self.op(ty, ne, &[a, b], Reuse::Own)
    }

    pub(super) fn repeat(&mut self, a: Id, ne: [u64; 4]) -> Id {
        let ty = self.m[a].ty;
        self.op(ty, ne, &[a], Reuse::Own)
    }

    pub(super) fn pad(&mut self, a: Id, p0: u64, p1: u64) -> Id {
        let mut ne = self.ne(a);
        ne[0] += p0;
        ne[1] += p1;
        let ty = self.m[a].ty;
        self.op(ty, ne, &[a], Reuse::Own)
    }

    /// `ggml_get_rows(a, b)`: rows of `a` (a weight) picked by the I32 indices `b`.
    pub(super) fn get_rows(&mut self, a: Id, b: Id) -> Id {
        let (an, bn) = (self.ne(a), self.ne(b));
        self.op(Ty::F32, [an[0], bn[0], bn[1], bn[2]], &[a, b], Reuse::Own)
    }

    pub(super) fn timestep_embedding(&mut self, t: Id, dim: u64) -> Id {
        let n = self.ne(t)[0];
        self.op(Ty::F32, [dim, n, 1, 1], &[t], Reuse::Own)
    }

    pub(super) fn flash_attn_ext(&mut self, q: Id, k: Id, v: Id, mask: Option<Id>) -> Id {
        let (qn, vn) = (self.ne(q), self.ne(v));
        let ne = [vn[0], qn[2], qn[1], qn[3]];
        match mask {
            Some(m) => self.op(Ty::F32, ne, &[q, k, v, m], Reuse::Own),
            None => self.op(Ty::F32, ne, &[q, k, v], Reuse::Own),
        }
    }

    /// `ggml_im2col` of input `b` for kernel `a`, stride `s`, padding `p`, dilation 1, F16.
    pub(super) fn im2col(&mut self, a: Id, b: Id, s: u64, p: u64) -> Id {
        let (an, bn) = (self.ne(a), self.ne(b));
        let out = |ins: u64, ks: u64| (ins + 2 * p - (ks - 1) - 1) / s + 1;
        let ne = [
            an[2] * an[1] * an[0],
            out(bn[0], an[0]),
            out(bn[1], an[1]),
            bn[3],
        ];
        self.op(Ty::F16, ne, &[a, b], Reuse::Own)
    }

    pub(super) fn reshape(&mut self, a: Id, ne: [u64; 4]) -> Id {
        debug_assert!(
            self.is_contiguous(a),
            "ggml_reshape of a non-contiguous tensor"
        );
        debug_assert_eq!(
            self.ne(a).iter().product::<u64>(),
            ne.iter().product::<u64>()
        );
        let nb = contiguous_nb(self.m[a].ty, ne);
        self.view_of(a, ne, nb, &[a])
    }

    pub(super) fn view(&mut self, a: Id, ne: [u64; 4], nb: [u64; 4]) -> Id {
        self.view_of(a, ne, nb, &[a])
    }

    /// `ggml_view_2d` (the offset does not matter to the allocator).
    pub(super) fn view_2d(&mut self, a: Id, ne0: u64, ne1: u64, nb1: u64) -> Id {
        let s = self.m[a].ty.size();
        self.view(a, [ne0, ne1, 1, 1], [s, nb1, nb1 * ne1, nb1 * ne1])
    }

    /// `ggml_view_3d`.
    pub(super) fn view_3d(&mut self, a: Id, ne: [u64; 3], nb1: u64, nb2: u64) -> Id {
        let s = self.m[a].ty.size();
        self.view(a, [ne[0], ne[1], ne[2], 1], [s, nb1, nb2, nb2 * ne[2]])
    }

    /// `ggml_view_4d`.
    pub(super) fn view_4d(&mut self, a: Id, ne: [u64; 4], nb: [u64; 3]) -> Id {
        let s = self.m[a].ty.size();
        self.view(a, ne, [s, nb[0], nb[1], nb[2]])
    }

    /// `ggml_permute(a, axes)`: dimension i of `a` becomes dimension `axes[i]`.
    pub(super) fn permute(&mut self, a: Id, axes: [usize; 4]) -> Id {
        let (an, ab) = (self.ne(a), self.nb(a));
        let (mut ne, mut nb) = ([0; 4], [0; 4]);
        for i in 0..4 {
            ne[axes[i]] = an[i];
            nb[axes[i]] = ab[i];
        }
        self.view_of(a, ne, nb, &[a])
    }

    // ---- ggml_extend.hpp ----------------------------------------------------------------------

    /// `ggml_ext_linear`: `w·x` (+ bias in place); batches above 1024 rows are flattened first.
    pub(super) fn linear(&mut self, x: Id, din: u64, dout: u64, bias: bool) -> Id {
        self.linear_scaled(x, din, dout, bias, false)
    }

    /// `ggml_ext_linear` with a scale (T5's last FFN projection, 1/32 against F16 overflow): the
    /// input scaled before the product and the result unscaled after it, two copies.
    pub(super) fn linear_scaled(
        &mut self,
        x: Id,
        din: u64,
        dout: u64,
        bias: bool,
        scaled: bool,
    ) -> Id {
        let x = if scaled { self.ext_scale(x, false) } else { x };
        let w = self.weight(Ty::F16, [din, dout, 1, 1]);
        let xn = self.ne(x);
        let mut y = if xn[2] * xn[3] > 1024 {
            let flat = self.reshape(x, [xn[0], xn[1] * xn[2] * xn[3], 1, 1]);
            let y = self.mul_mat(w, flat);
            let yn = self.ne(y);
            self.reshape(y, [yn[0], yn[1] / xn[2] / xn[3], xn[2], xn[3]])
        } else {
            self.mul_mat(w, x)
        };
        if scaled {
            y = self.ext_scale(y, false);
        }
        if bias {
            let b = self.weight(Ty::F32, [dout, 1, 1, 1]);
            y = self.add_inplace(y, b);
        }
        y
    }

    /// `Embedding::forward`: the indices `[n_token, N]` flattened, their rows of a `dim`-wide
    /// table, shaped back to `[dim, n_token, N]`.
    pub(super) fn embedding(&mut self, ids: Id, rows: u64, dim: u64) -> Id {
        let w = self.weight(Ty::F16, [dim, rows, 1, 1]);
        let n = self.ne(ids);
        let flat = self.reshape(ids, [n[0] * n[1], 1, 1, 1]);
        let flat = self.reshape(flat, [n[0] * n[1], 1, 1, 1]);
        let e = self.get_rows(w, flat);
        let en = self.ne(e);
        self.reshape(e, [en[0], en[1] / n[1], n[1], 1])
    }

    /// sd.cpp's `modulate` (FLUX and MMDiT alike): `x + x·scale + shift`, the vectors `[h, 1]`
    /// broadcast over the tokens.
    pub(super) fn modulate(&mut self, x: Id, shift: Id, scale: Id) -> Id {
        let sn = self.ne(scale);
        let scale = self.reshape(scale, [sn[0], 1, sn[1], 1]);
        let hn = self.ne(shift);
        let shift = self.reshape(shift, [hn[0], 1, hn[1], 1]);
        let xs = self.mul(x, scale);
        let x = self.add(x, xs);
        self.add(x, shift)
    }

    /// The transformers' MLP: a linear up, GELU in place, a linear down.
    pub(super) fn gelu_mlp(&mut self, x: Id, hidden: u64, mlp_hidden: u64) -> Id {
        let x = self.linear(x, hidden, mlp_hidden, true);
        let x = self.ext_gelu(x, true);
        self.linear(x, mlp_hidden, hidden, true)
    }

    /// `ggml_ext_scale`.
    pub(super) fn ext_scale(&mut self, x: Id, inplace: bool) -> Id {
        let x = self.ext_cont(x);
        self.unary(x, inplace)
    }

    /// `ggml_ext_gelu`.
    pub(super) fn ext_gelu(&mut self, x: Id, inplace: bool) -> Id {
        let x = self.ext_cont(x);
        self.unary(x, inplace)
    }

    /// `ggml_ext_full`: `one` scaled, repeated to `ne`.
    fn ext_full(&mut self, ne: [u64; 4]) -> Id {
        let one = self.one;
        let t = self.ext_scale(one, false);
        self.repeat(t, ne)
    }

    /// `ggml_ext_chunk` with copies: `num` equal slices along `dim`.
    pub(super) fn ext_chunk(&mut self, x: Id, num: u64, dim: usize) -> Vec<Id> {
        let mut ne = self.ne(x);
        ne[dim] /= num;
        let nb = self.nb(x);
        (0..num)
            .map(|_| {
                let c = self.view_4d(x, ne, [nb[1], nb[2], nb[3]]);
                self.cont(c)
            })
            .collect()
    }

    /// `ggml_ext_slice` with a copy: `[start, end)` along `dim`.
    pub(super) fn ext_slice(&mut self, x: Id, dim: usize, start: u64, end: u64) -> Id {
        let mut ne = self.ne(x);
        if ne[dim] == 1 {
            return x;
        }
        ne[dim] = end - start;
        let nb = self.nb(x);
        let v = self.view_4d(x, ne, [nb[1], nb[2], nb[3]]);
        self.cont(v)
    }

    /// `ggml_ext_timestep_embedding` (the scale runs even with factor 1).
    pub(super) fn ext_timestep_embedding(&mut self, t: Id, dim: u64) -> Id {
        let t = self.ext_scale(t, false);
        self.timestep_embedding(t, dim)
    }

    /// `ggml_ext_attention_ext` on the CPU backend, batch 1, no mask from the caller: with flash
    /// attention, K and V are padded to a multiple of 256 tokens and cast to F16, and the padding
    /// gets an F32 mask of ones built from `one` (`L_k × L_q`, concatenated with the padding's),
    /// cast to F16; without, the F32 scores `heads × L_q × L_k`, scaled and soft-maxed in place.
    /// `skip_reshape`: q and k come as `[d_head, L, heads]`, v as `[d_head, heads, L]`.
    pub(super) fn attention_ext(
        &mut self,
        q: Id,
        k: Id,
        v: Id,
        n_head: u64,
        skip_reshape: bool,
    ) -> Id {
        self.attention_masked(q, k, v, n_head, skip_reshape, None)
    }

    /// `ggml_ext_attention_ext` with a mask added to the scores (T5's position bias); only
    /// without flash attention (sd.cpp's text encoders never use it).
    pub(super) fn attention_masked(
        &mut self,
        q: Id,
        k: Id,
        v: Id,
        n_head: u64,
        skip_reshape: bool,
        mask: Option<Id>,
    ) -> Id {
        debug_assert!(
            !(self.fa && mask.is_some()),
            "a caller's mask with flash attention"
        );
        let (q, k, v, l_q, l_k, d_head, n_kv_head) = if skip_reshape {
            let (qn, kn, vn) = (self.ne(q), self.ne(k), self.ne(v));
            (q, k, v, qn[1], kn[1], vn[0], kn[2] / vn[3])
        } else {
            let (qn, kn) = (self.ne(q), self.ne(k));
            let (l_q, l_k, c, n) = (qn[1], kn[1], qn[0], qn[2]);
            let d_head = c / n_head;
            let n_kv = kn[0] / d_head;
            let q = self.reshape(q, [d_head, n_head, l_q, n]);
            let q = self.permute(q, [0, 2, 1, 3]);
            let q = self.ext_cont(q);
            let q = self.reshape(q, [d_head, l_q, n_head * n, 1]);
            let k = self.reshape(k, [d_head, n_kv, l_k, n]);
            let k = self.permute(k, [0, 2, 1, 3]);
            let k = self.ext_cont(k);
            let k = self.reshape(k, [d_head, l_k, n_kv * n, 1]);
            let v = self.reshape(v, [d_head, n_kv, l_k, n]);
            (q, k, v, l_q, l_k, d_head, n_kv)
        };
        let kqv = if self.fa {
            let kv_pad = (256 - l_k % 256) % 256;
            let mut k_in = k;
            if kv_pad > 0 {
                k_in = self.pad(k_in, 0, kv_pad);
            }
            let k_in = self.cast(k_in, Ty::F16);
            let v_in = self.permute(v, [0, 2, 1, 3]);
            let v_in = self.ext_cont(v_in);
            let v_in = self.reshape(v_in, [d_head, l_k, n_kv_head, 1]);
            let v_in = if kv_pad > 0 {
                self.pad(v_in, 0, kv_pad)
            } else {
                v_in
            };
            let v_in = self.cast(v_in, Ty::F16);
            let mask = if kv_pad > 0 {
                let m = self.ext_full([l_k, l_q, 1, 1]);
                let padt = self.ext_full([kv_pad, l_q, 1, 1]);
                let m = self.concat(m, padt, 0);
                Some(self.cast(m, Ty::F16))
            } else {
                None
            };
            let out = self.flash_attn_ext(q, k_in, v_in, mask);
            let onb = self.nb(out);
            self.view_3d(out, [d_head, n_head, l_q], onb[1], onb[2])
        } else {
            let v = self.permute(v, [1, 2, 0, 3]);
            let v = self.ext_cont(v);
            let v = self.reshape(v, [l_k, d_head, n_kv_head, 1]);
            let kq = self.mul_mat(k, q);
            let mut kq = self.unary(kq, true);
            if let Some(m) = mask {
                kq = self.add_inplace(kq, m);
            }
            let kq = self.soft_max_inplace(kq);
            let kqv = self.mul_mat(v, kq);
            let kqv = self.reshape(kqv, [d_head, l_q, n_head, 1]);
            self.permute(kqv, [0, 2, 1, 3])
        };
        let kqv = self.ext_cont(kqv);
        self.reshape(kqv, [d_head * n_head, l_q, 1, 1])
    }

    /// `ggml_build_forward_expand` for each of `outs` in turn: a depth-first walk, sources left to
    /// right, each tensor once; leafs (weights, inputs) and nodes in the order they finish.
    pub(super) fn finish(self, outs: &[Id]) -> Graph {
        let n = self.t.len();
        let mut seen = vec![false; n];
        let (mut leafs, mut nodes) = (Vec::new(), Vec::new());
        let mut stack: Vec<(Id, usize)> = Vec::new();
        for &o in outs {
            stack.push((o, 0));
            while let Some((id, i)) = stack.pop() {
                if i == 0 {
                    if seen[id] {
                        continue;
                    }
                    seen[id] = true;
                }
                let s = self.t[id].srcs;
                if i < 4 && s[i] != NONE {
                    stack.push((id, i + 1));
                    if !seen[s[i]] {
                        stack.push((s[i], 0));
                    }
                    continue;
                }
                if self.m[id].leaf {
                    leafs.push(id);
                } else {
                    nodes.push(id);
                }
            }
        }
        Graph {
            tensors: self.t,
            leafs,
            nodes,
        }
    }
}
