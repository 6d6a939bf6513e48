#!/usr/bin/env bash
# `npm start`: installs what is missing, builds the snippet and the collector, then runs
# `splitbeam serve` with the demo storefront and its two experiments at http://localhost:8080.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8080}"

bash scripts/setup.sh

if [ -f scripts/build.sh ]; then
  bash scripts/build.sh
else
  echo "start: warning: scripts/build.sh is missing, so the snippet is not built; /splitbeam.js will not load" >&2
fi

cargo build --release -p splitbeam-collector

cat <<MSG

  splitbeam is starting on port ${PORT}
    shop:       http://localhost:${PORT}/shop/
    dashboard:  open the "sign in" link splitbeam prints below (it works once; after that, sign in at
                http://localhost:${PORT}/signin with the token in splitbeam.db.admin-token)

  Fill the dashboard with synthetic visitors (true uplift +20 % on hero-headline):
    target/release/splitbeam simulate --visitors 2000 --uplift 0.2 --collector http://127.0.0.1:${PORT}/collect

MSG

exec target/release/splitbeam serve --config www/experiments.json --db splitbeam.db --port "${PORT}" --site www/shop --dist dist
