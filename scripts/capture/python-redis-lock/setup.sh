#!/usr/bin/env bash
# Makes the venv for capture.py outside the repo and prints its python's path as the last line.
set -euo pipefail
exec bash "$(dirname "$0")/../python-venv.sh" "$(dirname "$0")" venv-prl
