#!/usr/bin/env bash
# Builds deploy-check (the deploy kit's validator: BuildKit's Dockerfile parser, Kubernetes'
# API types) outside the repo and prints its path as the last line. Keyed by a hash of the
# source; built to a temporary name and renamed. ~1 s warm, ~1-2 min cold (module downloads).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
mkdir -p "$cache"
src_hash="$(cat "$here"/go.mod "$here"/go.sum "$here"/*.go | sha256sum | cut -c1-12)"
bin="$cache/deploy-check-$src_hash"
if [[ ! -x "$bin" || -n "${LOCKDECK_REBUILD:-}" ]]; then
  (cd "$here" && go build -o "$bin.tmp.$$" .) >&2
  mv -f "$bin.tmp.$$" "$bin"
fi
echo "$bin"
