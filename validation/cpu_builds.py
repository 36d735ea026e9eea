#!/usr/bin/env python3
"""llama.cpp's CPU builds against each other on this machine (issue 17 item 5): the default CPU
build (with llamafile's sgemm kernels, GGML_USE_LLAMAFILE, on by default), the same without them
(-DGGML_LLAMAFILE=OFF), and an OpenBLAS build (-DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS, the BLAS
backend taking the large-batch matrix products). Each llama-bench is built from the llama.cpp
source the validation harness uses, cached beside its default llama-bench, and run on the same
synthetic llama-1b files in F16, Q8_0, Q4_0 and Q4_K_M (pp512 and tg32, 2 repetitions). Writes
validation/cpu-builds.md and .json, and prints llmrig's `--cpu-build` predictions beside them.

Run from the repository root after `validation/run.sh` has built its venv and models:
    validation/.venv/bin/python validation/cpu_builds.py
OpenBLAS needs `libopenblas-dev` (Debian; installed with apt-get when missing and run as root).
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402  (the harness: cache paths, the sdist, its cmake flags)

VARIANTS = {
    "default": [],
    "no-llamafile": ["-DGGML_LLAMAFILE=OFF"],
    "openblas": ["-DGGML_BLAS=ON", "-DGGML_BLAS_VENDOR=OpenBLAS"],
}
QUANTS = ["F16", "Q8_0", "Q4_0", "Q4_K_M"]


def ensure_openblas() -> None:
    if Path("/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h").exists() or \
            list(Path("/usr/include").glob("**/cblas.h")):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit("cpu_builds: OpenBLAS headers missing; install libopenblas-dev")
    subprocess.run(["apt-get", "install", "-y", "-q", "libopenblas-dev"], check=True,
                   capture_output=True)


def build(variant: str) -> Path:
    """llama-bench of this variant, built once and cached."""
    if variant == "default":
        return run.ensure_llama_bench()
    d = run.CACHE / "llama-bench" / f"{run.wheel_key()}-{variant}"
    exe = d / "llama-bench"
    if exe.exists():
        return exe
    if variant == "openblas":
        ensure_openblas()
    cmake = Path(sys.executable).parent / "cmake"
    run.log(f"building llama-bench ({variant}); cached in {d}")
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(run.sdist_path()) as t:
            t.extractall(tmp, filter="data")
        src = next(Path(tmp).glob("llama_cpp_python-*")) / "vendor" / "llama.cpp"
        b = Path(tmp) / "build"
        subprocess.run([str(cmake), "-S", str(src), "-B", str(b), "-DCMAKE_BUILD_TYPE=Release",
                        *shlex.split(run.CMAKE_ARGS), "-DLLAMA_BUILD_TOOLS=ON",
                        "-DBUILD_SHARED_LIBS=OFF", *VARIANTS[variant]],
                       check=True, capture_output=True)
        subprocess.run([str(cmake), "--build", str(b), "--target", "llama-bench", "-j",
                        str(os.cpu_count() or 2)], check=True, capture_output=True)
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy2(b / "bin" / "llama-bench", exe)
    run.log(f"llama-bench ({variant}) built in {time.time() - t0:.0f} s")
    return exe


def bench(exe: Path, model: Path) -> dict:
    out = subprocess.run([str(exe), "-m", str(model), "-p", "512", "-n", "32", "-r", "2",
                          "-o", "json"], check=True, capture_output=True, text=True).stdout
    rows = json.loads(out)
    res = {}
    for r in rows:
        res["pp512" if r["n_prompt"] else "tg32"] = r["avg_ts"]
    return res


def llmrig_prefill(binary: Path, model: Path, cpu_build: str) -> dict:
    out = subprocess.run([str(binary), "estimate", str(model), "--no-gpu", "-c", "1024",
                          "--prompt", "512", "--gen", "32", "--cpu-build", cpu_build, "--json"],
                         check=True, capture_output=True, text=True).stdout
    p = json.loads(out)["performance"]
    return {"pp512": p["prefill_tokens_per_s"], "tg32": p["decode_tokens_per_s"]}


def main() -> int:
    binary = run.find_llmrig(os.environ.get("LLMRIG"))
    models = {q: next(run.CACHE.joinpath("models").glob(f"llama-1b-*{q}.gguf")) for q in QUANTS}
    # The measurements take ~6 minutes on 2 cores: kept in the cache, `--remeasure` repeats them.
    cached = run.CACHE / f"cpu-builds-{run.wheel_key()}.json"
    if cached.exists() and "--remeasure" not in sys.argv:
        measured_all = json.loads(cached.read_text())
    else:
        exes = {v: build(v) for v in VARIANTS}
        measured_all = {q: {v: bench(e, m) for v, e in exes.items()} for q, m in models.items()}
        cached.write_text(json.dumps(measured_all))
    rows = []
    for q, m in models.items():
        measured = measured_all[q]
        predicted = {v: llmrig_prefill(binary, m, b)
                     for v, b in (("default", "llama.cpp"), ("openblas", "openblas"))}
        rows.append({"quant": q, "measured": measured, "predicted": predicted})
        run.log(f"{q}: {measured}")
    meta = {"cpu": run.cpu_name(), "threads": os.cpu_count(), "llama_cpp": run.llama_cpp_commit(),
            "llmrig": run.git_commit(), "date": time.strftime("%Y-%m-%d")}
    (HERE / "cpu-builds.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [
        "# llama.cpp's CPU builds on the validation machine",
        "",
        f"{meta['cpu']}, {meta['threads']} threads; llama.cpp {meta['llama_cpp']} (llama-cpp-python "
        f"{run.LLAMA_CPP_PYTHON}'s source); llmrig {meta['llmrig']}; {meta['date']}. Synthetic llama-1b "
        "(1.1B) files, llama-bench `-p 512 -n 32 -r 2`. Reproduce: "
        "`validation/.venv/bin/python validation/cpu_builds.py`.",
        "",
        "| quant | test | default | no llamafile sgemm | OpenBLAS | OpenBLAS / default | llmrig: OpenBLAS / default |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for t in ("pp512", "tg32"):
            m, p = r["measured"], r["predicted"]
            lines.append(
                f"| {r['quant']} | {t} | {m['default'][t]:.1f} | {m['no-llamafile'][t]:.1f} | "
                f"{m['openblas'][t]:.1f} | {m['openblas'][t] / m['default'][t]:.2f} | "
                f"{p['openblas'][t] / p['default'][t]:.2f} |")
    lines += [
        "",
        "What it shows: the default build's prompt products beat OpenBLAS's for F16 and Q8_0, which "
        "ggml-blas converts to f32 before `cblas_sgemm`; Q4_0 (and the Q4_K part of Q4_K_M) sit in "
        "the CPU's repack buffer on AVX2/AVX-512 and never reach BLAS, so they run the same. "
        "llamafile's sgemm, built into llama.cpp's CPU backend by default since April 2024 (PR "
        "#6414), doubles F16 and Q8_0 prompt speed here (the `no llamafile sgemm` column is "
        "`-DGGML_LLAMAFILE=OFF`); generation (tg32) does not use it and varies by noise on this VM. "
        "llmrig's BLAS share was fitted to the F16, Q8_0 and Q4_K_M ratios of this table "
        "(`BLAS_SHARE` in crates/core/src/estimate/speed.rs): in sample.",
    ]
    (HERE / "cpu-builds.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
