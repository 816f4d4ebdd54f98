#!/usr/bin/env bash
# Installs what building LWAMS needs; with --test also what its tests need.
# Idempotent: every step is skipped when its tool is already there in the right version.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "0.3.10" ]; then
  log "installing cargo-leptos 0.3.10 (10–14 min the first time)"
  cargo install cargo-leptos --version 0.3.10 --locked --features no_downloads
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "0.2.130" ]; then
  log "installing wasm-bindgen-cli 0.2.130"
  cargo install wasm-bindgen-cli --version 0.2.130
fi

# wasm-opt for release builds comes from npm's binaryen (Debian's binaryen 108 breaks the
# externref table wasm-bindgen 0.2.130 emits, and the page then fails to hydrate).
if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ ! -f tools/node_modules/bpmn-js/package.json ] \
   || ! grep -q "\"version\": \"$(node -p "require('./tools/package.json').dependencies['bpmn-js']")\"" tools/node_modules/bpmn-js/package.json; then
  log "installing build tools and bpmn-js from npm"
  (cd tools && npm ci --no-audit --no-fund)
fi

# bpmn-js (the monitor's viewer, the designer's modeler) is served from the site: copied
# from npm into public/vendor (not committed; cargo-leptos copies public/ into the site).
vendor=public/vendor/bpmn-js
if [ ! -f "$vendor/.version" ] || [ ! -f "$vendor/bpmn-modeler.production.min.js" ] \
   || [ "$(cat "$vendor/.version")" != "$(node -p "require('./tools/node_modules/bpmn-js/package.json').version")" ]; then
  log "copying bpmn-js into $vendor"
  rm -rf "$vendor" && mkdir -p "$vendor"
  cp tools/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js \
     tools/node_modules/bpmn-js/dist/bpmn-modeler.production.min.js "$vendor/"
  cp -r tools/node_modules/bpmn-js/dist/assets "$vendor/"
  node -p "require('./tools/node_modules/bpmn-js/package.json').version" > "$vendor/.version"
fi

apt_pkgs=()
if [ "$want_tests" = 1 ]; then
  command -v chromium >/dev/null || apt_pkgs+=(chromium)
  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || apt_pkgs+=(fonts-noto-cjk)
  command -v psql >/dev/null || apt_pkgs+=(postgresql-client)
  # A real OpenSSH sshd for the SSH executor tests (started by the tests themselves).
  [ -x /usr/sbin/sshd ] || apt_pkgs+=(openssh-server)
  # The Sub Manager's Windows code is compiled for Windows by the tests (C parts of its
  # crates need the MinGW compiler).
  command -v x86_64-w64-mingw32-gcc >/dev/null || apt_pkgs+=(gcc-mingw-w64-x86-64)
fi
if [ "$want_tests" = 1 ] && ! rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
  log "adding the x86_64-pc-windows-gnu target (the Sub Manager's Windows check)"
  rustup target add x86_64-pc-windows-gnu
fi
if [ "${#apt_pkgs[@]}" -gt 0 ]; then
  log "installing Debian packages: ${apt_pkgs[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_pkgs[@]}"
fi

# pywinrm (a real WinRM client) checks that the tests' WinRM server is faithful;
# tree-sitter's PowerShell grammar checks the syntax of what LWAMS sends to Windows.
if [ "$want_tests" = 1 ] && ! python3 -c "import winrm, tree_sitter_powershell" 2>/dev/null; then
  log "installing pywinrm and tree-sitter-powershell (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check pywinrm==0.5.0 \
    tree-sitter==0.26.1 tree-sitter-powershell==0.26.4
fi

# schemathesis fuzzes the REST API from its OpenAPI document (scripts/api_fuzz.sh).
if [ "$want_tests" = 1 ] && [ "$(schemathesis --version 2>/dev/null | awk '{print $NF}')" != "4.32.5" ]; then
  log "installing schemathesis 4.32.5 (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check schemathesis==4.32.5
fi

if [ "$want_tests" = 1 ] && [ ! -d end2end/node_modules/playwright-core ]; then
  log "installing end-to-end test packages (npm)"
  (cd end2end && npm ci --no-audit --no-fund)
fi
log "done"
