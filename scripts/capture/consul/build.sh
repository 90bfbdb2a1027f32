#!/usr/bin/env bash
# Builds the hashicorp/consul/api hold program outside the repo and prints its path as the
# last line. Go's module and build caches stay where Go keeps them by default.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v go >/dev/null || { echo "consul-capture: 'go' is not on PATH: install Go >= 1.25 (https://go.dev/dl/)" >&2; exit 1; }
cache="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
mkdir -p "$cache"
# Keyed by a hash of the source, so worktrees with different sources never share a binary;
# built to a temporary name and renamed, so a running copy is never overwritten.
src_hash="$(cat "$here"/go.mod "$here"/go.sum "$here"/*.go | sha256sum | cut -c1-12)"
bin="$cache/consul-capture-$src_hash"
if [[ ! -x "$bin" || -n "${LOCKDECK_REBUILD:-}" ]]; then
  (cd "$here" && go build -o "$bin.tmp.$$" .) >&2
  mv -f "$bin.tmp.$$" "$bin"
fi
echo "$bin"
