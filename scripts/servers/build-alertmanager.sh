#!/usr/bin/env bash
# Alertmanager, so the tests post LockDeck's alerts to the real v2 API and read them back: built
# from its Go module into ${LOCKDECK_CACHE:-~/.cache/lockdeck}. The module embeds the web UI's
# built assets (ui/app/dist), which are not in the module zip, so `go install` refuses: the
# module is copied to a temp dir and built with an empty page in their place (the API, which is
# what the tests use, is the real one; the web UI is left out). Same contract as
# build-consul.sh: idempotent, flock, last line of stdout = the binary.
# ALERTMANAGER_VERSION: the Go module version (default below).
set -euo pipefail
VERSION="${ALERTMANAGER_VERSION:-v0.35.0}"
CACHE="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
BIN="$CACHE/alertmanager-$VERSION"
runnable() { [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; }
if runnable; then echo "$BIN"; exit 0; fi
command -v go >/dev/null 2>&1 || { echo "alertmanager: 'go' is not on PATH: install Go >= 1.25 (https://go.dev/dl/)" >&2; exit 1; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.alertmanager-$VERSION.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if runnable; then echo "$BIN"; exit 0; fi
started=$(date +%s)
echo "alertmanager: building $VERSION from its Go module (cold: several minutes)" >&2
dir=$(go mod download -json "github.com/prometheus/alertmanager@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -n "$dir" ] && [ -f "$dir/go.mod" ] || { echo "alertmanager: module download failed" >&2; exit 1; }
work=$(mktemp -d "$CACHE/build-alertmanager.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -R "$dir/." "$work/src"
chmod -R u+w "$work/src"
mkdir -p "$work/src/ui/app/dist"
echo '<!doctype html><title>Alertmanager</title><p>The web UI is not built here; the API is.' > "$work/src/ui/app/dist/index.html"
(cd "$work/src" && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$work/alertmanager" ./cmd/alertmanager)
"$work/alertmanager" --version >/dev/null
mv -f "$work/alertmanager" "$BIN"
echo "alertmanager: built in $(( $(date +%s) - started ))s" >&2
echo "$BIN"
