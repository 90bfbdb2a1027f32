#!/usr/bin/env bash
# Builds the go-redsync capture/hold binary outside the repo.
# Prints the binary's path as the last line (scripts/go-build.sh: cached by a hash of the source).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../../go-build.sh" "$here" redsync-capture
