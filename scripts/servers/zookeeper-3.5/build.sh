#!/usr/bin/env bash
# Fetches ZooKeeper 3.5's jars (and what they need) from Maven Central once, into a directory
# outside the repo, and prints that directory as its last line. Maven's own repository stays in
# ~/.m2. LOCKDECK_REBUILD=1 fetches again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's:.*<zookeeper.version>\(.*\)</zookeeper.version>.*:\1:p' "$here/pom.xml")"
pom_hash="$(sha256sum < "$here/pom.xml" | cut -c1-12)"
cache="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
dir="$cache/zookeeper-$version-$pom_hash"
if [[ ! -f "$dir/.complete" || -n "${LOCKDECK_REBUILD:-}" ]]; then
  mkdir -p "$cache"
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  (cd "$here" && mvn -B -q -Dstyle.color=never dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp") >&2
  touch "$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
echo "$dir"
