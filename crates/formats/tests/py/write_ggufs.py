"""Writes GGUF files with the `gguf` package (the writer maintained with llama.cpp) and a manifest of
what its own reader sees in them, for llmrig's cross-check test (crates/formats/tests/gguf_py.rs).

usage: write_ggufs.py OUTDIR   -> OUTDIR/*.gguf and OUTDIR/manifest.json
"""
import json
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFEndian, GGUFReader, GGUFValueType as V

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)

# bytes per block and block size, from gguf's own table
def nbytes(t, n_elems):
    bs, ts = gguf.GGML_QUANT_SIZES[t]
    assert n_elems % bs == 0
    return n_elems // bs * ts

def add(w, name, ne, t):
    """ne in ggml order (ne0 first)."""
    n = int(np.prod(ne))
    if t == T.F32:
        w.add_tensor(name, np.zeros(tuple(reversed(ne)), dtype=np.float32))
    elif t == T.F16:
        w.add_tensor(name, np.zeros(tuple(reversed(ne)), dtype=np.float16))
    else:
        # quantized data is passed as bytes, shaped (..., bytes per row)
        shape = tuple(reversed(ne[1:])) + (nbytes(t, ne[0]),)
        w.add_tensor(name, np.zeros(shape, dtype=np.uint8), raw_dtype=t)

def llama_like(path, arch, endian=GGUFEndian.LITTLE, alignment=None, extra=None, layers=2,
               embd=256, ff=512, heads=4, kv=2, vocab=1000, tied=False, types=(T.Q4_K, T.Q6_K)):
    w = gguf.GGUFWriter(str(path), arch, endianess=endian)
    w.add_name(f"test {arch}")
    w.add_block_count(layers)
    w.add_embedding_length(embd)
    w.add_feed_forward_length(ff)
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_context_length(8192)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(15)
    if alignment:
        w.add_custom_alignment(alignment)
    # every metadata value type
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 1.5)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo ✓")
    w.add_uint64("test.u64", 2**63 + 5)
    w.add_int64("test.i64", -(2**62))
    w.add_float64("test.f64", 2.25)
    w.add_array("test.array_i32", [1, -2, 3])
    w.add_array("test.array_str", ["a", "bb", ""])
    w.add_array("test.array_nested", [[1, 2], [3]])
    # a tokenizer-sized array: must be skipped, not materialised
    w.add_token_list([f"tok{i}" for i in range(3000)])
    w.add_token_scores([0.0] * 3000)
    if extra:
        extra(w)
    add(w, "token_embd.weight", [embd, vocab], types[0])
    if not tied:
        add(w, "output.weight", [embd, vocab], types[1])
    add(w, "output_norm.weight", [embd], T.F32)
    hd = embd // heads
    for i in range(layers):
        p = f"blk.{i}."
        add(w, p + "attn_norm.weight", [embd], T.F32)
        add(w, p + "attn_q.weight", [embd, heads * hd], types[0])
        add(w, p + "attn_k.weight", [embd, kv * hd], types[0])
        add(w, p + "attn_v.weight", [embd, kv * hd], types[1])
        add(w, p + "attn_output.weight", [heads * hd, embd], types[0])
        add(w, p + "ffn_norm.weight", [embd], T.F32)
        add(w, p + "ffn_gate.weight", [embd, ff], types[0])
        add(w, p + "ffn_up.weight", [embd, ff], types[0])
        add(w, p + "ffn_down.weight", [ff, embd], T.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

def moe_extra(w):
    w.add_expert_count(8)
    w.add_expert_used_count(2)
    w.add_expert_feed_forward_length(128)

def swa_extra(w):
    w.add_sliding_window(512)
    w.add_key_length(64)
    w.add_value_length(64)

files = {
    "llama.gguf": dict(arch="llama"),
    "llama-be.gguf": dict(arch="llama", endian=GGUFEndian.BIG),
    "llama-align64.gguf": dict(arch="llama", alignment=64),
    "qwen2-tied.gguf": dict(arch="qwen2", tied=True, types=(T.Q8_0, T.Q8_0)),
    "gemma3-swa.gguf": dict(arch="gemma3", tied=True, extra=swa_extra, types=(T.IQ4_XS, T.Q6_K)),
    "llama-f16.gguf": dict(arch="llama", types=(T.F16, T.F16)),
    "iq.gguf": dict(arch="llama", types=(T.IQ2_XXS, T.IQ3_S)),
}
for name, kw in files.items():
    llama_like(out / name, **kw)

# an MoE file with stacked experts
w = gguf.GGUFWriter(str(out / "qwen3moe.gguf"), "qwen3moe")
w.add_block_count(1); w.add_embedding_length(256); w.add_feed_forward_length(512)
w.add_head_count(4); w.add_head_count_kv(2); w.add_context_length(4096)
moe_extra(w)
add(w, "token_embd.weight", [256, 1000], T.Q4_K)
add(w, "output.weight", [256, 1000], T.Q6_K)
add(w, "output_norm.weight", [256], T.F32)
add(w, "blk.0.attn_norm.weight", [256], T.F32)
for n, ne in [("attn_q", [256, 256]), ("attn_k", [256, 128]), ("attn_v", [256, 128]), ("attn_output", [256, 256])]:
    add(w, f"blk.0.{n}.weight", ne, T.Q4_K)
add(w, "blk.0.ffn_gate_inp.weight", [256, 8], T.F32)
add(w, "blk.0.ffn_gate_exps.weight", [256, 128, 8], T.Q4_K)
add(w, "blk.0.ffn_up_exps.weight", [256, 128, 8], T.Q4_K)
add(w, "blk.0.ffn_down_exps.weight", [128, 256, 8], T.Q8_0)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

def jsonable(v):
    if isinstance(v, (np.generic,)):
        return v.item()
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v

manifest = {}
for path in sorted(out.glob("*.gguf")):
    r = GGUFReader(str(path))
    meta = {}
    for f in r.fields.values():
        if f.name.startswith("GGUF."):
            continue
        types = [int(t) for t in f.types]
        if types[0] == V.ARRAY and len(f.data) > 1024:
            meta[f.name] = {"types": types, "len": len(f.data)}
            continue
        try:
            val = f.contents()
        except Exception:
            val = None
        meta[f.name] = {"types": types, "value": jsonable(val)}
    tensors = [
        {"name": t.name, "ne": [int(x) for x in t.shape], "type": int(t.tensor_type),
         "n_bytes": int(t.n_bytes), "data_offset": int(t.data_offset)}
        for t in r.tensors
    ]
    manifest[path.name] = {
        "big_endian": r.endianess == GGUFEndian.BIG,
        "file_size": path.stat().st_size,
        "metadata": meta,
        "tensors": tensors,
    }
(out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
print(out / "manifest.json")
