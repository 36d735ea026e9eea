//! The builders of each architecture, over the shared pieces in `mod.rs`.

use crate::model::Arch;

use super::super::ir::{Kind, Op, W};
use super::{Cache, MoeWeights, B, FFN, I64};

impl B<'_> {
    // ---- architectures -------------------------------------------------------------------------

    /// `llm_build_llama`, `llm_build_qwen2`, `llm_build_qwen3(moe)`, `llm_build_phi3`.
    pub(super) fn llama(&mut self) {
        let sp = self.spec;
        let (t, e) = (self.t, self.e());
        let (h, hkv) = (u64::from(sp.n_head), u64::from(sp.n_head_kv));
        let hd = sp.head_dim();
        let (qw, kw, vw) = (h * hd, hkv * hd, sp.n_embd_v_gqa(0));
        let phi3 = sp.arch == Arch::Phi3;
        let qk_norm = matches!(sp.arch, Arch::Qwen3 | Arch::Qwen3Moe);
        let mut inp = self.inp_embd();
        for il in 0..sp.n_layer {
            self.il = i32::try_from(il).unwrap_or(i32::MAX);
            // The rotation input is the first source of Q's rotation, so ggml lists it before
            // the positions.
            let k_rot = self.rot_input(false);
            let attn_norm = self.rms_norm(inp, "attn_norm");
            let pos;
            let (q, k, v);
            if phi3 {
                let qkv = self.mm("wqkv", [qw + kw + vw, t, 1, 1], &[attn_norm], W::AttnQkv);
                let qv = self.view("Qcur", qkv);
                pos = self.inp_pos();
                let qr = self.op("Qcur", [hd, h, t, 1], &[qv, pos]);
                self.tag(qr, Op::Rope, Some(W::RopeFreqs));
                let qs = self.op_ip("Qcur", [hd, h, t, 1], &[qr]);
                q = self.hadamard(qs, k_rot, false);
                let vv = self.view("Vcur", qkv);
                let v_rot = self.rot_input(true);
                v = self.hadamard(vv, v_rot, true);
                let kv = self.view("Kcur", qkv);
                let kr = self.op("Kcur", [hd, hkv, t, 1], &[kv, pos]);
                self.tag(kr, Op::Rope, Some(W::RopeFreqs));
                k = self.hadamard(kr, k_rot, false);
            } else {
                let qp = self.proj_q(attn_norm, qk_norm, true);
                q = self.hadamard(qp, k_rot, false);
                let vr = self.proj_v(attn_norm);
                let v_rot = self.rot_input(true);
                v = self.hadamard(vr, v_rot, false);
                let kp = self.proj_k(attn_norm, qk_norm, true);
                k = self.hadamard(kp, k_rot, false);
            }
            let v_strided = phi3 && self.rot_input(true).is_none();
            self.store_kv(k, v, vw, v_strided);
            let kqv = self.attn_core(q);
            let mut cur = self.wo(kqv);
            if self.is_last() {
                cur = self.out_rows(cur);
                inp = self.out_rows(inp);
            }
            let ffn_inp = self.op_ip("ffn_inp", [e, t, 1, 1], &[cur, inp]);
            let ffn_norm = self.rms_norm(ffn_inp, "ffn_norm");
            let ffn_out = if sp.n_expert > 1 {
                // llm_build_llama (Mixtral) and qwen3moe normalise the top-k weights (norm_w = true).
                self.moe_ffn(ffn_norm, MoeWeights::Normalised, false)
            } else if phi3 {
                let up = self.mm("ffn_up", [2 * sp.n_ff, t, 1, 1], &[ffn_norm], W::FfnUp);
                let act = self.op("ffn_swiglu", [sp.n_ff, t, 1, 1], &[up]);
                self.mm("ffn_out", [e, t, 1, 1], &[act], W::FfnDown)
            } else {
                self.ffn_gated(ffn_norm, sp.n_ff, FFN)
            };
            // Phi-3 adds the FFN output to the residual, the others the residual to the output:
            // the first source is the one reused in place.
            inp = if phi3 {
                self.op_ip("l_out", [e, t, 1, 1], &[ffn_inp, ffn_out])
            } else {
                self.op_ip("l_out", [e, t, 1, 1], &[ffn_out, ffn_inp])
            };
            inp = self.deepstack_add(inp);
        }
        self.output_head(inp, false, 0);
    }

    /// `llm_build_gemma2_iswa` and `llm_build_gemma3_iswa`: scaled embeddings, post-norms,
    /// GeGLU, sliding-window cache; Gemma 2 soft-caps attention scores and logits.
    pub(super) fn gemma(&mut self) {
        let sp = self.spec;
        let (t, e) = (self.t, self.e());
        let gemma2 = sp.arch == Arch::Gemma2;
        let embd = self.inp_embd();
        let mut inp = self.op_ip("inp_scaled", [e, t, 1, 1], &[embd]);
        for il in 0..sp.n_layer {
            self.il = i32::try_from(il).unwrap_or(i32::MAX);
            let k_rot = self.rot_input(false);
            let attn_norm = self.rms_norm(inp, "attn_norm");
            let (h, hd) = (u64::from(sp.n_head), sp.head_dim());
            let (q, k, v) = self.qkv_iswa(
                attn_norm,
                k_rot,
                |b, x| {
                    let q = b.proj_q(x, !gemma2, true);
                    b.op_ip("Qcur", [hd, h, t, 1], &[q])
                },
                |b, x| b.proj_k(x, !gemma2, true),
            );
            self.softcap_kq = gemma2;
            let kqv = self.attn_stored(q, k, v);
            self.softcap_kq = false;
            let mut cur = self.wo(kqv);
            if self.is_last() {
                cur = self.out_rows(cur);
            }
            let post = self.rms_norm(cur, "attn_post_norm");
            if self.is_last() {
                inp = self.out_rows(inp);
            }
            let sa_out = self.op_ip("sa_out", [e, t, 1, 1], &[post, inp]);
            let ffn_norm = self.rms_norm(sa_out, "ffn_norm");
            let ffn_out = self.ffn_gated(
                ffn_norm,
                sp.n_ff,
                ("ffn_gate", "ffn_up", "ffn_geglu", "ffn_out"),
            );
            let post = self.rms_norm(ffn_out, "ffn_post_norm");
            inp = self.op_ip("l_out", [e, t, 1, 1], &[post, sa_out]);
        }
        self.output_head(inp, false, if gemma2 { 3 } else { 0 });
    }

    /// `llm_build_cohere2_iswa`: layer norm, attention and FFN in parallel from the same input,
    /// RoPE on the sliding-window layers only, scaled logits.
    pub(super) fn cohere2(&mut self) {
        let sp = self.spec;
        let (t, e) = (self.t, self.e());
        let mut inp = self.inp_embd();
        for il in 0..sp.n_layer {
            self.il = i32::try_from(il).unwrap_or(i32::MAX);
            let k_rot = self.rot_input(false);
            let swa = self.cache_of() == Cache::Swa;
            let n = self.op("norm", [e, t, 1, 1], &[inp]);
            let mut attn_norm = self.op_w("attn_norm", [e, t, 1, 1], &[n], W::AttnNorm);
            let (q, k, v) = self.qkv_iswa(
                attn_norm,
                k_rot,
                |b, x| b.proj_q(x, false, swa),
                |b, x| b.proj_k(x, false, swa),
            );
            let kqv = self.attn_stored(q, k, v);
            if self.is_last() {
                attn_norm = self.out_rows(attn_norm);
            }
            let ffn_out = self.ffn_gated(attn_norm, sp.n_ff, FFN);
            if self.is_last() {
                inp = self.out_rows(inp);
            }
            let with_ffn = self.op_ip("ffn_inp", [e, t, 1, 1], &[ffn_out, inp]);
            let mut attn_out = self.wo(kqv);
            if self.is_last() {
                attn_out = self.out_rows(attn_out);
            }
            inp = self.op_ip("l_out", [e, t, 1, 1], &[with_ffn, attn_out]);
        }
        self.output_head(inp, true, 1);
    }

    /// `llm_build_openai_moe_iswa` (gpt-oss): attention sinks, output bias, biased experts with
    /// softmax over the selected experts' weights; the output rows are taken after the block.
    pub(super) fn gpt_oss(&mut self) {
        let sp = self.spec;
        let (t, e) = (self.t, self.e());
        let mut inp = self.inp_embd();
        for il in 0..sp.n_layer {
            self.il = i32::try_from(il).unwrap_or(i32::MAX);
            let k_rot = self.rot_input(false);
            let attn_norm = self.rms_norm(inp, "attn_norm");
            let (q, k, v) = self.qkv_iswa(
                attn_norm,
                k_rot,
                |b, x| b.proj_q(x, false, true),
                |b, x| b.proj_k(x, false, true),
            );
            let kqv = self.attn_stored(q, k, v);
            let o = self.wo(kqv);
            let o = self.op_w("attn_out", [e, t, 1, 1], &[o], W::AttnOutputBias);
            let ffn_inp = self.op_ip("ffn_inp", [e, t, 1, 1], &[o, inp]);
            let x = self.rms_norm(ffn_inp, "attn_post_norm");
            let moe = self.moe_ffn(x, MoeWeights::Softmax, true);
            inp = self.op_ip("l_out", [e, t, 1, 1], &[moe, ffn_inp]);
            if self.is_last() {
                // The last hidden state, before the output rows are taken, is a graph output
                // (`t_h_nextn`, for multi-token prediction): it is never freed.
                self.mark_output(inp);
                inp = self.out_rows(inp);
            }
        }
        self.output_head(inp, false, 0);
    }

    /// `llm_build_deepseek2` with multi-head latent attention in its absorbed form (K cache of
    /// `kv_lora_rank + rope` per token, V a view of it), leading dense layers, routed experts
    /// with softmax gating plus shared experts.
    pub(super) fn deepseek2(&mut self) {
        let sp = self.spec;
        let (t, e, h) = (self.t, self.e(), u64::from(sp.n_head));
        let kv_lora = sp.kv_lora_rank.unwrap_or(0);
        let rope = sp.qk_rope_head_dim.unwrap_or(0);
        let nope = sp.qk_nope_head_dim.unwrap_or(0);
        let v_head = sp.v_head_dim.unwrap_or(0);
        let mut inp = self.inp_embd();
        for il in 0..sp.n_layer {
            self.il = i32::try_from(il).unwrap_or(i32::MAX);
            let attn_norm = self.rms_norm(inp, "attn_norm");
            let mut q = attn_norm;
            if let Some(r) = sp.q_lora_rank {
                let qa = self.op("q", [r, t, 1, 1], &[q]);
                q = self.rms_norm(qa, "q");
            }
            let q = self.op("q", [h * (nope + rope), t, 1, 1], &[q]);
            let qr = self.view("q", q);
            let q_nope = self.view("q_nope", qr);
            let q_nope_p = self.view("q_nope_perm", q_nope);
            let absorbed = self.op("q_nope_absorbed", [kv_lora, t, h, 1], &[q_nope_p]);
            let absorbed_p = self.view("q_nope_absorbed_perm", absorbed);
            let q_pe = self.view("q_pe", qr);
            let pos = self.inp_pos();
            let q_pe = self.op_ip("q_pe", [rope, h, t, 1], &[q_pe, pos]);
            let qcur = self.op("Qcur", [kv_lora + rope, h, t, 1], &[absorbed_p, q_pe]);
            let kv_pe = self.op("kv_cmpr_pe", [kv_lora + rope, t, 1, 1], &[attn_norm]);
            let kv_c = self.view("kv_cmpr", kv_pe);
            let n = self.op_ip("norm", [kv_lora, t, 1, 1], &[kv_c]);
            let kv_c = self.op_ip("kv_cmpr", [kv_lora, t, 1, 1], &[n]);
            let vcur = self.view("Vcur", kv_c);
            let k_pe = self.view("k_pe", kv_pe);
            let k_pe = self.op_ip("k_pe", [rope, 1, t, 1], &[k_pe, pos]);
            let kcur = self.op("Kcur", [kv_lora + rope, 1, t, 1], &[vcur, k_pe]);
            let kv = self.view("Kcur (view)", kcur);
            let kidx = self.input("attn_inp_k_idxs", Cache::Full, [t, 1, 1, 1], I64);
            self.sink("cache_k (view)", &[kv, kidx]);
            let n_kv = self.n_kv();
            let kqv_out = if self.fa {
                let qv = self.view("Qcur (view)", qcur);
                let qp = self.view("Qcur (view) (permuted)", qv);
                let mask = self.kq_mask();
                let o = self.op("fattn", [kv_lora, h, t, 1], &[qp, mask]);
                let p = self.view("fattn (permuted)", o);
                let mla = self.op("fattn_mla", [v_head, t, h, 1], &[p]);
                let p = self.view("fattn_mla (permuted)", mla);
                let c = self.op("fattn_mla (cont)", [v_head, h, t, 1], &[p]);
                self.view("kqv_out", c)
            } else {
                // V, a transposed view of the latent cache, is made contiguous in the cache type.
                let es = self.s.cache_type_k.row_size(1).max(1);
                let v = self.push("v_cont", [n_kv, kv_lora, 1, 1], es, Kind::Op, &[], false);
                let qv = self.view("Qcur (view)", qcur);
                let qp = self.view("Qcur (view) (permuted)", qv);
                let kq = self.op("kq", [n_kv, t, h, 1], &[qp]);
                let mask = self.kq_mask();
                let sm = self.op_ip("kq_soft_max", [n_kv, t, h, 1], &[kq, mask]);
                let kqv = self.op("kqv", [kv_lora, t, h, 1], &[v, sm]);
                let mla = self.op("kqv_mla", [v_head, t, h, 1], &[kqv]);
                let p = self.view("kqv_mla (permuted)", mla);
                self.op("kqv_out", [v_head * h, t, 1, 1], &[p])
            };
            let mut cur = self.op("attn_out", [e, t, 1, 1], &[kqv_out]);
            if self.is_last() {
                cur = self.out_rows(cur);
                inp = self.out_rows(inp);
            }
            let ffn_inp = self.op_ip("ffn_inp", [e, t, 1, 1], &[cur, inp]);
            let x = self.rms_norm(ffn_inp, "ffn_norm");
            let ffn_out = if il < sp.leading_dense_layers || sp.n_expert <= 1 {
                self.ffn_gated(x, sp.n_ff, FFN)
            } else {
                let moe = self.moe_ffn(x, MoeWeights::AsRouted, false);
                let f = sp.expert_ff.unwrap_or(sp.n_ff) * u64::from(sp.n_expert_shared);
                if f > 0 {
                    let sh =
                        self.ffn_gated(x, f, ("ffn_gate", "ffn_up", "ffn_swiglu", "ffn_shexp"));
                    self.op_ip("ffn_out", [e, t, 1, 1], &[moe, sh])
                } else {
                    moe
                }
            };
            inp = self.op_ip("l_out", [e, t, 1, 1], &[ffn_out, ffn_inp]);
        }
        self.output_head(inp, false, 0);
    }
}
