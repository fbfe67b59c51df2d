#!/usr/bin/env bash
# Runs every test of daypass. On a fresh Debian machine (as root) it first installs what the
# tests need: maildev (the real SMTP server the tests send mail to), nginx, Caddy, Chromium and
# Firefox (the compose demo is walked in both) with geckodriver, oidc-provider (a real OpenID
# provider for the sign-in tests), and PostgreSQL (a throwaway
# cluster runs for the length of the tests; the API tests run once on SQLite, once on it).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Debian packages: Node.js/npm (for maildev), nginx and Caddy (the reverse-proxy tests),
# Chromium and its driver, and Firefox (the browser tests).
need=()
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v caddy >/dev/null 2>&1 || need+=(caddy)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ -x /usr/bin/firefox-esr ] || need+=(firefox-esr)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if [ ! -x .tools/node_modules/.bin/maildev ]; then
  step "installing maildev 3.0.0 into .tools/ (npm)"
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --loglevel=error maildev@3.0.0
fi
if [ ! -f .tools/node_modules/oidc-provider/package.json ]; then
  step "installing oidc-provider 9.13.3 into .tools/ (npm; the tests' OpenID provider)"
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --loglevel=error oidc-provider@9.13.3
fi

if [ ! -x .tools/bin/geckodriver ]; then
  # Not packaged by Debian; crates.io has Mozilla's source (a few minutes to build).
  step "installing geckodriver 0.37.1 into .tools/ (cargo install)"
  cargo install --locked --root .tools geckodriver@0.37.1
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --all-targets --locked -- -D warnings

step "PostgreSQL: a throwaway cluster for the tests"
scripts/postgres.sh install
pg_dir=$(mktemp -d /tmp/daypass-pg.XXXXXX)
chmod 755 "$pg_dir"
trap 'scripts/postgres.sh stop "$pg_dir/cluster"; rm -rf "$pg_dir"' EXIT
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DAYPASS_TEST_POSTGRES=$(scripts/postgres.sh start "$pg_dir/cluster" "$pg_port")
export DAYPASS_TEST_POSTGRES
echo "PostgreSQL at $DAYPASS_TEST_POSTGRES"

step "cargo test (every test; the API tests on SQLite)"
cargo test --locked --no-fail-fast

step "cargo test --test api on PostgreSQL (the same API tests, the other engine)"
DAYPASS_TEST_ENGINE=postgres cargo test --locked --no-fail-fast --test api
