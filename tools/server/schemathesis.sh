#!/usr/bin/env bash
# Fuzzes a loopback `kinema serve` against its own /openapi.json with schemathesis.
# Not run by CI. Usage: tools/server/schemathesis.sh [MAX_EXAMPLES]
# Needs: .venv/bin/pip install schemathesis (from the repo root)  (or any `schemathesis` on PATH)
set -euo pipefail
cd "$(dirname "$0")/../.."
MAX_EXAMPLES="${1:-50}"
ST="${SCHEMATHESIS:-.venv/bin/schemathesis}"
command -v "$ST" >/dev/null 2>&1 || ST=schemathesis
DATA="$(mktemp -d)"
PORT="${PORT:-18089}"
cargo build --release -p kinema
target/release/kinema serve --addr "127.0.0.1:$PORT" --data "$DATA" --workers 1 --quota 100000 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/v1/engines" >/dev/null && break
  sleep 0.1
done
# not_a_server_error: no 5xx for any input; the rest: responses match the document.
"$ST" run "http://127.0.0.1:$PORT/openapi.json" \
  --checks all \
  --max-examples "$MAX_EXAMPLES" \
  --request-timeout 30
