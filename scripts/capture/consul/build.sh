#!/usr/bin/env bash
# Builds the hashicorp/consul/api hold program outside the repo and prints its path as the
# last line. Go's module and build caches stay where Go keeps them by default.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v go >/dev/null || { echo "consul-capture: 'go' is not on PATH: install Go >= 1.25 (https://go.dev/dl/)" >&2; exit 1; }
cache="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
mkdir -p "$cache"
(cd "$here" && go build -o "$cache/consul-capture" .) >&2
echo "$cache/consul-capture"
