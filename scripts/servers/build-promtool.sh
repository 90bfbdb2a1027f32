#!/usr/bin/env bash
# Builds Prometheus's promtool from its Go module and caches the binary OUTSIDE the repo, so the
# tests can check deploy/prometheus-rules.yml with the real rule loader (`promtool check rules`)
# and run its unit tests (`promtool test rules`). Prometheus is not in Debian's packages at a
# recent version, nor in npm.
#
# Contract (as build-consul.sh): idempotent (a cached, runnable binary is reused); concurrent
# callers wait on one build (flock); the LAST line of stdout is the binary's absolute path;
# exit 1 with an install hint when `go` is missing. Env: PROMTOOL_VERSION (the Go module
# version, default below), LOCKDECK_CACHE (default ~/.cache/lockdeck).
set -euo pipefail

PROMTOOL_VERSION="${PROMTOOL_VERSION:-v0.316.0}"
CACHE="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
BIN="$CACHE/promtool-$PROMTOOL_VERSION"

runnable() { [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; }
if runnable; then echo "$BIN"; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  echo "build-promtool: 'go' is not on PATH: install Go >= 1.25 (https://go.dev/dl/), or put a" >&2
  echo "  promtool binary at $BIN." >&2
  exit 1
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.promtool-$PROMTOOL_VERSION.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if runnable; then echo "$BIN"; exit 0; fi   # another caller built it while we waited

started=$(date +%s)
echo "build-promtool: building promtool $PROMTOOL_VERSION from its Go module (cold: several minutes)" >&2
work=$(mktemp -d "$CACHE/build-promtool.XXXXXX")
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 GOBIN="$work" GOFLAGS="-buildvcs=false" go install -trimpath -ldflags "-s -w" "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"
"$work/promtool" --version >/dev/null
mv -f "$work/promtool" "$BIN"
echo "build-promtool: built in $(( $(date +%s) - started ))s" >&2
echo "$BIN"
