#!/usr/bin/env bash
# Start a throw-away PostgreSQL 15 server for tests and print one line on stdout:
#   postgresql+psycopg://fs@127.0.0.1:PORT/fs DATADIR
# The server listens on 127.0.0.1 only, on a free port, trusts local connections (user `fs`),
# and runs without fsync: it is for tests, never for data. Stop it with
#   bash .ci/stop-postgres.sh DATADIR
# initdb refuses to run as root, so as root the server runs as a system user (FUNNELSYNC_PG_USER,
# default `fsci`, created without a home directory if missing). Logs stay under DATADIR.
set -euo pipefail

pg_ctl_bin="$(command -v pg_ctl || true)"
if [ -z "$pg_ctl_bin" ] || ! command -v initdb >/dev/null 2>&1; then
  echo "start-postgres: initdb/pg_ctl not on PATH; install PostgreSQL 15 server binaries" >&2
  exit 1
fi
bindir="$(dirname "$(readlink -f "$pg_ctl_bin")")"

base="$(mktemp -d "${TMPDIR:-/tmp}/funnelsync-pg.XXXXXX")"
run_as=()
if [ "$(id -u)" = 0 ]; then
  pg_user="${FUNNELSYNC_PG_USER:-fsci}"
  if ! id -u "$pg_user" >/dev/null 2>&1; then
    useradd -M -r -s /usr/sbin/nologin "$pg_user" 2>/dev/null || id -u "$pg_user" >/dev/null
  fi
  chown "$pg_user" "$base"
  run_as=(runuser -u "$pg_user" --)
fi

fail() {
  echo "start-postgres: $1 (logs in $base)" >&2
  for log in "$base"/*.log; do [ -f "$log" ] && tail -n 20 "$log" >&2; done
  exit 1
}

"${run_as[@]}" "$bindir/initdb" -D "$base/data" -U fs -A trust -E UTF8 --no-sync \
  >"$base/initdb.log" 2>&1 || fail "initdb failed"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Another process may grab the free port between probing and binding it: try a few ports.
started=""
for _ in 1 2 3 4 5; do
  port="$(free_port)"
  opts="-p $port -k $base -c listen_addresses=127.0.0.1 -c fsync=off"
  opts="$opts -c synchronous_commit=off -c full_page_writes=off"
  if "${run_as[@]}" "$bindir/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
      -o "$opts" start >>"$base/pg_ctl.log" 2>&1; then
    started=1
    break
  fi
done
[ -n "$started" ] || fail "pg_ctl could not start the server"

"${run_as[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U fs fs \
  >>"$base/pg_ctl.log" 2>&1 || fail "createdb fs failed"

echo "postgresql+psycopg://fs@127.0.0.1:$port/fs $base"
