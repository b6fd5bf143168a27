#!/usr/bin/env bash
# The web console in a real browser: Debian's chromium driven by playwright-core
# (console/e2e/walk.mjs) against a real jiandu-server on demo data (temp SQLite),
# with a tablet on the real sync engine (tests/src/bin/console_tablet.rs). Installs
# chromium when missing; builds the console and the two binaries (one cargo
# invocation, the debug build the tests share). Screenshots of every page go to
# $CARGO_TARGET_DIR/console-e2e/ (look at them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"
OUT="$CARGO_TARGET_DIR/console-e2e"
rm -rf "$OUT" && mkdir -p "$OUT"

# The browser, and a CJK font for it: without one every label in the screenshots
# is a row of boxes.
pkgs=()
command -v chromium >/dev/null || pkgs+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || pkgs+=(fonts-wqy-microhei)
if [ ${#pkgs[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null
fi
(
  cd console
  [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
  [ -n "${CONSOLE_SKIP_BUILD:-}" ] || npm run build --silent
)
cargo build -p jiandu-server -p jiandu-tests --bin jiandu-server --bin console_tablet --quiet

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export JIANDU_DB="$WORK/server.sqlite" JIANDU_BLOBS="$WORK/blobs"
"$CARGO_TARGET_DIR/debug/jiandu-server" demo >/dev/null
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$CARGO_TARGET_DIR/debug/jiandu-server" serve --listen "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$PORT/api/v1/health" >/dev/null 2>&1 && break
  sleep 0.2
done
mkdir -p "$WORK/files"
BASE="http://127.0.0.1:$PORT" OUT="$OUT" FILES="$WORK/files" \
  TABLET="$CARGO_TARGET_DIR/debug/console_tablet" node console/e2e/walk.mjs
