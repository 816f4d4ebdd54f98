#!/usr/bin/env bash
# Fuzzes the REST API with schemathesis against a throw-away server: the built binary
# (LWAMS_BIN, default target/debug/lwams — what `cargo test` builds) on a free port with a fresh data directory
# (SQLite) and a first administrator, signed in by scripts/api_fuzz/hooks.py (session
# cookie + X-CSRF-Token, signed in again on 401). Every operation of
# /api/openapi.json but sign-out and password change, all phases, checks: no 5xx and
# every response matching its schema. Exits non-zero on any failure, and after
# LWAMS_FUZZ_TIMEOUT seconds (300). Usage: scripts/api_fuzz.sh [max-examples]
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples="${1:-${LWAMS_FUZZ_EXAMPLES:-25}}"
bin="${LWAMS_BIN:-$PWD/target/debug/lwams}"
[ -x "$bin" ] || { echo "api_fuzz: no server binary at $bin (set LWAMS_BIN)" >&2; exit 2; }
command -v schemathesis >/dev/null || { echo "api_fuzz: schemathesis is not installed (scripts/setup.sh --test)" >&2; exit 2; }

log() { printf '\033[1;34m[api-fuzz]\033[0m %s\n' "$*"; }

data_dir="$(mktemp -d "${TMPDIR:-/tmp}/lwams-fuzz-XXXXXX")"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
password="fuzz-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
url="http://127.0.0.1:$port"
server_log="$data_dir/server.log"

server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$data_dir"
}
trap cleanup EXIT

LWAMS_LISTEN="127.0.0.1:$port" LWAMS_DATA_DIR="$data_dir/data" \
  LWAMS_SITE_ROOT="${LWAMS_SITE_ROOT:-$PWD/target/site}" \
  LWAMS_ADMIN_PASSWORD="$password" DATABASE_URL="" \
  "$bin" serve >"$server_log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$server_log" >&2; echo "api_fuzz: the server stopped" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$url/healthz" >/dev/null || { cat "$server_log" >&2; echo "api_fuzz: the server did not become healthy" >&2; exit 1; }

log "schemathesis on $url (max $max_examples examples an operation, at most ${LWAMS_FUZZ_TIMEOUT:-300} s)"
started=$(date +%s)
status=0
PYTHONPATH="$PWD/scripts/api_fuzz${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=hooks \
  LWAMS_FUZZ_URL="$url" LWAMS_FUZZ_PASSWORD="$password" \
  timeout "${LWAMS_FUZZ_TIMEOUT:-300}" schemathesis run "$url/api/openapi.json" \
    --phases examples,coverage,fuzzing,stateful \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance \
    --exclude-path /api/v1/auth/logout --exclude-path /api/v1/auth/password \
    --max-examples "$max_examples" --seed "${LWAMS_FUZZ_SEED:-17}" \
    --workers 2 --request-timeout 30 --no-color --warnings off ${LWAMS_FUZZ_ARGS:-} \
  || status=$?
log "finished in $(( $(date +%s) - started )) s (exit $status)"
if [ "$status" -ne 0 ]; then
  [ "$status" -eq 124 ] && echo "api_fuzz: schemathesis ran over its time limit" >&2
  echo "--- server log (last 80 lines) ---" >&2
  tail -n 80 "$server_log" >&2
fi
exit "$status"
