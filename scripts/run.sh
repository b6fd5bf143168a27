#!/usr/bin/env bash
# Runs the product on this machine:
#   1. builds jiandu-server and, on first run, fills a demo database
#      (.jiandu-data/demo/server.sqlite: a generated 太原 registry, staff, accounts of
#      every role, the shanxi-2025 plan drawn, some inspections done and reviewed);
#   2. serves the central platform on http://127.0.0.1:8080 (embedded SQLite);
#   3. when a display is present, builds the UI and the inspector app and opens it.
# Ctrl-C stops everything. Demo accounts (password jiandu-demo-1) are printed below.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
DATA="${JIANDU_DEMO_DIR:-.jiandu-data/demo}"
PORT="${JIANDU_PORT:-8080}"
TARGET="${CARGO_TARGET_DIR:-target}"
mkdir -p "$DATA"
export JIANDU_DB="$DATA/server.sqlite" JIANDU_BLOBS="$DATA/blobs"

echo "== building jiandu-server"
cargo build -p jiandu-server --quiet
SERVER_BIN="$TARGET/debug/jiandu-server"
if [ ! -s "$JIANDU_DB" ]; then
  echo "== creating the demo database $JIANDU_DB"
  "$SERVER_BIN" demo
fi
"$SERVER_BIN" serve --listen "127.0.0.1:$PORT" &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT INT TERM
echo "central platform: http://127.0.0.1:$PORT/api/v1/health  (API description: /api/openapi.json)"
echo "try: $SERVER_BIN report progress --plan shanxi-2025"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${JIANDU_NO_APP:-}" ]; then
  echo "== building the inspector app (UI + Tauri shell)"
  bash scripts/ui-deps.sh
  ( cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build --silent )
  cargo build -p jiandu-inspector --features custom-protocol --quiet
  echo "app: at 首次设置, enter server 'demo' with user zhangwei to work through the demo tasks offline"
  JIANDU_DATA_DIR="$DATA/app" "$TARGET/debug/jiandu-inspector"
else
  echo "no display: the platform keeps running (Ctrl-C stops it)"
  wait "$SERVER_PID"
fi
