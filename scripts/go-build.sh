#!/usr/bin/env bash
# Builds the Go program in <dir> outside the repo as <name>-<hash> and prints its path as the
# last line. Go's module and build caches stay where Go keeps them by default.
#   scripts/go-build.sh <dir> <name>
set -euo pipefail
dir="$1"
name="$2"
command -v go >/dev/null || { echo "$name: 'go' is not on PATH: install Go >= 1.25 (https://go.dev/dl/)" >&2; exit 1; }
cache="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
mkdir -p "$cache"
# Keyed by a hash of the source, so worktrees with different sources never share a binary;
# built to a temporary name and renamed, so a running copy is never overwritten.
src_hash="$(cat "$dir"/go.mod "$dir"/go.sum "$dir"/*.go | sha256sum | cut -c1-12)"
bin="$cache/$name-$src_hash"
if [[ ! -x "$bin" || -n "${LOCKDECK_REBUILD:-}" ]]; then
  (cd "$dir" && go build -o "$bin.tmp.$$" .) >&2
  mv -f "$bin.tmp.$$" "$bin"
fi
echo "$bin"
