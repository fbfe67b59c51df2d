#!/usr/bin/env bash
# The forward-auth benchmark: installs wrk and nginx (apt) if missing, builds daypass in release
# and prints the five figures of benches/forward_auth.rs. Takes about two minutes of load.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing ${need[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
echo "==> building daypass and the benchmark (release)"
cargo bench --locked --bench forward_auth --no-run
echo "==> running the benchmark"
PATH="/usr/sbin:$PATH" cargo bench --locked --bench forward_auth
