#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: `start DIR PORT` creates it in DIR (as the
# `postgres` user, since initdb refuses root) and starts it on 127.0.0.1:PORT; `stop DIR` stops it.
# Debian's `postgresql` package is installed when it is missing.
set -euo pipefail

bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$d" ] || { echo "PostgreSQL is not installed" >&2; exit 1; }
  echo "$d"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  install)
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql
    fi
    ;;
  start)
    # `start DIR PORT durable` keeps fsync on (for benchmarks); without it the cluster trades
    # durability for speed, which tests do not need.
    dir=$2 port=$3
    fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${4:-}" = durable ] && fast=""
    B=$(bin)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_pg "$B/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log"
    as_pg "$B/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o \
      "-p $port -k $dir -c listen_addresses=127.0.0.1 $fast -c max_connections=400" \
      start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port"
    ;;
  stop)
    dir=$2
    B=$(bin)
    [ -d "$dir/data" ] && as_pg "$B/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 install | start DIR PORT [durable] | stop DIR" >&2
    exit 2
    ;;
esac
