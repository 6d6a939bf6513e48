#!/usr/bin/env bash
# `npm test`: everything. Installs what is missing, then native tests, the wasm build and
# end-to-end tests (the web layer in headless Chromium, whole flows against a real collector).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== native tests (core, collector, CLI; ClickHouse tests on Debian's clickhouse-server 18.16)"
cargo test --workspace --exclude splitbeam
echo "== the ClickHouse tests again on the current engine (chdb 26.x behind tests/clickhouse/chdb_http.py)"
SPLITBEAM_CLICKHOUSE_ENGINE=chdb cargo test -p splitbeam-collector --test clickhouse
echo "== core as the browser builds it (no regex engine, no validation messages; with and without conditions)"
cargo test -p splitbeam-core --no-default-features --lib
cargo test -p splitbeam-core --no-default-features --features conditions --lib

if [ -f scripts/build.sh ]; then
  echo "== build the snippet"
  bash scripts/build.sh
fi

if ls tests/e2e/*.test.mjs >/dev/null 2>&1; then
  echo "== end-to-end tests (node --test + playwright-core + Chromium)"
  cargo build --release -p splitbeam-collector
  node --test --test-concurrency=1 tests/e2e/
fi
