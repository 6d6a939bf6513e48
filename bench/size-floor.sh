#!/usr/bin/env bash
# The size floor of the current split: core's decisions alone (bench/size-floor), built and
# optimised exactly like the snippet, next to the snippet's own wasm. Prints gzip -9 bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/size-floor
CARGO_TARGET_DIR="$out" cargo build --release --target wasm32-unknown-unknown --manifest-path bench/size-floor/Cargo.toml
wasm-bindgen --target web --no-typescript --out-dir "$out/glue" "$out/wasm32-unknown-unknown/release/splitbeam_size_floor.wasm"
node_modules/.bin/wasm-opt -Oz --converge --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals "$out/glue/splitbeam_size_floor_bg.wasm" -o "$out/floor.wasm"
floor=$(gzip -9 -n -c "$out/floor.wasm" | wc -c)
echo "core's decisions alone (its JSON parser, config reading, page rules, conditions, hashing, assignment): $floor B wasm gzip -9"
snippet=$(ls -t dist/splitbeam_bg.*.wasm 2>/dev/null | head -n 1)
if [ -n "$snippet" ]; then
  echo "the snippet's wasm ($snippet): $(gzip -9 -n -c "$snippet" | wc -c) B gzip -9; budget for loader + glue + wasm: 14336 B"
fi
