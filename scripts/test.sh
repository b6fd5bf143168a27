#!/usr/bin/env bash
# Runs every check of the project: formatting, lints, and all tests: unit tests, real
# SQLite files, the real server on loopback, real PostgreSQL, PDFs read back with
# poppler, schemathesis against the server's OpenAPI document, the UI's and the
# console's unit tests, the web console in chromium,
# and the inspector app in its real window under Xvfb driven through WebDriver. Installs what it needs first (Debian packages, npm
# packages, a throwaway PostgreSQL cluster), so it works on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }

# No debug info in dev builds: half the target folder, and the tests, the window
# walk and the run command share one build of the dependencies.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"
step "system packages"
bash scripts/install-deps.sh
bash scripts/ui-deps.sh

step "PostgreSQL for the conformance suite"
if [ -z "${JIANDU_TEST_PG:-}" ]; then
  JIANDU_TEST_PG="$(bash scripts/start-test-postgres.sh)"
  export JIANDU_TEST_PG
fi
# Tests that run on PostgreSQL fail instead of skipping if it is missing.
export JIANDU_REQUIRE_PG=1
# The CA of the cluster's TLS certificate (start-test-postgres.sh), for the TLS test.
export JIANDU_TEST_PG_CA="${JIANDU_TEST_PG_CA:-${JIANDU_PG_DIR:-/tmp/jiandu-test-pg}/tls/ca.pem}"

step "ui: npm ci, type check + build, unit tests"
(
  cd ui
  npm ci --no-audit --no-fund --loglevel=error
  npm run build --silent
  npm test --silent
)

step "console: npm ci, API types current, type check + build, unit tests"
(
  cd console
  npm ci --no-audit --no-fund --loglevel=error
  # The document itself is checked by cargo test (the_console_api_document_is_current),
  # against the server this checkout builds; here only the types against it.
  node scripts/gen-api.mjs --check --doc-only
  npm run build --silent
  npm test --silent
)

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "schemathesis: the OpenAPI document against the real server"
bash scripts/schemathesis.sh

step "the web console in a real browser (chromium + playwright-core)"
CONSOLE_SKIP_BUILD=1 bash scripts/console-e2e.sh

step "the app in its real window (Xvfb + WebDriver)"
bash scripts/ui-e2e.sh
