#!/usr/bin/env bash
# promtool, to check deploy/prometheus-rules.yml with Prometheus's own rule loader (`promtool
# check rules`) and run its unit tests (`promtool test rules`): built from the Prometheus Go
# module (not in Debian at a recent version, nor in npm) into ${LOCKDECK_CACHE:-~/.cache/lockdeck}.
# Last line of stdout: the binary. PROMTOOL_VERSION: the Go module version (default below).
set -euo pipefail
exec bash "$(dirname "$0")/go-install.sh" github.com/prometheus/prometheus/cmd/promtool "${PROMTOOL_VERSION:-v0.316.0}" promtool --version
