#!/usr/bin/env bash
# schemathesis against the real jiandu-server: the OpenAPI document it serves is
# checked against its real answers (examples and coverage phases, every check),
# with each role's token, on demo data, on SQLite and (when JIANDU_TEST_PG names a
# server) on PostgreSQL. Any failure fails the run.
#
#   bash scripts/schemathesis.sh            # after a debug build of jiandu-server
#
# Installs schemathesis from PyPI into a virtualenv outside the clone
# (${JIANDU_TOOLS_DIR:-~/.cache/jiandu-tools}), once. Revoking a device ends the
# token that did it, so that operation runs last, on its own.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
SERVER="${JIANDU_SERVER_BIN:-${CARGO_TARGET_DIR:-target}/debug/jiandu-server}"
TOOLS="${JIANDU_TOOLS_DIR:-$HOME/.cache/jiandu-tools}"
VENV="$TOOLS/schemathesis-$SCHEMATHESIS_VERSION"
log() { echo "schemathesis.sh: $*" >&2; }

[ -x "$SERVER" ] || { log "no server binary at $SERVER: cargo build -p jiandu-server first"; exit 1; }
if [ ! -x "$VENV/bin/st" ]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Starts the server on `$1` (a database URL) with demo data; sets $base.
start() {
  local db="$1"
  "$SERVER" --db "$db" --blobs "$work/blobs" demo >/dev/null
  # Made here, not by the background job's redirection: the loop below may read it
  # before that job has started (sed on a missing file ends the script).
  : >"$work/serve.out"
  "$SERVER" --db "$db" --blobs "$work/blobs" serve --listen 127.0.0.1:0 \
    >"$work/serve.out" 2>"$work/serve.log" &
  server_pid=$!
  for _ in $(seq 1 100); do
    base="$(sed -n 's#^jiandu-server listening on \(http://.*\)$#\1#p' "$work/serve.out")"
    [ -n "$base" ] && return 0
    sleep 0.1
  done
  log "the server did not start:"; cat "$work/serve.log" >&2; exit 1
}

stop() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

token() {
  curl -sf -X POST "$base/api/v1/devices/enroll" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"jiandu-demo-1\",\"device_name\":\"schemathesis\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# One worker: with two, CPython 3.11 sometimes fails inside hypothesis (ast.parse
# from two threads: "AST constructor recursion depth mismatch"), not in the server.
# Real identifiers for the operations that would otherwise only ever meet 404s.
cat >"$work/schemathesis.toml" <<'TOML'
[[operations]]
include-operation-id = "showPlan"
parameters = { "path.id" = "shanxi-2025" }

[[operations]]
include-operation-id = "reportSummary"
parameters = { "query.plan" = "shanxi-2025", "query.table" = "medical-summary" }

[[operations]]
include-operation-id = ["reportPublic", "reportProgress"]
parameters = { "query.plan" = "shanxi-2025" }

# Rules a schema cannot say: an uploaded file must be a registry (any bytes match
# the schema), and an inspector needs a badge number (an empty one matches it).
# Both answer 422 with the reason; schema-valid data may meet them.
[[operations]]
include-operation-id = ["importRegistry", "createUser"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Sign-in from one address is limited across usernames (30 failures per 15
# minutes), so fuzzed credentials soon meet 429; and 文号 are leased only for
# authorities the platform knows (any 1–50 characters match the schema: 400).
[[operations]]
include-operation-id = ["enrollDevice", "signIn"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "429"]

[[operations]]
include-operation-id = "leaseDocNumbers"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
TOML

failed=0
run() {
  local label="$1"; shift
  log "$label"
  if ! "$VENV/bin/st" --config-file "$work/schemathesis.toml" run "$base/api/openapi.json" --phases examples,coverage --checks all \
      --workers 1 --seed 20261202 --no-color "$@" >"$work/st.txt" 2>&1; then
    failed=1
    sed -n '/FAILURES/,/SUMMARY/p' "$work/st.txt" >&2
    sed -n '/= ERRORS =/,/= WARNINGS =/p' "$work/st.txt" >&2
  fi
  grep -E '^ *(Tested|Failures|Test cases|[0-9]+ generated)|failure|passed' "$work/st.txt" | tail -3 >&2 || true
}

backends=("sqlite:$work/server.sqlite")
if [ -n "${JIANDU_TEST_PG:-}" ]; then
  pg_db="jiandu_st_$$"
  psql "$JIANDU_TEST_PG" -qc "CREATE DATABASE $pg_db" >/dev/null
  backends+=("postgres:${JIANDU_TEST_PG%/*}/$pg_db")
fi

for entry in "${backends[@]}"; do
  name="${entry%%:*}"; db="${entry#*:}"
  start "$db"
  # Every token first: fuzzed sign-ins soon exhaust this address's allowance.
  declare -A toks
  for user in admin lina zhangwei revoker leaver; do
    u="$user"; [ "$user" = revoker ] || [ "$user" = leaver ] && u=zhangwei
    toks[$user]="$(token "$u")" || { log "$u could not enrol"; exit 1; }
  done
  for user in admin lina zhangwei; do
    run "$name, as $user" -H "Authorization: Bearer ${toks[$user]}" \
      --exclude-operation-id revokeDevice --exclude-operation-id signOutDevice
  done
  run "$name, without a token" --exclude-operation-id revokeDevice --exclude-operation-id signOutDevice
  tok="${toks[revoker]}"
  run "$name, revoking devices" -H "Authorization: Bearer $tok" --include-operation-id revokeDevice
  # Signing out revokes the token it is called with: last, with a token of its own.
  run "$name, signing out" -H "Authorization: Bearer ${toks[leaver]}" --include-operation-id signOutDevice
  stop
  [ "$name" = postgres ] && psql "$JIANDU_TEST_PG" -qc "DROP DATABASE $pg_db" >/dev/null
done

if [ "$failed" -ne 0 ]; then
  log "FAILED: the OpenAPI document and the server disagree (details above)"
  exit 1
fi
log "0 failures"
