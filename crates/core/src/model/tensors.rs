//! The tensor inventory an architecture implies: every tensor's GGUF name, shape and role, derived
//! from a [`ModelSpec`] alone.
//!
//! Names and shapes follow llama.cpp's `llama-arch.cpp` (tensor names) and `llama-model.cpp`
//! (`create_tensor` calls per architecture), with ggml's order of dimensions: `ne[0]` is the row length
//! (input features), `ne[1]` the rows (output features), `ne[2]` the stacked experts.

use serde::Serialize;

use super::spec::{Arch, ModelSpec};
use crate::quant::ftype::Category;

/// What a tensor does, which decides its quant rule, its placement and whether decoding reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Input embedding matrix (always kept on the CPU by llama.cpp).
    TokenEmbd,
    /// Another table looked up by token id (Gemma 3n's per-layer embeddings): kept on the CPU
    /// like the token embeddings, one row read per token, never an output.
    LayerInput,
    /// Output (lm_head) matrix.
    Output,
    /// Final norm before the output.
    OutputNorm,
    /// A dense matrix of a block (attention or FFN).
    Matrix,
    /// Stacked routed experts: decoding reads only the used experts' slices.
    Experts,
    /// Norm weights, biases, sinks, RoPE factors and router gates: small, kept in F32.
    Small,
}

/// One tensor of the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorInfo {
    /// GGUF tensor name (`blk.3.attn_v.weight`).
    pub name: String,
    /// Dimensions `[ne0, ne1, ne2]` (unused trailing dimensions are 1).
    pub ne: [u64; 3],
    /// The block it belongs to, if any.
    pub layer: Option<u32>,
    /// Role for placement and speed.
    pub role: Role,
    /// Category for the quantizer's rules.
    pub category: Category,
}

impl TensorInfo {
    /// Number of elements.
    #[must_use]
    pub fn n_elements(&self) -> u64 {
        self.ne[0] * self.ne[1] * self.ne[2]
    }

    /// Number of dimensions ggml reports (trailing 1s dropped).
    #[must_use]
    pub fn n_dims(&self) -> u32 {
        if self.ne[2] > 1 {
            3
        } else if self.ne[1] > 1 {
            2
        } else {
            1
        }
    }

    /// Whether llama-quantize quantizes it (`tensor_allows_quantization`): 2-D or more, a weight, not
    /// a norm and not the MoE router.
    #[must_use]
    pub fn quantizable(&self) -> bool {
        self.n_dims() >= 2
            && self.name.ends_with("weight")
            && !self.name.contains("_norm.weight")
            && !self.name.contains("ffn_gate_inp.weight")
            // llama-quant.cpp keeps Mamba's and LFM2's small conv kernels, Gemma 3n's AltUp and
            // LAuReL and its per-layer projection unquantized.
            && !self.name.contains("ssm_conv1d")
            && !self.name.contains("shortconv.conv.weight")
            && !self.name.contains("altup")
            && !self.name.contains("laurel")
            && !self.name.contains("per_layer_model_proj")
            // BERT's position and token-type tables stay F32 (llama-quant.cpp
            // `tensor_allows_quantization`).
            && self.name != "position_embd.weight"
            && self.name != "token_types.weight"
    }
}

struct Builder {
    out: Vec<TensorInfo>,
    layer: Option<u32>,
}

impl Builder {
    fn push(&mut self, short: &str, ne: [u64; 3], role: Role, category: Category) {
        let name = match self.layer {
            Some(il) => format!("blk.{il}.{short}"),
            None => short.to_string(),
        };
        self.out.push(TensorInfo {
            name,
            ne,
            layer: self.layer,
            role,
            category,
        });
    }
    fn small(&mut self, short: &str, n: u64) {
        self.push(short, [n, 1, 1], Role::Small, Category::Other);
    }
    fn mat(&mut self, short: &str, ne0: u64, ne1: u64, category: Category) {
        self.push(short, [ne0, ne1, 1], Role::Matrix, category);
    }
    fn experts(&mut self, short: &str, ne0: u64, ne1: u64, n: u64, category: Category) {
        self.push(short, [ne0, ne1, n], Role::Experts, category);
    }
}

/// Every tensor of `spec`, in the order llama-quantize visits them (non-block tensors first, then each
/// block with its tensors sorted by name).
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn tensor_inventory(spec: &ModelSpec) -> Vec<TensorInfo> {
    use Category as C;
    let e = spec.n_embd;
    let v = spec.n_vocab;
    let hd = spec.head_dim();
    let q = spec.q_width();
    let kv = u64::from(spec.n_head_kv) * hd;
    let heads = u64::from(spec.n_head);
    let mut b = Builder {
        out: Vec::with_capacity(spec.n_layer as usize * 16 + 8),
        layer: None,
    };
    if spec.is_encoder() {
        encoder_tensors(&mut b, spec);
        return b.out;
    }

    // Non-block tensors. `output` exists unless the embeddings are tied.
    if !spec.tied_embeddings {
        b.push("output.weight", [e, v, 1], Role::Output, C::Output);
    }
    // LFM2's final norm is stored under the embedding norm's name (llama-arch.cpp
    // `LLM_TENSOR_OUTPUT_NORM_LFM2`, "fix for wrong tensor name").
    let output_norm = if matches!(spec.arch, Arch::Lfm2 | Arch::Lfm2Moe) {
        "token_embd_norm.weight"
    } else {
        "output_norm.weight"
    };
    b.push(output_norm, [e, 1, 1], Role::OutputNorm, C::Other);
    let scaling = spec.rope_scaling.as_deref().unwrap_or("");
    if spec.arch == Arch::Llama && scaling.starts_with("llama3") {
        // convert_hf_to_gguf writes the llama3 frequency factors as one F32 tensor.
        b.small("rope_freqs.weight", hd / 2);
    }
    // Long-context RoPE factors ("longrope", called "su" in early Phi-3-128k configs).
    if matches!(spec.arch, Arch::Phi3 | Arch::Llama)
        && (scaling.starts_with("longrope") || scaling.starts_with("su"))
    {
        b.small("rope_factors_long.weight", hd / 2);
        b.small("rope_factors_short.weight", hd / 2);
    }
    b.push(
        "token_embd.weight",
        [e, v, 1],
        Role::TokenEmbd,
        C::TokenEmbd,
    );
    if spec.arch == Arch::Gemma4 {
        // llama.cpp gemma4.cpp: one F32 table of the global layers' RoPE factors (64 rotated
        // pairs then 1e30 for the unrotated ones, conversion/gemma.py), and on E2B/E4B the
        // per-layer embedding table with its projection from the hidden state.
        b.small("rope_freqs.weight", hd / 2);
        if let Some(w) = spec.per_layer_embd.filter(|&w| w > 0) {
            let pl = w * u64::from(spec.n_layer);
            b.named("per_layer_token_embd.weight", [pl, v, 1]);
            b.named("per_layer_model_proj.weight", [e, pl, 1]);
            b.small("per_layer_proj_norm.weight", w);
        }
    }
    if spec.arch == Arch::Gemma3n {
        // llama.cpp gemma3n.cpp: AltUp's projections of the 4 streams, the per-layer embedding
        // table (looked up, kept on the CPU) and its projection from the hidden state.
        let pl = spec.per_layer_embd.unwrap_or(GEMMA3N_PER_LAYER) * u64::from(spec.n_layer);
        b.named("altup_proj.weight", [e, e, GEMMA3N_ALTUP - 1]);
        b.named("altup_unembd_proj.weight", [e, e, GEMMA3N_ALTUP - 1]);
        b.named("per_layer_token_embd.weight", [pl, v, 1]);
        b.named("per_layer_model_proj.weight", [e, pl, 1]);
        b.small(
            "per_layer_proj_norm.weight",
            spec.per_layer_embd.unwrap_or(GEMMA3N_PER_LAYER),
        );
    }
    sort_by_name(&mut b.out, 0);

    for il in 0..spec.n_layer {
        let start = b.out.len();
        b.layer = Some(il);
        if spec.arch == Arch::Gemma3n {
            gemma3n_block(&mut b, spec);
            sort_by_name(&mut b.out, start);
            continue;
        }
        if spec.arch == Arch::Gemma4 {
            gemma4_block(&mut b, spec, il);
            sort_by_name(&mut b.out, start);
            continue;
        }
        if matches!(
            spec.arch,
            Arch::Qwen3Next
                | Arch::Qwen35
                | Arch::Qwen35Moe
                | Arch::GraniteHybrid
                | Arch::Lfm2
                | Arch::Lfm2Moe
        ) {
            hybrid_block(&mut b, spec, il);
            sort_by_name(&mut b.out, start);
            continue;
        }
        b.small("attn_norm.weight", e);
        match spec.arch {
            Arch::Phi3 => {
                b.mat("attn_qkv.weight", e, q + 2 * kv, C::AttnQkv);
                b.mat("attn_output.weight", q, e, C::AttnOutput);
            }
            Arch::Deepseek2 => mla_attention(&mut b, spec),
            _ => {
                b.mat("attn_q.weight", e, q, C::AttnQ);
                b.mat("attn_k.weight", e, kv, C::AttnK);
                b.mat("attn_v.weight", e, kv, C::AttnV);
                b.mat("attn_output.weight", q, e, C::AttnOutput);
                if spec.attn_bias {
                    b.small("attn_q.bias", q);
                    b.small("attn_k.bias", kv);
                    b.small("attn_v.bias", kv);
                }
            }
        }
        if spec.qk_norm && spec.arch == Arch::MinimaxM2 {
            // One norm over the whole q and k projections (minimax-m2.cpp), not one per head.
            b.small("attn_q_norm.weight", q);
            b.small("attn_k_norm.weight", kv);
        } else if spec.qk_norm {
            b.qk_norm(hd);
        }
        match spec.arch {
            Arch::Gemma2 | Arch::Gemma3 => {
                b.small("post_attention_norm.weight", e);
                b.small("post_ffw_norm.weight", e);
                b.small("ffn_norm.weight", e);
            }
            Arch::GptOss => {
                b.small("attn_output.bias", e);
                b.small("attn_sinks.weight", heads);
                b.small("post_attention_norm.weight", e);
            }
            Arch::Cohere2 => {} // parallel block: one norm feeds attention and FFN
            _ => b.small("ffn_norm.weight", e),
        }

        if spec.is_moe_layer(il) {
            let x = u64::from(spec.n_expert);
            let f = spec.expert_ff.unwrap_or(spec.n_ff);
            b.small_2d("ffn_gate_inp.weight", e, x);
            b.experts("ffn_gate_exps.weight", e, f, x, C::FfnGate);
            b.experts("ffn_up_exps.weight", e, f, x, C::FfnUp);
            b.experts("ffn_down_exps.weight", f, e, x, C::FfnDown);
            if spec.arch == Arch::GptOss {
                b.small("ffn_gate_inp.bias", x);
                b.push("ffn_gate_exps.bias", [f, x, 1], Role::Small, C::Other);
                b.push("ffn_up_exps.bias", [f, x, 1], Role::Small, C::Other);
                b.push("ffn_down_exps.bias", [e, x, 1], Role::Small, C::Other);
            }
            // The sigmoid router's bias (DeepSeek V3's and GLM-4.5's `e_score_correction_bias`).
            if matches!(
                spec.arch,
                Arch::Deepseek2 | Arch::Glm4Moe | Arch::MinimaxM2 | Arch::Dots1
            ) {
                b.small("exp_probs_b.bias", x);
            }
            if spec.n_expert_shared > 0 {
                let fs = spec
                    .shared_expert_ff
                    .unwrap_or(f * u64::from(spec.n_expert_shared));
                b.mat("ffn_gate_shexp.weight", e, fs, C::FfnGate);
                b.mat("ffn_up_shexp.weight", e, fs, C::FfnUp);
                b.mat("ffn_down_shexp.weight", fs, e, C::FfnDown);
            }
        } else if spec.arch == Arch::Phi3 {
            // Phi-3 stores gate and up as one matrix.
            b.mat("ffn_up.weight", e, 2 * spec.n_ff, C::FfnUp);
            b.mat("ffn_down.weight", spec.n_ff, e, C::FfnDown);
        } else {
            b.mat("ffn_gate.weight", e, spec.n_ff, C::FfnGate);
            b.mat("ffn_up.weight", e, spec.n_ff, C::FfnUp);
            b.mat("ffn_down.weight", spec.n_ff, e, C::FfnDown);
        }
        sort_by_name(&mut b.out, start);
    }
    b.out
}

impl Builder {
    fn small_2d(&mut self, short: &str, ne0: u64, ne1: u64) {
        self.push(short, [ne0, ne1, 1], Role::Small, Category::Other);
    }
    /// Separate q/k/v projections and the output projection; `q_rows` is q's width (twice the
    /// query width where q carries an output gate).
    fn qkvo(&mut self, e: u64, q_rows: u64, q: u64, kv: u64) {
        self.named("attn_q.weight", [e, q_rows, 1]);
        self.named("attn_k.weight", [e, kv, 1]);
        self.named("attn_v.weight", [e, kv, 1]);
        self.named("attn_output.weight", [q, e, 1]);
    }
    fn qk_norm(&mut self, hd: u64) {
        self.small("attn_q_norm.weight", hd);
        self.small("attn_k_norm.weight", hd);
    }
    /// A dense gated FFN.
    fn dense_ffn(&mut self, e: u64, ff: u64) {
        self.named("ffn_gate.weight", [e, ff, 1]);
        self.named("ffn_up.weight", [e, ff, 1]);
        self.named("ffn_down.weight", [ff, e, 1]);
    }
    /// A tensor whose role and quantizer category follow from its name, as for one read from a file.
    fn named(&mut self, short: &str, ne: [u64; 3]) {
        let full = match self.layer {
            Some(il) => format!("blk.{il}.{short}"),
            None => short.to_string(),
        };
        let t = classify(&full, ne);
        self.push(short, ne, t.role, t.category);
    }
}

/// Gemma 3n's AltUp streams and LAuReL rank: llama.cpp's hparams defaults (`n_altup` 4,
/// `laurel_rank` 64, `n_embd_altup` 256 in llama-hparams.h), not read from the file.
const GEMMA3N_ALTUP: u64 = 4;
const GEMMA3N_LAUREL: u64 = 64;
const GEMMA3N_PER_LAYER: u64 = 256;

/// One Gemma 3n block (llama.cpp `src/models/gemma3n.cpp`): Gemma 3 attention and FFN with their
/// post-norms, the per-layer input gate and projection, AltUp's router and coefficients, LAuReL.
fn gemma3n_block(b: &mut Builder, spec: &ModelSpec) {
    let e = spec.n_embd;
    let hd = spec.head_dim();
    let kv = u64::from(spec.n_head_kv) * hd;
    let q = spec.q_width();
    let pl = spec.per_layer_embd.unwrap_or(GEMMA3N_PER_LAYER);
    let (a, r) = (GEMMA3N_ALTUP, GEMMA3N_LAUREL);
    b.small("attn_norm.weight", e);
    b.qkvo(e, q, q, kv);
    b.qk_norm(hd);
    b.small("post_attention_norm.weight", e);
    b.small("ffn_norm.weight", e);
    b.dense_ffn(e, spec.n_ff);
    b.small("post_ffw_norm.weight", e);
    b.named("inp_gate.weight", [e, pl, 1]);
    b.named("proj.weight", [pl, e, 1]);
    b.small("post_norm.weight", e);
    b.small_2d("altup_correct_coef.weight", a, a);
    b.small("altup_correct_scale.weight", e);
    b.small_2d("altup_predict_coef.weight", a, a * a);
    b.named("altup_router.weight", [e, a, 1]);
    b.small("altup_router_norm.weight", e);
    b.named("laurel_l.weight", [e, r, 1]);
    b.named("laurel_r.weight", [r, e, 1]);
    b.small("laurel_post_norm.weight", e);
}

/// One Gemma 4 block (llama.cpp `src/models/gemma4.cpp` `load_arch_tensors`, names from
/// conversion/gemma.py): attention at the block's own head size and KV heads, with no `attn_v`
/// where K doubles as V (the global blocks of the 26B and 31B); the dense GELU MLP at the block's
/// width; on MoE blocks the router with its scale, the fused gate/up experts with the per-expert
/// down scale, and the second pair of norms; the per-layer input gate and projection where the
/// model has per-layer embeddings. Blocks that read another block's cache (E2B/E4B past
/// `kv_layers`) still carry the K and V projections the checkpoint holds (transformers drops them
/// on load, `_keys_to_ignore_on_load_unexpected`; the converter writes what it finds and
/// llama.cpp loads them as optional tensors).
fn gemma4_block(b: &mut Builder, spec: &ModelSpec, il: u32) {
    let e = spec.n_embd;
    let hd = spec.layer_head_dim(il);
    let q = spec.layer_q_width(il);
    let kv = u64::from(spec.layer_n_head_kv(il)) * hd;
    let ff = spec.layer_n_ff(il);
    b.small("attn_norm.weight", e);
    b.named("attn_q.weight", [e, q, 1]);
    b.named("attn_k.weight", [e, kv, 1]);
    if !spec.global_k_eq_v || spec.is_swa_layer(il) {
        b.named("attn_v.weight", [e, kv, 1]);
    }
    b.named("attn_output.weight", [q, e, 1]);
    b.qk_norm(hd);
    b.small("post_attention_norm.weight", e);
    b.small("layer_output_scale.weight", 1);
    b.small("ffn_norm.weight", e);
    b.dense_ffn(e, ff);
    b.small("post_ffw_norm.weight", e);
    if spec.is_moe_layer(il) {
        let x = u64::from(spec.n_expert);
        let f = spec.expert_ff.unwrap_or(spec.n_ff);
        b.small_2d("ffn_gate_inp.weight", e, x);
        b.small("ffn_gate_inp.scale", e);
        b.named("ffn_gate_up_exps.weight", [e, 2 * f, x]);
        b.named("ffn_down_exps.weight", [f, e, x]);
        b.small("ffn_down_exps.scale", x);
        b.small("pre_ffw_norm_2.weight", e);
        b.small("post_ffw_norm_1.weight", e);
        b.small("post_ffw_norm_2.weight", e);
    }
    if let Some(pl) = spec.per_layer_embd.filter(|&w| w > 0) {
        b.named("inp_gate.weight", [e, pl, 1]);
        b.named("proj.weight", [pl, e, 1]);
        b.small("post_norm.weight", e);
    }
}

/// One block of a hybrid recurrent/attention model, as `load_arch_tensors` creates it in
/// llama.cpp's `src/models/{qwen3next,qwen35,qwen35moe,granite-hybrid,lfm2,lfm2moe}.cpp`.
fn hybrid_block(b: &mut Builder, spec: &ModelSpec, il: u32) {
    let e = spec.n_embd;
    let hd = spec.head_dim();
    let kv = u64::from(spec.n_head_kv) * hd;
    let q = spec.q_width();
    let r = spec.recurrent.clone().unwrap_or_default();
    let recurrent = spec.is_recurrent_layer(il);
    b.small("attn_norm.weight", e);
    match spec.arch {
        Arch::Qwen3Next | Arch::Qwen35 | Arch::Qwen35Moe => {
            b.small("post_attention_norm.weight", e);
            if recurrent {
                // Gated delta-net: k heads = ssm.group_count, v heads = ssm.time_step_rank, both
                // ssm.state_size wide.
                let key_dim = r.d_state * r.n_group;
                let value_dim = r.d_state * r.n_head;
                let conv_dim = 2 * key_dim + value_dim;
                b.named("attn_qkv.weight", [e, conv_dim, 1]);
                b.named("attn_gate.weight", [e, value_dim, 1]);
                b.named("ssm_conv1d.weight", [r.d_conv, conv_dim, 1]);
                b.small("ssm_dt.bias", r.n_head);
                b.small("ssm_a", r.n_head);
                if spec.arch == Arch::Qwen3Next {
                    b.named("ssm_ba.weight", [e, 2 * r.n_head, 1]);
                } else {
                    // Qwen3.5 keeps β and α as two projections.
                    b.named("ssm_beta.weight", [e, r.n_head, 1]);
                    b.named("ssm_alpha.weight", [e, r.n_head, 1]);
                }
                b.small("ssm_norm.weight", r.d_state);
                b.named("ssm_out.weight", [value_dim, e, 1]);
            } else {
                // Gated attention: q carries the output gate, twice the query width.
                b.qkvo(e, 2 * q, q, kv);
                b.qk_norm(hd);
            }
        }
        Arch::GraniteHybrid => {
            b.small("ffn_norm.weight", e);
            if recurrent {
                // Mamba-2: z, x, B, C and dt from one projection.
                let conv_dim = r.d_inner + 2 * r.n_group * r.d_state;
                b.named("ssm_in.weight", [e, r.d_inner + conv_dim + r.n_head, 1]);
                b.named("ssm_conv1d.weight", [r.d_conv, conv_dim, 1]);
                b.small("ssm_conv1d.bias", conv_dim);
                b.small("ssm_dt.bias", r.n_head);
                b.small_2d("ssm_a", 1, r.n_head);
                b.small_2d("ssm_d", 1, r.n_head);
                b.small_2d(
                    "ssm_norm.weight",
                    r.d_inner / r.n_group.max(1),
                    r.n_group.max(1),
                );
                b.named("ssm_out.weight", [r.d_inner, e, 1]);
            } else {
                b.qkvo(e, q, q, kv);
            }
        }
        _ => {
            // LFM2: every block has an FFN; attention blocks q/k-normed, the others a short
            // convolution of `shortconv.l_cache` taps.
            b.small("ffn_norm.weight", e);
            if recurrent {
                b.small_2d("shortconv.conv.weight", r.d_conv, e);
                b.named("shortconv.in_proj.weight", [e, 3 * e, 1]);
                b.named("shortconv.out_proj.weight", [e, e, 1]);
            } else {
                b.qkvo(e, q, q, kv);
                b.qk_norm(hd);
            }
        }
    }
    if spec.is_moe_layer(il) {
        let x = u64::from(spec.n_expert);
        let f = spec.expert_ff.unwrap_or(spec.n_ff);
        b.small_2d("ffn_gate_inp.weight", e, x);
        b.named("ffn_gate_exps.weight", [e, f, x]);
        b.named("ffn_up_exps.weight", [e, f, x]);
        b.named("ffn_down_exps.weight", [f, e, x]);
        if spec.arch == Arch::Lfm2Moe {
            b.small("exp_probs_b.bias", x);
        }
        let shared = spec
            .shared_expert_ff
            .unwrap_or(f * u64::from(spec.n_expert_shared));
        if shared > 0 && (spec.n_expert_shared > 0 || spec.shared_expert_ff.is_some()) {
            if matches!(spec.arch, Arch::Qwen3Next | Arch::Qwen35Moe) {
                b.small("ffn_gate_inp_shexp.weight", e);
            }
            b.named("ffn_gate_shexp.weight", [e, shared, 1]);
            b.named("ffn_up_shexp.weight", [e, shared, 1]);
            b.named("ffn_down_shexp.weight", [shared, e, 1]);
        }
    } else {
        b.dense_ffn(e, spec.n_ff);
    }
}

/// DeepSeek-style multi-head latent attention, as current GGUFs store it (split `attn_k_b`/`attn_v_b`).
fn mla_attention(b: &mut Builder, spec: &ModelSpec) {
    use Category as C;
    let e = spec.n_embd;
    let heads = u64::from(spec.n_head);
    let kv_lora = spec.kv_lora_rank.unwrap_or(0);
    let rope = spec.qk_rope_head_dim.unwrap_or(0);
    let nope = spec.qk_nope_head_dim.unwrap_or(0);
    let vh = spec.v_head_dim.unwrap_or(0);
    match spec.q_lora_rank {
        Some(ql) => {
            b.mat("attn_q_a.weight", e, ql, C::Other);
            b.small("attn_q_a_norm.weight", ql);
            b.mat("attn_q_b.weight", ql, heads * (nope + rope), C::Other);
        }
        None => b.mat("attn_q.weight", e, heads * (nope + rope), C::AttnQ),
    }
    b.mat("attn_kv_a_mqa.weight", e, kv_lora + rope, C::Other);
    b.small("attn_kv_a_norm.weight", kv_lora);
    if spec.mla_legacy_kv {
        // Files converted before the split store one up-projection for K and V, which
        // llama-quantize treats like attn_v.
        b.mat("attn_kv_b.weight", kv_lora, heads * (nope + vh), C::AttnKvB);
    } else {
        b.experts("attn_k_b.weight", nope, kv_lora, heads, C::Other);
        b.experts("attn_v_b.weight", kv_lora, vh, heads, C::Other);
        // The per-head k_b/v_b matrices are read whole for every token, like dense weights.
        let n = b.out.len();
        b.out[n - 2].role = Role::Matrix;
        b.out[n - 1].role = Role::Matrix;
    }
    b.mat("attn_output.weight", heads * vh, e, C::AttnOutput);
}

/// A BERT-style encoder (llama.cpp `src/models/bert.cpp`, `nomic-bert.cpp`, `jina-bert-v2.cpp`):
/// token, token-type and (BERT) position tables looked up on the CPU, an embedding norm llama.cpp runs with block 0,
/// post-norm blocks, and a reranker's `cls` head with the output layer. No `output.weight`, so
/// llama-quantize gives `token_embd` the output tensor's type.
fn encoder_tensors(b: &mut Builder, spec: &ModelSpec) {
    use Category as C;
    let e = spec.n_embd;
    let f = spec.n_ff;
    let bert = spec.arch == Arch::Bert;
    let jina = spec.arch == Arch::JinaBertV2;
    b.push(
        "token_embd.weight",
        [e, spec.n_vocab, 1],
        Role::TokenEmbd,
        C::TokenEmbd,
    );
    if spec.n_token_types > 0 {
        b.push(
            "token_types.weight",
            [e, u64::from(spec.n_token_types), 1],
            Role::LayerInput,
            C::Other,
        );
    }
    if bert {
        b.push(
            "position_embd.weight",
            [e, spec.context_length, 1],
            Role::LayerInput,
            C::Other,
        );
    }
    if spec.n_cls_out > 0 && bert {
        b.push("cls.weight", [e, e, 1], Role::Matrix, C::Other);
        b.small("cls.bias", e);
        let n = u64::from(spec.n_cls_out);
        b.push("cls.output.weight", [e, n, 1], Role::Matrix, C::Other);
        b.small("cls.output.bias", n);
    }
    // `LLM_TENSOR_TOKEN_EMBD_NORM` is a repeating-layer tensor: it lives with block 0.
    for name in ["token_embd_norm.weight", "token_embd_norm.bias"] {
        b.out.push(TensorInfo {
            name: name.to_string(),
            ne: [e, 1, 1],
            layer: Some(0),
            role: Role::Small,
            category: C::Other,
        });
    }
    sort_by_name(&mut b.out, 0);
    for il in 0..spec.n_layer {
        let start = b.out.len();
        b.layer = Some(il);
        if bert || jina {
            for (t, cat) in [
                ("attn_q", C::AttnQ),
                ("attn_k", C::AttnK),
                ("attn_v", C::AttnV),
                ("attn_output", C::AttnOutput),
            ] {
                b.mat(&format!("{t}.weight"), e, e, cat);
                b.small(&format!("{t}.bias"), e);
            }
            if jina {
                // `mlp.gated_layers`: GEGLU's up and gate stacked, without bias
                // (conversion/bert.py, gguf-py tensor_mapping).
                b.mat("ffn_up.weight", e, 2 * f, C::FfnUp);
            } else {
                b.mat("ffn_up.weight", e, f, C::FfnUp);
                b.small("ffn_up.bias", f);
            }
            b.mat("ffn_down.weight", f, e, C::FfnDown);
            b.small("ffn_down.bias", e);
        } else {
            b.mat("attn_qkv.weight", e, 3 * e, C::AttnQkv);
            b.mat("attn_output.weight", e, e, C::AttnOutput);
            b.mat("ffn_up.weight", e, f, C::FfnUp);
            b.mat("ffn_gate.weight", e, f, C::FfnGate);
            b.mat("ffn_down.weight", f, e, C::FfnDown);
        }
        for n in ["attn_output_norm", "layer_output_norm"] {
            b.small(&format!("{n}.weight"), e);
            b.small(&format!("{n}.bias"), e);
        }
        sort_by_name(&mut b.out, start);
    }
}

fn sort_by_name(v: &mut [TensorInfo], start: usize) {
    v[start..].sort_by(|a, b| a.name.cmp(&b.name));
}

/// Describes a tensor known only by its GGUF name and shape (as read from a file): its block, role
/// and quantizer category, by the same name rules llama-quantize uses (`tensor_get_category`).
#[must_use]
pub fn classify(name: &str, ne: [u64; 3]) -> TensorInfo {
    use Category as C;
    let layer = name
        .strip_prefix("blk.")
        .and_then(|r| r.split('.').next())
        .and_then(|n| n.parse::<u32>().ok());
    let category = if name == "output.weight" {
        C::Output
    } else if name == "token_embd.weight" || name == "per_layer_token_embd.weight" {
        C::TokenEmbd
    } else if name.contains("attn_qkv.weight") {
        C::AttnQkv
    } else if name.contains("attn_kv_b.weight") {
        C::AttnKvB
    } else if name.contains("attn_v.weight") {
        C::AttnV
    } else if name.contains("attn_k.weight") {
        C::AttnK
    } else if name.contains("attn_q.weight") {
        C::AttnQ
    } else if name.contains("attn_output.weight") {
        C::AttnOutput
    } else if name.contains("ffn_up") {
        C::FfnUp
    } else if name.contains("ffn_gate") && !name.contains("ffn_gate_inp") {
        C::FfnGate
    } else if name.contains("ffn_down") {
        C::FfnDown
    } else {
        C::Other
    };
    let is_weight = name.ends_with(".weight");
    let role = match category {
        C::TokenEmbd if name == "per_layer_token_embd.weight" => Role::LayerInput,
        _ if name == "position_embd.weight" || name == "token_types.weight" => Role::LayerInput,
        C::TokenEmbd => Role::TokenEmbd,
        C::Output => Role::Output,
        _ if name == "output_norm.weight" => Role::OutputNorm,
        _ if ne[2] > 1 && name.contains("_exps") && is_weight => Role::Experts,
        _ if ne[1] > 1
            && is_weight
            && !name.contains("_norm")
            && !name.contains("ffn_gate_inp") =>
        {
            Role::Matrix
        }
        _ => Role::Small,
    };
    TensorInfo {
        name: name.to_string(),
        ne,
        layer,
        role,
        category,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_agrees_with_the_inventory() {
        let spec = ModelSpec {
            id: "t".into(),
            arch: Arch::Qwen3Moe,
            n_layer: 2,
            n_embd: 256,
            n_ff: 512,
            n_head: 4,
            n_head_kv: 2,
            n_vocab: 1000,
            context_length: 4096,
            qk_norm: true,
            n_expert: 8,
            n_expert_used: 2,
            expert_ff: Some(128),
            ..ModelSpec::default()
        };
        for t in tensor_inventory(&spec) {
            let c = classify(&t.name, t.ne);
            assert_eq!(
                (c.layer, c.role, c.category),
                (t.layer, t.role, t.category),
                "{}",
                t.name
            );
        }
    }

    /// MiniMax-M2 normalises the whole q and k projections (llama.cpp minimax-m2.cpp: q_norm
    /// {n_embd_head_k * n_head}, k_norm {n_embd_k_gqa}) and keeps its router's selection bias;
    /// Qwen3's norms are per head.
    #[test]
    fn minimax_m2_norms_span_the_projections() {
        let spec = ModelSpec {
            id: "t".into(),
            arch: Arch::MinimaxM2,
            n_layer: 1,
            n_embd: 3072,
            n_ff: 1536,
            n_head: 48,
            n_head_kv: 8,
            head_dim: Some(128),
            n_vocab: 1000,
            context_length: 4096,
            qk_norm: true,
            n_expert: 256,
            n_expert_used: 8,
            expert_ff: Some(1536),
            ..ModelSpec::default()
        };
        let inv = tensor_inventory(&spec);
        let ne0 = |n: &str| inv.iter().find(|t| t.name.ends_with(n)).map(|t| t.ne[0]);
        assert_eq!(ne0("attn_q_norm.weight"), Some(6144));
        assert_eq!(ne0("attn_k_norm.weight"), Some(1024));
        assert_eq!(ne0("exp_probs_b.bias"), Some(256));
        let qwen = ModelSpec {
            arch: Arch::Qwen3Moe,
            ..spec
        };
        let inv = tensor_inventory(&qwen);
        let ne0 = |n: &str| inv.iter().find(|t| t.name.ends_with(n)).map(|t| t.ne[0]);
        assert_eq!(ne0("attn_q_norm.weight"), Some(128));
        assert_eq!(ne0("exp_probs_b.bias"), None);
    }
}
