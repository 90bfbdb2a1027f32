// The demo workload pointed at a real Redis: the catalogue's locks and worker behaviour, each
// lock taken exactly as a real client library takes it, so what lands in Redis is what that
// library writes (shared/reference/lock-formats.md §1):
//
//   bursty, semaphore, crashy   node-redlock v5: `<name>` = 32 hex chars with PX <ms>, via its
//                               acquire script; 10 retries 200 ± 100 ms apart, no queue. Crashy
//                               holders auto-extend like using() (500 ms before expiry) until
//                               they die; then the key runs down. (Redis semaphores are taken
//                               as redlock mutexes: no library here keeps per-holder permits.)
//   steady                      python-redis-lock 4.x, auto_renewal: `lock:<name>` = base64 of
//                               18 bytes, `SET … EX <s> NX`, extended every 2/3 of expire;
//                               waiters BLPOP `lock-signal:<name>`; release pushes the signal.
//   no-expiry                   crashed holders that SET without expiry and never release:
//                               the first one hand-rolled (`SET lock:<name> 1 NX`, a
//                               non-unique token), the rest python-redis-lock with expire=None.
//
// Client libraries are imported only under lib/stores/<kind>/, so the caller passes a factory
// for connections of the small RedisCommandClient shape; `(url) => new Redis(url)` (ioredis)
// fits as is. The workload opens one connection for commands and one per python-redis-lock
// worker that blocks in BLPOP, and closes all of them in stop().

import { demoLocks, workersFor, type DemoLock, type WorkerPlan } from "./catalogue";
import { createRng } from "./prng";
import { createScheduler } from "./scheduler";
import type { WorkloadLogEntry } from "./workload";

/**
 * The memory workload's log entry (lock = catalogue name, holderId = the token written to
 * Redis), plus the Redis key the library uses for that lock (`<name>` or `lock:<name>`).
 * Times are the client's Date.now() when the reply arrived; a release is logged only when the
 * library's release script reports that it deleted our token.
 */
export type RedisWorkloadLogEntry = WorkloadLogEntry & { key: string };

/** One Redis connection, as far as the workload needs it. */
export interface RedisCommandClient {
  /** Sends one command; resolves with the reply, rejects on an error reply or a lost connection. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** Closes the connection at once; pending commands (a blocked BLPOP) reject. */
  disconnect(): void;
}

export interface RedisWorkloadOptions {
  /** Opens a connection to `url`. */
  connect: (url: string) => RedisCommandClient;
  /** Same seed, same choices (timing still depends on the server). Default 1. */
  seed?: number;
  /** How many catalogue locks to use. Default 28. */
  locks?: number;
  /** Command errors the workers back off from (Redis restarting, say). Default: ignored. */
  onError?: (error: unknown) => void;
  /** Ground truth for tests (lib/history): what the workers did, as they saw it. */
  log?: (e: RedisWorkloadLogEntry) => void;
}

// node-redlock v5 scripts (src/index.ts ACQUIRE_SCRIPT, EXTEND_SCRIPT, RELEASE_SCRIPT), same
// commands and replies; here always one resource per lock.
export const REDLOCK_ACQUIRE = `
for _, key in ipairs(KEYS) do
  if redis.call("exists", key) == 1 then return 0 end
end
for _, key in ipairs(KEYS) do redis.call("set", key, ARGV[1], "PX", ARGV[2]) end
return #KEYS`;
export const REDLOCK_EXTEND = `
for _, key in ipairs(KEYS) do
  if redis.call("get", key) ~= ARGV[1] then return 0 end
end
for _, key in ipairs(KEYS) do redis.call("set", key, ARGV[1], "PX", ARGV[2]) end
return #KEYS`;
export const REDLOCK_RELEASE = `
local count = 0
for _, key in ipairs(KEYS) do
  if redis.call("get", key) == ARGV[1] then
    redis.pcall("del", key)
    count = count + 1
  end
end
return count`;

// python-redis-lock 4.x scripts (UNLOCK_SCRIPT, EXTEND_SCRIPT); KEYS = lock, signal.
/** ARGV = id, signal_expire (ms). 0 = released, 1 = not held by this id. */
export const PYLOCK_UNLOCK = `
if redis.call("get", KEYS[1]) ~= ARGV[1] then return 1 end
redis.call("del", KEYS[2])
redis.call("lpush", KEYS[2], 1)
redis.call("pexpire", KEYS[2], ARGV[2])
redis.call("del", KEYS[1])
return 0`;
/** ARGV = id, expire (s). 0 = extended, 1 = not held by this id, 2 = the key has no TTL. */
export const PYLOCK_EXTEND = `
if redis.call("get", KEYS[1]) ~= ARGV[1] then return 1 end
if redis.call("ttl", KEYS[1]) < 0 then return 2 end
redis.call("expire", KEYS[1], ARGV[2])
return 0`;

/** python-redis-lock's default signal_expire. */
const SIGNAL_EXPIRE_MS = 1000;
/** How long stop() waits for workers to give their locks back before closing anyway. */
const STOP_GRACE_MS = 5000;

/** How one client library takes, keeps and gives back one lock. */
interface LockClient {
  /** The Redis key this library writes for the lock. */
  readonly key: string;
  newToken(): string;
  tryAcquire(token: string, ttlMs: number | null): Promise<boolean>;
  /** The library's pause between tries: a sleep, or blocking on a signal. */
  waitTurn(ttlMs: number | null): Promise<void>;
  readonly maxTries: number;
  /** Ms from a (re)acquire to the next renewal; null = this client does not renew. */
  renewAfter(ttlMs: number): number | null;
  /** False when the lock is no longer ours. */
  extend(token: string, ttlMs: number): Promise<boolean>;
  /** True when our token was there and is now deleted. */
  release(token: string): Promise<boolean>;
}

export async function startRedisWorkload(url: string, opts: RedisWorkloadOptions): Promise<{ stop(): Promise<void> }> {
  const main = opts.connect(url);
  try {
    await main.call("PING");
  } catch (error) {
    main.disconnect();
    throw error;
  }
  const rng = createRng(opts.seed ?? 1);
  const timers = createScheduler(rng);
  const blockers = new Set<RedisCommandClient>();
  const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));

  const redlock = (key: string, autoExtend: boolean): LockClient => ({
    key,
    newToken: () => rng.hex(16),
    tryAcquire: async (token, ttlMs) => (await main.call("EVAL", REDLOCK_ACQUIRE, 1, key, token, ttlMs!)) === 1,
    waitTurn: () => timers.sleep([100, 300]),
    maxTries: 11,
    // using(): extend when the local validity (duration minus 1% drift + 2 ms) has 500 ms left.
    renewAfter: (ttlMs) => (autoExtend ? ttlMs - (Math.round(0.01 * ttlMs) + 2) - 500 : null),
    extend: async (token, ttlMs) => (await main.call("EVAL", REDLOCK_EXTEND, 1, key, token, ttlMs)) === 1,
    release: async (token) => (await main.call("EVAL", REDLOCK_RELEASE, 1, key, token)) === 1,
  });

  const pythonRedisLock = (name: string, fixedId?: string): LockClient => {
    const key = `lock:${name}`;
    const signal = `lock-signal:${name}`;
    let blocker: RedisCommandClient | undefined;
    return {
      key,
      newToken: () => fixedId ?? rng.base64(18),
      // redis-py's set(name, id, nx=True, ex=expire) sends: SET <name> <id> [EX <s>] NX
      tryAcquire: async (token, ttlMs) =>
        (await (ttlMs === null ? main.call("SET", key, token, "NX") : main.call("SET", key, token, "EX", seconds(ttlMs), "NX"))) === "OK",
      // blocking acquire with no timeout: BLPOP for `expire` seconds (0 = forever), then retry.
      waitTurn: async (ttlMs) => {
        if (timers.stopped) return;
        if (!blocker) blockers.add((blocker = opts.connect(url)));
        await blocker.call("BLPOP", signal, ttlMs === null ? 0 : seconds(ttlMs));
      },
      maxTries: Infinity,
      renewAfter: (ttlMs) => (seconds(ttlMs) * 1000 * 2) / 3,
      extend: async (token, ttlMs) => (await main.call("EVAL", PYLOCK_EXTEND, 2, key, signal, token, seconds(ttlMs))) === 0,
      release: async (token) => (await main.call("EVAL", PYLOCK_UNLOCK, 2, key, signal, token, SIGNAL_EXPIRE_MS)) === 0,
    };
  };

  const firstNoExpiry = demoLocks(opts.locks).find((l) => l.profile === "no-expiry");
  const clientFor = (lock: DemoLock, index: number): LockClient => {
    switch (lock.profile) {
      case "steady":
        return pythonRedisLock(lock.name);
      case "no-expiry":
        return pythonRedisLock(lock.name, lock === firstNoExpiry && index === 0 ? "1" : undefined);
      default:
        return redlock(lock.name, lock.profile === "crashy");
    }
  };

  /** Holds for `forMs`, renewing on the client's schedule at most `renewals` times. False if the lock was lost. */
  async function keep(client: LockClient, token: string, ttlMs: number | null, forMs: number, renewals: number) {
    const every = ttlMs === null ? null : client.renewAfter(ttlMs);
    for (let left = forMs; left > 0 && !timers.stopped;) {
      const step = every !== null && renewals > 0 ? Math.min(left, every) : left;
      await timers.sleep([step, step]);
      left -= step;
      if (left > 0 && every !== null && renewals > 0 && !timers.stopped) {
        renewals--;
        if (!(await client.extend(token, ttlMs!))) return false;
      }
    }
    return true;
  }

  async function runWorker(lock: DemoLock, client: LockClient, plan: WorkerPlan): Promise<void> {
    const log = (kind: "crashed" | "gave-up", holderId: string) => opts.log?.({ kind, at: Date.now(), lock: lock.name, key: client.key, holderId });
    // A worker that locks without expiry is a one-shot that dies holding it. If the key is
    // still there from an earlier run, that earlier crash stands in for this one.
    const tries = plan.ttlMs === null ? 1 : client.maxTries;
    while (!timers.stopped) {
      try {
        const token = client.newToken();
        const ttlMs = plan.ttlMs && timers.draw(plan.ttlMs);
        let held = false;
        const askedAt = Date.now();
        for (let i = 0; i < tries && !held && !timers.stopped; i++) {
          if (i > 0) await client.waitTurn(ttlMs);
          // stop() releases the holders, whose signal can wake a BLPOP before its connection
          // closes: a stopped worker must not take the lock then.
          if (timers.stopped) break;
          held = await client.tryAcquire(token, ttlMs);
        }
        const acquiredAt = Date.now();
        if (held) opts.log?.({ kind: "acquired", at: acquiredAt, lock: lock.name, key: client.key, holderId: token, waitedMs: acquiredAt - askedAt });
        else if (!timers.stopped && ttlMs !== null) log("gave-up", token);
        if (held && rng.chance(plan.crashChance) && !timers.stopped) {
          log("crashed", token);
          if (ttlMs === null) return; // dead for good: the key stays forever
          // Renews a few times, goes silent, and is restarted once its lease has run out.
          const renewals = rng.int(0, 2);
          const every = client.renewAfter(ttlMs) ?? 0;
          await keep(client, token, ttlMs, renewals * every + 1, renewals);
          await timers.sleep([ttlMs + 2000, ttlMs + 10_000]);
          continue;
        }
        if (held) {
          try {
            await keep(client, token, ttlMs, timers.draw(plan.holdMs), Infinity);
          } finally {
            // also on stop(): a live worker gives its lock back
            if (await client.release(token)) {
              const at = Date.now();
              opts.log?.({ kind: "released", at, lock: lock.name, key: client.key, holderId: token, heldMs: at - acquiredAt });
            }
          }
        }
        await timers.sleep(plan.thinkMs);
      } catch (error) {
        if (timers.stopped) return;
        opts.onError?.(error);
        await timers.sleep([1000, 5000]);
      }
    }
  }

  const workers: Promise<void>[] = [];
  for (const lock of demoLocks(opts.locks)) {
    workersFor(lock, rng).forEach((plan, index) => {
      const client = clientFor(lock, index);
      const start = index === 0 ? Promise.resolve() : timers.sleep([200, 3000]);
      workers.push(start.then(() => (timers.stopped ? undefined : runWorker(lock, client, plan))));
    });
  }

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        timers.stop(); // wakes every sleeping worker: holders release, the rest return
        for (const blocker of blockers) blocker.disconnect(); // ends blocked BLPOPs
        let grace: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([Promise.allSettled(workers), new Promise<void>((resolve) => (grace = setTimeout(resolve, STOP_GRACE_MS)))]);
        clearTimeout(grace);
        main.disconnect();
      })();
      return stopping;
    },
  };
}
