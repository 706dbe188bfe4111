#!/bin/bash
# The resource servers' hot path against the no-op (docs/benchmarks.md):
#   BIN=DIR cmd/gatehouse-load/hotpath.sh sqlite|postgres
# DIR holds gatehouse and gatehouse-load; N requests per run (20000).
# The PostgreSQL run creates and drops the database gh_jwt_bench.
# introspect-opaque asks about sealed client-credentials tokens,
# introspect-customer about stored ones (a customer's, from a sign-in).
set -e
B=$(cd "${BIN:-.}" && pwd); D=$(mktemp -d); cd "$D"
export GATEHOUSE_HTTP_ADDR=127.0.0.1:18480 GATEHOUSE_ISSUER=http://127.0.0.1:18480 GATEHOUSE_METRICS_ADDR=off GATEHOUSE_LOG_LEVEL=warn
if [ "$1" = postgres ]; then
  psql -h 127.0.0.1 -U postgres -qc 'DROP DATABASE IF EXISTS gh_jwt_bench' -c 'CREATE DATABASE gh_jwt_bench' >/dev/null
  export GATEHOUSE_DATABASE_URL='postgres://postgres@127.0.0.1:5432/gh_jwt_bench?sslmode=disable' GATEHOUSE_SECRET=bench-secret-bench-secret-bench-secret-0123
else
  export GATEHOUSE_DATABASE_URL=sqlite://$D/gh.db
fi
$B/gatehouse migrate >/dev/null 2>&1 || true
j() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d['client_id'], d['client_secret'])"; }
read APP APPS < <($B/gatehouse clients create --name app --grant-type client_credentials --scope api:read --output json | j)
read JAPP JAPPS < <($B/gatehouse clients create --name japp --grant-type client_credentials --scope api:read --audience https://api.example.com --access-token-format jwt --output json | j)
read RS RSS < <($B/gatehouse clients create --name rs --grant-type client_credentials --output json | j)
read WEB WEBS < <($B/gatehouse clients create --name web --skip-consent --redirect-uri https://rp.example/cb --output json | j)
$B/gatehouse users create --email ada@example.com --password 'correct horse battery staple' --name 'Ada Lovelace' --email-verified >/dev/null
$B/gatehouse serve > serve.log 2>&1 & SP=$!
$B/gatehouse-load noop --addr 127.0.0.1:19490 2>/dev/null & NP=$!
sleep 3
tok() { for i in $(seq 50); do curl -s -u "$1:$2" -d 'grant_type=client_credentials&scope=api:read' http://127.0.0.1:18480/oauth2/token | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; done | paste -sd, -; }
OT=$(tok $APP $APPS); JT=$(tok $JAPP $JAPPS)
L="$B/gatehouse-load"; N=${N:-20000}
# Customers' access tokens for userinfo: 20 sign-ins, each its own token.
$L sign-in --issuer http://127.0.0.1:18480 --client-id $WEB --client-secret $WEBS --redirect-uri https://rp.example/cb \
  --email ada@example.com --password 'correct horse battery staple' --scope 'openid email profile' -n 20 -c 2 --tokens-out ut.txt >/dev/null
UT=$(paste -sd, ut.txt)
for round in 1 2; do
  echo "== $1 round $round"
  $L client-credentials --issuer http://127.0.0.1:19490 --client-id x --client-secret y -n $N -c 50 | grep rate | sed 's/^/noop /'
  $L introspect --issuer http://127.0.0.1:18480 --client-id $RS --client-secret $RSS --token "$OT" -n $N -c 50 | grep rate | sed 's/^/introspect-opaque /'
  $L introspect --issuer http://127.0.0.1:18480 --client-id $RS --client-secret $RSS --token "$JT" -n $N -c 50 | grep rate | sed 's/^/introspect-jwt /'
  $L userinfo --issuer http://127.0.0.1:18480 --token "$UT" -n $N -c 50 | grep rate | sed 's/^/userinfo /'
  $L introspect --issuer http://127.0.0.1:18480 --client-id $RS --client-secret $RSS --token "$UT" -n $N -c 50 | grep rate | sed 's/^/introspect-customer /'
  $L client-credentials --issuer http://127.0.0.1:18480 --client-id $APP --client-secret $APPS --scope api:read -n $N -c 50 | grep rate | sed 's/^/client-credentials /'
  $L client-credentials --issuer http://127.0.0.1:19490 --client-id x --client-secret y -n $N -c 50 | grep rate | sed 's/^/noop /'
done
kill $SP $NP; wait $SP $NP 2>/dev/null || true
[ "$1" = postgres ] && psql -h 127.0.0.1 -U postgres -qc 'DROP DATABASE IF EXISTS gh_jwt_bench' >/dev/null
rm -rf "$D"
exit 0
