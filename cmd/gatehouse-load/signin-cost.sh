#!/usr/bin/env bash
# signin-cost.sh: what a whole password sign-in with consent costs the
# server, against one bare argon2id hash measured in the same run
# (docs/benchmarks.md, "Sign-in: CPU per sign-in against one hash").
#
#   cmd/gatehouse-load/signin-cost.sh [sqlite|postgres] [RUNS] [-- gatehouse-load flags]
#
# Each run builds nothing: it starts a fresh server on a fresh database
# (SQLite in a temporary folder, or a PostgreSQL database of its own made
# with createdb), creates a customer and a client that asks for consent,
# runs `gatehouse-load sign-in --consent --server-pid PID -n 300 -c 8`,
# stops the server and removes the database. Build the two binaries
# first:
#
#   go build -o gatehouse ./cmd/gatehouse && go build -o gatehouse-load ./cmd/gatehouse-load
#
# Environment: GATEHOUSE_BIN and LOAD_BIN (default ./gatehouse and
# ./gatehouse-load), PORT (default 18471), PGURL (the server PostgreSQL is
# reached at, default postgres://postgres@127.0.0.1:5432), SERVER_LOG (keep
# each run's server log as SERVER_LOG.DB.RUN). Variables the
# server reads (GOGC, GOMEMLIMIT, GATEHOUSE_*) are passed on to it.
set -euo pipefail

db=${1:-sqlite}
runs=${2:-1}
shift $(( $# < 2 ? $# : 2 ))
[ "${1:-}" = "--" ] && shift
bin=${GATEHOUSE_BIN:-./gatehouse}
load=${LOAD_BIN:-./gatehouse-load}
port=${PORT:-18471}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
issuer="http://127.0.0.1:$port"
redirect="http://127.0.0.1:3999/callback"
email="alice@example.com"
password="correct horse battery staple"

for run in $(seq 1 "$runs"); do
  dir=$(mktemp -d)
  export GATEHOUSE_HTTP_ADDR="127.0.0.1:$port" GATEHOUSE_ISSUER="$issuer" GATEHOUSE_METRICS_ADDR=off \
    GATEHOUSE_LOG_LEVEL=${GATEHOUSE_LOG_LEVEL:-warn}
  pgdb=""
  case "$db" in
    sqlite) export GATEHOUSE_DATABASE_URL="sqlite://$dir/gatehouse.db" ;;
    postgres)
      pgdb="gatehouse_signin_cost_$$_$run"
      createdb -h 127.0.0.1 -U postgres "$pgdb"
      export GATEHOUSE_DATABASE_URL="$pgurl/$pgdb?sslmode=disable"
      export GATEHOUSE_SECRET=${GATEHOUSE_SECRET:-signin-cost-benchmark-secret-of-32-bytes-or-more}
      ;;
    *) echo "usage: $0 [sqlite|postgres] [RUNS] [-- gatehouse-load flags]" >&2; exit 2 ;;
  esac
  "$bin" migrate >/dev/null
  "$bin" users create --email "$email" --password "$password" >/dev/null
  client=$("$bin" clients create --name load-consent --redirect-uri "$redirect" --output json)
  id=$(printf '%s' "$client" | sed -n 's/.*"client_id": *"\([^"]*\)".*/\1/p')
  secret=$(printf '%s' "$client" | sed -n 's/.*"client_secret": *"\([^"]*\)".*/\1/p')
  "$bin" serve 2>"$dir/server.log" &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fs "$issuer/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  if ! kill -0 "$pid" 2>/dev/null || ! curl -fs "$issuer/healthz" >/dev/null 2>&1; then
    echo "the server did not start:" >&2; cat "$dir/server.log" >&2; exit 1
  fi
  echo "== $db, run $run of $runs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  status=0
  "$load" sign-in --issuer "$issuer" --client-id "$id" --client-secret "$secret" --redirect-uri "$redirect" \
    --email "$email" --password "$password" --consent --server-pid "$pid" -n 300 -c 8 "$@" || status=$?
  kill "$pid"
  wait "$pid" || true
  [ -n "$pgdb" ] && dropdb -h 127.0.0.1 -U postgres "$pgdb"
  [ -n "${SERVER_LOG:-}" ] && cp "$dir/server.log" "$SERVER_LOG.$db.$run"
  rm -rf "$dir"
  [ "$status" -eq 0 ] || exit "$status"
done
