#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the server's conformance and HTTP tests
# and prints its URL on stdout (the only thing printed there):
#
#   export JIANDU_TEST_PG="$(scripts/start-test-postgres.sh)"
#
# - installs Debian's postgresql package if no server binaries are found (needs root);
# - runs the cluster as a non-root user (postgres refuses to run as root), in
#   $JIANDU_PG_DIR (default /tmp/jiandu-test-pg), on 127.0.0.1:$JIANDU_PG_PORT
#   (default 55432), trust authentication, fsync off: for tests only;
# - idempotent: a cluster already running there is reused.
# Stop it with: scripts/start-test-postgres.sh stop
set -euo pipefail

DIR="${JIANDU_PG_DIR:-/tmp/jiandu-test-pg}"
PORT="${JIANDU_PG_PORT:-55432}"
DBUSER="jiandu"
URL="postgres://${DBUSER}@127.0.0.1:${PORT}/postgres"

log() { echo "start-test-postgres: $*" >&2; }

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

BIN="$(find_bin || true)"
if [ -z "$BIN" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL is not installed and this is not root: apt-get install postgresql first"
    exit 1
  fi
  log "installing postgresql from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN="$(find_bin)"
fi

# The user the cluster runs as.
if [ "$(id -u)" -eq 0 ]; then
  RUN_AS="postgres"
  if ! id "$RUN_AS" >/dev/null 2>&1; then
    useradd --system --home-dir "$DIR" --shell /bin/sh "$RUN_AS" >&2
  fi
  as_user() { runuser -u "$RUN_AS" -- "$@"; }
else
  RUN_AS="$(id -un)"
  as_user() { "$@"; }
fi

if [ "${1:-}" = "stop" ]; then
  as_user "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >&2 || true
  exit 0
fi

mkdir -p "$DIR"
[ "$(id -u)" -eq 0 ] && chown "$RUN_AS" "$DIR"

if [ ! -f "$DIR/data/PG_VERSION" ]; then
  log "initialising a cluster in $DIR/data"
  as_user "$BIN/initdb" -D "$DIR/data" -U "$DBUSER" -A trust -E UTF8 --locale=C.UTF-8 >&2 \
    || as_user "$BIN/initdb" -D "$DIR/data" -U "$DBUSER" -A trust -E UTF8 --locale=C >&2
fi

# TLS for clients that ask (sslmode=require): a test CA ($DIR/tls/ca.pem, what the
# TLS tests trust through JIANDU_TEST_PG_CA) and a server certificate for 127.0.0.1
# signed by it. Plain connections keep working.
TLS="$DIR/tls"
if [ ! -s "$TLS/server.key" ]; then
  log "making a test CA and a server certificate in $TLS"
  mkdir -p "$TLS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=jiandu test CA" \
    -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$TLS/server.key.tmp" -out "$TLS/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$TLS/server.ext"
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
    -CAcreateserial -days 3650 -extfile "$TLS/server.ext" -out "$TLS/server.crt" 2>/dev/null
  chmod 600 "$TLS/server.key.tmp"
  mv "$TLS/server.key.tmp" "$TLS/server.key"
  [ "$(id -u)" -eq 0 ] && chown -R "$RUN_AS" "$TLS"
fi

if ! as_user "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
  log "starting on 127.0.0.1:$PORT"
  as_user "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c ssl=on -c ssl_cert_file=$TLS/server.crt -c ssl_key_file=$TLS/server.key" >&2
fi

for _ in $(seq 1 60); do
  if "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q; then
    echo "$URL"
    exit 0
  fi
  sleep 0.5
done
log "PostgreSQL did not become ready; see $DIR/server.log"
exit 1
