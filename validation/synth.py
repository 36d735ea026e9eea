"""Synthetic GGUF models: real llama.cpp architectures, tensor names and shapes, tiny sizes, random weights.

Each spec below follows the architecture's `load_arch_hparams` / `load_arch_tensors` in llama.cpp's
`src/models/<arch>.cpp` (the version vendored in the pinned llama-cpp-python sdist) and the key names of
`gguf-py/gguf/constants.py`. Widths, layer counts and expert counts are shrunk so that every file loads
in well under a second; everything else (GQA ratios, fused QKV, MLA latent cache with split
attn_k_b/attn_v_b, sliding-window patterns, attention sinks, shared experts, tied embeddings, biases)
is kept. Tokenizer metadata is copied from a vocab-only GGUF shipped in the sdist
(`vendor/llama.cpp/models/ggml-vocab-*.gguf`), so n_vocab is the real vocabulary size.

The F16 file is written here; the quantized files are produced from it by llama.cpp's own quantizer
(`llama_model_quantize`), so their tensor type mixes are the real ones.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

import gguf
from gguf import GGUFValueType

# Bump when a spec or the writer changes: cached files carry this in their cache key.
GENERATOR_VERSION = 3
# Encoder architectures (no KV cache; loaded with embeddings on): src/models/bert.cpp, nomic-bert.cpp,
# jina-bert-v2.cpp.
ENCODERS = ("bert", "nomic-bert", "jina-bert-v2")

# name -> spec. Keys: arch (GGUF architecture), vocab (ggml-vocab-*.gguf in the sdist), L (blocks),
# E (n_embd), H (heads), KV (kv heads), HD (head dim, key_length/value_length), FF (n_ff), plus
# per-architecture extras.
SPECS: dict[str, dict] = {
    # Llama with GQA (4 query heads per KV head would be Llama 3; 2 here), untied output.
    "llama": dict(arch="llama", vocab="llama-spm", L=4, E=256, H=4, KV=2, HD=64, FF=768, tied=False),
    # A Llama 3.2 1B-sized model (16 blocks, n_embd 2048, GQA 32/8, FFN 8192; 32000-token vocabulary):
    # big enough that the CPU speed measured on it is the matmul kernels' and the RAM's, not per-op
    # overhead, so it calibrates llmrig's CPU efficiencies.
    "llama-1b": dict(arch="llama", vocab="llama-spm", L=16, E=2048, H=32, KV=8, HD=64, FF=8192, tied=False),
    # Mixtral-style: the llama architecture with 8 experts, 2 used (llm_build_llama's MoE path,
    # which normalises the top-k weights); experts as wide as n_ff, as Mixtral's are.
    "mixtral": dict(arch="llama", vocab="llama-spm", L=4, E=256, H=4, KV=2, HD=64, FF=768, tied=False,
                    n_expert=8, n_expert_used=2, FF_EXP=768),
    # Qwen2: q/k/v biases, tied embeddings, n_embd 384 (not a multiple of 256: exercises the
    # k-quant shape fallbacks), the real 151936-token vocabulary.
    "qwen2": dict(arch="qwen2", vocab="qwen2", L=4, E=384, H=6, KV=2, HD=64, FF=1024, tied=True, qkv_bias=True),
    # Qwen3: q/k norms, head_dim 128 so the query width (512) differs from n_embd (256).
    "qwen3": dict(arch="qwen3", vocab="deepseek-coder", L=4, E=256, H=4, KV=2, HD=128, FF=768, tied=False),
    # Qwen3-VL's text model: Qwen3's tensors, M-RoPE sections [24, 20, 20, 0] and 3 deep-stack
    # layers, whose features widen the graph's embedding input to 4·n_embd.
    "qwen3vl": dict(arch="qwen3vl", vocab="deepseek-coder", L=4, E=256, H=4, KV=2, HD=128, FF=768, tied=False,
                    deepstack=3),
    # Qwen3-MoE: 8 experts (llama-quantize's 8-expert rules apply), 2 used.
    "qwen3moe": dict(arch="qwen3moe", vocab="gpt-2", L=4, E=256, H=4, KV=2, HD=64, FF=768, tied=False,
                     n_expert=8, n_expert_used=2, FF_EXP=256),
    # Gemma 2: alternating sliding window (4096) / global layers, post norms, soft-capping, tied.
    "gemma2": dict(arch="gemma2", vocab="llama-spm", L=4, E=256, H=4, KV=2, HD=64, FF=768, tied=True,
                   swa=4096),
    # Gemma 3: 5 sliding (512) : 1 global, q/k norms, tied.
    "gemma3": dict(arch="gemma3", vocab="phi-3", L=8, E=256, H=4, KV=1, HD=128, FF=768, tied=True, swa=512),
    # Gemma 4 (src/models/gemma4.cpp, keys as conversion/gemma.py writes them): 5 sliding blocks
    # (KV_SWA heads of HD_SWA) then 1 global (KV heads of HD, K doubling as V: no attn_v), a dense
    # MLP beside the experts on every block (the 26B-A4B's layout).
    "gemma4": dict(arch="gemma4", vocab="phi-3", L=6, E=256, H=4, KV=1, KV_SWA=2, HD=128, HD_SWA=64,
                   FF=256, tied=True, swa=512, period=6, k_eq_v=True, n_expert=8, n_expert_used=2,
                   FF_EXP=128),
    # The E2B/E4B layout: 4 sliding : 1 global, one KV head, per-layer embeddings, the last 5 blocks
    # reading earlier blocks' caches (llama.cpp needs the last block with a cache to be global and
    # the one before it sliding) with a double-wide MLP.
    "gemma4-e": dict(arch="gemma4", vocab="phi-3", L=10, E=256, H=4, KV=1, KV_SWA=1, HD=128, HD_SWA=64,
                     FF=384, tied=True, swa=512, period=5, shared=5, ple=32, double_ff=True),
    # Phi-3: fused attn_qkv, fused gate/up (ffn_up is 2*n_ff wide).
    "phi3": dict(arch="phi3", vocab="phi-3", L=4, E=256, H=4, KV=4, HD=64, FF=768, tied=False),
    # DeepSeek-V2/V3 style: MLA with q LoRA, split attn_k_b/attn_v_b (key_length_mla present), one leading
    # dense layer, 16 routed experts (4 used) + 1 shared expert.
    "deepseek2": dict(arch="deepseek2", vocab="deepseek-llm", L=3, E=256, H=4, FF=768, tied=False,
                      q_lora=256, kv_lora=256, rope=64, nope=128, v_head=128, dense_lead=1,
                      n_expert=16, n_expert_used=4, n_shared=1, FF_EXP=256),
    # gpt-oss: alternating sliding window (128) / global, attention sinks, 16 experts (4 used) with
    # biases, o_proj bias; quantized to MXFP4 by the MXFP4_MOE file type.
    "gpt-oss": dict(arch="gpt-oss", vocab="starcoder", L=4, E=256, H=8, KV=2, HD=64, FF=768, tied=False,
                    swa=128, n_expert=16, n_expert_used=4, FF_EXP=256),
    # Command R7B (cohere2): 3 sliding (4096) : 1 global, tied, 256000-token vocabulary.
    "cohere2": dict(arch="cohere2", vocab="command-r", L=4, E=256, H=4, KV=1, HD=64, FF=768, tied=True,
                    swa=4096),
    # Qwen3-Next: gated delta-net blocks (3 of 4) and gated full attention (every 4th), 8 experts
    # (2 used) with a gated shared expert on every block; delta-net k heads 4, v heads 8, 32 wide.
    "qwen3next": dict(arch="qwen3next", vocab="qwen2", L=8, E=256, H=4, KV=2, HD=64, FF=512, tied=False,
                      n_expert=8, n_expert_used=2, FF_EXP=128, FF_SH=128,
                      d_conv=4, d_state=32, n_group=4, dt_rank=8),
    # Qwen3.5 dense: Qwen3-Next's delta-net / gated attention layout with separate β and α
    # projections, a dense FFN on every block, multi-section RoPE; the real 248320-token vocabulary.
    "qwen35": dict(arch="qwen35", vocab="qwen35", L=8, E=256, H=4, KV=2, HD=64, FF=512, tied=False,
                   d_conv=4, d_state=32, n_group=4, dt_rank=8),
    # Granite 4.0 hybrid: Mamba-2 blocks (d_inner = 2 n_embd, 8 heads, 1 group) with attention on
    # blocks 2 and 5 (head_count_kv 0 elsewhere), 8 experts (2 used) and a shared expert of 256.
    "granitehybrid": dict(arch="granitehybrid", vocab="gpt-2", L=6, E=256, H=4, KV=2, HD=64, FF=128,
                          tied=True, n_expert=8, n_expert_used=2, FF_SH=256, attn_layers=[2, 5],
                          d_conv=4, d_state=32, n_group=1, dt_rank=8),
    # LFM2: short-convolution blocks (l_cache 3) with attention on blocks 2 and 5, dense FFNs, tied.
    "lfm2": dict(arch="lfm2", vocab="llama-bpe", L=6, E=256, H=4, KV=2, HD=64, FF=768, tied=True,
                 attn_layers=[2, 5], l_cache=3),
    # LFM2-MoE: the same with 2 leading dense blocks, then 8 experts (2 used), sigmoid router bias.
    "lfm2moe": dict(arch="lfm2moe", vocab="llama-bpe", L=6, E=256, H=4, KV=2, HD=64, FF=768, tied=True,
                    attn_layers=[2, 5], l_cache=3, dense_lead=2, n_expert=8, n_expert_used=2, FF_EXP=128),
    # BERT (bge-small-en-v1.5's shape: n_embd 384, not a multiple of 256, so the k-quants fall back),
    # two token types, learned positions for 512 tokens, CLS pooling; the real bge WordPiece vocabulary.
    "bert": dict(arch="bert", vocab="bert-bge", L=4, E=384, H=6, FF=1536, TT=2, ctx=512, pooling=2),
    # An XLM-R-style reranker (bge-reranker-v2-m3's layout): one token type, `cls` + `cls.output`
    # (one label), rank pooling, 1024 positions.
    "bert-rerank": dict(arch="bert", vocab="bert-bge", L=4, E=256, H=4, FF=1024, TT=1, ctx=1024, pooling=4,
                        n_cls_out=1),
    # Nomic BERT (nomic-embed-text's layout): fused QKV, RoPE (base 1000), SwiGLU, no biases, mean
    # pooling, 2048 positions.
    "nomic-bert": dict(arch="nomic-bert", vocab="bert-bge", L=4, E=256, H=4, FF=768, TT=2, ctx=2048, pooling=1),
    # Jina BERT v2 (jina-embeddings-v2's layout): ALiBi instead of positions, biased Q/K/V, a fused
    # GEGLU up-projection of 2·FF rows without bias, mean pooling, 8192 positions.
    "jina-bert-v2": dict(arch="jina-bert-v2", vocab="bert-bge", L=4, E=320, H=5, FF=1280, TT=2, ctx=8192,
                         pooling=1),
}

HYBRID = ("qwen3next", "qwen35", "granitehybrid", "lfm2", "lfm2moe")


def spec_hash(name: str) -> str:
    s = json.dumps({"v": GENERATOR_VERSION, "spec": SPECS[name]}, sort_keys=True)
    return hashlib.sha256(s.encode()).hexdigest()[:12]


def tensor_list(sp: dict) -> list[tuple[str, list[int], str]]:
    """(name, ne in ggml order, kind) for every tensor; kind is 'w' (F16 matrix), 'f' (F32 matrix:
    MoE routers), 'n' (norm, ones) or 'b' (bias/1-D, small)."""
    a = sp["arch"]
    E, L = sp["E"], sp["L"]
    V = sp["n_vocab"]
    t: list[tuple[str, list[int], str]] = [("token_embd.weight", [E, V], "w")]
    if a in ENCODERS:
        return t + _encoder_tensors(sp)
    if a in HYBRID:
        t += _hybrid_blocks(sp)
    elif a == "gemma4":
        t += _gemma4_tensors(sp)
    elif a == "deepseek2":
        H, kvl, rope, nope, vh = sp["H"], sp["kv_lora"], sp["rope"], sp["nope"], sp["v_head"]
        for i in range(L):
            p = f"blk.{i}."
            t += [
                (p + "attn_norm.weight", [E], "n"),
                (p + "attn_q_a_norm.weight", [sp["q_lora"]], "n"),
                (p + "attn_kv_a_norm.weight", [kvl], "n"),
                (p + "attn_q_a.weight", [E, sp["q_lora"]], "w"),
                (p + "attn_q_b.weight", [sp["q_lora"], H * (nope + rope)], "w"),
                (p + "attn_kv_a_mqa.weight", [E, kvl + rope], "w"),
                (p + "attn_k_b.weight", [nope, kvl, H], "w"),
                (p + "attn_v_b.weight", [kvl, vh, H], "w"),
                (p + "attn_output.weight", [H * vh, E], "w"),
                (p + "ffn_norm.weight", [E], "n"),
            ]
            if i < sp["dense_lead"]:
                t += [
                    (p + "ffn_gate.weight", [E, sp["FF"]], "w"),
                    (p + "ffn_down.weight", [sp["FF"], E], "w"),
                    (p + "ffn_up.weight", [E, sp["FF"]], "w"),
                ]
            else:
                ne, fe, sh = sp["n_expert"], sp["FF_EXP"], sp["n_shared"]
                t += [
                    (p + "ffn_gate_inp.weight", [E, ne], "f"),
                    (p + "ffn_gate_exps.weight", [E, fe, ne], "w"),
                    (p + "ffn_down_exps.weight", [fe, E, ne], "w"),
                    (p + "ffn_up_exps.weight", [E, fe, ne], "w"),
                    (p + "ffn_gate_shexp.weight", [E, fe * sh], "w"),
                    (p + "ffn_down_shexp.weight", [fe * sh, E], "w"),
                    (p + "ffn_up_shexp.weight", [E, fe * sh], "w"),
                ]
    else:
        H, KV, HD, FF = sp["H"], sp["KV"], sp["HD"], sp["FF"]
        q, kv = H * HD, KV * HD
        for i in range(L):
            p = f"blk.{i}."
            t.append((p + "attn_norm.weight", [E], "n"))
            if a == "phi3":
                t.append((p + "attn_qkv.weight", [E, q + 2 * kv], "w"))
            else:
                t += [
                    (p + "attn_q.weight", [E, q], "w"),
                    (p + "attn_k.weight", [E, kv], "w"),
                    (p + "attn_v.weight", [E, kv], "w"),
                ]
                if sp.get("qkv_bias"):
                    t += [
                        (p + "attn_q.bias", [q], "b"),
                        (p + "attn_k.bias", [kv], "b"),
                        (p + "attn_v.bias", [kv], "b"),
                    ]
            t.append((p + "attn_output.weight", [q, E], "w"))
            if a in ("qwen3", "qwen3vl", "qwen3moe", "gemma3"):
                t += [(p + "attn_k_norm.weight", [HD], "n"), (p + "attn_q_norm.weight", [HD], "n")]
            if a in ("gemma2", "gemma3"):
                t.append((p + "post_attention_norm.weight", [E], "n"))
            if a == "gpt-oss":
                t += [
                    (p + "post_attention_norm.weight", [E], "n"),
                    (p + "attn_sinks.weight", [H], "b"),
                    (p + "attn_output.bias", [E], "b"),
                ]
            if a != "cohere2" and a != "gpt-oss":
                t.append((p + "ffn_norm.weight", [E], "n"))
            if a in ("qwen3moe", "gpt-oss") or (a == "llama" and "n_expert" in sp):
                ne, fe = sp["n_expert"], sp["FF_EXP"]
                t += [
                    (p + "ffn_gate_inp.weight", [E, ne], "f"),
                    (p + "ffn_gate_exps.weight", [E, fe, ne], "w"),
                    (p + "ffn_down_exps.weight", [fe, E, ne], "w"),
                    (p + "ffn_up_exps.weight", [E, fe, ne], "w"),
                ]
                if a == "gpt-oss":
                    t += [
                        (p + "ffn_gate_inp.bias", [ne], "b"),
                        (p + "ffn_gate_exps.bias", [fe, ne], "b"),
                        (p + "ffn_down_exps.bias", [E, ne], "b"),
                        (p + "ffn_up_exps.bias", [fe, ne], "b"),
                    ]
            elif a == "phi3":
                t += [
                    (p + "ffn_down.weight", [FF, E], "w"),
                    (p + "ffn_up.weight", [E, 2 * FF], "w"),
                ]
            else:
                t += [
                    (p + "ffn_gate.weight", [E, FF], "w"),
                    (p + "ffn_down.weight", [FF, E], "w"),
                    (p + "ffn_up.weight", [E, FF], "w"),
                ]
            if a in ("gemma2", "gemma3"):
                t.append((p + "post_ffw_norm.weight", [E], "n"))
    # LFM2 stores its final norm as token_embd_norm (llama-arch.cpp LLM_TENSOR_OUTPUT_NORM_LFM2).
    t.append(("token_embd_norm.weight" if a in ("lfm2", "lfm2moe") else "output_norm.weight", [E], "n"))
    if not sp["tied"]:
        t.append(("output.weight", [E, V], "w"))
    return t


def _encoder_tensors(sp: dict) -> list[tuple[str, list[int], str]]:
    """BERT, Nomic BERT and Jina BERT v2, as `load_arch_tensors` in src/models/bert.cpp, nomic-bert.cpp
    and jina-bert-v2.cpp; token
    types and positions F32 as convert_hf_to_gguf writes them ('f')."""
    a, E, L, FF = sp["arch"], sp["E"], sp["L"], sp["FF"]
    t: list[tuple[str, list[int], str]] = [("token_types.weight", [E, sp["TT"]], "f")]
    if a == "bert":
        t.append(("position_embd.weight", [E, sp["ctx"]], "f"))
    t += [("token_embd_norm.weight", [E], "n"), ("token_embd_norm.bias", [E], "b")]
    if sp.get("n_cls_out"):
        n = sp["n_cls_out"]
        t += [("cls.weight", [E, E], "w"), ("cls.bias", [E], "b"),
              ("cls.output.weight", [E, n], "w"), ("cls.output.bias", [n], "b")]
    for i in range(L):
        p = f"blk.{i}."
        if a in ("bert", "jina-bert-v2"):
            for n in ("attn_q", "attn_k", "attn_v", "attn_output"):
                t += [(p + n + ".weight", [E, E], "w"), (p + n + ".bias", [E], "b")]
            if a == "bert":
                t += [(p + "ffn_up.weight", [E, FF], "w"), (p + "ffn_up.bias", [FF], "b")]
            else:
                # `mlp.gated_layers`: up and gate in one matrix (conversion/bert.py, tensor_mapping).
                t += [(p + "ffn_up.weight", [E, 2 * FF], "w")]
            t += [(p + "ffn_down.weight", [FF, E], "w"), (p + "ffn_down.bias", [E], "b")]
        else:
            t += [(p + "attn_qkv.weight", [E, 3 * E], "w"), (p + "attn_output.weight", [E, E], "w"),
                  (p + "ffn_up.weight", [E, FF], "w"), (p + "ffn_gate.weight", [E, FF], "w"),
                  (p + "ffn_down.weight", [FF, E], "w")]
        for n in ("attn_output_norm", "layer_output_norm"):
            t += [(p + n + ".weight", [E], "n"), (p + n + ".bias", [E], "b")]
    return t


def _kv_encoder(w: gguf.GGUFWriter, sp: dict) -> None:
    a = sp["arch"]
    k = lambda s: f"{a}.{s}"  # noqa: E731
    w.add_uint32(k("context_length"), sp["ctx"])
    w.add_uint32(k("embedding_length"), sp["E"])
    w.add_uint32(k("block_count"), sp["L"])
    w.add_uint32(k("feed_forward_length"), sp["FF"])
    w.add_uint32(k("attention.head_count"), sp["H"])
    w.add_float32(k("attention.layer_norm_epsilon"), 1e-12)
    w.add_bool(k("attention.causal"), False)
    w.add_uint32(k("pooling_type"), sp["pooling"])
    if a == "nomic-bert":
        w.add_float32(k("rope.freq_base"), 1000.0)
    if sp.get("n_cls_out"):
        w.add_array(k("classifier.output_labels"), [f"LABEL_{i}" for i in range(sp["n_cls_out"])])


def is_attn(sp: dict, i: int) -> bool:
    if sp["arch"] in ("qwen3next", "qwen35"):
        return (i + 1) % 4 == 0
    return i in sp["attn_layers"]


def _hybrid_blocks(sp: dict) -> list[tuple[str, list[int], str]]:
    """Blocks of the hybrid architectures, as `load_arch_tensors` in src/models/{qwen3next,
    granite-hybrid,lfm2,lfm2moe}.cpp creates them."""
    a, E, L = sp["arch"], sp["E"], sp["L"]
    H, KV, HD = sp["H"], sp["KV"], sp["HD"]
    q, kv = H * HD, KV * HD
    t: list[tuple[str, list[int], str]] = []
    for i in range(L):
        p = f"blk.{i}."
        attn = is_attn(sp, i)
        t.append((p + "attn_norm.weight", [E], "n"))
        if a in ("qwen3next", "qwen35"):
            t.append((p + "post_attention_norm.weight", [E], "n"))
            if attn:
                t += [(p + "attn_q.weight", [E, 2 * q], "w"), (p + "attn_k.weight", [E, kv], "w"),
                      (p + "attn_v.weight", [E, kv], "w"), (p + "attn_output.weight", [q, E], "w"),
                      (p + "attn_q_norm.weight", [HD], "n"), (p + "attn_k_norm.weight", [HD], "n")]
            else:
                key, val = sp["d_state"] * sp["n_group"], sp["d_state"] * sp["dt_rank"]
                conv = 2 * key + val
                t += [(p + "attn_qkv.weight", [E, conv], "w"), (p + "attn_gate.weight", [E, val], "w"),
                      (p + "ssm_conv1d.weight", [sp["d_conv"], conv], "b"),
                      (p + "ssm_dt.bias", [sp["dt_rank"]], "b"), (p + "ssm_a", [sp["dt_rank"]], "b"),
                      (p + "ssm_norm.weight", [sp["d_state"]], "n"), (p + "ssm_out.weight", [val, E], "w")]
                if a == "qwen35":
                    t += [(p + "ssm_beta.weight", [E, sp["dt_rank"]], "w"),
                          (p + "ssm_alpha.weight", [E, sp["dt_rank"]], "w")]
                else:
                    t.append((p + "ssm_ba.weight", [E, 2 * sp["dt_rank"]], "w"))
        elif a == "granitehybrid":
            t.append((p + "ffn_norm.weight", [E], "n"))
            if attn:
                t += [(p + "attn_q.weight", [E, q], "w"), (p + "attn_k.weight", [E, kv], "w"),
                      (p + "attn_v.weight", [E, kv], "w"), (p + "attn_output.weight", [q, E], "w")]
            else:
                di, ds, ng, nh = 2 * E, sp["d_state"], sp["n_group"], sp["dt_rank"]
                conv = di + 2 * ng * ds
                t += [(p + "ssm_in.weight", [E, di + conv + nh], "w"),
                      (p + "ssm_conv1d.weight", [sp["d_conv"], conv], "b"), (p + "ssm_conv1d.bias", [conv], "b"),
                      (p + "ssm_dt.bias", [nh], "b"), (p + "ssm_a", [1, nh], "b"), (p + "ssm_d", [1, nh], "b"),
                      (p + "ssm_norm.weight", [di // ng, ng], "n"), (p + "ssm_out.weight", [di, E], "w")]
        else:
            t.append((p + "ffn_norm.weight", [E], "n"))
            if attn:
                t += [(p + "attn_q.weight", [E, q], "w"), (p + "attn_k.weight", [E, kv], "w"),
                      (p + "attn_v.weight", [E, kv], "w"), (p + "attn_output.weight", [q, E], "w"),
                      (p + "attn_q_norm.weight", [HD], "n"), (p + "attn_k_norm.weight", [HD], "n")]
            else:
                t += [(p + "shortconv.conv.weight", [sp["l_cache"], E], "b"),
                      (p + "shortconv.in_proj.weight", [E, 3 * E], "w"),
                      (p + "shortconv.out_proj.weight", [E, E], "w")]
        moe = "n_expert" in sp and i >= sp.get("dense_lead", 0)
        if moe:
            ne = sp["n_expert"]
            fe = sp.get("FF_EXP", sp["FF"])
            t += [(p + "ffn_gate_inp.weight", [E, ne], "f"), (p + "ffn_gate_exps.weight", [E, fe, ne], "w"),
                  (p + "ffn_down_exps.weight", [fe, E, ne], "w"), (p + "ffn_up_exps.weight", [E, fe, ne], "w")]
            if a == "lfm2moe":
                t.append((p + "exp_probs_b.bias", [ne], "b"))
            if "FF_SH" in sp:
                fs = sp["FF_SH"]
                if a == "qwen3next":
                    t.append((p + "ffn_gate_inp_shexp.weight", [E], "b"))
                t += [(p + "ffn_gate_shexp.weight", [E, fs], "w"), (p + "ffn_down_shexp.weight", [fs, E], "w"),
                      (p + "ffn_up_shexp.weight", [E, fs], "w")]
        else:
            t += [(p + "ffn_gate.weight", [E, sp["FF"]], "w"), (p + "ffn_down.weight", [sp["FF"], E], "w"),
                  (p + "ffn_up.weight", [E, sp["FF"]], "w")]
    return t


def _kv_hybrid(w: gguf.GGUFWriter, sp: dict) -> None:
    a = sp["arch"]
    k = lambda s: f"{a}.{s}"  # noqa: E731
    L = sp["L"]
    if a in ("qwen3next", "qwen35"):
        w.add_uint32(k("attention.head_count_kv"), sp["KV"])
        w.add_uint32(k("full_attention_interval"), 4)
        w.add_uint32(k("rope.dimension_count"), sp["HD"] // 4)
        if a == "qwen35":
            # Qwen3.5's multi-section RoPE (required by qwen35.cpp): sections of the rotary half.
            w.add_array(k("rope.dimension_sections"), [3, 3, 2, 0])
    else:
        # Recurrent blocks have head_count_kv 0 (convert_hf_to_gguf writes the per-block array).
        w.add_array(k("attention.head_count_kv"), [sp["KV"] if is_attn(sp, i) else 0 for i in range(L)])
        w.add_uint32(k("rope.dimension_count"), sp["HD"])
    w.add_uint32(k("attention.key_length"), sp["HD"])
    w.add_uint32(k("attention.value_length"), sp["HD"])
    if a in ("qwen3next", "qwen35", "granitehybrid"):
        di = sp["d_state"] * sp["dt_rank"] if a in ("qwen3next", "qwen35") else 2 * sp["E"]
        w.add_uint32(k("ssm.conv_kernel"), sp["d_conv"])
        w.add_uint32(k("ssm.inner_size"), di)
        w.add_uint32(k("ssm.state_size"), sp["d_state"])
        w.add_uint32(k("ssm.time_step_rank"), sp["dt_rank"])
        w.add_uint32(k("ssm.group_count"), sp["n_group"])
    else:
        w.add_uint32(k("shortconv.l_cache"), sp["l_cache"])
    if "n_expert" in sp:
        w.add_uint32(k("expert_count"), sp["n_expert"])
        w.add_uint32(k("expert_used_count"), sp["n_expert_used"])
        if "FF_EXP" in sp:
            w.add_uint32(k("expert_feed_forward_length"), sp["FF_EXP"])
        if "FF_SH" in sp:
            w.add_uint32(k("expert_shared_feed_forward_length"), sp["FF_SH"])
    if a == "lfm2moe":
        w.add_uint32(k("leading_dense_block_count"), sp["dense_lead"])
        w.add_uint32(k("expert_gating_func"), 2)  # sigmoid
        w.add_float32(k("expert_weights_scale"), 1.0)
        w.add_bool(k("expert_weights_norm"), True)


def _gemma4_swa(sp: dict, i: int) -> bool:
    return (i + 1) % sp["period"] != 0


def _gemma4_ff(sp: dict, i: int) -> int:
    shared_from = sp["L"] - sp.get("shared", 0)
    return 2 * sp["FF"] if sp.get("double_ff") and i >= shared_from else sp["FF"]


def _gemma4_tensors(sp: dict) -> list[tuple[str, list[int], str]]:
    """Gemma 4's tensors, as `load_arch_tensors` in src/models/gemma4.cpp creates them."""
    E, L, H = sp["E"], sp["L"], sp["H"]
    t: list[tuple[str, list[int], str]] = [("rope_freqs.weight", [sp["HD"] // 2], "n")]
    ple = sp.get("ple", 0)
    if ple:
        t += [
            ("per_layer_token_embd.weight", [ple * L, sp["n_vocab"]], "w"),
            ("per_layer_model_proj.weight", [E, ple * L], "w"),
            ("per_layer_proj_norm.weight", [ple], "n"),
        ]
    for i in range(L):
        p = f"blk.{i}."
        swa = _gemma4_swa(sp, i)
        hd = sp["HD_SWA"] if swa else sp["HD"]
        kv = (sp["KV_SWA"] if swa else sp["KV"]) * hd
        ff = _gemma4_ff(sp, i)
        t += [
            (p + "attn_norm.weight", [E], "n"),
            (p + "attn_q.weight", [E, H * hd], "w"),
            (p + "attn_k.weight", [E, kv], "w"),
            (p + "attn_output.weight", [H * hd, E], "w"),
            (p + "attn_q_norm.weight", [hd], "n"),
            (p + "attn_k_norm.weight", [hd], "n"),
            (p + "post_attention_norm.weight", [E], "n"),
            (p + "layer_output_scale.weight", [1], "n"),
            (p + "ffn_norm.weight", [E], "n"),
            (p + "ffn_gate.weight", [E, ff], "w"),
            (p + "ffn_up.weight", [E, ff], "w"),
            (p + "ffn_down.weight", [ff, E], "w"),
            (p + "post_ffw_norm.weight", [E], "n"),
        ]
        if not (sp.get("k_eq_v") and not swa):
            t.append((p + "attn_v.weight", [E, kv], "w"))
        if "n_expert" in sp:
            ne, fe = sp["n_expert"], sp["FF_EXP"]
            t += [
                (p + "ffn_gate_inp.weight", [E, ne], "f"),
                (p + "ffn_gate_inp.scale", [E], "n"),
                (p + "ffn_gate_up_exps.weight", [E, 2 * fe, ne], "w"),
                (p + "ffn_down_exps.weight", [fe, E, ne], "w"),
                (p + "ffn_down_exps.scale", [ne], "n"),
                (p + "pre_ffw_norm_2.weight", [E], "n"),
                (p + "post_ffw_norm_1.weight", [E], "n"),
                (p + "post_ffw_norm_2.weight", [E], "n"),
            ]
        if ple:
            t += [
                (p + "inp_gate.weight", [E, ple], "w"),
                (p + "proj.weight", [ple, E], "w"),
                (p + "post_norm.weight", [E], "n"),
            ]
    return t


def _kv_gemma4(w: gguf.GGUFWriter, sp: dict) -> None:
    k = lambda s: f"gemma4.{s}"  # noqa: E731
    L = sp["L"]
    swa = [_gemma4_swa(sp, i) for i in range(L)]
    w.add_uint32(k("context_length"), 32768)
    w.add_uint32(k("embedding_length"), sp["E"])
    w.add_uint32(k("block_count"), L)
    ffs = [_gemma4_ff(sp, i) for i in range(L)]
    if len(set(ffs)) > 1:
        w.add_array(k("feed_forward_length"), ffs)
    else:
        w.add_uint32(k("feed_forward_length"), sp["FF"])
    w.add_uint32(k("attention.head_count"), sp["H"])
    kvs = [sp["KV_SWA"] if s else sp["KV"] for s in swa]
    if len(set(kvs)) > 1:
        w.add_array(k("attention.head_count_kv"), kvs)
    else:
        w.add_uint32(k("attention.head_count_kv"), sp["KV"])
    w.add_uint32(k("attention.key_length"), sp["HD"])
    w.add_uint32(k("attention.value_length"), sp["HD"])
    w.add_uint32(k("attention.key_length_swa"), sp["HD_SWA"])
    w.add_uint32(k("attention.value_length_swa"), sp["HD_SWA"])
    w.add_uint32(k("rope.dimension_count"), sp["HD"])
    w.add_uint32(k("rope.dimension_count_swa"), sp["HD_SWA"])
    w.add_float32(k("rope.freq_base"), 1000000.0)
    w.add_float32(k("rope.freq_base_swa"), 10000.0)
    w.add_float32(k("attention.layer_norm_rms_epsilon"), 1e-6)
    w.add_uint32(k("attention.sliding_window"), sp["swa"])
    w.add_array(k("attention.sliding_window_pattern"), swa)
    w.add_uint32(k("attention.shared_kv_layers"), sp.get("shared", 0))
    w.add_uint32(k("embedding_length_per_layer_input"), sp.get("ple", 0))
    w.add_float32(k("final_logit_softcapping"), 30.0)
    if "n_expert" in sp:
        w.add_uint32(k("expert_count"), sp["n_expert"])
        w.add_uint32(k("expert_used_count"), sp["n_expert_used"])
        w.add_uint32(k("expert_feed_forward_length"), sp["FF_EXP"])


def _kv(w: gguf.GGUFWriter, sp: dict) -> None:
    a = sp["arch"]
    k = lambda s: f"{a}.{s}"  # noqa: E731
    E, L = sp["E"], sp["L"]
    if a in ENCODERS:
        _kv_encoder(w, sp)
        return
    if a == "gemma4":
        _kv_gemma4(w, sp)
        return
    w.add_uint32(k("context_length"), 32768 if a != "gemma3" else 32768)
    w.add_uint32(k("embedding_length"), E)
    w.add_uint32(k("block_count"), L)
    w.add_uint32(k("feed_forward_length"), sp["FF"])
    w.add_uint32(k("attention.head_count"), sp["H"])
    w.add_float32(k("rope.freq_base"), 10000.0)
    if a == "cohere2":
        w.add_float32(k("attention.layer_norm_epsilon"), 1e-5)
        w.add_float32(k("logit_scale"), 0.25)
    else:
        w.add_float32(k("attention.layer_norm_rms_epsilon"), 1e-6)
    if a == "deepseek2":
        kvl, rope, nope, vh = sp["kv_lora"], sp["rope"], sp["nope"], sp["v_head"]
        # MLA GGUFs (convert_hf_to_gguf since the k_b/v_b split) store the latent cache as one KV
        # head: key_length = kv_lora_rank + rope dim, value_length = kv_lora_rank, plus the *_mla keys.
        w.add_uint32(k("attention.head_count_kv"), 1)
        w.add_uint32(k("attention.key_length"), kvl + rope)
        w.add_uint32(k("attention.value_length"), kvl)
        w.add_uint32(k("attention.key_length_mla"), nope + rope)
        w.add_uint32(k("attention.value_length_mla"), vh)
        w.add_uint32(k("rope.dimension_count"), rope)
        w.add_uint32(k("attention.q_lora_rank"), sp["q_lora"])
        w.add_uint32(k("attention.kv_lora_rank"), kvl)
        w.add_uint32(k("leading_dense_block_count"), sp["dense_lead"])
        w.add_uint32(k("expert_count"), sp["n_expert"])
        w.add_uint32(k("expert_used_count"), sp["n_expert_used"])
        w.add_uint32(k("expert_shared_count"), sp["n_shared"])
        w.add_uint32(k("expert_feed_forward_length"), sp["FF_EXP"])
        w.add_float32(k("expert_weights_scale"), 1.0)
        w.add_bool(k("expert_weights_norm"), False)
        w.add_uint32(k("expert_gating_func"), 1)  # softmax
        return
    if a in HYBRID:
        _kv_hybrid(w, sp)
        return
    w.add_uint32(k("attention.head_count_kv"), sp["KV"])
    w.add_uint32(k("attention.key_length"), sp["HD"])
    w.add_uint32(k("attention.value_length"), sp["HD"])
    w.add_uint32(k("rope.dimension_count"), sp["HD"])
    if a == "qwen3vl":
        w.add_uint32(k("n_deepstack_layers"), sp["deepstack"])
        w.add_array(k("rope.dimension_sections"), [24, 20, 20, 0])
    if "swa" in sp:
        w.add_uint32(k("attention.sliding_window"), sp["swa"])
    if a == "gemma2":
        w.add_float32(k("attn_logit_softcapping"), 50.0)
        w.add_float32(k("final_logit_softcapping"), 30.0)
    if "n_expert" in sp:
        w.add_uint32(k("expert_count"), sp["n_expert"])
        w.add_uint32(k("expert_used_count"), sp["n_expert_used"])
        w.add_uint32(k("expert_feed_forward_length"), sp["FF_EXP"])


def _copy_tokenizer(w: gguf.GGUFWriter, vocab_path: Path, token_types: int | None = None) -> int:
    r = gguf.GGUFReader(str(vocab_path))
    n_vocab = 0
    if token_types is not None:
        # BERT's segment embeddings: llama.cpp refuses a bert file without this count.
        w.add_uint32("tokenizer.ggml.token_type_count", token_types)
    for key, f in r.fields.items():
        if not key.startswith("tokenizer.") or (token_types is not None and key == "tokenizer.ggml.token_type_count"):
            continue
        t0 = f.types[0]
        if t0 == GGUFValueType.ARRAY:
            vals = f.contents()
            w.add_key_value(key, vals, GGUFValueType.ARRAY, sub_type=f.types[-1])
            if key == "tokenizer.ggml.tokens":
                n_vocab = len(vals)
        else:
            w.add_key_value(key, f.contents(), t0)
    return n_vocab


def vocab_size(vocab_path: Path) -> int:
    r = gguf.GGUFReader(str(vocab_path))
    return len(r.fields["tokenizer.ggml.tokens"].data)


def write_f16(name: str, out: Path, vocab_dir: Path) -> Path:
    """Writes the F16 GGUF for SPECS[name] to `out` (1-D tensors F32, matrices F16)."""
    sp = dict(SPECS[name])
    vocab_path = vocab_dir / f"ggml-vocab-{sp['vocab']}.gguf"
    sp["n_vocab"] = vocab_size(vocab_path)
    rng = np.random.default_rng(int(spec_hash(name), 16) % (2**32))
    tmp = out.with_suffix(".tmp")
    w = gguf.GGUFWriter(str(tmp), sp["arch"])
    w.add_name(f"synthetic-{name}")
    w.add_file_type(1)  # LLAMA_FTYPE_MOSTLY_F16
    _kv(w, sp)
    _copy_tokenizer(w, vocab_path, token_types=sp.get("TT"))
    for tname, ne, kind in tensor_list(sp):
        shape = tuple(reversed(ne))
        if kind == "n":
            arr = np.ones(shape, dtype=np.float32)
        elif kind == "f":
            # Routers, token types and positions stay F32, as convert_hf_to_gguf writes them.
            arr = (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)
        elif kind == "b":
            arr = (rng.standard_normal(shape, dtype=np.float32) * 0.01).astype(np.float32)
        else:
            arr = (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)
        w.add_tensor(tname, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.rename(out)
    return out


# --------------------------------------------------------------------------------------------------
# Vision projectors (mmproj): the released encoders' shapes, zero weights (nothing is computed at
# load; clip.cpp only reserves its buffers), loaded through libmtmd.
# --------------------------------------------------------------------------------------------------

# name -> (projector type, matrix dtype). The text width is the synthetic llama's (256): libmtmd is
# loaded without a text model, and llmrig checks the width against the model it is given.
PROJECTORS: dict[str, tuple[str, str]] = {
    "gemma3-f16": ("gemma3", "f16"),
    "gemma3-q8_0": ("gemma3", "q8_0"),
    "qwen25vl-f16": ("qwen25vl", "f16"),
    "qwen3vl-f16": ("qwen3vl", "f16"),
    "pixtral-f16": ("pixtral", "f16"),
    "llama4-q8_0": ("llama4", "q8_0"),
    "smolvlm-f16": ("smolvlm", "f16"),
    "smolvlm2-q8_0": ("smolvlm2", "q8_0"),
    "internvl-f16": ("internvl", "f16"),
    "llava16-f16": ("llava16", "f16"),
}
PROJECTOR_TEXT_EMBD = 256


def write_projector(name: str, out: Path) -> Path:
    """Writes a projector GGUF as llama.cpp's converter does: clip.cpp's keys, tensor names and
    shapes (tools/mtmd/clip.cpp load_hparams / load_tensors), the converter's dtype rules (norms,
    biases and position tables F32; Gemma 3's patch embedding F32 and input projection F16; a
    Q8_0 matrix whose rows are not a multiple of 32 kept F16)."""
    kind, dtype = PROJECTORS[name]
    Q = gguf.GGMLQuantizationType
    mat = {"f16": Q.F16, "q8_0": Q.Q8_0}[dtype]
    D = PROJECTOR_TEXT_EMBD
    tmp = out.with_suffix(".tmp")
    w = gguf.GGUFWriter(str(tmp), "clip")
    w.add_type(gguf.GGUFType.MMPROJ)
    w.add_file_type({"f16": 1, "q8_0": 7}[dtype])
    w.add_clip_has_vision_encoder(True)

    def add(tname: str, ne: list[int], qt) -> None:
        shape = tuple(reversed(ne))
        if qt == Q.Q8_0 and ne[0] % 32 != 0:
            qt = Q.F16
        if qt == Q.F32:
            w.add_tensor(tname, np.zeros(shape, dtype=np.float32))
        elif qt == Q.F16:
            w.add_tensor(tname, np.zeros(shape, dtype=np.float16))
        else:
            bs, ts = gguf.GGML_QUANT_SIZES[qt]
            w.add_tensor(tname, np.zeros(shape[:-1] + (shape[-1] // bs * ts,), dtype=np.uint8), raw_dtype=qt)

    def common(ptype: str, E: int, F: int, H: int, L: int, P: int, S: int) -> None:
        w.add_clip_projector_type(ptype)
        w.add_vision_projection_dim(D)
        w.add_vision_image_size(S)
        w.add_vision_patch_size(P)
        w.add_vision_embedding_length(E)
        w.add_vision_feed_forward_length(F)
        w.add_vision_block_count(L)
        w.add_vision_head_count(H)
        w.add_vision_image_mean([0.5, 0.5, 0.5])
        w.add_vision_image_std([0.5, 0.5, 0.5])
        w.add_vision_attention_layernorm_eps(1e-6)

    if kind == "gemma3":
        # SigLIP-so400m as Gemma 3 ships it (transformers convert_gemma3_weights_orbax_to_hf.py).
        E, F, H, L, P, S = 1152, 4304, 16, 27, 14, 896
        common("gemma3", E, F, H, L, P, S)
        w.add_vision_use_gelu(True)
        add("v.patch_embd.weight", [P, P, 3, E], Q.F32)
        add("v.patch_embd.bias", [E], Q.F32)
        add("v.position_embd.weight", [E, (S // P) ** 2], Q.F32)
        for i in range(L):
            p = f"v.blk.{i}."
            for n in ("ln1", "ln2"):
                add(p + n + ".weight", [E], Q.F32)
                add(p + n + ".bias", [E], Q.F32)
            for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
                add(p + n + ".weight", [E, E], mat)
                add(p + n + ".bias", [E], Q.F32)
            add(p + "ffn_up.weight", [E, F], mat)
            add(p + "ffn_up.bias", [F], Q.F32)
            add(p + "ffn_down.weight", [F, E], mat)
            add(p + "ffn_down.bias", [E], Q.F32)
        add("v.post_ln.weight", [E], Q.F32)
        add("v.post_ln.bias", [E], Q.F32)
        add("mm.input_projection.weight", [D, E], Q.F16)
        add("mm.soft_emb_norm.weight", [E], Q.F32)
    elif kind in _FAMILIES:
        _FAMILIES[kind](w, add, common, mat, dtype, D)
    else:
        # Qwen2.5-VL's tower (Qwen2.5-VL-7B-Instruct vision_config): windowed attention, full on
        # every 8th block, SwiGLU, 2x2 merger.
        E, F, H, L, P, S = 1280, 3420, 16, 32, 14, 560
        common("qwen2.5vl_merger", E, F, H, L, P, S)
        w.add_vision_use_silu(True)
        w.add_vision_n_wa_pattern(8)
        pt = Q.F16 if dtype == "f16" else Q.F32
        add("v.patch_embd.weight", [P, P, 3, E], pt)
        add("v.patch_embd.weight.1", [P, P, 3, E], pt)
        for i in range(L):
            p = f"v.blk.{i}."
            add(p + "ln1.weight", [E], Q.F32)
            add(p + "ln2.weight", [E], Q.F32)
            for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
                add(p + n + ".weight", [E, E], mat)
                add(p + n + ".bias", [E], Q.F32)
            for n in ("ffn_gate", "ffn_up"):
                add(p + n + ".weight", [E, F], mat)
                add(p + n + ".bias", [F], Q.F32)
            add(p + "ffn_down.weight", [F, E], mat)
            add(p + "ffn_down.bias", [E], Q.F32)
        add("v.post_ln.weight", [E], Q.F32)
        add("mm.0.weight", [4 * E, 4 * E], mat)
        add("mm.0.bias", [4 * E], Q.F32)
        add("mm.2.weight", [4 * E, D], mat)
        add("mm.2.bias", [D], Q.F32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.rename(out)
    return out


def _lin(add, name: str, n_in: int, n_out: int, mat, bias: bool = True) -> None:
    Q = gguf.GGMLQuantizationType
    add(name + ".weight", [n_in, n_out], mat)
    if bias:
        add(name + ".bias", [n_out], Q.F32)


def _ln(add, name: str, n: int, bias: bool = True) -> None:
    Q = gguf.GGMLQuantizationType
    add(name + ".weight", [n], Q.F32)
    if bias:
        add(name + ".bias", [n], Q.F32)


def _siglip_blocks(add, mat, E: int, F: int, L: int) -> None:
    for i in range(L):
        p = f"v.blk.{i}."
        _ln(add, p + "ln1", E)
        _ln(add, p + "ln2", E)
        for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
            _lin(add, p + n, E, E, mat)
        _lin(add, p + "ffn_up", E, F, mat)
        _lin(add, p + "ffn_down", F, E, mat)


def _pixtral(w, add, common, mat, dtype: str, D: int) -> None:
    """Mistral Small 3.1's Pixtral (config.json vision_config: 1024, 4096, 24 layers, 16 heads, patch
    14, image 1540; spatial_merge_size 2): RMS norms, SwiGLU, no biases, the patch merger, and the
    text model's [IMG_BREAK] row (conversion/llava.py, pixtral.py)."""
    Q = gguf.GGMLQuantizationType
    E, F, H, L, P, S, m = 1024, 4096, 16, 24, 14, 1540, 2
    common("pixtral", E, F, H, L, P, S)
    w.add_vision_use_silu(True)
    w.add_vision_spatial_merge_size(m)
    pt = Q.F16 if dtype == "f16" else Q.F32  # MmprojModel.tensor_force_quant: patch and merger
    add("v.patch_embd.weight", [P, P, 3, E], pt)
    add("v.pre_ln.weight", [E], Q.F32)
    for i in range(L):
        p = f"v.blk.{i}."
        add(p + "ln1.weight", [E], Q.F32)
        add(p + "ln2.weight", [E], Q.F32)
        for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
            add(p + n + ".weight", [E, E], mat)
        add(p + "ffn_gate.weight", [E, F], mat)
        add(p + "ffn_up.weight", [E, F], mat)
        add(p + "ffn_down.weight", [F, E], mat)
    add("mm.input_norm.weight", [E], Q.F32)
    add("mm.patch_merger.weight", [E * m * m, E], pt)
    add("mm.1.weight", [E, D], mat)
    add("mm.2.weight", [D, D], mat)
    add("v.token_embd.img_break", [D], Q.F32)


def _llama4(w, add, common, mat, dtype: str, D: int) -> None:
    """Llama 4 Scout's vision tower (vision_config: 1408, 5632, 34 layers, 16 heads, patch 14, image
    336, pixel_shuffle_ratio 0.5, vision_output_dim 4096; conversion/llama4.py)."""
    Q = gguf.GGMLQuantizationType
    E, F, H, L, P, S, s, A = 1408, 5632, 16, 34, 14, 336, 2, 4096
    common("llama4", E, F, H, L, P, S)
    w.add_vision_projector_scale_factor(s)
    w.add_vision_use_gelu(True)
    T = (S // P) ** 2 + 1
    add("v.patch_embd.weight", [3 * P * P, E], Q.F16 if dtype == "f16" else Q.F32)
    add("v.class_embd", [E], Q.F32)
    add("v.position_embd.weight", [E, T], Q.F32)
    _ln(add, "v.pre_ln", E)
    _ln(add, "v.post_ln", E)
    _siglip_blocks(add, mat, E, F, L)
    add("mm.model.mlp.1.weight", [E * s * s, A], mat)
    add("mm.model.mlp.2.weight", [A, A], mat)
    add("mm.model.fc.weight", [A, D], mat)


def _smolvlm(E: int, F: int, H: int, L: int, P: int, S: int, s: int, edge: int):
    """SmolVLM's SigLIP with pixel shuffle and one linear projection (conversion/smolvlm.py: the
    embeddings stay F32 in every file)."""

    def write(w, add, common, mat, dtype: str, D: int) -> None:
        Q = gguf.GGMLQuantizationType
        common("idefics3", E, F, H, L, P, S)
        w.add_vision_projector_scale_factor(s)
        w.add_vision_use_gelu(True)
        w.add_vision_preproc_image_size(edge)
        add("v.patch_embd.weight", [P, P, 3, E], Q.F32)
        add("v.patch_embd.bias", [E], Q.F32)
        add("v.position_embd.weight", [E, (S // P) ** 2], Q.F32)
        _siglip_blocks(add, mat, E, F, L)
        _ln(add, "v.post_ln", E)
        add("mm.model.fc.weight", [E * s * s, D], mat)

    return write


def _internvl(w, add, common, mat, dtype: str, D: int) -> None:
    """InternViT-300M-448px-V2.5 as InternVL3 1B-14B ship it (vision_config: 1024, 4096, 16 heads, 24
    layers, patch 14, image 448, qkv_bias, layer scales; downsample_ratio 0.5; conversion/internvl.py)."""
    Q = gguf.GGMLQuantizationType
    E, F, H, L, P, S, s = 1024, 4096, 16, 24, 14, 448, 2
    common("internvl", E, F, H, L, P, S)
    w.add_vision_use_gelu(True)
    w.add_vision_projector_scale_factor(s)
    w.add_vision_preproc_min_tiles(1)
    w.add_vision_preproc_max_tiles(12)
    add("v.class_embd", [E], Q.F32)
    add("v.patch_embd.weight", [P, P, 3, E], Q.F16 if dtype == "f16" else Q.F32)
    add("v.patch_embd.bias", [E], Q.F32)
    add("v.position_embd.weight", [E, (S // P) ** 2 + 1], Q.F32)
    for i in range(L):
        p = f"v.blk.{i}."
        _ln(add, p + "ln1", E)
        for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
            _lin(add, p + n, E, E, mat)
        add(p + "ls1.weight", [E], Q.F32)
        add(p + "ls2.weight", [E], Q.F32)
        _ln(add, p + "ln2", E)
        _lin(add, p + "ffn_up", E, F, mat)
        _lin(add, p + "ffn_down", F, E, mat)
    _ln(add, "mm.model.mlp.0", E * s * s)
    _lin(add, "mm.model.mlp.1", E * s * s, D, mat)
    _lin(add, "mm.model.mlp.3", D, D, mat)


def _llava16(w, add, common, mat, dtype: str, D: int) -> None:
    """LLaVA 1.6's CLIP ViT-L/14-336 as the legacy converter (tools/mtmd/legacy-models/
    convert_image_encoder_to_gguf.py) writes it: 23 of 24 blocks, fc1/fc2 under swapped names, the
    4-D patch kernel F16, the anyres pinpoints, and `model.image_newline` (which clip.cpp never
    loads)."""
    Q = gguf.GGMLQuantizationType
    E, F, H, L, P, S = 1024, 4096, 16, 23, 14, 336
    common("mlp", E, F, H, L, P, S)
    w.add_array("clip.vision.image_grid_pinpoints", [336, 672, 672, 336, 672, 672, 1008, 336, 336, 1008])
    w.add_bool("clip.use_gelu", False)  # CLIP's quick_gelu
    _lin(add, "mm.0", E, D, mat)
    _lin(add, "mm.2", D, D, mat)
    add("model.image_newline", [D], Q.F32)
    add("v.class_embd", [E], Q.F32)
    add("v.patch_embd.weight", [P, P, 3, E], Q.F16)
    add("v.position_embd.weight", [E, (S // P) ** 2 + 1], mat)
    _ln(add, "v.pre_ln", E)
    for i in range(L):
        p = f"v.blk.{i}."
        for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
            _lin(add, p + n, E, E, mat)
        _ln(add, p + "ln1", E)
        _ln(add, p + "ln2", E)
        _lin(add, p + "ffn_down", E, F, mat)
        _lin(add, p + "ffn_up", F, E, mat)


def _qwen3vl(w, add, common, mat, dtype: str, D: int) -> None:
    """Qwen3-VL 8B's tower (vision_config: 27 x 1152, 4304, 16 heads, patch 16, merge 2, 2304 learned
    positions, deep-stack mergers after blocks 8, 16 and 24; conversion/qwen3vl.py): fused QKV,
    LayerNorms with biases, a GELU FFN, the two temporal halves of the patch kernel."""
    Q = gguf.GGMLQuantizationType
    E, F, H, L, P, S, m, ds = 1152, 4304, 16, 27, 16, 768, 2, (8, 16, 24)
    common("qwen3vl_merger", E, F, H, L, P, S)
    w.add_vision_use_gelu(True)
    w.add_vision_spatial_merge_size(m)
    pt = Q.F16 if dtype == "f16" else Q.F32
    M = 4 * E
    add("v.patch_embd.weight", [P, P, 3, E], pt)
    add("v.patch_embd.weight.1", [P, P, 3, E], pt)
    add("v.patch_embd.bias", [E], Q.F32)
    add("v.position_embd.weight", [E, 2304], Q.F32)
    for i in range(L):
        p = f"v.blk.{i}."
        _ln(add, p + "ln1", E)
        _ln(add, p + "ln2", E)
        _lin(add, p + "attn_qkv", E, 3 * E, mat)
        _lin(add, p + "attn_out", E, E, mat)
        _lin(add, p + "ffn_up", E, F, mat)
        _lin(add, p + "ffn_down", F, E, mat)
        if i in ds:
            q = f"v.deepstack.{i}."
            _ln(add, q + "norm", M)
            _lin(add, q + "fc1", M, M, mat)
            _lin(add, q + "fc2", M, D, mat)
    _ln(add, "v.post_ln", E)
    _lin(add, "mm.0", M, M, mat)
    _lin(add, "mm.2", M, D, mat)


# kind -> writer(w, add, common, mat, dtype, D) for the families past Gemma 3 and Qwen2.5-VL.
_FAMILIES = {
    "qwen3vl": _qwen3vl,
    "pixtral": _pixtral,
    "llama4": _llama4,
    # SmolVLM-256M/500M: SigLIP-base patch 16 at 512, 4x4 shuffle, long edge 2048 (model cards,
    # preprocessor_config); SmolVLM2-2.2B: so400m at 384, 3x3 shuffle, long edge 1536.
    "smolvlm": _smolvlm(768, 3072, 12, 12, 16, 512, 4, 2048),
    "smolvlm2": _smolvlm(1152, 4304, 16, 27, 14, 384, 3, 1536),
    "internvl": _internvl,
    "llava16": _llava16,
}


# --------------------------------------------------------------------------------------------------
# Whisper (whisper.cpp's ggml file format, src/whisper.cpp whisper_model_load): zero weights at the
# official models' shapes; whisper.cpp allocates its state at init without running the model.
# --------------------------------------------------------------------------------------------------

# name -> (enc layers, dec layers, width, heads, mels, vocab, matrix type)
WHISPERS: dict[str, tuple[int, int, int, int, int, int, str]] = {
    "whisper-tiny-f16": (4, 4, 384, 6, 80, 51865, "f16"),
    "whisper-base-q8_0": (6, 6, 512, 8, 80, 51865, "q8_0"),
    "whisper-turbo-q5_0": (32, 4, 1280, 20, 128, 51866, "q5_0"),
}


def write_whisper(name: str, out: Path) -> Path:
    """A ggml Whisper file: magic, 11 hparams, mel filters, a 50257-token vocabulary (whisper.cpp
    adds the rest), then every tensor (n_dims, name length, type, dims, name, data) with
    whisper.cpp's quantizer rules: 2-D tensors take the file's type except the positional
    embeddings (F32); the 3-D convolution kernels stay F16; 1-D tensors F32."""
    import struct

    le, ld, S, H, M, V, mt = WHISPERS[name]
    types = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 8, "q5_0": 6}
    ftypes = {"f16": 1, "q8_0": 7, "q5_0": 8}
    # (bytes per block, elements per block) of each ggml type
    sizes = {0: (4, 1), 1: (2, 1), 8: (34, 32), 6: (22, 32), 2: (18, 32)}
    T, N = 1500, 448
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<I", 0x67676D6C))
        qntvr = 2 if mt not in ("f16", "f32") else 0
        f.write(struct.pack("<11i", V, T, S, H, le, N, S, H, ld, M, qntvr * 1000 + ftypes[mt]))
        f.write(struct.pack("<ii", M, 201))
        f.write(bytes(4 * M * 201))
        n_tok = 50257
        f.write(struct.pack("<i", n_tok))
        for i in range(n_tok):
            tok = f"t{i}".encode()
            f.write(struct.pack("<I", len(tok)))
            f.write(tok)

        def tensor(tname: str, ne: list[int], ttype: int) -> None:
            b = tname.encode()
            f.write(struct.pack("<iii", len(ne), len(b), ttype))
            f.write(struct.pack(f"<{len(ne)}i", *ne))
            f.write(b)
            n = 1
            for d in ne:
                n *= d
            per, blk = sizes[ttype]
            f.write(bytes(n // blk * per))

        wt = types[mt]
        tensor("encoder.positional_embedding", [S, T], 0)
        tensor("encoder.conv1.weight", [3, M, S], 1)
        tensor("encoder.conv1.bias", [1, S], 0)
        tensor("encoder.conv2.weight", [3, S, S], 1)
        tensor("encoder.conv2.bias", [1, S], 0)
        for i in range(le):
            p = f"encoder.blocks.{i}."
            for n in ("query", "key", "value", "out"):
                tensor(p + f"attn.{n}.weight", [S, S], wt)
                if n != "key":
                    tensor(p + f"attn.{n}.bias", [S], 0)
            tensor(p + "attn_ln.weight", [S], 0)
            tensor(p + "attn_ln.bias", [S], 0)
            tensor(p + "mlp.0.weight", [S, 4 * S], wt)
            tensor(p + "mlp.0.bias", [4 * S], 0)
            tensor(p + "mlp.2.weight", [4 * S, S], wt)
            tensor(p + "mlp.2.bias", [S], 0)
            tensor(p + "mlp_ln.weight", [S], 0)
            tensor(p + "mlp_ln.bias", [S], 0)
        tensor("encoder.ln_post.weight", [S], 0)
        tensor("encoder.ln_post.bias", [S], 0)
        tensor("decoder.positional_embedding", [S, N], 0)
        tensor("decoder.token_embedding.weight", [S, V], wt)
        for i in range(ld):
            p = f"decoder.blocks.{i}."
            for a in ("attn", "cross_attn"):
                for n in ("query", "key", "value", "out"):
                    tensor(p + f"{a}.{n}.weight", [S, S], wt)
                    if n != "key":
                        tensor(p + f"{a}.{n}.bias", [S], 0)
                tensor(p + f"{a}_ln.weight", [S], 0)
                tensor(p + f"{a}_ln.bias", [S], 0)
            tensor(p + "mlp.0.weight", [S, 4 * S], wt)
            tensor(p + "mlp.0.bias", [4 * S], 0)
            tensor(p + "mlp.2.weight", [4 * S, S], wt)
            tensor(p + "mlp.2.bias", [S], 0)
            tensor(p + "mlp_ln.weight", [S], 0)
            tensor(p + "mlp_ln.bias", [S], 0)
        tensor("decoder.ln.weight", [S], 0)
        tensor("decoder.ln.bias", [S], 0)
    tmp.rename(out)
    return out
