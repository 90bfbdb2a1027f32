#!/usr/bin/env bash
# Builds the Curator capture/hold fat jar once and caches it outside the repo.
# Prints the jar path as its last line. Maven's own repository stays in ~/.m2.
# The jar is keyed by Curator's version and a hash of the Java source, so editing the source
# rebuilds it; LOCKDECK_REBUILD=1 forces a rebuild.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's:.*<curator.version>\(.*\)</curator.version>.*:\1:p' "$here/pom.xml")"
src_hash="$(cat "$here/pom.xml" "$here"/src/main/java/lockdeck/capture/*.java | sha256sum | cut -c1-12)"
cache="${LOCKDECK_CACHE:-$HOME/.cache/lockdeck}"
jar="$cache/curator-capture-$version-$src_hash.jar"
if [[ ! -f "$jar" || -n "${LOCKDECK_REBUILD:-}" ]]; then
  mkdir -p "$cache"
  (cd "$here" && mvn -B -q -Dstyle.color=never -DskipTests package) >&2
  cp "$here/target/curator-capture.jar" "$jar.tmp.$$"
  mv "$jar.tmp.$$" "$jar"
fi
echo "$jar"
