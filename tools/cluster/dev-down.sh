#!/usr/bin/env bash
# Stops what tools/cluster/dev-up.sh started under DIR: PostgreSQL and the S3 server
# (or only the one named). The data stays in DIR, so dev-up.sh starts them again where they were;
# `rm -rf DIR` afterwards removes everything.
#
#   tools/cluster/dev-down.sh DIR [postgres|s3]
#
# KINEMA_DEV_S3_SIGNAL=KILL stops the S3 server at once instead of letting it finish the
# requests in flight (the tests use it to cut the store off in the middle of uploads).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 DIR [postgres|s3]" >&2
  exit 2
fi
only="${2:-all}"
case "$only" in all|postgres|s3) ;; *) echo "error: unknown service '$only' (postgres or s3)" >&2; exit 2 ;; esac
[ -d "$1" ] || { echo "error: $1 does not exist" >&2; exit 1; }
DIR="$(cd "$1" && pwd)"

stop_postgres() {
  [ -s "$DIR/postgres.bin" ] && [ -d "$DIR/postgres" ] || return 0
  local bin
  bin="$(cat "$DIR/postgres.bin")"
  local ctl=("$bin/pg_ctl" -D "$DIR/postgres" -m fast -w stop)
  if [ "$(id -u)" = 0 ]; then ctl=(runuser -u postgres -- "${ctl[@]}"); fi
  if "${ctl[@]}" >/dev/null 2>&1; then
    echo "dev-down: PostgreSQL stopped" >&2
  fi
}

stop_s3() {
  [ -s "$DIR/s3.pid" ] || return 0
  local pid
  pid="$(cat "$DIR/s3.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -s "${KINEMA_DEV_S3_SIGNAL:-TERM}" "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "dev-down: the S3 server stopped" >&2
  fi
  rm -f "$DIR/s3.pid"
}

case "$only" in
  all) stop_postgres; stop_s3 ;;
  postgres) stop_postgres ;;
  s3) stop_s3 ;;
esac
