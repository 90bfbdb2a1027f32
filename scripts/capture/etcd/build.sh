#!/usr/bin/env bash
# Builds the etcd concurrency capture/hold binary outside the repo and prints its path as the
# last line. Go's module and build caches stay where Go keeps them by default.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
mkdir -p "$cache"
# Keyed by a hash of the source, so worktrees with different sources never share a binary;
# built to a temporary name and renamed, so a running copy is never overwritten.
src_hash="$(cat "$here"/go/go.mod "$here"/go/go.sum "$here"/go/*.go | sha256sum | cut -c1-12)"
bin="$cache/etcd-capture-$src_hash"
if [[ ! -x "$bin" || -n "${LOCKDECK_REBUILD:-}" ]]; then
  (cd "$here/go" && go build -o "$bin.tmp.$$" .) >&2
  mv -f "$bin.tmp.$$" "$bin"
fi
echo "$bin"
