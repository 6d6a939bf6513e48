#!/usr/bin/env bash
# `npm run build`: the snippet into dist/ — splitbeam.js (loader + wasm-bindgen glue, one classic
# script), splitbeam_bg.wasm and splitbeam.d.ts. Direct path: cargo → wasm-bindgen → wasm-opt → esbuild.
set -euo pipefail
cd "$(dirname "$0")/.."
# npm's binaryen, never Debian's wasm-opt 108 (its -Oz output throws at load).
# --converge: repeat -Oz until it stops shrinking (-0.2 KB gzip; measured with -tnh/--gufa too, kept out: no gain worth the risk).
bin=node_modules/.bin
out=dist
glue=target/splitbeam-glue

cargo build --profile wasm --target wasm32-unknown-unknown -p splitbeam
rm -rf "$glue"
wasm-bindgen --target web --no-typescript --out-dir "$glue" target/wasm32-unknown-unknown/wasm/splitbeam.wasm
mkdir -p "$out"
"$bin/wasm-opt" -Oz --converge --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$glue/splitbeam_bg.wasm" -o "$glue/optimized.wasm"
# Short import/export names in the wasm and the glue alike (the hashed wasm-bindgen names ship twice).
node scripts/minify-wasm-names.mjs "$glue/optimized.wasm" "$glue/splitbeam.js" "$glue/short.wasm" "$glue/splitbeam.short.js"
# One classic script: the glue is bundled in, so nothing waits for a module graph or DOMContentLoaded.
"$bin/esbuild" www/loader.js --bundle --minify --format=iife --target=es2019 \
  --alias:splitbeam-glue=./"$glue"/splitbeam.short.js --log-level=warning --log-override:empty-import-meta=silent \
  --outfile="$glue/loader.js"
# Into dist/ only once both are built and checked, each by a rename: a running collector serves
# dist/, and a loader and a wasm from different builds do not fit (their import names differ). A
# failed build leaves dist/ as it was; only a page loaded between the two renames can mismatch.
cp "$glue/short.wasm" "$out/.splitbeam_bg.wasm.new" && mv -f "$out/.splitbeam_bg.wasm.new" "$out/splitbeam_bg.wasm"
cp "$glue/loader.js" "$out/.splitbeam.js.new" && mv -f "$out/.splitbeam.js.new" "$out/splitbeam.js"
cp www/splitbeam.d.ts "$out/splitbeam.d.ts"

js=$(gzip -9 -c "$out/splitbeam.js" | wc -c)
wasm=$(gzip -9 -c "$out/splitbeam_bg.wasm" | wc -c)
echo "build: dist/splitbeam.js $js B + dist/splitbeam_bg.wasm $wasm B = $((js + wasm)) B gzip -9 (budget 14336)"
