#!/usr/bin/env bash
# Starts a local PostgreSQL and a local S3-compatible server under DIR for a Kinema
# cluster on one machine: development, the cluster tests, the benchmarks. The S3 server
# is s3s-fs (quick to build, what CI uses) or, with KINEMA_DEV_S3=garage, Garage (a
# production object store; `cargo install --locked garage` takes ~16 CPU-minutes).
#
#   tools/cluster/dev-up.sh [--install] DIR [postgres|s3]
#   eval "$(tools/cluster/dev-up.sh /tmp/kinema-dev)"      # exports KINEMA_QUEUE, KINEMA_STORE, AWS_*
#   tools/cluster/dev-down.sh /tmp/kinema-dev               # stops both (data stays in DIR)
#
# Prints `export NAME=value` lines on stdout (also written, without `export`, to DIR/env
# for `--env-file`/EnvironmentFile use); progress goes to stderr. Running it again with
# the services up only prints the lines. Naming one service starts only that one (the
# tests restart them this way).
#
# --install adds what is missing: PostgreSQL from Debian (apt-get, needs root) and the S3
# server from crates.io (cargo install). Without it, a missing piece is an error saying
# how to install it. Ports: KINEMA_DEV_PG_PORT (55432), KINEMA_DEV_S3_PORT (59000; Garage
# also uses the next one for its RPC).
# DIR must be reachable by the `postgres` user when run as root (e.g. under /tmp).
set -euo pipefail

# s3s-fs 0.14.1 needs Rust 1.92 (0.12.0: 1.86); Garage 2.5.0 builds with current stable.
S3S_VERSION="${KINEMA_DEV_S3S_VERSION:-0.14.1}"
GARAGE_VERSION="${KINEMA_DEV_GARAGE_VERSION:-2.5.0}"
PG_USER=kinema
PG_PASSWORD=kinema-dev
# Garage's key format (GK + 24 hex digits, 64 hex digits); s3s-fs takes any.
S3_KEY=GK6b696e656d612d6465762d31
S3_SECRET=6b696e656d612d6465762d7365637265742d6b696e656d612d6465762d736563
BUCKET=kinema
REGION=us-east-1

install=0
if [ "${1:-}" = "--install" ]; then
  install=1
  shift
fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 [--install] DIR [postgres|s3]" >&2
  exit 2
fi
only="${2:-all}"
case "$only" in all|postgres|s3) ;; *) echo "error: unknown service '$only' (postgres or s3)" >&2; exit 2 ;; esac
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"

# Ports and server kind: the environment, else what DIR was first started with (so a
# restart of one service finds it where it was), else the defaults.
if [ -s "$DIR/settings" ]; then
  # shellcheck disable=SC1091
  . "$DIR/settings"
fi
S3_SERVER="${KINEMA_DEV_S3:-${SAVED_S3_SERVER:-s3s-fs}}"
PG_PORT="${KINEMA_DEV_PG_PORT:-${SAVED_PG_PORT:-55432}}"
S3_PORT="${KINEMA_DEV_S3_PORT:-${SAVED_S3_PORT:-59000}}"
printf 'SAVED_S3_SERVER=%s\nSAVED_PG_PORT=%s\nSAVED_S3_PORT=%s\n' \
  "$S3_SERVER" "$PG_PORT" "$S3_PORT" > "$DIR/settings"

say() { echo "dev-up: $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

# Runs a PostgreSQL program as the postgres user when we are root (initdb refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_bindir() {
  local found
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$found" ] && [ -x "$found/initdb" ]; then
    echo "$found"
    return
  fi
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

cargo_bin() {
  if command -v "$1" >/dev/null 2>&1; then
    command -v "$1"
  elif [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/$1" ]; then
    echo "${CARGO_HOME:-$HOME/.cargo}/bin/$1"
  fi
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_postgres() {
  local bin
  bin="$(pg_bindir)"
  if [ -z "$bin" ] && [ "$install" = 1 ]; then
    say "installing PostgreSQL from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin="$(pg_bindir)"
  fi
  [ -n "$bin" ] || die "PostgreSQL is not installed; apt-get install postgresql (or rerun with --install)"
  local data="$DIR/postgres" run="$DIR/run"
  mkdir -p "$run"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$DIR" "$run"
    runuser -u postgres -- test -w "$DIR" ||
      die "$DIR is not reachable by the postgres user; use a directory under /tmp"
  fi
  if [ ! -s "$data/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in $data"
    local pwfile="$DIR/.pgpass-init"
    echo "$PG_PASSWORD" > "$pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
    as_pg "$bin/initdb" -D "$data" -U "$PG_USER" --pwfile="$pwfile" --auth=scram-sha-256 \
      -E UTF8 --locale=C >"$DIR/initdb.log" 2>&1 || die "initdb failed; see $DIR/initdb.log"
    rm -f "$pwfile"
  fi
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "PostgreSQL already running on port $PG_PORT"
  else
    port_open "$PG_PORT" && die "port $PG_PORT is taken; set KINEMA_DEV_PG_PORT"
    as_pg "$bin/pg_ctl" -D "$data" -l "$DIR/postgres.log" -w -t 60 \
      -o "-p $PG_PORT -k $run -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null ||
      die "PostgreSQL did not start; see $DIR/postgres.log"
    say "PostgreSQL listening on 127.0.0.1:$PG_PORT"
  fi
  echo "$bin" > "$DIR/postgres.bin"
  if ! PGPASSWORD="$PG_PASSWORD" "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'kinema'" | grep -q 1; then
    PGPASSWORD="$PG_PASSWORD" "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" kinema
    say "created database kinema"
  fi
}

start_s3() {
  local bin crate features=()
  case "$S3_SERVER" in
    s3s-fs) crate="s3s-fs@$S3S_VERSION"; features=(--features binary) ;;
    garage) crate="garage@$GARAGE_VERSION" ;;
    *) die "KINEMA_DEV_S3 must be s3s-fs or garage, not '$S3_SERVER'" ;;
  esac
  bin="$(cargo_bin "$S3_SERVER")"
  # A restart uses the server this DIR was started with, wherever it was found then.
  if [ -z "$bin" ] && [ -s "$DIR/s3.bin" ] && [ -x "$(cat "$DIR/s3.bin")" ]; then
    bin="$(cat "$DIR/s3.bin")"
  fi
  if [ -z "$bin" ] && [ "$install" = 1 ]; then
    say "installing $crate from crates.io"
    cargo install --locked --quiet "$crate" "${features[@]}"
    bin="$(cargo_bin "$S3_SERVER")"
  fi
  [ -n "$bin" ] || die "$S3_SERVER is not installed; cargo install --locked $crate ${features[*]} (or rerun with --install)"
  echo "$bin" > "$DIR/s3.bin"
  mkdir -p "$DIR/s3"
  if [ -s "$DIR/s3.pid" ] && kill -0 "$(cat "$DIR/s3.pid")" 2>/dev/null; then
    say "$S3_SERVER already running on port $S3_PORT"
  else
    port_open "$S3_PORT" && die "port $S3_PORT is taken; set KINEMA_DEV_S3_PORT"
    # setsid: the server outlives the shell that started it (and a test harness).
    if [ "$S3_SERVER" = garage ]; then
      cat > "$DIR/garage.toml" <<TOML
metadata_dir = "$DIR/s3/meta"
data_dir = "$DIR/s3/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$((S3_PORT + 1))"
rpc_public_addr = "127.0.0.1:$((S3_PORT + 1))"
rpc_secret = "$(printf '%s' "$S3_SECRET" | head -c 64)"

[s3_api]
s3_region = "$REGION"
api_bind_addr = "127.0.0.1:$S3_PORT"
root_domain = ".s3.localhost"
TOML
      GARAGE_DEFAULT_ACCESS_KEY="$S3_KEY" GARAGE_DEFAULT_SECRET_KEY="$S3_SECRET" \
        GARAGE_DEFAULT_BUCKET="$BUCKET" \
        setsid "$bin" -c "$DIR/garage.toml" server --single-node --default-bucket \
        >>"$DIR/s3.log" 2>&1 < /dev/null &
    else
      setsid "$bin" --host 127.0.0.1 --port "$S3_PORT" --access-key "$S3_KEY" \
        --secret-key "$S3_SECRET" "$DIR/s3" >>"$DIR/s3.log" 2>&1 < /dev/null &
    fi
    echo $! > "$DIR/s3.pid"
    for _ in $(seq 1 100); do
      port_open "$S3_PORT" && break
      sleep 0.1
    done
    port_open "$S3_PORT" || die "$S3_SERVER did not start; see $DIR/s3.log"
    say "$S3_SERVER listening on 127.0.0.1:$S3_PORT (data in $DIR/s3)"
  fi
  # Create the bucket through the S3 API (PUT /bucket, SigV4-signed), as with any store
  # (Garage made it already and answers 409 or 200). The content hash header is the
  # SHA-256 of the empty body.
  local code
  for _ in $(seq 1 50); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
      --aws-sigv4 "aws:amz:$REGION:s3" --user "$S3_KEY:$S3_SECRET" \
      -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
      "http://127.0.0.1:$S3_PORT/$BUCKET")" || code=000
    case "$code" in 200|409) break ;; esac
    sleep 0.2
  done
  case "$code" in
    200|409) ;;
    *) die "creating bucket $BUCKET answered HTTP $code; see $DIR/s3.log" ;;
  esac
}

command -v curl >/dev/null 2>&1 || die "curl is needed to create the bucket; apt-get install curl"
case "$only" in
  all) start_postgres; start_s3 ;;
  postgres) start_postgres ;;
  s3) start_s3 ;;
esac

cat > "$DIR/env" <<EOF
KINEMA_QUEUE=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/kinema
KINEMA_STORE=s3://$BUCKET/dev
AWS_ENDPOINT_URL=http://127.0.0.1:$S3_PORT
AWS_REGION=$REGION
AWS_ACCESS_KEY_ID=$S3_KEY
AWS_SECRET_ACCESS_KEY=$S3_SECRET
KINEMA_DEV_DIR=$DIR
EOF
sed 's/^/export /' "$DIR/env"
