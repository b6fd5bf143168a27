#!/usr/bin/env bash
# Installs what the inspector app (src-tauri + ui) needs on a Debian machine, and
# nothing when it is all there already (idempotent, quiet on a second run).
#
#   bash scripts/ui-deps.sh            build deps: WebKitGTK 4.1 headers (Tauri 2)
#   bash scripts/ui-deps.sh --e2e      also the display stack for tests in the real
#                                      window: Xvfb, xauth, WebKitWebDriver,
#                                      ImageMagick `import` (screenshots), and
#                                      tauri-driver from crates.io
#
# Measured on the project's machine kind (2 cores): libwebkit2gtk-4.1-dev about 30 s,
# the e2e packages about 20 s more, `cargo install tauri-driver` about 45 s.
# Node (>= 20.19) and npm come with the machine image; `npm ci` in ui/ is separate.
# Needs root (CI and the dev machines run as root) or sudo.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

e2e=0
for arg in "$@"; do
  case "$arg" in
    --e2e) e2e=1 ;;
    *) echo "usage: $0 [--e2e]" >&2; exit 2 ;;
  esac
done

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have_pkg libwebkit2gtk-4.1-dev || need+=(libwebkit2gtk-4.1-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
if [ "$e2e" -eq 1 ]; then
  command -v Xvfb >/dev/null || need+=(xvfb)
  command -v xauth >/dev/null || need+=(xauth)
  command -v WebKitWebDriver >/dev/null || need+=(webkit2gtk-driver)
  command -v import >/dev/null || need+=(imagemagick)
  # CJK glyphs in the window: without a font every label is a row of boxes
  # (WenQuanYi Micro Hei: 4 MB, against 60 MB for Noto CJK).
  fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-microhei)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "ui-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "$e2e" -eq 1 ] && ! command -v tauri-driver >/dev/null; then
  echo "ui-deps: cargo install tauri-driver"
  cargo install tauri-driver --locked --version '^2' --quiet
fi
