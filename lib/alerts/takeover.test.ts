// Alerts across a takeover, on a real PostgreSQL and a real Redis: two "replicas" (each its own
// feed session, bus, hub over the Replicated adapter, and Alerter sending only while it is not a
// follower, as lib/registry.ts wires it) post to one webhook receiver. The reader sends a firing
// alert, the condition ends, and the reader dies before its resolve reached the receiver (not
// sent yet, or waiting for a retry): the replica that takes over sends the resolve, once. An
// alert that never fired is not resolved, and one still firing is announced again, as before.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReplicaRig, type Replica } from "../../test/support/replicas";
import { webhookSink, type WebhookSink } from "../../test/support/webhook";
import { waitFor } from "../../scripts/servers/process";
import { RedisAdapter } from "../stores/redis/adapter";
import { RedisConnectionSchema } from "../stores/redis/config";
import { EventBus } from "../hub/bus";
import { Hub } from "../hub/hub";
import { SharedDb } from "../shared/db";
import { FeedSession, ELECT_MS } from "../shared/feed";
import { Replicated } from "../shared/replicated";
import { Alerter } from "./alerter";
import { AlertsSchema } from "./config";

const ID = "r";
let rig: ReplicaRig;
let sink: WebhookSink;
const alerters = new Map<Replica, Alerter>();

beforeAll(async () => {
  rig = await ReplicaRig.start();
  sink = await webhookSink();
}, 60_000);

afterAll(async () => {
  for (const a of alerters.values()) a.stop();
  await rig?.stop();
  await sink?.close();
});

/** A replica as a console process has it: its hub applies a stale rule (held > 400 ms), its Alerter sends unless it follows. Ticks are driven by hand. */
function replica(name: string): Replica {
  const db = new SharedDb({ url: rig.pg.url, poolMax: 4, statementTimeoutMs: 2_000 });
  const session = new FeedSession(db, name);
  const bus = new EventBus();
  const adapter = new RedisAdapter(
    ID,
    RedisConnectionSchema.parse({ id: ID, kind: "redis", url: rig.redisServer.url, patterns: ["tk:*"], notifications: "use" }),
  );
  const rep = new Replicated(ID, adapter, session, bus);
  const hub = new Hub(ID, rep.adapter, bus, { rules: { heldLongerThanMs: 400 }, rulesIntervalMs: 200 });
  rep.bind({ all: () => hub.all(), get: (k) => hub.get(k), status: () => hub.statusEvent(), problems: () => hub.currentProblems() });
  const cfg = AlertsSchema.parse({
    webhooks: [
      { name: "ops", kind: "json", url: `${sink.url}/hook?from=${name}` },
      { name: "chat", kind: "slack", url: `${sink.url}/slack?from=${name}` },
    ],
    retry: { maxAttempts: 5, initialBackoffMs: 1_000, maxBackoffMs: 10_000 },
  });
  const alerter = new Alerter(bus, cfg, { records: () => hub.all(), detail: () => undefined, sends: () => rep.role !== "follower" }, 3_600_000).start();
  hub.start();
  const r = { name, db, session, hub, rep, bus };
  rig.replicas.push(r);
  alerters.set(r, alerter);
  return r;
}

/** As kill -9 does: nothing more is sent (what its queues held is lost), its session closes. */
async function kill(r: Replica): Promise<void> {
  alerters.get(r)!.stop();
  alerters.delete(r);
  await rig.kill(r);
}

const tick = (r: Replica) => alerters.get(r)!.tick(Date.now());

interface Posted {
  status: "firing" | "resolved";
  lock: string;
  endsAt?: string;
}
/** What the json webhook received from one replica, alert by alert. */
const posted = (from: string): Posted[] =>
  sink.received
    .filter((x) => x.path === `/hook?from=${from}`)
    .flatMap((x) => (x.body as { alerts: Posted[] }).alerts.map(({ status, lock, endsAt }) => ({ status, lock, endsAt })));
const slackTexts = (from: string) => sink.received.filter((x) => x.path === `/slack?from=${from}`).map((x) => (x.body as { text: string }).text);

const heldTooLong = (r: Replica, key: string) => !!r.hub.get(key)?.warnings.includes("held-too-long");
const gone = (r: Replica, key: string) => r.hub.get(key) === undefined;

async function roles(): Promise<{ reader: Replica; follower: Replica }> {
  await waitFor(async () => rig.replicas.filter((r) => r.rep.role === "leader").length === 1 && rig.replicas.some((r) => r.rep.role === "follower"), {
    timeoutMs: 3 * ELECT_MS + 10_000,
    what: "one reader, one follower",
  });
  return { reader: rig.replicas.find((r) => r.rep.role === "leader")!, follower: rig.replicas.find((r) => r.rep.role === "follower")! };
}

async function onBoth(rs: Replica[], check: (r: Replica) => boolean, what: string): Promise<void> {
  for (const r of rs) await waitFor(async () => check(r), { timeoutMs: 15_000, what: `${r.name}: ${what}` });
}

describe("alerts across a takeover", () => {
  it("the reader sends firing, the condition ends, the reader dies before resolving: the replica that takes over sends the resolve, once", async () => {
    await rig.redis.set("tk:1:ended", "tok-ended-0123456789", "PX", 120_000);
    await rig.redis.set("tk:1:kept", "tok-kept-0123456789", "PX", 120_000);
    replica("a");
    replica("b");
    const { reader, follower } = await roles();
    await onBoth([reader, follower], (r) => heldTooLong(r, "tk:1:ended") && heldTooLong(r, "tk:1:kept"), "both locks held too long");
    // Each replica ticks every second: the reader sends the two firing alerts, the follower nothing.
    await Promise.all([tick(reader), tick(follower)]);
    expect(posted(reader.name).map((p) => `${p.status} ${p.lock}`)).toEqual(expect.arrayContaining(["firing tk:1:ended", "firing tk:1:kept"]));
    expect(posted(reader.name)).toHaveLength(2);
    expect(posted(follower.name)).toEqual([]);

    // A lock that breaks the rule and goes before any tick: its alert never fired, on either replica.
    await rig.redis.set("tk:1:brief", "tok-brief-0123456789", "PX", 120_000);
    await onBoth([reader, follower], (r) => heldTooLong(r, "tk:1:brief"), "brief held too long");
    await rig.redis.del("tk:1:brief");
    await onBoth([reader, follower], (r) => gone(r, "tk:1:brief"), "brief gone");

    // The condition ends. The follower sees it end (and ticks, as a follower: it sends nothing);
    // the reader dies before its next tick would have sent the resolve.
    await rig.redis.del("tk:1:ended");
    await onBoth([reader, follower], (r) => gone(r, "tk:1:ended"), "the lock gone");
    await tick(follower);
    expect(posted(follower.name)).toEqual([]);
    await kill(reader);
    await waitFor(async () => follower.rep.role === "leader" && follower.hub.statusEvent().status === "ok", {
      timeoutMs: 3 * ELECT_MS + 10_000,
      what: "the follower reads the store",
    });

    await tick(follower);
    const sent = posted(follower.name);
    expect(sent.filter((p) => p.status === "resolved").map((p) => p.lock)).toEqual(["tk:1:ended"]);
    expect(sent.find((p) => p.status === "resolved")?.endsAt).toEqual(expect.any(String));
    // Still firing: announced again by the new reader (as before); brief never fired: no resolve.
    expect(sent.filter((p) => p.status === "firing").map((p) => p.lock)).toEqual(["tk:1:kept"]);
    expect(slackTexts(follower.name)).toEqual(["LockDeck: 1 firing, 1 resolved"]);
    // Once.
    await tick(follower);
    expect(posted(follower.name)).toHaveLength(2);
  }, 90_000);

  it("the reader's resolve is waiting for a retry (webhook failing) when it dies: the replica that takes over sends it", async () => {
    await rig.redis.set("tk:2:ended", "tok-ended-0123456789", "PX", 120_000);
    replica("c");
    const { reader, follower } = await roles();
    expect(follower.name).toBe("c");
    await onBoth([reader, follower], (r) => heldTooLong(r, "tk:2:ended"), "the lock held too long");
    const before = posted(reader.name).length;
    await Promise.all([tick(reader), tick(follower)]);
    expect(
      posted(reader.name)
        .slice(before)
        .map((p) => `${p.status} ${p.lock}`),
    ).toEqual(["firing tk:2:ended"]);

    await rig.redis.del("tk:2:ended");
    await onBoth([reader, follower], (r) => gone(r, "tk:2:ended"), "the lock gone");
    // The reader tries the resolve; the receiver fails it (both webhooks): it waits for a retry.
    sink.failNext(2, 503);
    await Promise.all([tick(reader), tick(follower)]);
    expect(posted(reader.name).slice(before)).toHaveLength(1);
    expect(
      alerters
        .get(reader)!
        .webhookStatus()
        .map((w) => w.pending),
    ).toEqual([1, 1]);
    await kill(reader);
    await waitFor(async () => follower.rep.role === "leader" && follower.hub.statusEvent().status === "ok", {
      timeoutMs: 3 * ELECT_MS + 10_000,
      what: "c reads the store",
    });

    await tick(follower);
    expect(posted(follower.name).filter((p) => p.status === "resolved")).toEqual([{ status: "resolved", lock: "tk:2:ended", endsAt: expect.any(String) }]);
  }, 90_000);
});
