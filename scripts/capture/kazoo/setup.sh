#!/usr/bin/env bash
# Makes the venv for capture.py outside the repo (re-made when requirements.txt changes)
# and prints its python's path as the last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}/venv-kazoo"
if ! cmp -s "$here/requirements.txt" "$venv/lockdeck-requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" >&2
  cp "$here/requirements.txt" "$venv/lockdeck-requirements.txt"
fi
echo "$venv/bin/python"
