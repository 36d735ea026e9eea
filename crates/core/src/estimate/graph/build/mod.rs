//! llama.cpp's compute graphs, at the granularity ggml-alloc sees: every op result, view and graph
//! input, in execution order, with shapes. Weights and the KV cache are outside the compute buffer
//! and are left out. Each builder follows its llama.cpp counterpart (`src/models/<arch>.cpp` and
//! the shared pieces in `src/llama-graph.cpp`), including the order in which `build_attn` expands
//! Q, V and K, and the worst case llama.cpp reserves: a full ubatch of tokens, every token an
//! output, the whole cache visible.

use crate::model::{Arch, ModelSpec};

use super::super::memory::{flash_attn_on, layer_cells, ContextShape};
use super::super::settings::Settings;
use super::ir::{Graph, Id, Kind, Op, Tensor, NONE, W};

mod arch;

const F32: u64 = 4;
const F16: u64 = 2;
const I32: u64 = 4;
const I64: u64 = 8;

/// Names of a dense gated FFN's tensors.
const FFN: (&str, &str, &str, &str) = ("ffn_gate", "ffn_up", "ffn_swiglu", "ffn_out");

/// Builds the prompt-processing graph llama.cpp reserves, or `None` for an architecture whose
/// graph is not written here.
pub fn build(spec: &ModelSpec, shape: &ContextShape, s: &Settings) -> Option<Graph> {
    if spec.recurrent.is_some()
        || (spec.is_mla() && (spec.arch != Arch::Deepseek2 || spec.mla_legacy_kv))
    {
        return None;
    }
    let mut b = B::new(spec, shape, s);
    match spec.arch {
        Arch::Llama | Arch::Qwen2 | Arch::Qwen3 | Arch::Qwen3Moe | Arch::Phi3 => b.llama(),
        Arch::Gemma2 | Arch::Gemma3 => b.gemma(),
        Arch::Cohere2 => b.cohere2(),
        Arch::GptOss => b.gpt_oss(),
        Arch::Deepseek2 => b.deepseek2(),
        // Not written yet: their compute buffers come from the analytic rule.
        Arch::Llama4
        | Arch::Glm4Moe
        | Arch::Qwen3Next
        | Arch::Qwen35
        | Arch::Qwen35Moe
        | Arch::GraniteHybrid
        | Arch::Granite
        | Arch::Lfm2
        | Arch::Lfm2Moe
        | Arch::Gemma3n
        | Arch::Gemma4
        | Arch::Gemma
        | Arch::GraniteMoe
        | Arch::MinimaxM2
        | Arch::HunyuanMoe
        | Arch::Dots1
        | Arch::Generic => return None,
        // Encoders: `memory::encoder_compute_bytes`, a closed form of their one-layer peak.
        Arch::Bert | Arch::NomicBert | Arch::JinaBertV2 => return None,
    }
    Some(b.g)
}

/// What `build_moe_ffn` does with the router weights of the selected experts.
#[derive(Clone, Copy)]
enum MoeWeights {
    /// Used as they come (DeepSeek V2-style softmax gating without `norm_w`).
    AsRouted,
    /// Divided by their sum (`norm_w`: Qwen3-MoE, Mixtral).
    Normalised,
    /// Softmaxed over the selected experts (gpt-oss, `SOFTMAX_WEIGHT` gating).
    Softmax,
}

/// Which KV cache an input belongs to (sliding-window layers have their own).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cache {
    Full,
    Swa,
}

struct B<'a> {
    g: Graph,
    spec: &'a ModelSpec,
    shape: &'a ContextShape,
    s: &'a Settings,
    /// Tokens in the reserved ubatch.
    t: u64,
    fa: bool,
    il: i32,
    /// Inputs made so far: (name, cache, id).
    inputs: Vec<(&'static str, Cache, Id)>,
    /// Stand-in for every external tensor.
    ext: Id,
    /// Soft-cap the attention scores (Gemma 2, without flash attention).
    softcap_kq: bool,
    /// Qwen3-VL's padded input (`n_embd·(1 + n_deepstack)` wide), which the first blocks read
    /// their deep-stack features from.
    deepstack: Option<Id>,
}

impl<'a> B<'a> {
    fn new(spec: &'a ModelSpec, shape: &'a ContextShape, s: &'a Settings) -> B<'a> {
        // About 40 tensors per layer (more for MoE): reserve once instead of growing.
        let per_layer = if spec.n_expert > 1 { 64 } else { 48 };
        let cap = per_layer * spec.n_layer as usize + 16;
        let mut g = Graph {
            tensors: Vec::with_capacity(cap),
            leafs: Vec::with_capacity(16),
            nodes: Vec::with_capacity(cap),
        };
        g.tensors.push(Tensor {
            name: "external",
            layer: -1,
            ne: [0; 4],
            esize: 0,
            kind: Kind::External,
            srcs: [NONE; 4],
            inplace: false,
            output: false,
            op: Op::Other,
            weight: None,
            reads_kv: false,
        });
        B {
            g,
            spec,
            shape,
            s,
            t: shape.n_tokens,
            fa: flash_attn_on(s),
            il: -1,
            inputs: Vec::new(),
            ext: 0,
            softcap_kq: false,
            deepstack: None,
        }
    }

    fn push(
        &mut self,
        name: &'static str,
        ne: [u64; 4],
        esize: u64,
        kind: Kind,
        srcs: &[Id],
        inplace: bool,
    ) -> Id {
        let mut sv = [NONE; 4];
        let mut k = 0;
        for &x in srcs {
            if x != self.ext {
                sv[k] = x;
                k += 1;
            }
        }
        let id = self.g.tensors.len();
        self.g.tensors.push(Tensor {
            name,
            layer: self.il,
            ne,
            esize,
            kind,
            srcs: sv,
            inplace,
            output: false,
            op: Op::Other,
            weight: None,
            reads_kv: false,
        });
        match kind {
            Kind::Input => self.g.leafs.push(id),
            _ => self.g.nodes.push(id),
        }
        id
    }

    /// An f32 op result.
    fn op(&mut self, name: &'static str, ne: [u64; 4], srcs: &[Id]) -> Id {
        self.push(name, ne, F32, Kind::Op, srcs, false)
    }

    /// An f32 op that may run in place (`ggml_op_can_inplace`).
    fn op_ip(&mut self, name: &'static str, ne: [u64; 4], srcs: &[Id]) -> Id {
        self.push(name, ne, F32, Kind::Op, srcs, true)
    }

    /// An op writing into external memory (the KV cache): consumes its sources, allocates nothing.
    fn sink(&mut self, name: &'static str, srcs: &[Id]) {
        let id = self.push(name, [0; 4], 0, Kind::External, srcs, false);
        self.tag(id, Op::KvStore, None);
    }

    /// A view (reshape, permute, view) of `src`; views of external tensors are external.
    fn view(&mut self, name: &'static str, src: Id) -> Id {
        let root = match self.g.tensors[src].kind {
            Kind::External => return self.ext,
            Kind::View(r) => r,
            _ => src,
        };
        let ne = self.g.tensors[src].ne;
        let es = self.g.tensors[src].esize;
        self.push(name, ne, es, Kind::View(root), &[src], false)
    }

    /// A graph input, created at its first use (which is where ggml lists it among the leafs).
    fn input(&mut self, name: &'static str, cache: Cache, ne: [u64; 4], esize: u64) -> Id {
        if let Some(&(_, _, id)) = self
            .inputs
            .iter()
            .find(|(n, c, _)| *n == name && *c == cache)
        {
            return id;
        }
        let il = self.il;
        self.il = -1;
        let id = self.push(name, ne, esize, Kind::Input, &[], false);
        self.il = il;
        self.inputs.push((name, cache, id));
        id
    }

    /// Records what `ggml_backend_sched` needs to place tensor `id`: its op and the weight it reads
    /// (`blk.N.` is implied for layer tensors).
    fn tag(&mut self, id: Id, op: Op, weight: Option<W>) -> Id {
        let t = &mut self.g.tensors[id];
        t.op = op;
        t.weight = weight;
        id
    }

    /// A matmul with a weight.
    fn mm(&mut self, name: &'static str, ne: [u64; 4], srcs: &[Id], weight: W) -> Id {
        let id = self.op(name, ne, srcs);
        self.tag(id, Op::MulMat, Some(weight))
    }

    /// An in-place op that reads a small weight (a norm's scale, a bias).
    fn op_w(&mut self, name: &'static str, ne: [u64; 4], srcs: &[Id], weight: W) -> Id {
        let id = self.op_ip(name, ne, srcs);
        self.tag(id, Op::Other, Some(weight))
    }

    /// An attention op over the layer's cache.
    fn attn_op(&mut self, id: Id, op: Op) -> Id {
        self.g.tensors[id].reads_kv = true;
        self.tag(id, op, None)
    }

    fn mark_output(&mut self, id: Id) {
        self.g.tensors[id].output = true;
    }

    // ---- shared pieces -------------------------------------------------------------------------

    fn e(&self) -> u64 {
        self.spec.n_embd
    }

    /// `build_inp_embd`: token ids, the (unused) embeddings input, and the lookup.
    fn inp_embd(&mut self) -> Id {
        let (t, e) = (self.t, self.e());
        let tok = self.input("inp_tokens", Cache::Full, [t, 1, 1, 1], I32);
        // llama.cpp also creates an embeddings input for embedding batches; it is a leaf of the
        // graph, so ggml-alloc allocates it and, unused, never frees it.
        // Qwen3-VL's input carries the deep-stack features beside the embedding (`n_embd_inp`).
        let inp_w = e * (1 + u64::from(self.spec.n_deepstack));
        self.input("inp_embd", Cache::Full, [inp_w, t, 1, 1], F32);
        let embd = self.op("embd", [e, t, 1, 1], &[tok]);
        let embd = self.tag(embd, Op::GetRows, Some(W::TokenEmbd));
        if inp_w == e {
            return embd;
        }
        // The token path pads the lookup to the input's width (`ggml_pad`); the blocks read a
        // view of its first n_embd columns, and the deep-stack adds the views past it.
        let pad = self.op("inp_pad", [inp_w, t, 1, 1], &[embd]);
        self.deepstack = Some(pad);
        let v = self.view("inp_view", pad);
        // The blocks see n_embd columns: ops that take their shape from it must too.
        self.g.tensors[v].ne = [e, t, 1, 1];
        v
    }

    /// Qwen3-VL's deep-stack add after block `il` (< `n_deepstack`): the block output plus a
    /// view of the padded input.
    fn deepstack_add(&mut self, cur: Id) -> Id {
        let (Some(pad), Ok(il)) = (self.deepstack, u32::try_from(self.il)) else {
            return cur;
        };
        if il >= self.spec.n_deepstack {
            return cur;
        }
        let ds = self.view("deepstack", pad);
        let (t, e) = (self.t, self.e());
        self.g.tensors[ds].ne = [e, t, 1, 1];
        self.op_ip("deepstack_out", [e, t, 1, 1], &[cur, ds])
    }

    fn inp_pos(&mut self) -> Id {
        // M-RoPE takes four positions per token (`n_pos_per_embd`).
        let t = self.t * if self.spec.mrope { 4 } else { 1 };
        self.input("inp_pos", Cache::Full, [t, 1, 1, 1], I32)
    }

    fn cache_of(&self) -> Cache {
        let il = u32::try_from(self.il).unwrap_or(0);
        if self.spec.sliding_window.is_some() && self.spec.is_swa_layer(il) {
            Cache::Swa
        } else {
            Cache::Full
        }
    }

    /// Cells of this layer's cache per stream (what the reserved graph attends over).
    fn n_kv(&self) -> u64 {
        layer_cells(
            self.spec,
            u32::try_from(self.il).unwrap_or(0),
            self.shape,
            self.s,
        )
    }

    fn kq_mask(&mut self) -> Id {
        let (t, n_kv, c) = (self.t, self.n_kv(), self.cache_of());
        let es = if self.fa { F16 } else { F32 };
        self.input("attn_inp_kq_mask", c, [n_kv, t, 1, 1], es)
    }

    /// The Hadamard rotation llama.cpp applies to Q and K when the K cache is quantized (and to V
    /// when the V cache is): `attn_rot_k`/`attn_rot_v` in `llama_kv_cache`, for head sizes that
    /// are multiples of 64 (PR #21038, March 2026: in the commit the validation harness builds, which predates PR #21277). K uses the largest power of two from 64 up that
    /// divides the head size, V always 64.
    fn rot_input(&mut self, v: bool) -> Option<Id> {
        let sp = self.spec;
        let rules = self.s.llama_cpp.rules();
        let (ty, n_head) = if v {
            (
                self.s.cache_type_v,
                sp.n_embd_v_gqa(0) / u64::from(sp.n_head_kv.max(1)),
            )
        } else {
            (self.s.cache_type_k, sp.head_dim())
        };
        // The sliding-window cache stays F16 (see `layer_kv_bytes`), so it is not rotated.
        let swa_f16 =
            self.cache_of() == Cache::Swa && !self.s.swa_full && rules.swa_f16_when_quantized;
        if !rules.attn_rotation || !ty.is_quantized() || swa_f16 || n_head % 64 != 0 {
            return None;
        }
        let mut n = 64;
        if !v {
            while n_head % (n * 2) == 0 {
                n *= 2;
            }
        }
        let c = self.cache_of();
        Some(self.input(
            if v {
                "attn_inp_v_rot"
            } else {
                "attn_inp_k_rot"
            },
            c,
            [n, n, 1, 1],
            F32,
        ))
    }

    /// `llama_mul_mat_hadamard`: reshape (or make contiguous) to rows of the rotation's size,
    /// multiply, reshape back.
    fn hadamard(&mut self, x: Id, rot: Option<Id>, strided: bool) -> Id {
        let Some(rot) = rot else { return x };
        let ne = self.g.tensors[x].ne;
        let n = self.g.tensors[rot].ne[0];
        let rows = ne.iter().product::<u64>() / n;
        let r = if strided {
            self.op("cont", [n, rows, 1, 1], &[x])
        } else {
            self.view("reshaped", x)
        };
        let m = self.op("hadamard", [n, rows, 1, 1], &[rot, r]);
        self.view("reshaped", m)
    }

    /// `rms_norm` then the weight multiply; `name` is also the weight's (`attn_norm`).
    fn rms_norm(&mut self, x: Id, name: &'static str) -> Id {
        let ne = self.g.tensors[x].ne;
        let n = self.op_ip("norm", ne, &[x]);
        let weight = match name {
            "attn_norm" => W::AttnNorm,
            "ffn_norm" => W::FfnNorm,
            "attn_post_norm" => W::PostAttentionNorm,
            "ffn_post_norm" => W::PostFfwNorm,
            _ => return self.op_ip(name, ne, &[n]),
        };
        self.op_w(name, ne, &[n], weight)
    }

    /// Stores K (and V) of this layer: `cpy_k`/`cpy_v` write with `set_rows` into the cache.
    /// Without flash attention V is stored transposed; a strided V (a view of a fused
    /// projection) is made contiguous first.
    fn store_kv(&mut self, k: Id, v: Id, vw: u64, v_strided: bool) {
        let t = self.t;
        let c = self.cache_of();
        let kv = self.view("Kcur (view)", k);
        let kidx = self.input("attn_inp_k_idxs", c, [t, 1, 1, 1], I64);
        self.sink("cache_k (view)", &[kv, kidx]);
        if self.fa {
            let vv = self.view("Vcur (view)", v);
            let vidx = self.input("attn_inp_v_idxs", c, [t, 1, 1, 1], I64);
            self.sink("cache_v (view)", &[vv, vidx]);
        } else if v_strided {
            let vc = self.op("Vcur (cont)", [vw, t, 1, 1], &[v]);
            let r = self.view("Vcur (cont) (reshaped)", vc);
            let vidx = self.input("attn_inp_v_idxs", c, [vw, t, 1, 1], I64);
            self.sink("cache_v (reshaped) (view)", &[r, vidx]);
        } else {
            // The transposed V cache is written element by element: one index per value.
            let r1 = self.view("Vcur (reshaped)", v);
            let r2 = self.view("Vcur (reshaped) (reshaped)", r1);
            let vidx = self.input("attn_inp_v_idxs", c, [vw, t, 1, 1], I64);
            self.sink("cache_v (reshaped) (view)", &[r2, vidx]);
        }
    }

    /// `build_attn_mha` over the cache: returns `kqv_out` ([hdv·H, T], possibly a view).
    fn attn_core(&mut self, q: Id) -> Id {
        let sp = self.spec;
        let (t, h) = (self.t, u64::from(sp.n_head));
        let hdv = sp.n_embd_v_gqa(0) / u64::from(sp.n_head_kv.max(1));
        let n_kv = self.n_kv();
        if self.fa {
            let qv = self.view("Qcur (view)", q);
            let qp = self.view("Qcur (view) (permuted)", qv);
            let mask = self.kq_mask();
            let o = self.op("fattn", [hdv, h, t, 1], &[qp, mask]);
            self.attn_op(o, Op::FlashAttn);
            if self.spec.arch == Arch::GptOss {
                self.g.tensors[o].weight = Some(W::AttnSinks);
            }
            self.view("kqv_out", o)
        } else {
            let qv = self.view("Qcur (view)", q);
            let qp = self.view("Qcur (view) (permuted)", qv);
            let mut kq = self.op("kq", [n_kv, t, h, 1], &[qp]);
            self.attn_op(kq, Op::MulMat);
            if self.softcap_kq {
                // Gemma 2: scale, tanh, scale, all in place.
                for name in ["kq_scaled_1", "kq_tanh", "kq_scaled_2"] {
                    kq = self.op_ip(name, [n_kv, t, h, 1], &[kq]);
                }
            }
            let mask = self.kq_mask();
            let sm = self.op_ip("kq_soft_max", [n_kv, t, h, 1], &[kq, mask]);
            let kqv = self.op("kqv", [hdv, t, h, 1], &[sm]);
            self.attn_op(kqv, Op::MulMat);
            let p = self.view("kqv (permuted)", kqv);
            self.op("kqv_out", [hdv * h, t, 1, 1], &[p])
        }
    }

    /// The last layer keeps only the output rows (`inp_out_ids`); the reserved graph outputs
    /// every token, but the rows are still gathered.
    fn out_rows(&mut self, x: Id) -> Id {
        let t = self.t;
        let ne = self.g.tensors[x].ne;
        let ids = self.input("out_ids", Cache::Full, [t, 1, 1, 1], I32);
        let r = self.op("get_rows", ne, &[x, ids]);
        self.tag(r, Op::GetRows, None)
    }

    fn is_last(&self) -> bool {
        self.il == i32::try_from(self.spec.n_layer).unwrap_or(i32::MAX) - 1
    }

    /// The router of `build_moe_ffn`: logits, probabilities (softmax, or gpt-oss's bias added;
    /// either runs in place), top-k by argsort, the selected weights. Returns (top-k ids, weights).
    fn moe_route(&mut self, x: Id) -> (Id, Id) {
        let t = self.t;
        let n_exp = u64::from(self.spec.n_expert);
        let used = u64::from(self.spec.n_expert_used);
        let logits = self.mm("ffn_moe_logits", [n_exp, t, 1, 1], &[x], W::FfnGateInp);
        let probs = self.op_ip("ffn_moe_probs", [n_exp, t, 1, 1], &[logits]);
        if self.spec.arch == Arch::GptOss {
            // gpt-oss adds the router's bias instead of a softmax.
            self.tag(probs, Op::Other, Some(W::FfnGateInpBias));
        }
        let probs_r = self.view("ffn_moe_probs (reshaped)", probs);
        let argsort = self.push(
            "ffn_moe_argsort",
            [n_exp, t, 1, 1],
            I32,
            Kind::Op,
            &[probs],
            false,
        );
        let topk = self.view("ffn_moe_topk", argsort);
        let w = self.op("ffn_moe_weights", [1, used, t, 1], &[probs_r, topk]);
        self.tag(w, Op::GetRows, None);
        (topk, w)
    }

    /// `build_moe_ffn`: router, top-k, the selected weights (normalised to sum 1 for Qwen3-MoE
    /// and Mixtral, softmaxed for gpt-oss, as they are for DeepSeek V2), the expert matmuls
    /// (gpt-oss adds per-expert biases in place, `ADD_ID`), the weighted sum.
    fn moe_ffn(&mut self, x: Id, weights: MoeWeights, biased: bool) -> Id {
        let sp = self.spec;
        let (t, e) = (self.t, self.e());
        let used = u64::from(sp.n_expert_used);
        let f = sp.expert_ff.unwrap_or(sp.n_ff);
        let (topk, mut w) = self.moe_route(x);
        match weights {
            MoeWeights::AsRouted => {}
            MoeWeights::Normalised => {
                let wr = self.view("ffn_moe_weights (reshaped)", w);
                let sum = self.op("ffn_moe_weights_sum", [1, t, 1, 1], &[wr]);
                let cl = self.op_ip("ffn_moe_weights_sum_clamped", [1, t, 1, 1], &[sum]);
                let wn = self.op_ip("ffn_moe_weights_norm", [used, t, 1, 1], &[wr, cl]);
                w = self.view("ffn_moe_weights_norm (reshaped)", wn);
            }
            MoeWeights::Softmax => {
                let wr = self.view("ffn_moe_weights (reshaped)", w);
                let sm = self.op_ip("ffn_moe_weights_softmax", [used, t, 1, 1], &[wr]);
                w = self.view("ffn_moe_weights_softmax", sm);
            }
        }
        let xr = self.view("ffn_inp (reshaped)", x);
        let proj = |b: &mut Self, name: &'static str, biased_name: &'static str, ne, src: Id| {
            let weight = match name {
                "ffn_moe_gate" => W::FfnGateExps,
                "ffn_moe_up" => W::FfnUpExps,
                _ => W::FfnDownExps,
            };
            let m = b.op(name, ne, &[src, topk]);
            b.tag(m, Op::MulMatId, Some(weight));
            if biased {
                let bias = match name {
                    "ffn_moe_gate" => W::FfnGateExpsBias,
                    "ffn_moe_up" => W::FfnUpExpsBias,
                    _ => W::FfnDownExpsBias,
                };
                b.op_w(biased_name, ne, &[m, topk], bias)
            } else {
                m
            }
        };
        let gate = proj(
            self,
            "ffn_moe_gate",
            "ffn_moe_gate_biased",
            [f, used, t, 1],
            xr,
        );
        let up = proj(self, "ffn_moe_up", "ffn_moe_up_biased", [f, used, t, 1], xr);
        let act = self.op("ffn_moe_act", [f, used, t, 1], &[gate, up]);
        let down = proj(
            self,
            "ffn_moe_down",
            "ffn_moe_down_biased",
            [e, used, t, 1],
            act,
        );
        let weighted = self.op_ip("ffn_moe_weighted", [e, used, t, 1], &[down, w]);
        self.sum_experts(weighted)
    }

    /// Adds the per-expert rows: views of the weighted result, summed pairwise.
    fn sum_experts(&mut self, weighted: Id) -> Id {
        let (t, e) = (self.t, self.e());
        let used = u64::from(self.spec.n_expert_used);
        if used == 1 {
            return self.view("ffn_moe_weighted (view)", weighted);
        }
        let views: Vec<Id> = (0..used)
            .map(|_| self.view("ffn_moe_weighted (view)", weighted))
            .collect();
        let mut out = self.op_ip("ffn_moe_out", [e, t, 1, 1], &[views[0], views[1]]);
        for &v in &views[2..] {
            out = self.op_ip("ffn_moe_out", [e, t, 1, 1], &[out, v]);
        }
        out
    }

    /// Final norm and the output matmul, both graph outputs, then `post_ops` in-place ops on the
    /// logits (Gemma 2's soft-capping: scale, tanh, scale; Command R's logit scale).
    fn output_head(&mut self, x: Id, layer_norm: bool, post_ops: usize) {
        let (t, e) = (self.t, self.e());
        self.il = -1;
        let n = if layer_norm {
            self.op("norm", [e, t, 1, 1], &[x])
        } else {
            self.op_ip("norm", [e, t, 1, 1], &[x])
        };
        let rn = self.op_w("result_norm", [e, t, 1, 1], &[n], W::OutputNorm);
        self.mark_output(rn);
        let ne = [self.spec.n_vocab, t, 1, 1];
        let mut out = self.mm("result_output", ne, &[rn], W::Output);
        for _ in 0..post_ops {
            out = self.op_ip("result_output", ne, &[out]);
        }
        self.mark_output(out);
    }

    /// Q projection (+bias) → heads → (q-norm) → RoPE (when `rope`).
    fn proj_q(&mut self, x: Id, qk_norm: bool, rope: bool) -> Id {
        let h = u64::from(self.spec.n_head);
        self.proj_qk(x, h, ("Qcur", "Qcur_normed"), qk_norm, rope)
    }

    /// K projection (+bias) → heads → (k-norm) → RoPE (when `rope`).
    fn proj_k(&mut self, x: Id, qk_norm: bool, rope: bool) -> Id {
        let h = u64::from(self.spec.n_head_kv);
        self.proj_qk(x, h, ("Kcur", "Kcur_normed"), qk_norm, rope)
    }

    fn proj_qk(
        &mut self,
        x: Id,
        h: u64,
        names: (&'static str, &'static str),
        qk_norm: bool,
        rope: bool,
    ) -> Id {
        let (t, hd) = (self.t, self.spec.head_dim());
        let q = names.0 == "Qcur";
        let w = |q_name, k_name| if q { q_name } else { k_name };
        let mut m = self.mm(names.0, [h * hd, t, 1, 1], &[x], w(W::AttnQ, W::AttnK));
        if self.spec.attn_bias {
            m = self.op_w(
                names.0,
                [h * hd, t, 1, 1],
                &[m],
                w(W::AttnQBias, W::AttnKBias),
            );
        }
        let mut r = self.view(names.0, m);
        if qk_norm {
            let n = self.op_ip("norm", [hd, h, t, 1], &[r]);
            r = self.op_w(names.1, [hd, h, t, 1], &[n], w(W::AttnQNorm, W::AttnKNorm));
        }
        if rope {
            let pos = self.inp_pos();
            r = self.op_ip(names.0, [hd, h, t, 1], &[r, pos]);
            self.tag(r, Op::Rope, Some(W::RopeFreqs));
        }
        r
    }

    /// V projection (+bias) → heads.
    fn proj_v(&mut self, x: Id) -> Id {
        let t = self.t;
        let vw = self.spec.n_embd_v_gqa(0);
        let mut m = self.mm("Vcur", [vw, t, 1, 1], &[x], W::AttnV);
        if self.spec.attn_bias {
            m = self.op_w("Vcur", [vw, t, 1, 1], &[m], W::AttnVBias);
        }
        self.view("Vcur", m)
    }

    /// Q, K, V for `build_attn` with the sliding-window input (`llm_graph_input_attn_kv_iswa`),
    /// which expands them in the order Q, K, V (the single-cache version: Q, V, K), each with its
    /// rotation; ggml emits nodes in expansion order, so each chain is built whole in turn.
    fn qkv_iswa(
        &mut self,
        x: Id,
        k_rot: Option<Id>,
        q_of: impl FnOnce(&mut Self, Id) -> Id,
        k_of: impl FnOnce(&mut Self, Id) -> Id,
    ) -> (Id, Id, Id) {
        let q = q_of(self, x);
        let q = self.hadamard(q, k_rot, false);
        let k = k_of(self, x);
        let k = self.hadamard(k, k_rot, false);
        let v = self.proj_v(x);
        let v_rot = self.rot_input(true);
        let v = self.hadamard(v, v_rot, false);
        (q, k, v)
    }

    /// Stores K and V and attends; the result still carries the V rotation (see `wo`).
    fn attn_stored(&mut self, q: Id, k: Id, v: Id) -> Id {
        let vw = self.spec.n_embd_v_gqa(0);
        self.store_kv(k, v, vw, false);
        self.attn_core(q)
    }

    /// Undoes the V rotation and applies the output projection. ggml runs these where the
    /// output is first needed, which for parallel blocks (Command R) is after the FFN.
    fn wo(&mut self, kqv: Id) -> Id {
        let (t, e) = (self.t, self.e());
        let v_rot = self.rot_input(true);
        let kqv = self.hadamard(kqv, v_rot, false);
        self.mm("attn_out", [e, t, 1, 1], &[kqv], W::AttnOutput)
    }

    /// Dense FFN with a gated activation (SwiGLU, GeGLU).
    fn ffn_gated(
        &mut self,
        x: Id,
        ff: u64,
        names: (&'static str, &'static str, &'static str, &'static str),
    ) -> Id {
        let (t, e) = (self.t, self.e());
        let gate = self.mm(names.0, [ff, t, 1, 1], &[x], W::FfnGate);
        let up = self.mm(names.1, [ff, t, 1, 1], &[x], W::FfnUp);
        let act = self.op(names.2, [ff, t, 1, 1], &[gate, up]);
        self.mm(names.3, [e, t, 1, 1], &[act], W::FfnDown)
    }
}
