#!/usr/bin/env bash
# One command for the validation harness: builds llmrig (debug profile, which reuses `cargo test`'s
# build), then run.py creates validation/.venv, builds or reuses the cached llama-cpp-python wheel,
# generates the models and compares llmrig with llama.cpp. Arguments go to run.py
# (--quick, --models a,b, --self-test, --no-fail, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${LLMRIG:-}" ]; then
  cargo build -q -p llmrig
  export LLMRIG="${CARGO_TARGET_DIR:-$PWD/target}/debug/llmrig"
fi
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "validation: $PY lacks the venv/ensurepip modules (Debian: apt-get install python3-venv)" >&2
  exit 1
fi
exec "$PY" validation/run.py "$@"
