#!/usr/bin/env bash
# Runs the product on this machine:
#   1. builds jiandu-server and, on first run, fills a demo database
#      (.jiandu-data/demo/server.sqlite: a generated 太原 registry, staff, accounts of
#      every role, this year's plan (the Shanxi plan re-issued as shanxi-YYYY, due in
#      the coming weeks) imported, published and drawn, some inspections reviewed);
#   2. builds the web console (console/) and serves the central platform with it on
#      http://127.0.0.1:8080 (embedded SQLite): console at /, public results at /public/;
#   3. when a display is present, builds the UI and the inspector app and opens it
#      SIGNED IN as the demo inspector zhangwei against that server (the app enrols
#      itself at first start: JIANDU_AUTO_SIGN_IN), so the drawn tasks are there.
# Ctrl-C stops everything. Demo accounts (password jiandu-demo-1) are printed below.
set -euo pipefail
cd "$(dirname "$0")/.."
# No debug info in dev builds: half the target folder, and the tests, the window
# walk and the run command share one build of the dependencies.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"
bash scripts/install-deps.sh
DATA="${JIANDU_DEMO_DIR:-.jiandu-data/demo}"
PORT="${JIANDU_PORT:-8080}"
TARGET="${CARGO_TARGET_DIR:-target}"
mkdir -p "$DATA"
export JIANDU_DB="$DATA/server.sqlite" JIANDU_BLOBS="$DATA/blobs"

# The console first: jiandu-server serves console/dist (read from the folder in a
# debug build, embedded in a release build).
echo "== building the web console (console/dist)"
( cd console && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build --silent )

WITH_APP=""
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${JIANDU_NO_APP:-}" ]; then WITH_APP=1; fi
if [ -n "$WITH_APP" ]; then
  echo "== building the UI, the inspector app and jiandu-server"
  bash scripts/ui-deps.sh
  ( cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build --silent )
  # One invocation for both binaries (as scripts/ui-e2e.sh): shared crates built once.
  cargo build -p jiandu-inspector --features custom-protocol -p jiandu-server --quiet
else
  echo "== building jiandu-server"
  cargo build -p jiandu-server --quiet
fi
SERVER_BIN="$TARGET/debug/jiandu-server"
if [ ! -s "$JIANDU_DB" ]; then
  echo "== creating the demo database $JIANDU_DB"
  "$SERVER_BIN" demo
  rm -rf "$DATA/app"  # the app's enrolment belonged to the old database
fi
"$SERVER_BIN" serve --listen "127.0.0.1:$PORT" &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT INT TERM
echo "central platform: http://127.0.0.1:$PORT/api/v1/health  (API description: /api/openapi.json)"
echo "web console:      http://127.0.0.1:$PORT/   (public results: http://127.0.0.1:$PORT/public/)"
echo "  sign in as admin (管理员), lina (组长) or zhangwei (检查人员), password jiandu-demo-1"
echo "try: $SERVER_BIN plan list; $SERVER_BIN report progress --plan shanxi-$(date +%Y)"

for _ in $(seq 100); do  # until the platform answers
  curl -fsS "http://127.0.0.1:$PORT/api/v1/health" >/dev/null 2>&1 && break
  sleep 0.2
done

if [ -n "$WITH_APP" ]; then
  echo "app: signed in as 张伟 (zhangwei, 检查人员) on http://127.0.0.1:$PORT; 同步 → 退出登录 to try lina (组长)"
  JIANDU_DATA_DIR="$DATA/app" \
  JIANDU_AUTO_SIGN_IN="http://127.0.0.1:$PORT,zhangwei,jiandu-demo-1" \
    "$TARGET/debug/jiandu-inspector"
else
  echo "no display: the platform keeps running (Ctrl-C stops it)"
  wait "$SERVER_PID"
fi
