#!/usr/bin/env node
// Makes the real node-redlock (npm redlock@5.0.0-beta.2 on ioredis) hold locks in a Redis
// server, so LockDeck can dump its exact keys (capture) or tests can see a live holder (hold).
//
//   node scripts/capture/redlock/capture.mjs capture <redis-url>
//   node scripts/capture/redlock/capture.mjs hold <redis-url> <resource> [ttlMs]
//
// capture: one lock on "capture:redlock-single" and one lock over the two resources
// "capture:redlock-multi-a" + "capture:redlock-multi-b", both for 10 minutes.
// hold: one lock on <resource> for ttlMs (default 10 minutes). No auto-extension, so the
// key's PTTL is exactly what was asked; past it the lock simply expires.
//
// Protocol: prints READY on stdout once held, waits for a line or for stdin to close,
// releases, prints RELEASED and exits 0. Diagnostics go to stderr.
import Redis from "ioredis";
import Redlock, { ExecutionError } from "redlock";

const LONG_MS = 10 * 60 * 1000;

function usage() {
  console.error("usage: capture.mjs capture <redis-url> | hold <redis-url> <resource> [ttlMs]");
  process.exit(2);
}

// Resolves on the first line or on EOF of stdin: both mean "let go".
function stdinSignal() {
  return new Promise((resolve) => {
    process.stdin.on("data", (chunk) => {
      if (chunk.includes(10)) resolve();
    });
    process.stdin.on("end", resolve);
    process.stdin.on("error", resolve);
    process.stdin.resume();
  });
}

async function main() {
  const [mode, url, resource, ttlArg] = process.argv.slice(2);
  if (!url || (mode !== "capture" && mode !== "hold") || (mode === "hold" && !resource)) usage();
  const ttl = ttlArg === undefined ? LONG_MS : Number(ttlArg);
  if (!Number.isInteger(ttl) || ttl <= 0) usage();

  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  // Defaults otherwise (retryCount 10, retryDelay 200 ms, driftFactor 0.01).
  const redlock = new Redlock([client]);
  redlock.on("error", (err) => console.error("redlock:", err.message));

  const locks = [];
  let status = 0;
  try {
    if (mode === "capture") {
      locks.push(await redlock.acquire(["capture:redlock-single"], LONG_MS));
      locks.push(await redlock.acquire(["capture:redlock-multi-a", "capture:redlock-multi-b"], LONG_MS));
    } else {
      locks.push(await redlock.acquire([resource], ttl));
    }
    for (const l of locks) console.error(`held ${l.resources.join(", ")} value=${l.value}`);
    process.stdout.write("READY\n");
    await stdinSignal();
    for (const l of locks) {
      try {
        await l.release();
      } catch (err) {
        // An expired lock cannot be released; it is gone either way.
        if (err instanceof ExecutionError) console.error(`release ${l.resources.join(", ")}: ${err.message} (expired?)`);
        else throw err;
      }
    }
    process.stdout.write("RELEASED\n");
  } catch (err) {
    console.error(err);
    status = 1;
  } finally {
    client.disconnect();
  }
  process.exit(status);
}

main();
