#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages if missing, starts a throwaway cluster on 127.0.0.1:54329
# and prints the URL of a superuser the tests use to create and drop their own databases.
set -euo pipefail

PGPORT="${ARA_TEST_PGPORT:-54329}"
PGDATA="${ARA_TEST_PGDATA:-/tmp/ara-test-pg}"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
BIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")

# PostgreSQL refuses to run as root: the cluster belongs to the 'postgres' user the package creates.
RUN_AS=(runuser -u postgres --)
[ "$(id -u)" = "0" ] || RUN_AS=()

if ! "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    rm -rf "$PGDATA"
    mkdir -p "$PGDATA"
    [ "$(id -u)" = "0" ] && chown postgres:postgres "$PGDATA"
    "${RUN_AS[@]}" "$BIN/initdb" -D "$PGDATA" -U ara --auth=trust -E UTF8 >/dev/null
  fi
  "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
    -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >&2
fi
echo "postgresql://ara@127.0.0.1:$PGPORT/postgres"
