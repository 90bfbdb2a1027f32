#!/usr/bin/env bash
# Builds the Redisson capture/hold fat jar once and caches it outside the repo.
# Prints the jar path as its last line. Maven's own repository stays in ~/.m2.
# The jar is keyed by Redisson's version and a hash of the Java source, so editing the source
# rebuilds it; LOCKDECK_REBUILD=1 forces a rebuild.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's:.*<redisson.version>\(.*\)</redisson.version>.*:\1:p' "$here/pom.xml")"
cache="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
src_hash="$(cat "$here/pom.xml" "$here"/src/main/java/lockdeck/capture/*.java | sha256sum | cut -c1-12)"
jar="$cache/redisson-capture-$version-$src_hash.jar"
if [[ ! -f "$jar" || -n "${LOCKDECK_REBUILD:-}" ]]; then
  mkdir -p "$cache"
  (cd "$here" && mvn -B -q -Dstyle.color=never -DskipTests package) >&2
  cp "$here/target/redisson-capture.jar" "$jar.tmp.$$"
  mv "$jar.tmp.$$" "$jar"
fi
echo "$jar"
