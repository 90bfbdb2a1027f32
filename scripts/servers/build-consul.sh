#!/usr/bin/env bash
# Builds the real Consul agent from its Go module and caches the binary OUTSIDE the repo.
#
# Why a script: Consul is in neither Debian's packages nor npm, and its go.mod has `replace`
# lines pointing at local sub-directories (api, sdk, proto-public, envoyextensions,
# troubleshoot), so `go install github.com/hashicorp/consul@vX` refuses. The module zip from
# the proxy leaves those nested modules out, so we copy the module to a temp dir, drop the
# replaces and let the `require` lines (which name the sub-modules' matching release tags)
# resolve them from the Go module proxy instead. No Consul source is vendored or committed.
#
# Contract: idempotent (a cached, runnable binary is reused); concurrent callers wait on one
# build (flock); the LAST line of stdout is the binary's absolute path; exit 1 with an
# install hint when `go` is missing. Env: CONSUL_VERSION (default below), LOCKDECK_CACHE
# (default ~/.cache/lockdeck).
set -euo pipefail

CONSUL_VERSION="${CONSUL_VERSION:-1.22.5}"
CACHE="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
BIN="$CACHE/consul-$CONSUL_VERSION"

runnable() { [ -x "$BIN" ] && "$BIN" version >/dev/null 2>&1; }
if runnable; then echo "$BIN"; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  echo "build-consul: 'go' is not on PATH. Consul is built from source here (it is in neither" >&2
  echo "  Debian nor npm): install Go >= 1.25 (https://go.dev/dl/, or apt-get install golang-go" >&2
  echo "  if your release ships >= 1.25), or put a consul $CONSUL_VERSION binary at $BIN." >&2
  exit 1
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.consul-$CONSUL_VERSION.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if runnable; then echo "$BIN"; exit 0; fi   # another caller built it while we waited

started=$(date +%s)
echo "build-consul: building consul v$CONSUL_VERSION from its Go module (cold: several minutes)" >&2

dir=$(go mod download -json "github.com/hashicorp/consul@v$CONSUL_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -n "$dir" ] && [ -f "$dir/go.mod" ] || { echo "build-consul: module download failed" >&2; exit 1; }

work=$(mktemp -d "$CACHE/build-consul.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -R "$dir/." "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"

# Drop every replace that points at a local directory; keep any that point at a module.
local_replaces=$(sed -nE 's/^[[:space:]]*(replace[[:space:]]+)?([^[:space:]]+)([[:space:]]+v[^[:space:]]+)?[[:space:]]+=>[[:space:]]+\.{1,2}\/.*/\2/p' go.mod)
for old in $local_replaces; do go mod edit -dropreplace="$old"; done
if grep -q '=> \./' go.mod; then echo "build-consul: local replaces remain in go.mod" >&2; exit 1; fi

# -mod=mod records the sub-modules' checksums in go.sum (they were replaced, so absent).
CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$work/consul" .
"$work/consul" version >/dev/null
mv -f "$work/consul" "$BIN"
echo "build-consul: built in $(( $(date +%s) - started ))s" >&2
echo "$BIN"
