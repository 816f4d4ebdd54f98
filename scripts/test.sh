#!/usr/bin/env bash
# Installs everything the tests need, then runs every test: unit and integration tests
# of all crates (the store suite on SQLite and on PostgreSQL at 127.0.0.1:5432), the
# release wasm bundle, and the end-to-end tests in Chromium.
#
# The workspace is compiled once: the end-to-end tests run the `lwams` and `sub-manager`
# binaries that `cargo test` already built (dev profile) with the release (size-optimised)
# wasm bundle, whose size the end-to-end run checks. A release build of the server is
# what `scripts/start.sh` makes; it is not needed to test behaviour.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# Each step says when it starts (seconds since the tests began): docs/benchmarks.md reads
# the CI times off these lines.
log() { printf '\033[1;34m[test +%ds]\033[0m %s\n' "$SECONDS" "$*"; }

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

log "release wasm bundle, styles and assets (target/site)"
cargo leptos build --release --frontend-only --split && node tools/precompress.mjs target/site/pkg

log "end-to-end tests in Chromium"
(cd end2end && LWAMS_BIN="$PWD/../target/debug/lwams" LWAMS_SITE_ROOT="$PWD/../target/site" npm test)

log "API fuzzing: schemathesis against the OpenAPI document (capped at 5 minutes)"
bash scripts/api_fuzz.sh
log "all tests passed"
