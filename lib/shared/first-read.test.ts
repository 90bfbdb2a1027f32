// A reading replica's first read of a term, as its followers see it (real PostgreSQL, real
// Redis): a follower that starts while the reader is still reading waits for it ("connecting",
// not a failure it would report as ready); a reader whose store is down says so to its
// followers, in its own words; a status written in an earlier term vouches for nothing.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReplicaRig } from "../../test/support/replicas";
import { freePort } from "../../scripts/servers/ports";
import { waitFor } from "../../scripts/servers/process";
import { SharedDb } from "./db";
import { FeedReader } from "./feed";
import { FIRST_READ_WAIT_MS } from "./replicated";

let rig: ReplicaRig;
/** The test's own pool: the leader rows and statuses as followers read them. */
let db: SharedDb;

/** A replica of connection `id` reading `url`; its hub starts only when `start` (else the test starts it). */
const replica = (name: string, id: string, url: string, start = true) => rig.replica(name, { id, url, patterns: ["first:*"], start });

async function leaderRow(id: string): Promise<{ epoch: number; since: number; heartbeat: number }> {
  const { rows } = await db.query<{ epoch: string; since: string; heartbeat: string }>(
    "SELECT epoch, since, heartbeat FROM lockdeck_feed_leaders WHERE connection = $1",
    [id],
  );
  return { epoch: Number(rows[0].epoch), since: Number(rows[0].since), heartbeat: Number(rows[0].heartbeat) };
}

beforeAll(async () => {
  rig = await ReplicaRig.start();
  db = new SharedDb({ url: rig.pg.url, poolMax: 2, statementTimeoutMs: 2_000 });
  await db.migrate();
}, 60_000);

afterAll(async () => {
  await db?.close();
  await rig?.stop();
});

describe("the reader's first read of a term", () => {
  it("a follower started while the reader has not read yet waits for it: 'connecting', never failed; then the reader's view, current", async () => {
    await rig.redis.set("first:lock:a", "tok-a-0123456789", "PX", 120_000);
    // The reader is elected, but its hub has not read the store yet (it starts below).
    const reader = replica("reader", "w", rig.redisServer.url, false);
    await waitFor(async () => reader.rep.role === "leader", { timeoutMs: 10_000, what: "the reader elected" });
    const follower = replica("follower", "w", rig.redisServer.url);
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
    await rig.redis.set("first:lock:b", "tok-b-0123456789", "PX", 120_000);
    const term = (await leaderRow("w")).epoch;
    await waitFor(async () => (await leaderRow("w")).epoch > term && (await reader.status())?.published !== null, {
      timeoutMs: 15_000,
      what: "a new term, published",
    });
    for (const r of rig.replicas.filter((x) => x.rep.role === "follower"))
      await waitFor(async () => r.hub.get("first:lock:b") !== undefined && r.hub.statusEvent().status === "ok", {
        timeoutMs: 10_000,
        what: `${r.name} current under the new term`,
      });
  }, 60_000);

  it("a status written without naming its term (a replica of the previous version, mid-upgrade) counts for the term that wrote it", async () => {
    const reader = new FeedReader(db, "v");
    const status = JSON.stringify({ status: "ok", message: "", mode: "live", observedAt: new Date().toISOString(), consistency: "leader" });
    // The previous version's statements: its leader row, then its status upsert, no epoch column.
    const write = () =>
      db.query(
        `INSERT INTO lockdeck_feed_status (connection, status, problems, at) VALUES ('v', $1, '[]', $2)
         ON CONFLICT (connection) DO UPDATE SET status = EXCLUDED.status, problems = EXCLUDED.problems, at = EXCLUDED.at`,
        [status, Date.now()],
      );
    await db.query("INSERT INTO lockdeck_feed_leaders (connection, epoch, replica, since, heartbeat) VALUES ('v', 7, 'old', $1, $1)", [Date.now()]);
    await write();
    expect((await reader.status())?.published?.status.status).toBe("ok");
    // A new term: the old status no longer vouches; the new term's own write does.
    await db.query("UPDATE lockdeck_feed_leaders SET epoch = 8 WHERE connection = 'v'");
    expect((await reader.status())?.published).toBeNull();
    await write();
    expect((await reader.status())?.published?.status.status).toBe("ok");
  });

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
