// A reading replica's first read of a term, as its followers see it (real PostgreSQL, real
// Redis): a follower that starts while the reader is still reading waits for it ("connecting",
// not a failure it would report as ready); a reader whose store is down says so to its
// followers, in its own words; a status written in an earlier term vouches for nothing.

import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PgRig } from "../../test/support/postgres";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { freePort } from "../../scripts/servers/ports";
import { waitFor } from "../../scripts/servers/process";
import { RedisAdapter } from "../stores/redis/adapter";
import { RedisConnectionSchema } from "../stores/redis/config";
import { EventBus } from "../hub/bus";
import { Hub } from "../hub/hub";
import { SharedDb } from "./db";
import { FeedReader, FeedSession } from "./feed";
import { FIRST_READ_WAIT_MS, Replicated } from "./replicated";

let pg: PgRig;
let redisServer: RedisServer;
let redis: Redis;
let db: SharedDb;

interface Replica {
  name: string;
  db: SharedDb;
  session: FeedSession;
  hub: Hub;
  rep: Replicated;
}
const replicas: Replica[] = [];

/** A replica of connection `id` reading `url`; its hub starts only when `start` (else the test starts it). */
function replica(name: string, id: string, url: string, start = true): Replica {
  const rdb = new SharedDb({ url: pg.url, poolMax: 4, statementTimeoutMs: 2_000 });
  const session = new FeedSession(rdb, name);
  const bus = new EventBus();
  const adapter = new RedisAdapter(id, RedisConnectionSchema.parse({ id, kind: "redis", url, patterns: ["first:*"], notifications: "use" }));
  const rep = new Replicated(id, adapter, session, bus);
  const hub = new Hub(id, rep.adapter, bus);
  rep.bind({ all: () => hub.all(), get: (k) => hub.get(k), status: () => hub.statusEvent(), problems: () => hub.currentProblems() });
  if (start) hub.start();
  const r = { name, db: rdb, session, hub, rep };
  replicas.push(r);
  return r;
}

async function leaderRow(id: string): Promise<{ epoch: number; since: number; heartbeat: number }> {
  const { rows } = await db.query<{ epoch: string; since: string; heartbeat: string }>(
    "SELECT epoch, since, heartbeat FROM lockdeck_feed_leaders WHERE connection = $1",
    [id],
  );
  return { epoch: Number(rows[0].epoch), since: Number(rows[0].since), heartbeat: Number(rows[0].heartbeat) };
}

beforeAll(async () => {
  const rig = await startPostgres();
  if (!rig) throw new Error("PostgreSQL binaries are not installed: apt-get install -y postgresql");
  pg = rig;
  redisServer = await startRedis({ notifyKeyspaceEvents: "KA" });
  redis = new Redis(redisServer.url);
  db = new SharedDb({ url: pg.url, poolMax: 2, statementTimeoutMs: 2_000 });
  await db.migrate();
}, 60_000);

afterAll(async () => {
  for (const r of replicas) {
    await r.hub.stop().catch(() => undefined);
    await r.session.close();
    await r.db.close();
  }
  await db?.close();
  redis?.disconnect();
  await redisServer?.stop();
  await pg?.stop();
});

describe("the reader's first read of a term", () => {
  it("a follower started while the reader has not read yet waits for it: 'connecting', never failed; then the reader's view, current", async () => {
    await redis.set("first:lock:a", "tok-a-0123456789", "PX", 120_000);
    // The reader is elected, but its hub has not read the store yet (it starts below).
    const reader = replica("reader", "w", redisServer.url, false);
    await waitFor(async () => reader.rep.role === "leader", { timeoutMs: 10_000, what: "the reader elected" });
    const follower = replica("follower", "w", redisServer.url);
    await waitFor(async () => follower.rep.role === "follower", { timeoutMs: 10_000, what: "a follower" });
    // Past one health check (every 3 s) and one heartbeat (every 2 s), well within the follower's wait.
    const elected = await leaderRow("w");
    await new Promise((r) => setTimeout(r, Math.min(3_500, FIRST_READ_WAIT_MS / 2)));
    const waiting = follower.hub.statusEvent();
    // What /api/ready counts as "no first snapshot yet" (lib/ops/ready.ts), not as a failed store.
    expect({ observedAt: waiting.observedAt, status: waiting.status, message: waiting.message }).toEqual({
      observedAt: null,
      status: "unreachable",
      message: "connecting",
    });
    // The reader is alive before its first read: its heartbeat goes on, so it is not taken for dead.
    expect((await leaderRow("w")).heartbeat).toBeGreaterThan(elected.since);
    expect((await new FeedReader(db, "w").status())?.published).toBeNull();

    reader.hub.start();
    const started = Date.now();
    await waitFor(async () => follower.hub.get("first:lock:a") !== undefined && follower.hub.statusEvent().status === "ok" && !follower.hub.isStale(), {
      timeoutMs: 5_000,
      what: "the follower holds the reader's first read, current",
    });
    // Woken by the reader's NOTIFY (or the 1 s poll), not by a retry after a failure.
    expect(Date.now() - started).toBeLessThan(2_500);
  }, 60_000);

  it("a status written in an earlier term vouches for nothing: after an election followers wait for the new term's read", async () => {
    const reader = new FeedReader(db, "w");
    expect((await reader.status())?.published?.status.status).toBe("ok");
    // What another replica's election does to the row: a new term.
    await db.query("UPDATE lockdeck_feed_leaders SET epoch = epoch + 1 WHERE connection = 'w'");
    expect((await reader.status())?.published).toBeNull();
    // The old reader's next write is refused (superseded); it steps down, one replica is elected,
    // reads Redis and publishes: the follower's view is current again, with what changed meanwhile.
    await redis.set("first:lock:b", "tok-b-0123456789", "PX", 120_000);
    const term = (await leaderRow("w")).epoch;
    await waitFor(async () => (await leaderRow("w")).epoch > term && (await reader.status())?.published !== null, {
      timeoutMs: 15_000,
      what: "a new term, published",
    });
    for (const r of replicas.filter((x) => x.rep.role === "follower"))
      await waitFor(async () => r.hub.get("first:lock:b") !== undefined && r.hub.statusEvent().status === "ok", {
        timeoutMs: 10_000,
        what: `${r.name} current under the new term`,
      });
  }, 60_000);

  it("a reader whose store is down says so to its followers, in its own words and by name", async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const reader = replica("reader-d", "d", dead);
    await waitFor(async () => reader.rep.role === "leader", { timeoutMs: 10_000, what: "the reader elected" });
    const follower = replica("follower-d", "d", dead);
    const started = Date.now();
    await waitFor(
      async () => {
        const s = follower.hub.statusEvent();
        return s.status === "unreachable" && s.message.endsWith("(as read by reader-d)");
      },
      { timeoutMs: FIRST_READ_WAIT_MS, what: "the follower names the reader's failure" },
    );
    expect(follower.hub.statusEvent().message).not.toMatch(/connecting|being elected|silent|first read/);
    // From the reader's first failed check (every 3 s), not from the follower's own wait running out.
    expect(Date.now() - started).toBeLessThan(FIRST_READ_WAIT_MS - 3_000);
  }, 60_000);
});
