#!/usr/bin/env bash
# The replicas benchmark: installs wrk and PostgreSQL (apt) if missing, starts a throwaway
# PostgreSQL cluster, builds daypass in release and prints the figures of benches/replicas.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null 2>&1 || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk
}
scripts/postgres.sh install
dir=$(mktemp -d /tmp/daypass-bench-pg.XXXXXX)
chmod 755 "$dir"
trap 'scripts/postgres.sh stop "$dir/cluster"; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Durable, as in production (fsync on), unlike the tests' cluster.
DAYPASS_BENCH_POSTGRES=$(scripts/postgres.sh start "$dir/cluster" "$port" durable)
export DAYPASS_BENCH_POSTGRES
echo "==> building daypass and the benchmark (release)"
cargo bench --locked --bench replicas --no-run
echo "==> running the benchmark (PostgreSQL at $DAYPASS_BENCH_POSTGRES)"
cargo bench --locked --bench replicas "$@"
