#!/usr/bin/env bash
# Installs what splitbeam's build and tests need on a fresh Debian machine, idempotently:
# each step checks first and is skipped quickly when the right version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: headless Chromium + its driver for browser tests, brotli for the size benchmark,
# clickhouse-server for the ClickHouse backend's tests (they start their own server), nginx-light
# for the any-collector tests (they run it as their own process).
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v brotli >/dev/null || missing+=(brotli)
[ -x /usr/sbin/clickhouse-server ] || missing+=(clickhouse-server)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
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

# wasm-bindgen-cli at exactly the version Cargo.toml pins (the CLI must match the crate).
want=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  # No --locked: the CLI's lockfile pins a webpki-roots version the registry mirror lacks.
  say "cargo install wasm-bindgen-cli $want (had: ${have:-none}; takes ~4 min)"
  cargo install wasm-bindgen-cli --version "$want"
fi

# npm dev packages (binaryen's wasm-opt, playwright-core, esbuild, GrowthBook for the benchmark).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
