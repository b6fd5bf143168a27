#!/usr/bin/env bash
# Checks of the inspector app that need no display: the UI's type check, unit tests
# (Vitest) and production build, and the app crates' tests, including the one that
# fails when ui/src/bindings is stale. Run by CI after scripts/test.sh's cargo steps
# (which build jiandu-inspector, so they need ui-deps.sh's WebKitGTK headers first).
#
#   bash scripts/ui-test.sh           what CI runs
#   bash scripts/ui-e2e.sh            the real window under Xvfb (WebDriver)
#
# Measured here (2 cores): npm ci ~30 s, vitest ~6 s, vue-tsc + vite build ~30 s.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ui-deps.sh
echo "== ui: npm ci"
( cd ui && npm ci --no-audit --no-fund --loglevel=error )
echo "== ui: vitest"
( cd ui && npx --no-install vitest run )
echo "== ui: vue-tsc + vite build"
( cd ui && npm run build --silent )
echo "== cargo test -p jiandu-app (use cases, bindings up to date)"
cargo test -p jiandu-app --locked
