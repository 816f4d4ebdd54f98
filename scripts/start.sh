#!/usr/bin/env bash
# Installs the prerequisites, builds LWAMS in release mode and starts it on an embedded
# SQLite database in ./data. On the first start an admin account is created: its
# password is LWAMS_ADMIN_PASSWORD when set, otherwise generated and printed once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Builds `lwams`, the Sub Manager binary beside it (for download packages) and the site;
# `--split`: the wasm bundle in one chunk per page (app/src/routes.rs); then /pkg
# precompressed at brotli 11 and gzip 9, which the server sends as they are.
cargo leptos build --release --split
node tools/precompress.mjs target/site/pkg
export LWAMS_SITE_ROOT="${LWAMS_SITE_ROOT:-target/site}"
exec target/release/lwams serve "$@"
