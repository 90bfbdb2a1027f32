#!/usr/bin/env bash
# Builds deploy-check (the deploy kit's validator: BuildKit's Dockerfile parser, Kubernetes' API types; ~1-2 min cold) outside the repo.
# Prints the binary's path as the last line (scripts/go-build.sh: cached by a hash of the source).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../go-build.sh" "$here" deploy-check
