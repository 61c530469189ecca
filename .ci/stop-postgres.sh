#!/usr/bin/env bash
# Stop a server started by .ci/start-postgres.sh and delete its directory.
# Usage: bash .ci/stop-postgres.sh DATADIR   (the second word start-postgres.sh printed)
set -euo pipefail

base="${1:?usage: stop-postgres.sh DATADIR (as printed by start-postgres.sh)}"
data="$base/data"
[ -f "$base/PG_VERSION" ] && data="$base"   # also accept the cluster directory itself
if [ ! -f "$data/PG_VERSION" ]; then
  echo "stop-postgres: $base is not a directory made by start-postgres.sh" >&2
  exit 1
fi

bindir="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
run_as=()
owner="$(stat -c %U "$data")"
if [ "$(id -u)" = 0 ] && [ "$owner" != root ]; then
  run_as=(runuser -u "$owner" --)
fi
if [ -f "$data/postmaster.pid" ]; then
  "${run_as[@]}" "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 \
    || "${run_as[@]}" "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
fi
case "$base" in
  */funnelsync-pg.*) rm -rf "$base" ;;
  *) rm -rf "$data" ;;
esac
