#!/usr/bin/env bash
# Installs what splitbeam's build and tests need on a fresh Debian machine, idempotently:
# each step checks first and is skipped quickly when the right version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: headless Chromium for browser tests, brotli for the size benchmark,
# clickhouse-server for the ClickHouse backend's tests (they start their own server), nginx-light
# for the any-collector tests (they run it as their own process) and the flash-sale benchmark's
# ceiling, wrk and sqlite3 for the flash-sale benchmark (bench/flash-sale.mjs: load, and reading
# the database back).
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v brotli >/dev/null || missing+=(brotli)
[ -x /usr/sbin/clickhouse-server ] || missing+=(clickhouse-server)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Rust's wasm target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# A pinned nightly for the browser's wasm only (scripts/build.sh): std rebuilt with
# `-Cpanic=immediate-abort` drops the panic machinery, 2.5 KB gzip of the first-paint module and 3 KB
# of the whole snippet (README "Dependencies"). The collector, the CLI and every test use stable.
# Best effort: without it the build falls back to stable and says so.
nightly=$(cat scripts/wasm-nightly)
nightly_components=$(rustup component list --toolchain "$nightly" --installed 2>/dev/null || true)
if ! grep -q '^rust-src' <<<"$nightly_components"; then
  say "rustup toolchain install $nightly (wasm32 target, rust-src; takes ~2 min)"
  rustup toolchain install "$nightly" --profile minimal --target wasm32-unknown-unknown --component rust-src \
    || say "could not install $nightly: the wasm is built with stable, 5.5 KB gzip larger"
fi

# npm dev packages (binaryen's wasm-opt, playwright-core, esbuild, GrowthBook for the benchmark).
# Installed from exactly this lock: its checksum is kept next to what it installed (a timestamp
# check missed a lock replaced by a merge).
lock_sum=$(sha256sum package-lock.json | cut -c1-64)
if [ "$(cat node_modules/.splitbeam-lock 2>/dev/null)" != "$lock_sum" ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.splitbeam-lock
fi

# chdb: the current ClickHouse engine (26.x) in-process, for running the ClickHouse tests a second
# time (tests/clickhouse/chdb_http.py puts ClickHouse's HTTP interface on it). In a virtualenv under
# the project (ignored by git); checked by its installed versions without importing it (0.1 s).
chdb_want="chdb==4.4.0 chdb-core==26.9.0"
chdb_have=$(.venv-chdb/bin/python -c 'import importlib.metadata as m; print("chdb==%s chdb-core==%s" % (m.version("chdb"), m.version("chdb-core")))' 2>/dev/null || true)
if [ "$chdb_have" != "$chdb_want" ]; then
  say "pip install $chdb_want into .venv-chdb (had: ${chdb_have:-none}; takes ~30 s)"
  python3 -m venv .venv-chdb
  .venv-chdb/bin/pip install -q --disable-pip-version-check $chdb_want
fi
