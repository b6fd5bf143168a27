#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need. Idempotent; quiet when
# everything is already there. Needs root (CI and the dev machines run as root) or sudo.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v pg_ctlcluster >/dev/null || [ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v curl >/dev/null || need+=(curl)
# The web console's browser walk (scripts/console-e2e.sh) drives Debian's chromium.
command -v chromium >/dev/null || need+=(chromium)
# CJK glyphs for the console's pages in that browser (and the app's window): without
# a font every label in its screenshots is a row of boxes (WenQuanYi Micro Hei, 4 MB).
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-microhei)
# The device store is SQLCipher linked to the system libcrypto (crates/store); the
# lost-tablet tests read a copied data folder with the sqlite3 CLI and `file`.
[ -f /usr/include/openssl/evp.h ] || need+=(libssl-dev)
command -v openssl >/dev/null || need+=(openssl)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v file >/dev/null || need+=(file)
# schemathesis (scripts/schemathesis.sh) lives in a virtualenv.
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
