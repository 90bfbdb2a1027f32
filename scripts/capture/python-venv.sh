#!/usr/bin/env bash
# python-venv.sh <dir with requirements.txt> <venv name>: makes a venv for a capture program
# outside the repo (${LOCKDECK_CACHE:-~/.cache/lockdeck}/<name>), re-made when
# requirements.txt changes, and prints its python's path as the last line.
set -euo pipefail
req="$(cd "$1" && pwd)/requirements.txt"
venv="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}/$2"
if ! cmp -s "$req" "$venv/lockdeck-requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
  cp "$req" "$venv/lockdeck-requirements.txt"
fi
echo "$venv/bin/python"
