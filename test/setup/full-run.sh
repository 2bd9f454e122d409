#!/usr/bin/env bash
# The README's test command on a fresh machine: installs what the suite needs from Debian when it is
# missing (Chromium, PostgreSQL), starts a throwaway PostgreSQL cluster on loopback for the run, runs
# the suite (type check + vitest), and stops the cluster. Extra arguments go to vitest.
set -uo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -z "${GAFFER_TEST_PG_URL:-}" ] && [ -z "$pgbin" ] && need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "the tests need ${need[*]}: run  sudo apt-get update && sudo apt-get install -y ${need[*]}  and try again" >&2
    exit 1
  fi
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } || {
    echo "could not install ${need[*]} with apt-get" >&2; exit 1; }
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[ -d node_modules ] || npm ci --no-audit --no-fund || { echo "npm ci failed" >&2; exit 1; }

if [ -z "${GAFFER_TEST_PG_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/gaffer-pg.XXXXXX)
  port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  as_pg=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; as_pg=(runuser -u postgres --); fi
  "${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >"$pgdir/initdb.log" 2>&1 || {
    echo "initdb failed: see $pgdir/initdb.log" >&2; exit 1; }
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
    -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=400" start >/dev/null || {
    echo "PostgreSQL did not start: see $pgdir/log" >&2; exit 1; }
  stop_pg() { "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pgdir"; }
  trap stop_pg EXIT
  export GAFFER_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  # The cluster's data directory and server binaries, for tests that stop and start the server under load.
  export GAFFER_TEST_PG_DATA="$pgdir/data" GAFFER_TEST_PG_BIN="$pgbin" GAFFER_TEST_PG_AS_ROOT="$([ "$(id -u)" = 0 ] && echo 1 || echo 0)"
fi

npm test -- "$@"
