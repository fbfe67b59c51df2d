#!/usr/bin/env bash
# Runs every test of daypass. On a fresh Debian machine (as root) it first installs what the
# tests need: maildev (the real SMTP server the tests send mail to), nginx, Caddy, Chromium and
# Firefox (the compose demo is walked in both) with geckodriver.
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

if [ ! -x .tools/bin/geckodriver ]; then
  # Not packaged by Debian; crates.io has Mozilla's source (a few minutes to build).
  step "installing geckodriver 0.37.1 into .tools/ (cargo install)"
  cargo install --locked --root .tools geckodriver@0.37.1
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --all-targets --locked -- -D warnings

step "cargo test"
cargo test --locked --no-fail-fast
