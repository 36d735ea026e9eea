#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (default 60 s each) from a seed corpus made by the test
# builder. cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz@0.13.2
export RUSTC_BOOTSTRAP=1
mkdir -p corpus/gguf_header corpus/safetensors_header corpus/llamafile
cargo run -q --manifest-path ../Cargo.toml -p llmrig-formats --example fuzz_seeds -- corpus
for target in gguf_header safetensors_header llamafile; do
  cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$secs" -rss_limit_mb=1024 -max_len=65536
done
