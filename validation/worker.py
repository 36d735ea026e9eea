"""Loads one GGUF in llama.cpp (llama-cpp-python's low-level bindings) and reports what it allocates.

Usage: python worker.py JOB.json  (prints one JSON object on stdout)

JOB = {"model": path, "cases": [{"id", "c", "b", "ub", "fa", "ctk", "ctv", "np", "kvu", "swa_full"}],
       "speed": {"prompt": N, "gen": N} | null, "threads": N}

llama.cpp's log (every level, through llama_log_set, which also sets ggml's logger) is captured per step
and the buffer lines are parsed:
  load_tensors:   CPU_Mapped model buffer size =    29.70 MiB
  load_tensors:   CPU_REPACK model buffer size =     5.00 MiB
  llama_context:        CPU  output buffer size =     0.12 MiB
  llama_kv_cache:        CPU KV buffer size =     2.00 MiB            (one line per cache)
  llama_kv_cache: size =    2.00 MiB (  4096 cells,   1 layers,  1/1 seqs), K (f16): ..., V (f16): ...
  llama_memory_recurrent:        CPU RS buffer size = ...
  sched_reserve:        CPU compute buffer size =    63.63 MiB
  ~llama_context:        CPU compute buffer size is  63.6270 MiB, matches expectation ...  (at free, 4 decimals)
Sizes are printed in MiB with 2 (or 4) decimals, so values are exact to about 5 KiB (50 B).
"""

from __future__ import annotations

import ctypes
import os
import json
import re
import sys
import time

import llama_cpp as L

MIB = 1024 * 1024

_log: list[str] = []


@L.llama_log_callback
def _cb(level, text, user_data):  # noqa: ARG001
    _log.append(text.decode("utf-8", "replace"))


def take_log() -> str:
    s = "".join(_log)
    _log.clear()
    return s


GGML_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8, "iq4_nl": 20, "bf16": 30}
FA = {"auto": -1, "off": 0, "on": 1}

RE_MODEL = re.compile(r"^\S+:\s+(\S+) model buffer size =\s+([\d.]+) MiB", re.M)
RE_OUTPUT = re.compile(r"^\S+:\s+(\S+)\s+output buffer size =\s+([\d.]+) MiB", re.M)
RE_KV = re.compile(r"^\S+:\s+(\S+) KV buffer size =\s+([\d.]+) MiB", re.M)
RE_RS = re.compile(r"^\S+:\s+(\S+) RS buffer size =\s+([\d.]+) MiB", re.M)
RE_KV_SIZE = re.compile(
    r"^(\S+): size =\s+([\d.]+) MiB \(\s*(\d+) cells,\s+(\d+) layers,\s+(\d+)/(\d+) seqs\), "
    r"K \((\S+)\):\s+([\d.]+) MiB, V \((\S+)\):\s+([\d.]+) MiB",
    re.M,
)
RE_COMPUTE = re.compile(r"^\S+:\s+(\S+) compute buffer size =\s+([\d.]+) MiB", re.M)
RE_COMPUTE_EXACT = re.compile(r"^~llama_context:\s+(\S+) compute buffer size (?:is|of)\s+([\d.]+) MiB", re.M)
RE_CTX = re.compile(r"^llama_context: (n_ctx|n_ctx_seq|n_batch|n_ubatch|n_seq_max)\s+= (\d+)", re.M)
RE_FA = re.compile(r"Flash Attention (enabled|disabled)|flash_attn\s+=\s+(\S+)")


def mib(s: str) -> int:
    return round(float(s) * MIB)


def parse_model(log: str) -> dict:
    bufs = [{"name": n, "bytes": mib(v)} for n, v in RE_MODEL.findall(log)]
    return {"buffers": bufs}


def parse_context(log: str, free_log: str) -> dict:
    out = {
        "output": [{"name": n, "bytes": mib(v)} for n, v in RE_OUTPUT.findall(log)],
        "kv": [{"name": n, "bytes": mib(v)} for n, v in RE_KV.findall(log)],
        "rs": [{"name": n, "bytes": mib(v)} for n, v in RE_RS.findall(log)],
        "caches": [
            {
                "cells": int(c),
                "layers": int(l),
                "seqs": f"{s}/{S}",
                "k_type": kt,
                "k_bytes": mib(kb),
                "v_type": vt,
                "v_bytes": mib(vb),
            }
            for _fn, _tot, c, l, s, S, kt, kb, vt, vb in RE_KV_SIZE.findall(log)
        ],
        "compute": [{"name": n, "bytes": mib(v)} for n, v in RE_COMPUTE.findall(log)],
        "compute_exact": [{"name": n, "bytes": mib(v)} for n, v in RE_COMPUTE_EXACT.findall(free_log)],
        "ctx": {k: int(v) for k, v in RE_CTX.findall(log)},
    }
    fa = None
    for m in RE_FA.finditer(log):
        if m.group(1):
            fa = m.group(1) == "enabled"
    out["flash_attn"] = fa
    return out


def ctx_params(case: dict, threads: int):
    p = L.llama_context_default_params()
    p.n_ctx = case["c"]
    p.n_batch = case.get("b", 2048)
    p.n_ubatch = case.get("ub", 512)
    p.n_seq_max = case.get("np", 1)
    p.n_threads = threads
    p.n_threads_batch = threads
    p.flash_attn_type = FA[case.get("fa", "auto")]
    p.type_k = GGML_TYPES[case.get("ctk", "f16")]
    p.type_v = GGML_TYPES[case.get("ctv", "f16")]
    p.kv_unified = bool(case.get("kvu", False))
    # The library default is swa_full = true (llama_context_default_params); llama-cli/llama-server
    # default to false (common_params). Always set it explicitly.
    p.swa_full = bool(case.get("swa_full", False))
    # Embedding models run as llama-server --embedding runs them: embeddings on, the model's pooling.
    p.embeddings = bool(case.get("emb", False))
    return p


def run_case(model, case: dict, threads: int) -> dict:
    take_log()
    t0 = time.time()
    ctx = L.llama_init_from_model(model, ctx_params(case, threads))
    log = take_log()
    if not ctx:
        return {"id": case["id"], "error": "llama_init_from_model failed", "log_tail": log[-3000:]}
    L.llama_free(ctx)
    free_log = take_log()
    r = parse_context(log, free_log)
    r["id"] = case["id"]
    r["seconds"] = round(time.time() - t0, 3)
    return r


def measure_speed(model, n_prompt: int, n_gen: int, threads: int, settings: dict) -> dict:
    """Prefill of n_prompt tokens in one batch, then n_gen single-token decodes (like llama-bench
    pp/tg, one repetition after a warm-up), on a context with the given settings."""
    case = dict(settings)
    ctx = L.llama_init_from_model(model, ctx_params(case, threads))
    take_log()
    if not ctx:
        return {"error": "context for speed test failed"}
    vocab = L.llama_model_get_vocab(model)
    n_vocab = L.llama_vocab_n_tokens(vocab)
    mem = L.llama_get_memory(ctx)

    def decode(tokens: list[int]) -> None:
        arr = (L.llama_token * len(tokens))(*tokens)
        batch = L.llama_batch_get_one(arr, len(tokens))
        rc = L.llama_decode(ctx, batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")

    toks = [(i * 7919 + 13) % n_vocab for i in range(n_prompt + n_gen)]
    try:
        decode(toks[:16])  # warm-up (page in the weights)
        L.llama_memory_clear(mem, True)
        t0 = time.perf_counter()
        decode(toks[:n_prompt])
        L.llama_synchronize(ctx)
        t_pp = time.perf_counter() - t0
        t0 = time.perf_counter()
        for t in toks[n_prompt:]:
            decode([t])
        L.llama_synchronize(ctx)
        t_tg = time.perf_counter() - t0
    except RuntimeError as e:
        L.llama_free(ctx)
        take_log()
        return {"error": str(e)}
    L.llama_free(ctx)
    take_log()
    return {
        "prompt": n_prompt,
        "gen": n_gen,
        "threads": threads,
        "prefill_tokens_per_s": n_prompt / t_pp,
        "decode_tokens_per_s": n_gen / t_tg,
    }


RE_CLIP_SIZE = re.compile(r"model size:\s+([\d.]+) MiB")
RE_CLIP_COMPUTE = re.compile(r"reserve_compute_meta:\s+(\S+) compute buffer size =\s+([\d.]+) MiB")
RE_CLIP_FA = re.compile(r"flash attention is (enabled|disabled)")


def run_projector(job: dict) -> dict:
    """Loads a projector through libmtmd (no text model: the width check is skipped) with warm-up,
    which reserves the encoder's compute buffer, and reports what clip.cpp logs."""
    import llama_cpp.mtmd_cpp as M

    M.mtmd_log_set(_cb, ctypes.c_void_p())
    out = []
    for case in job["cases"]:
        take_log()
        p = M.mtmd_context_params_default()
        p.use_gpu = False
        p.n_threads = job.get("threads", 2)
        p.warmup = True
        p.print_timings = False
        p.flash_attn_type = FA[case.get("fa", "auto")]
        ctx = M.mtmd_init_from_file(job["model"].encode(), None, p)
        log = take_log()
        if not ctx:
            out.append({"id": case["id"], "error": "mtmd_init_from_file failed", "log_tail": log[-3000:]})
            continue
        M.mtmd_free(ctx)
        take_log()
        size = RE_CLIP_SIZE.findall(log)
        comp = RE_CLIP_COMPUTE.findall(log)
        fa = RE_CLIP_FA.findall(log)
        out.append({
            "id": case["id"],
            # Every tensor's bytes as clip.cpp sums them (unpadded), and the last reserve (auto
            # may reserve twice).
            "model_size": mib(size[-1]) if size else None,
            "compute": [{"name": comp[-1][0], "bytes": mib(comp[-1][1])}] if comp else [],
            "flash_attn": fa[-1] == "enabled" if fa else None,
        })
    return {"model": job["model"], "projector_cases": out}


RE_WH_TOTAL = re.compile(r"whisper_model_load:\s+(\S+) total size =\s+([\d.]+) MB")
RE_WH_KV = re.compile(r"whisper_init_state: kv (self|cross|pad)\s+size\s+=\s+([\d.]+) MB")
RE_WH_COMPUTE = re.compile(r"whisper_init_state: compute buffer \((\w+)\)\s+=\s+([\d.]+) MB")


def run_whisper(job: dict) -> dict:
    """Loads a ggml Whisper file in whisper.cpp (pywhispercpp's bindings, CPU) and reports the
    buffers whisper_init logs (MB = 1e6 bytes, two decimals)."""
    import _pywhispercpp as W

    lines: list[str] = []
    W.whisper_log_set(lambda level, text: lines.append(text))
    out = []
    for case in job["cases"]:
        lines.clear()
        p = W.whisper_context_default_params()
        p.use_gpu = False
        p.flash_attn = case.get("fa", "on") != "off"
        ctx = W.whisper_init_from_file_with_params(job["model"], p)
        log = "".join(lines)
        if ctx is None:
            out.append({"id": case["id"], "error": "whisper_init failed", "log_tail": log[-3000:]})
            continue
        W.whisper_free(ctx)
        mb = lambda v: round(float(v) * 1e6)  # noqa: E731
        out.append({
            "id": case["id"],
            "weights": sum(mb(v) for _, v in RE_WH_TOTAL.findall(log)),
            "kv": sum(mb(v) for _, v in RE_WH_KV.findall(log)),
            "compute": sum(mb(v) for _, v in RE_WH_COMPUTE.findall(log)),
            "lines": len(RE_WH_COMPUTE.findall(log)) + len(RE_WH_KV.findall(log)),
        })
    return {"model": job["model"], "whisper_cases": out}


def main() -> None:
    job = json.load(open(sys.argv[1]))
    if job.get("whisper"):
        res = run_whisper(job)
        import _pywhispercpp as W

        W.whisper_log_set(None)  # no Python callback left for ggml's messages at exit
        print(json.dumps(res), flush=True)
        os._exit(0)
    if job.get("projector"):
        L.llama_log_set(_cb, ctypes.c_void_p())
        L.llama_backend_init()
        print(json.dumps(run_projector(job)))
        return
    threads = job.get("threads", 2)
    L.llama_log_set(_cb, ctypes.c_void_p())
    L.llama_backend_init()
    take_log()
    mp = L.llama_model_default_params()
    mp.n_gpu_layers = 0
    t0 = time.time()
    model = L.llama_model_load_from_file(job["model"].encode(), mp)
    log = take_log()
    res: dict = {"model": job["model"], "system_info": L.llama_print_system_info().decode()}
    if not model:
        res["error"] = "llama_model_load_from_file failed"
        res["log_tail"] = log[-4000:]
        print(json.dumps(res))
        return
    res["load_seconds"] = round(time.time() - t0, 3)
    res["weights"] = parse_model(log)
    res["weights"]["model_size"] = L.llama_model_size(model)
    res["cases"] = [run_case(model, c, threads) for c in job["cases"]]
    if job.get("speed"):
        sp = job["speed"]
        res["speed"] = measure_speed(model, sp["prompt"], sp["gen"], threads, sp["settings"])
    L.llama_model_free(model)
    take_log()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
