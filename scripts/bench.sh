#!/usr/bin/env bash
# `npm run bench`: builds the snippet, runs the native assignment benchmark, then measures size,
# flicker/paint on the desktop and mobile profiles with a repeat view and start-up time in headless
# Chromium, then Lighthouse's mobile and desktop runs (bench/lighthouse.mjs). Prints Markdown tables,
# writes bench/results.md.
# BENCH_SKIP_BUILD=1 uses dist/ and the collector binary as they are; BENCH_LOADS / BENCH_STARTUP_LOADS /
# LH_RUNS (default 5, 0 skips Lighthouse) change the counts;
# BENCH_SCALE=1 adds the 10 M-event results query benchmark (~3 min, 3.5 GB under target/).
# Then the flash sale (bench/flash-sale.mjs, ~2.5 min: the collector under wrk next to nginx, with
# an accounting check), whose section is added to bench/results.md; FLASH_SECONDS shortens it
# (default 30), FLASH_SECONDS=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2

if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
  echo "== build the snippet" >&2
  bash scripts/build.sh >&2
  # The collector binary: `splitbeam snippet` compiles the config into /splitbeam.js and
  # `splitbeam tag` prints the inline tag for the benchmark's pages.
  echo "== build the collector binary" >&2
  cargo build --release -p splitbeam-collector >&2
fi

criterion_out=$(mktemp -t splitbeam-criterion.XXXXXX)
trap 'rm -f "$criterion_out"' EXIT
echo "== (d) cargo bench -p splitbeam-core --bench assign" >&2
# Shorter than criterion's defaults (3 s warm-up, 5 s measurement) to keep the whole run short.
cargo bench -p splitbeam-core --bench assign -- --warm-up-time 1 --measurement-time 4 2>&1 | tee "$criterion_out" >&2 \
  || echo "bench: cargo bench failed; the assignment table will say so" >&2

node bench/run.mjs --criterion "$criterion_out" "$@"

echo
echo "== delivery: main-thread cost per tracked event and per flush (bench/delivery.mjs)"
node bench/delivery.mjs

echo
echo "== collector ingest (cargo bench -p splitbeam-collector --bench ingest)"
cargo bench -p splitbeam-collector --bench ingest 2>/dev/null

if [ "${FLASH_SECONDS:-}" != 0 ]; then
  echo
  echo "== flash sale: the collector under wrk, nginx as the ceiling (bench/flash-sale.mjs)"
  node bench/flash-sale.mjs
fi

# Filling 10 M events takes ~2 min and 3.5 GB of disk: opt in.
if [ "${BENCH_SCALE:-}" = 1 ]; then
  echo
  echo "== results query at 10 M events (cargo bench -p splitbeam-collector --bench results_at_scale)"
  cargo bench -p splitbeam-collector --bench results_at_scale 2>/dev/null
fi
