#!/usr/bin/env bash
# Builds the Grafana dashboard checker (main.go here, on the Grafana Foundation SDK from the Go
# module proxy) outside the repo and prints its path as the last line (scripts/go-build.sh:
# cached by a hash of the source).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../../go-build.sh" "$here" dashboard-check
