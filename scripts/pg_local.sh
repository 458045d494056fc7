#!/usr/bin/env bash
# A throwaway local PostgreSQL + PostGIS server for trying cimtwin's shared model and for the tests.
#
#   scripts/pg_local.sh start [DIR] [PORT]   initdb (first time) and start; prints the `export` line to use
#   scripts/pg_local.sh stop  [DIR]          stop it (the data stays in DIR)
#   scripts/pg_local.sh env   [DIR] [PORT]   print the export line only
#
# DIR defaults to $TMPDIR/cimtwin-pg-PORT, PORT to 55432. The cluster trusts local connections
# (socket and 127.0.0.1) and is meant for one machine and throwaway data only. As root, the server runs as the
# `postgres` user (initdb refuses root). PostgreSQL and PostGIS come from the system's packages; with apt-get
# and root they are installed when missing (Debian: postgresql, postgresql-<ver>-postgis-3).
set -euo pipefail

cmd="${1:-start}"
port="${3:-${CIMTWIN_PG_PORT:-55432}}"
dir="${2:-${TMPDIR:-/tmp}/cimtwin-pg-$port}"

find_bin() {
    local b
    for b in /usr/lib/postgresql/*/bin; do
        [ -x "$b/pg_ctl" ] && echo "$b"
    done | sort -V | tail -1
}

install_packages() {
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "pg_local: installing PostgreSQL and PostGIS with apt-get" >&2
        apt-get update -qq >/dev/null || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
        local ver
        ver="$(basename "$(dirname "$(find_bin)")")"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-${ver}-postgis-3" >/dev/null
    else
        echo "pg_local: PostgreSQL with PostGIS is not installed; install it (Debian/Ubuntu:" \
             "apt-get install postgresql postgresql-<ver>-postgis-3) or point CIMTWIN_TEST_PG_URL at a server" >&2
        exit 1
    fi
}

as_owner() {  # run a command as the cluster's owner (postgres when we are root)
    if [ "$(id -u)" = "0" ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

env_line() {
    echo "export CIMTWIN_TEST_PG_URL=postgresql://postgres@127.0.0.1:${port}/postgres"
}

case "$cmd" in
start)
    bin="$(find_bin)"
    if [ -z "$bin" ] || ! ls "$(dirname "$bin")"/../../../share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
        install_packages
        bin="$(find_bin)"
    fi
    mkdir -p "$dir"
    [ "$(id -u)" = "0" ] && chown postgres "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=60" start >/dev/null
    fi
    echo "pg_local: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running on 127.0.0.1:$port (data in $dir)" >&2
    env_line
    ;;
stop)
    bin="$(find_bin)"
    if [ -n "$bin" ] && [ -f "$dir/PG_VERSION" ]; then
        as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
env)
    env_line
    ;;
*)
    echo "usage: $0 start|stop|env [DIR] [PORT]" >&2
    exit 2
    ;;
esac
