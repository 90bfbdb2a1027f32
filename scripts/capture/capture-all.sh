#!/usr/bin/env bash
# Runs every real lock library against a fresh redis-server and dumps what it wrote into
# lib/formats/testdata/redis/<library>-<scenario>.json. See scripts/capture/README.md.
#
#   bash scripts/capture/capture-all.sh [redisson|redisson-waits|node-redlock|redsync|python-redis-lock ...]
#
# Each capture program prints READY once its locks are held and RELEASED once it let go
# (after a line on stdin); this script dumps at those two moments.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/lib/formats/testdata/redis"
work="$(mktemp -d)"
mkdir -p "$out"

redis_pid=""
prog_pid=""
cleanup() {
  [[ -n "$prog_pid" ]] && kill "$prog_pid" 2>/dev/null || true
  [[ -n "$redis_pid" ]] && kill "$redis_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis: a fresh, empty, non-persistent server on a free loopback port.
start_redis() {
  port="$(free_port)"
  mkdir -p "$work/redis-$port"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/redis-$port" \
    >"$work/redis-$port/log" 2>&1 &
  redis_pid=$!
  url="redis://127.0.0.1:$port"
  for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "redis-server on $port did not start" >&2
  cat "$work/redis-$port/log" >&2
  exit 1
}

stop_redis() {
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$redis_pid"
  wait "$redis_pid" 2>/dev/null || true
  redis_pid=""
}

# wait_for WORD FILE: until the program printed WORD (fails if it died first).
wait_for() {
  for _ in $(seq 1200); do
    grep -qx "$1" "$2" && return 0
    kill -0 "$prog_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "capture program did not print $1; its stderr:" >&2
  cat "$work/prog.err" >&2
  exit 1
}

dump() { # dump SCENARIO PROGRAM
  node "$here/dump-redis.mjs" "$url" "$out/$library-$1.json" \
    --library "$library" --version "$version" --scenario "$1" --program "$2"
}

# session HELD AFTER PROGRAM -- CMD...: run CMD on an empty database, dump it as
# <library>-HELD.json while held and, unless AFTER is "-", as <library>-AFTER.json right
# after it released (python-redis-lock's signal list lives only 1000 ms).
session() {
  local held="$1" after="$2" program="$3"
  shift 4
  redis-cli -p "$port" flushall >/dev/null
  rm -f "$work/fifo" "$work/prog.out" "$work/prog.err"
  mkfifo "$work/fifo"
  "$@" <"$work/fifo" >"$work/prog.out" 2>"$work/prog.err" &
  prog_pid=$!
  exec {to_prog}>"$work/fifo"
  wait_for READY "$work/prog.out"
  dump "$held" "$program"
  echo release >&"$to_prog"
  wait_for RELEASED "$work/prog.out"
  [[ "$after" != "-" ]] && dump "$after" "$program"
  exec {to_prog}>&-
  wait "$prog_pid" || { echo "capture program failed:" >&2; cat "$work/prog.err" >&2; exit 1; }
  prog_pid=""
}

capture_redisson() {
  library=redisson
  local jar
  jar="$("$here/redisson/build.sh" | tail -n1)"
  version="$(sed -n 's:.*<redisson.version>\(.*\)</redisson.version>.*:\1:p' "$here/redisson/pom.xml")"
  local prog="scripts/capture/redisson RedissonCapture"
  start_redis
  session all after-release "$prog capture" -- java -jar "$jar" capture "$url"
  # One scenario per file through hold mode, under application-style names.
  local s name
  for s in rlock:orders:payout fairlock:orders:fair rwlock-read:catalog:prices rwlock-write:catalog:stock \
           semaphore:jobs:workers permit-semaphore:api:quota fencedlock:ledger:append; do
    name="${s#*:}"
    s="${s%%:*}"
    session "$s" - "$prog hold $s $name" -- java -jar "$jar" hold "$url" "$s" "$name"
  done
  # A name with a hash tag: helper keys become "redisson_lock_queue:{orders}:fair", not "…:{{orders}:fair}".
  session fairlock-hashtag - "$prog hold fairlock {orders}:fair" -- java -jar "$jar" hold "$url" fairlock "{orders}:fair"
  stop_redis
}

# Two Redisson clients (two client UUIDs), each holding one fair lock and queued on the other's:
# a real deadlock, so the decoders' owner keys are proven to match across locks.
capture_redisson_waits() {
  library=redisson
  local jar
  jar="$("$here/redisson/build.sh" | tail -n1)"
  version="$(sed -n 's:.*<redisson.version>\(.*\)</redisson.version>.*:\1:p' "$here/redisson/pom.xml")"
  start_redis
  session waits-cycle - "scripts/capture/redisson RedissonWaits orders:a>orders:b orders:b>orders:a" -- \
    java -cp "$jar" lockdeck.capture.RedissonWaits "$url" "orders:a>orders:b" "orders:b>orders:a"
  stop_redis
}

capture_node_redlock() {
  library=node-redlock
  version="$(node -p 'JSON.parse(require("fs").readFileSync("node_modules/redlock/package.json")).version.replace(/^v/, "")')"
  start_redis
  session all - "scripts/capture/redlock/capture.mjs capture" -- node "$here/redlock/capture.mjs" capture "$url"
  stop_redis
}

capture_redsync() {
  library=redsync
  local bin
  bin="$("$here/redsync/build.sh" | tail -n1)"
  version="$(cd "$here/redsync" && go list -m -f '{{.Version}}' github.com/go-redsync/redsync/v4)"
  version="${version#v}"
  start_redis
  session all - "scripts/capture/redsync capture" -- "$bin" capture "$url"
  stop_redis
}

capture_python_redis_lock() {
  library=python-redis-lock
  local py
  py="$("$here/python-redis-lock/setup.sh" | tail -n1)"
  version="$("$py" -c 'import importlib.metadata as m; print(m.version("python-redis-lock"))')"
  start_redis
  session all after-release "scripts/capture/python-redis-lock/capture.py capture" -- \
    "$py" "$here/python-redis-lock/capture.py" capture "$url"
  # The signal list must be in the after-release dump; a slow dump would miss it.
  grep -q '"lock-signal:' "$out/$library-after-release.json" || {
    echo "python-redis-lock: lock-signal list expired before the dump; re-run" >&2
    exit 1
  }
  stop_redis
}

cd "$root"
libs=("$@")
[[ ${#libs[@]} -eq 0 ]] && libs=(redisson redisson-waits node-redlock redsync python-redis-lock)
for lib in "${libs[@]}"; do
  echo "== $lib" >&2
  "capture_${lib//-/_}"
done
ls -1 "$out" >&2
