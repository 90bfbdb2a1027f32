#!/usr/bin/env bash
# Builds the etcd concurrency capture/hold binary outside the repo and prints its path as the
# last line. Go's module and build caches stay where Go keeps them by default.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
mkdir -p "$cache"
(cd "$here/go" && go build -o "$cache/etcd-capture" .) >&2
echo "$cache/etcd-capture"
