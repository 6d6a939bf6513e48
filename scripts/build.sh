#!/usr/bin/env bash
# `npm run build`: the snippet into dist/ — splitbeam.js (loader + wasm-bindgen glue, one classic
# script), splitbeam_bg.<hash>.wasm and splitbeam.d.ts. Direct path: cargo → wasm-bindgen → wasm-opt → esbuild.
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
# The wasm is named by its content hash: a loader always fetches the wasm it was built with, and
# browsers may cache that file for good (the collector sends it `immutable`).
hash=$(sha256sum "$glue/short.wasm" | cut -c1-16)
wasm_name="splitbeam_bg.$hash.wasm"
"$bin/esbuild" www/loader.js --bundle --minify --format=iife --target=es2019 --define:SPLITBEAM_WASM="\"$wasm_name\"" \
  --alias:splitbeam-glue=./"$glue"/splitbeam.short.js --log-level=warning --log-override:empty-import-meta=silent \
  --outfile="$glue/loader.js"
# Into dist/ only once both are built and checked, each by a rename, the wasm first: a running
# collector serves dist/, and a loader only ever names a wasm that is already there. A failed build
# leaves dist/ as it was.
install_file() { cp "$1" "$out/.$2.new" && mv -f "$out/.$2.new" "$out/$2"; }
install_file "$glue/short.wasm" "$wasm_name"
install_file "$glue/loader.js" splitbeam.js
rm -f "$out/splitbeam_bg.wasm" # the plain name of builds before the hashed one
# Earlier builds' wasm files stay for pages that loaded an earlier loader; the last three are kept.
ls -t "$out"/splitbeam_bg.*.wasm | tail -n +4 | xargs -r rm -f
cp www/splitbeam.d.ts "$out/splitbeam.d.ts"

js=$(gzip -9 -n -c "$out/splitbeam.js" | wc -c)
wasm=$(gzip -9 -n -c "$out/$wasm_name" | wc -c)
echo "build: dist/splitbeam.js $js B + dist/$wasm_name $wasm B = $((js + wasm)) B gzip -9 (budget 14336)"
