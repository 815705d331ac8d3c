#!/usr/bin/env bash
# Installs what the tests or benchmarks need when it is missing, so that
# `make test` works on a fresh Debian machine with Go installed.
#   install-deps.sh test    npm packages of the end-to-end suite, and Debian's
#                           chromium for its browser test
#   install-deps.sh bench   nginx and wrk (Debian packages)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

need_npm() {
  local dir=$1
  [ -f "$dir/package.json" ] || return 0
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    command -v npm >/dev/null || need_apt nodejs npm
    echo "installing npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$dir/node_modules"
  fi
}

case "${1:-test}" in
  test)
    need_npm e2e/sdk
    # The browser test drives Debian's chromium through playwright-core,
    # which downloads no browser of its own.
    [ -x /usr/bin/chromium ] || need_apt chromium
    need_npm e2e/browser
    ;;
  bench)
    need_apt nginx-light wrk curl util-linux
    ;;
  *)
    echo "usage: $0 test|bench" >&2
    exit 2
    ;;
esac
