#!/usr/bin/env bash
# Installs what the tests or benchmarks need when it is missing, so that
# `make test` works on a fresh Debian machine with Go installed.
#   install-deps.sh test    npm packages of the end-to-end suite, and Debian's
#                           chromium for its browser test, fail2ban and
#                           crowdsec for the deploy/ tests, systemd for
#                           systemd-analyze
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

# without_service_start runs a command (an install) with a policy-rc.d that
# tells the packages' maintainer scripts not to start their daemons, unless
# the machine already has one (containers usually do). The deploy tests run
# only the packages' command-line tools.
without_service_start() {
  local policy=/usr/sbin/policy-rc.d sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ -e "$policy" ]; then
    "$@"
    return
  fi
  (
    trap '$sudo rm -f "$policy"' EXIT
    printf '#!/bin/sh\n# jellyguard scripts/install-deps.sh, for one install\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    "$@"
  )
}

# disable_units keeps the daemons of packages installed only for the tests
# from starting at the next boot.
disable_units() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  command -v systemctl >/dev/null || return 0
  $sudo systemctl disable --quiet "$@" 2>/dev/null || true
}

deb_configured() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# need_crowdsec installs Debian's crowdsec without its Central API: the
# package's postinst registers with api.crowdsec.net, which fails (and
# fails the install) without network access, unless
# /etc/crowdsec/online_api_credentials.yaml already holds something (a
# comment is enough; README.Debian of the package). The deploy test runs
# crowdsec with a private configuration that uses no Central API and no
# hub download. An install that failed that way before is configured again.
need_crowdsec() {
  deb_configured crowdsec && return 0
  local sudo="" capi=/etc/crowdsec/online_api_credentials.yaml
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ ! -s "$capi" ]; then
    echo "writing $capi (no Central API registration; see README.Debian of crowdsec)"
    $sudo mkdir -p /etc/crowdsec
    echo "# no thanks: installed by jellyguard's install-deps.sh for its tests" | $sudo tee "$capi" >/dev/null
  fi
  if dpkg -s crowdsec >/dev/null 2>&1; then
    echo "configuring the half-installed Debian package crowdsec"
    without_service_start $sudo dpkg --configure crowdsec
  else
    without_service_start need_apt crowdsec
  fi
  disable_units crowdsec.service
}

case "${1:-test}" in
  test)
    need_npm e2e/sdk
    # The browser test drives Debian's chromium through playwright-core,
    # which downloads no browser of its own.
    [ -x /usr/bin/chromium ] || need_apt chromium
    need_npm e2e/browser
    # The deploy/ tests (e2e/deploy_test.go) run Debian's fail2ban-regex and
    # fail2ban-client, crowdsec and cscli, and systemd-analyze.
    if ! command -v fail2ban-regex >/dev/null; then
      without_service_start need_apt fail2ban
      disable_units fail2ban.service
    fi
    need_crowdsec
    command -v systemd-analyze >/dev/null || need_apt systemd
    ;;
  bench)
    need_apt nginx-light wrk curl util-linux
    ;;
  *)
    echo "usage: $0 test|bench" >&2
    exit 2
    ;;
esac
