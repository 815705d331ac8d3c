#!/usr/bin/env bash
# Runs every fuzz target for a while (default 30s each): the parsers that
# read attacker input. Seeds also run on every `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-30s}
for pkg in $(go list ./... | grep -v /e2e); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "fuzzing $pkg $target for $time"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg"
  done
done
