#!/usr/bin/env bash
# Runs every check of the project: formatting, lints, and all tests (unit, real
# SQLite files, real server on loopback, real PostgreSQL, PDFs read back).
# Installs what it needs first, so it works on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ -z "${JIANDU_TEST_PG:-}" ] && [ -x scripts/start-test-postgres.sh ]; then
  JIANDU_TEST_PG="$(bash scripts/start-test-postgres.sh)"
  export JIANDU_TEST_PG
fi
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
