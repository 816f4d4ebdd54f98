#!/usr/bin/env bash
# Installs everything the tests need, then runs every test: unit and integration tests
# of all crates (the store suite on SQLite and on PostgreSQL at 127.0.0.1:5432), a
# release build, the first-load size check, and the end-to-end tests in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

log() { printf '\033[1;34m[test]\033[0m %s\n' "$*"; }

# PostgreSQL for the store tests (the machine usually runs it already).
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

log "formatting check"
cargo fmt --all -- --check

log "unit and integration tests (SQLite and PostgreSQL)"
cargo test --workspace

log "the Sub Manager's code compiled for Windows (x86_64-pc-windows-gnu)"
cargo check -p agent --target x86_64-pc-windows-gnu

log "release build (server, the Sub Manager beside it, wasm)"
cargo leptos build --release

log "end-to-end tests in Chromium"
(cd end2end && LWAMS_BIN="$PWD/../target/release/lwams" LWAMS_SITE_ROOT="$PWD/../target/site" npm test)
bash scripts/api_fuzz.sh
