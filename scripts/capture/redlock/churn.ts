// node-redlock contenders for the race harness (scripts/servers/race.ts), in this process:
// each is its own ioredis client and its own Redlock, taking and releasing one resource in a
// loop. node-redlock's release is its compare-and-delete script; it fails (ExecutionError)
// exactly when the key no longer holds this lock's value: the holding was lost, not released.
// Plain Redis locks have no fencing token, so there is no register write here.

import Redis from "ioredis";
import { createRequire } from "node:module";
import path from "node:path";
import type { Churn, Holding } from "../../servers/race";

// By file: tsconfig maps the bare "redlock" to its .d.ts (its exports have no types), and
// Playwright's loader follows tsconfig paths at run time.
const REDLOCK_CJS = path.resolve(__dirname, "../../../node_modules/redlock/dist/cjs/index.js");
const { default: Redlock, ExecutionError } = createRequire(__filename)(REDLOCK_CJS) as typeof import("redlock");

export function startRedlockChurn(url: string, resource: string, contenders: number): Churn {
  let stopping = false;
  const holdings: Holding[] = [];
  const clients: Redis[] = [];
  const loops = Array.from({ length: contenders }, async (_, i) => {
    const who = `c${i}`;
    const client = new Redis(url);
    clients.push(client);
    const redlock = new Redlock([client], { retryCount: 20, retryDelay: 10, retryJitter: 10 });
    redlock.on("error", () => {});
    while (!stopping) {
      let lock;
      try {
        lock = await redlock.acquire([resource], 60_000);
      } catch (err) {
        if (err instanceof ExecutionError) continue;
        throw err;
      }
      const from = Date.now();
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
      let end: Holding["end"] = "released";
      try {
        await lock.release();
      } catch (err) {
        end = err instanceof ExecutionError ? "lost" : "unknown";
      }
      holdings.push({ who, id: lock.value, from, to: Date.now(), end, late: "" });
    }
  });
  let stopped: Promise<Holding[]> | null = null;
  return {
    label: "node-redlock",
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        await Promise.all(loops);
        for (const c of clients) c.disconnect();
        return holdings;
      })()),
  };
}
