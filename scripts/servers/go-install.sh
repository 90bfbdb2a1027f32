#!/usr/bin/env bash
# Builds one command of a Go module from the Go module proxy (`go install <pkg>@<version>`) and
# caches the binary OUTSIDE the repo as <name>-<version>. Used for the real tools the tests check
# against: promtool (Prometheus rules) and Alertmanager (the v2 alerts API).
#
#   scripts/servers/go-install.sh <package path> <module version> <name> <version-check args...>
#
# Contract (as build-consul.sh): idempotent (a cached binary that runs the check is reused);
# concurrent callers wait on one build (flock); the LAST line of stdout is the binary's absolute
# path; exit 1 with an install hint when `go` is missing. LOCKDECK_CACHE (default ~/.cache/lockdeck).
set -euo pipefail
pkg="$1"
version="$2"
name="$3"
shift 3
CACHE="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
BIN="$CACHE/$name-$version"

runnable() { [ -x "$BIN" ] && "$BIN" "$@" >/dev/null 2>&1; }
if runnable "$@"; then echo "$BIN"; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  echo "$name: 'go' is not on PATH: install Go >= 1.25 (https://go.dev/dl/), or put a $name binary at $BIN." >&2
  exit 1
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.$name-$version.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if runnable "$@"; then echo "$BIN"; exit 0; fi   # another caller built it while we waited

started=$(date +%s)
echo "$name: building $pkg@$version from the Go module proxy (cold: several minutes)" >&2
work=$(mktemp -d "$CACHE/build-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 GOBIN="$work" GOFLAGS="-buildvcs=false" go install -trimpath -ldflags "-s -w" "$pkg@$version"
mv -f "$work/$(basename "$pkg")" "$BIN"
runnable "$@" || { echo "$name: the built binary does not run" >&2; exit 1; }
echo "$name: built in $(( $(date +%s) - started ))s" >&2
echo "$BIN"
