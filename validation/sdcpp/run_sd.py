#!/usr/bin/env python3
"""Run stable-diffusion.cpp (sd-cli) on synthetic models and record every buffer size it logs.

    python3 run_sd.py [--sd-cli PATH] [--models DIR] [--logs DIR] [--only REGEX] [--out results.json]

Defaults: sd-cli = $SD_CLI or /tmp/sdval/build-bytes/bin/sd-cli (a build whose two size log lines
also print the exact byte count, see NOTES.md) falling back to /tmp/sdval/build/bin/sd-cli
(stock build: MB with two decimals only); models = /tmp/sdval/models (written by synth_sd.py when
missing); logs = /tmp/sdval/logs.  Writes results.json next to this script.

Each result: {case, model, width, height, batch, flags, rc, wall_s, peak_rss_bytes,
              logged: {key: {"mib": float, "bytes": int|None, "raw": line, "count": n}},
              events: [ordered list of every size line: {key, mib, bytes, raw}]}
Keys: "<runner>.params" (clip, t5, unet, flux, mmdit, vae ...), "total.params" and its parts
"total.text_encoders" / "total.diffusion_model" / "total.vae", "<runner>.compute" (largest of
the repeated allocations, "count" says how many times it was logged).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import synth_sd  # noqa: E402

# ------------------------------------------------------------------------------------------------
# cases
# ------------------------------------------------------------------------------------------------
SD15 = ["-m", "{models}/sd15_f16.safetensors"]
SD15Q8 = ["-m", "{models}/sd15_q8_0.gguf"]
FLUX = ["--diffusion-model", "{models}/flux_d1s1_f16.safetensors", "--clip_l", "{models}/clip_l_f16.safetensors",
        "--vae", "{models}/ae_f16.safetensors", "--cfg-scale", "1"]
FLUX22 = ["--diffusion-model", "{models}/flux_d2s2_f16.safetensors"] + FLUX[2:]
FLUX_T5 = FLUX + ["--t5xxl", "{models}/t5xxl_q8_0.gguf"]
FLUX_T5F16 = FLUX + ["--t5xxl", "{models}/t5xxl_f16.safetensors"]
SDXL = ["-m", "{models}/sdxl_f16.safetensors"]
SD21 = ["-m", "{models}/sd21_f16.safetensors"]
SD35 = ["--diffusion-model", "{models}/sd35_depth24_f16.safetensors", "--clip_l", "{models}/clip_l_f16.safetensors",
        "--clip_g", "{models}/clip_g_f16.safetensors", "--vae", "{models}/ae_f16.safetensors", "--cfg-scale", "1"]

# (case id, model label, needed synth kinds, base args, width, height, batch, extra flags)
CASES = [
    ("sd15-128", "sd15-f16", ["sd15"], SD15, 128, 128, 1, []),
    ("sd15-128-dfa", "sd15-f16", ["sd15"], SD15, 128, 128, 1, ["--diffusion-fa"]),
    ("sd15-256", "sd15-f16", ["sd15"], SD15, 256, 256, 1, []),
    ("sd15-256-dfa", "sd15-f16", ["sd15"], SD15, 256, 256, 1, ["--diffusion-fa"]),
    ("sd15-256-fa", "sd15-f16", ["sd15"], SD15, 256, 256, 1, ["--fa"]),
    ("sd15-256-cpu-flags", "sd15-f16", ["sd15"], SD15, 256, 256, 1, ["--clip-on-cpu", "--vae-on-cpu"]),
    ("sd15-256-b2", "sd15-f16", ["sd15"], SD15, 256, 256, 2, []),
    ("sd15-256-cfg1", "sd15-f16", ["sd15"], SD15, 256, 256, 1, ["--cfg-scale", "1"]),
    ("sd15-256-type-q8_0", "sd15-f16", ["sd15"], SD15, 256, 256, 1, ["--type", "q8_0"]),
    ("sd15-256-type-q4_K", "sd15-f16", ["sd15"], SD15, 256, 256, 1, ["--type", "q4_K"]),
    ("sd15q8gguf-256", "sd15-q8_0-gguf", ["sd15q8"], SD15Q8, 256, 256, 1, []),
    ("sd15-384x256", "sd15-f16", ["sd15"], SD15, 384, 256, 1, []),
    ("sd15-512", "sd15-f16", ["sd15"], SD15, 512, 512, 1, []),
    ("sd15-512-dfa", "sd15-f16", ["sd15"], SD15, 512, 512, 1, ["--diffusion-fa"]),
    ("sd15-512-fa", "sd15-f16", ["sd15"], SD15, 512, 512, 1, ["--fa"]),
    ("sd15-512-vae-tiling", "sd15-f16", ["sd15"], SD15, 512, 512, 1, ["--vae-tiling"]),
    ("sd15-512-dfa-vae-tiling", "sd15-f16", ["sd15"], SD15, 512, 512, 1, ["--diffusion-fa", "--vae-tiling"]),
    ("flux-256", "flux-d1s1-f16+clipl", ["flux"], FLUX, 256, 256, 1, []),
    ("flux-256-dfa", "flux-d1s1-f16+clipl", ["flux"], FLUX, 256, 256, 1, ["--diffusion-fa"]),
    ("flux-512", "flux-d1s1-f16+clipl", ["flux"], FLUX, 512, 512, 1, []),
    ("flux-512-dfa", "flux-d1s1-f16+clipl", ["flux"], FLUX, 512, 512, 1, ["--diffusion-fa"]),
    ("flux-512-vae-tiling", "flux-d1s1-f16+clipl", ["flux"], FLUX, 512, 512, 1, ["--vae-tiling"]),
    ("flux-512-type-q8_0", "flux-d1s1-f16+clipl", ["flux"], FLUX, 512, 512, 1, ["--type", "q8_0"]),
    ("flux-1024", "flux-d1s1-f16+clipl", ["flux"], FLUX, 1024, 1024, 1, []),
    ("flux-1024-dfa", "flux-d1s1-f16+clipl", ["flux"], FLUX, 1024, 1024, 1, ["--diffusion-fa"]),
    ("flux-d2s2-512", "flux-d2s2-f16+clipl", ["flux", "flux22"], FLUX22, 512, 512, 1, []),
    ("flux-t5q8-256", "flux-d1s1-f16+clipl+t5xxl-q8_0", ["flux", "t5"], FLUX_T5, 256, 256, 1, []),
    ("flux-t5q8-512-dfa", "flux-d1s1-f16+clipl+t5xxl-q8_0", ["flux", "t5"], FLUX_T5, 512, 512, 1, ["--diffusion-fa"]),
    ("flux-t5f16-256", "flux-d1s1-f16+clipl+t5xxl-f16", ["flux", "t5"], FLUX_T5F16, 256, 256, 1, []),
    ("sdxl-512-cfg1", "sdxl-f16", ["sdxl"], SDXL, 512, 512, 1, ["--cfg-scale", "1"]),
    ("sdxl-512-cfg1-extvae", "sdxl-f16+vae", ["sdxl", "sdvae"], SDXL + ["--vae", "{models}/sd_vae_f16.safetensors"], 512, 512, 1,
     ["--cfg-scale", "1"]),
    ("sdxl-512-cfg1-dfa", "sdxl-f16", ["sdxl"], SDXL, 512, 512, 1, ["--cfg-scale", "1", "--diffusion-fa"]),
    ("sdxl-1024-cfg1", "sdxl-f16", ["sdxl"], SDXL, 1024, 1024, 1, ["--cfg-scale", "1"]),
    ("sdxl-1024-cfg1-dfa", "sdxl-f16", ["sdxl"], SDXL, 1024, 1024, 1, ["--cfg-scale", "1", "--diffusion-fa"]),
    ("sd21-512", "sd21-f16", ["sd21"], SD21, 512, 512, 1, []),
    ("sd21-512-dfa", "sd21-f16", ["sd21"], SD21, 512, 512, 1, ["--diffusion-fa"]),
    ("sd35m-512", "sd35m-depth24-f16+clipl+clipg", ["sd35", "flux"], SD35, 512, 512, 1, []),
    ("sd35m-512-dfa", "sd35m-depth24-f16+clipl+clipg", ["sd35", "flux"], SD35, 512, 512, 1, ["--diffusion-fa"]),
    ("sd35m-1024-dfa", "sd35m-depth24-f16+clipl+clipg", ["sd35", "flux"], SD35, 1024, 1024, 1, ["--diffusion-fa"]),
]

# ------------------------------------------------------------------------------------------------
# log parsing
# ------------------------------------------------------------------------------------------------
RE_PARAMS = re.compile(r"(\S+) params backend buffer size =\s*([\d.]+) MB\((\w+)\) \((\d+) tensors\)(?: \[bytes=(\d+)\])?")
RE_COMPUTE = re.compile(r"(\S+) compute buffer size: ([\d.]+) MB\((\w+)\)(?: \[bytes=(\d+)\])?")
RE_TOTAL = re.compile(r"total params memory size = ([\d.]+)MB \(VRAM ([\d.]+)MB, RAM ([\d.]+)MB\): "
                      r"text_encoders ([\d.]+)MB\(\w+\), diffusion_model ([\d.]+)MB\(\w+\), vae ([\d.]+)MB\(\w+\)")
RE_OTHER_MB = re.compile(r"(\S+) (cache backend buffer size|offload params) .*?([\d.]+) ?MB")
RE_INFO = re.compile(r"(Version: .*|flux: depth.*|mmdit.*depth.*|vae decoder: ch.*|Weight type stat:.*|"
                     r"Conditioner weight type stat:.*|Diffusion model weight type stat:.*|VAE weight type stat:.*|"
                     r"loading tensors completed.*|generate_image completed.*|sampling completed.*|"
                     r"get_learned_condition completed.*|decode_first_stage completed.*|tile.*|.*tiling.*)")


def parse_log(text):
    logged, events, info = {}, [], []

    def add(key, mib, nbytes, raw):
        ev = {"key": key, "mib": mib, "bytes": nbytes, "raw": raw}
        events.append(ev)
        cur = logged.get(key)
        if cur is None:
            logged[key] = {"mib": mib, "bytes": nbytes, "raw": raw, "count": 1}
        else:
            cur["count"] += 1
            if mib > cur["mib"]:
                cur.update(mib=mib, bytes=nbytes, raw=raw)

    for line in text.splitlines():
        line = line.strip()
        m = RE_PARAMS.search(line)
        if m:
            # two runners can share a name (SDXL/SD3: CLIP-L and CLIP-G are both "clip"): number them
            key, n = m.group(1) + ".params", 2
            while key in logged:
                key, n = f"{m.group(1)}#{n}.params", n + 1
            add(key, float(m.group(2)), int(m.group(5)) if m.group(5) else None, line)
            continue
        m = RE_COMPUTE.search(line)
        if m:
            add(m.group(1) + ".compute", float(m.group(2)), int(m.group(4)) if m.group(4) else None, line)
            continue
        m = RE_TOTAL.search(line)
        if m:
            for k, g in (("total.params", 1), ("total.text_encoders", 4), ("total.diffusion_model", 5), ("total.vae", 6)):
                add(k, float(m.group(g)), None, line)
            continue
        m = RE_OTHER_MB.search(line)
        if m:
            add(m.group(1) + "." + m.group(2).replace(" ", "_"), float(m.group(3)), None, line)
            continue
        m = RE_INFO.search(line)
        if m and "] " in line:
            info.append(line.split("] ", 1)[1].split(" - ", 1)[-1].strip())
    return logged, events, info


def run_case(sd_cli, models, logs, case, stop_early=False):
    cid, label, kinds, base, w, h, batch, flags = case
    args = [a.format(models=models) for a in base]
    cmd = [sd_cli] + args + ["-p", "a photo of a cat", "-W", str(w), "-H", str(h), "--steps", "1", "-s", "1",
                             "-b", str(batch), "-t", str(os.cpu_count() or 2), "-v",
                             "-o", os.path.join(logs, cid + ".png")] + flags
    t0 = time.time()
    stopped = False
    log_path = os.path.join(logs, cid + ".log")
    with open(log_path, "w") as lf:
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            # --stop-early: every size has been logged once the VAE compute buffer of the last image
            # is allocated (decode is the last phase); the slow CPU decode itself tells nothing more.
            if stop_early and open(log_path, errors="replace").read().count("vae compute buffer size") >= batch:
                p.terminate()
                stopped = True
                _, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.5)
        p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.time() - t0
    text = open(os.path.join(logs, cid + ".log"), errors="replace").read()
    logged, events, info = parse_log(text)
    return {"case": cid, "model": label, "width": w, "height": h, "batch": batch, "flags": flags,
            "cmd": " ".join(cmd), "rc": p.returncode, "stopped_after_vae_alloc": stopped, "wall_s": round(wall, 1),
            "peak_rss_bytes": ru.ru_maxrss * 1024, "logged": logged, "events": events, "info": info}


def ensure_models(models, kinds):
    need = {"sd15": ["sd15_f16.safetensors"], "sd15q8": ["sd15_q8_0.gguf"], "sdxl": ["sdxl_f16.safetensors"],
            "flux": ["flux_d1s1_f16.safetensors", "clip_l_f16.safetensors", "ae_f16.safetensors"],
            "t5": ["t5xxl_q8_0.gguf", "t5xxl_f16.safetensors"], "sd35": ["sd35_depth24_f16.safetensors", "clip_g_f16.safetensors"],
            "sd21": ["sd21_f16.safetensors"], "sdvae": ["sd_vae_f16.safetensors"],
            "flux22": ["flux_d2s2_f16.safetensors"]}
    os.makedirs(models, exist_ok=True)
    for k in kinds:
        if not all(os.path.exists(os.path.join(models, f)) for f in need[k]):
            print(f"writing synthetic {k} ...", flush=True)
            synth_sd.KINDS[k](models)


def table(results):
    """Markdown table (MiB as logged; exact bytes in results.json)."""
    cols = [("clip.params", "CLIP-L/H params"), ("clip#2.params", "CLIP-G params"), ("t5.params", "T5 params"),
            ("DIFF.params", "diffusion params"), ("vae.params", "VAE params"), ("clip.compute", "CLIP compute (max)"),
            ("t5.compute", "T5 compute"), ("DIFF.compute", "diffusion compute"), ("vae.compute", "VAE compute")]
    out = ["| case | " + " | ".join(c[1] for c in cols) + " | peak RSS MiB |", "|" + "---|" * (len(cols) + 2)]
    for r in results:
        lg = r["logged"]
        diff = next((k.split(".")[0] for k in lg if k.split(".")[0] in ("unet", "flux", "mmdit")), "unet")
        cells = []
        for k, _ in cols:
            v = lg.get(k.replace("DIFF", diff))
            cells.append("" if v is None else f"{v['mib']:.2f}")
        mark = " †" if r.get("stopped_after_vae_alloc") else ""
        out.append(f"| {r['case']}{mark} | " + " | ".join(cells) + f" | {r['peak_rss_bytes'] / 2**20:.0f} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    default_cli = os.environ.get("SD_CLI") or next(
        (p for p in ("/tmp/sdval/build-bytes/bin/sd-cli", "/tmp/sdval/build/bin/sd-cli") if os.path.exists(p)), None)
    ap.add_argument("--sd-cli", default=default_cli)
    ap.add_argument("--models", default="/tmp/sdval/models")
    ap.add_argument("--logs", default="/tmp/sdval/logs")
    ap.add_argument("--only", default=None, help="regex on case id")
    ap.add_argument("--out", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--merge", action="store_true", help="keep existing results for cases not rerun")
    ap.add_argument("--stop-early", action="store_true",
                    help="kill sd-cli once the (last) VAE compute buffer is logged, skipping the slow CPU decode "
                         "(rc is then -15 and peak_rss_bytes misses the decode's touched pages)")
    ap.add_argument("--table", action="store_true", help="print a markdown table of --out and exit")
    a = ap.parse_args()
    if a.table:
        print(table(json.load(open(a.out))))
        return
    if not a.sd_cli:
        sys.exit("sd-cli not found: build it (see NOTES.md) or pass --sd-cli")
    os.makedirs(a.logs, exist_ok=True)
    cases = [c for c in CASES if not a.only or re.search(a.only, c[0])]
    results = {}
    if a.merge and os.path.exists(a.out):
        results = {r["case"]: r for r in json.load(open(a.out))}
    for c in cases:
        ensure_models(a.models, c[2])
        r = run_case(a.sd_cli, a.models, a.logs, c, a.stop_early)
        results[r["case"]] = r
        summary = ", ".join(f"{k}={v['mib']}" for k, v in r["logged"].items() if not k.startswith("total."))
        print(f"{r['case']}: rc={r['rc']} {r['wall_s']}s rss={r['peak_rss_bytes'] / 2**20:.0f}MiB {summary}", flush=True)
        order = {c[0]: i for i, c in enumerate(CASES)}
        with open(a.out, "w") as f:
            json.dump(sorted(results.values(), key=lambda r: order.get(r["case"], 1e9)), f, indent=1)


if __name__ == "__main__":
    main()
