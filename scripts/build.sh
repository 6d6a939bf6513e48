#!/usr/bin/env bash
# `npm run build`: the snippet into dist/. Three wasm modules from one crate, each through
# cargo → wasm-opt:
#   first paint (decide + apply) on the critical path, with and without the condition engine,
#   the whole snippet (delivery, goals, SPA, API), fetched once the page is revealed.
# Files: splitbeam.js / splitbeam-audience.js (the loader with a first-paint glue; `splitbeam snippet`
# and the collector bake the compiled config into the one that fits it), splitbeam_full.<hash>.js +
# splitbeam_bg.<hash>.wasm (the whole snippet: one for both, since it asks the first-paint module
# for every decision, src/redecide.rs), splitbeam_first*.<hash>.wasm,
# tag.js (the inline tag's template for `splitbeam tag`), splitbeam-editor.js (the in-page editor,
# loaded only with an editor link), splitbeam.d.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
# The build's own tools are installed first (a fresh clone has no node_modules/.bin/wasm-opt).
bash scripts/setup.sh >/dev/null
# npm's binaryen, never Debian's wasm-opt 108 (its -Oz output throws at load).
bin=node_modules/.bin
out=dist
work=target/splitbeam-glue
rm -rf "$work"
mkdir -p "$work" "$out"

# The pinned nightly rebuilds std with `-Cpanic=immediate-abort`: a panic traps at once instead of
# formatting a message first (nothing prints it: the snippet installs no panic hook), which
# takes 2.5 KB gzip off the first-paint module and 3 KB off the whole snippet. Stable if it is missing.
nightly=$(cat scripts/wasm-nightly)
nightly_components=$(rustup component list --toolchain "$nightly" --installed 2>/dev/null || true)
if grep -q '^rust-src' <<<"$nightly_components"; then
  wasm_cargo=(cargo "+$nightly" build -Zbuild-std=std,panic_abort)
  # No panic locations and no Debug formatting either: nothing in the browser prints them.
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none"
else
  echo "build: $nightly with rust-src is missing (scripts/setup.sh installs it): building the wasm with stable, 5.5 KB gzip larger" >&2
  wasm_cargo=(cargo build)
fi

features=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals)
wasm_opt() {
  # --converge: repeat -Oz until it stops shrinking. --low-memory-unused: nothing lives in the first
  # 1 KB of memory (Rust's stack runs down from 1 MB towards it, the data sits above 1 MB), so
  # constant offsets fold into the loads and stores: 180 B gzip off the first-paint module, about
  # 400 B off the whole snippet.
  "$bin/wasm-opt" -Oz --converge --low-memory-unused --strip-debug --strip-producers "${features[@]}" "$1" -o "$2"
}
# The target_features section (132 B) is for tools, and browsers skip it: dropped as the last step
# (the steps before read the features from it).
strip_features() {
  "$bin/wasm-opt" --strip-target-features "${features[@]}" "$1" -o "$1"
}
# module <name> <cargo feature flags...>: $work/<name>.wasm. No wasm-bindgen: the first-paint
# module's whole boundary is www/first.js, the whole snippet's www/whole.js (src/first_paint.rs and
# src/host.rs say why).
module() {
  local name=$1
  shift
  "${wasm_cargo[@]}" --profile wasm --target wasm32-unknown-unknown -p splitbeam "$@"
  wasm_opt target/wasm32-unknown-unknown/wasm/splitbeam.wasm "$work/$name.wasm"
  strip_features "$work/$name.wasm"
}
module first --no-default-features
module first_audience --no-default-features --features conditions
# The whole snippet decides nothing itself: no condition engine in it, whatever the config.
module full --no-default-features --features full
# Short names for everything crossing the whole snippet's boundary, in the wasm here and in its glue
# below (esbuild renames the same properties, `scripts/minify-wasm-names.mjs` says why and checks).
boundary_names=$(node scripts/minify-wasm-names.mjs rename "$work/full.wasm" "$work/full.names.json")

# Content-hashed names: a loader always fetches the modules it was built with, and browsers may
# cache them for good (the collector sends them `immutable`).
hashed() { echo "$1.$(sha256sum "$2" | cut -c1-16).$3"; }
full_wasm=$(hashed splitbeam_bg "$work/full.wasm" wasm)
first_wasm=$(hashed splitbeam_first "$work/first.wasm" wasm)
first_audience_wasm=$(hashed splitbeam_first_audience "$work/first_audience.wasm" wasm)

# The loader and the whole snippet's glue run every function they hold at start. Chromium's explicit
# compile hint (this magic comment on the first line) compiles them eagerly off the main thread while
# the file streams in, instead of lazily on the main thread inside `decide` (about 10 ms of a desktop
# first view: `node bench/compile-hint.mjs`, README "Why the snippet has this shape").
compile_hint='//# allFunctionsCalledOnLoad'
esbuild() {
  "$bin/esbuild" --bundle --minify --format=iife --target=es2019 --log-level=warning --log-override:empty-import-meta=silent "$@"
}
# The whole snippet's glue, a classic script that registers itself for the loader.
esbuild www/full.js --banner:js="$compile_hint" --mangle-props="$boundary_names" --mangle-cache="$work/full.names.json" --outfile="$work/full.bundle.js"
node scripts/minify-wasm-names.mjs check "$work/full.bundle.js" "$work/full.names.json"
# Each module against the JavaScript that instantiates it: every import there, with as many
# arguments as the wasm passes (the two sides are written by hand, scripts/check-boundary.mjs).
node scripts/check-boundary.mjs "$work/full.wasm" "$work/full.bundle.js"
node scripts/check-boundary.mjs "$work/first.wasm" www/first.js
node scripts/check-boundary.mjs "$work/first_audience.wasm" www/first.js
full_js=$(hashed splitbeam_full "$work/full.bundle.js" js)
# The loader, once per first-paint module; it names the other files by their hashes.
for variant in first first_audience; do
  wasm_var=first_wasm
  [ "$variant" = first_audience ] && wasm_var=first_audience_wasm
  conditions=$([ "$variant" = first_audience ] && echo true || echo false)
  esbuild www/loader.js --banner:js="$compile_hint" --define:SPLITBEAM_CONDITIONS="$conditions" \
    --define:SPLITBEAM_FIRST_WASM="\"${!wasm_var}\"" --define:SPLITBEAM_FULL_JS="\"$full_js\"" \
    --define:SPLITBEAM_FULL_WASM="\"$full_wasm\"" --outfile="$work/loader.$variant.js"
done
esbuild www/tag.js --outfile="$work/tag.js"
# The in-page visual editor: fetched by the loader only with an editor link ("Edit on page").
esbuild www/editor/main.js --target=es2022 --outfile="$work/editor.js"

# Into dist/ only once everything is built, each by a rename, the hashed files first: a running
# collector serves dist/, and a loader only ever names files that are already there.
install_file() { cp "$1" "$out/.$2.new" && mv -f "$out/.$2.new" "$out/$2"; }
install_file "$work/full.wasm" "$full_wasm"
install_file "$work/first.wasm" "$first_wasm"
install_file "$work/first_audience.wasm" "$first_audience_wasm"
install_file "$work/full.bundle.js" "$full_js"
install_file "$work/tag.js" tag.js
install_file "$work/editor.js" splitbeam-editor.js
install_file "$work/loader.first_audience.js" splitbeam-audience.js
install_file "$work/loader.first.js" splitbeam.js
# Earlier builds' hashed files stay for pages that loaded an earlier loader: the last three builds'
# of each kind (builds before this one wrote two whole snippets).
for kind in splitbeam_bg:7 splitbeam_first:4 splitbeam_first_audience:4 splitbeam_full:7; do
  ls -t "$out/${kind%:*}".*.* 2>/dev/null | grep -E "^$out/${kind%:*}\.[0-9a-f]{16}\.(wasm|js)$" | tail -n +"${kind#*:}" | xargs -r rm -f
done
cp www/splitbeam.d.ts "$out/splitbeam.d.ts"

gz() { gzip -9 -n -c "$1" | wc -c; }
echo "build (gzip -9): critical path: splitbeam.js $(gz "$out/splitbeam.js") B + $first_wasm $(gz "$out/$first_wasm") B" \
  "(with audiences: splitbeam-audience.js $(gz "$out/splitbeam-audience.js") B + $(gz "$out/$first_audience_wasm") B);" \
  "after the reveal: $full_js $(gz "$out/$full_js") B + $full_wasm $(gz "$out/$full_wasm") B;" \
  "inline tag template $(gz "$out/tag.js") B;" \
  "in-page editor (only with an editor link) splitbeam-editor.js $(gz "$out/splitbeam-editor.js") B"
