// The live event stream on the console with users (the second server started by scripts/e2e.ts):
// a stream is tied to the session that opened it, and ends with an `end` event when that session
// is signed out; a Last-Event-ID this process did not issue (a restart, another replica) gets a
// resync and the status, not silence.
import { expect, test } from "@playwright/test";
import Redis from "ioredis";
import { randomBytes } from "node:crypto";

const base = process.env.E2E_SECURE_URL!;
const redisUrl = process.env.E2E_SECURE_REDIS_URL!;
const csrf = { "content-type": "application/json", "x-lockdeck-csrf": "1" };
let redis: Redis;
test.beforeAll(() => {
  redis = new Redis(redisUrl);
});
test.afterAll(() => redis.disconnect());

async function signIn(name: string, password: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/login`, { method: "POST", headers: csrf, body: JSON.stringify({ name, password }) });
  expect(res.status, `sign in as ${name}`).toBe(200);
  return /lockdeck_session=[^;]+/.exec(res.headers.get("set-cookie") ?? "")![0];
}

interface Frame {
  id?: string;
  event?: string;
  data?: { lock?: { key: string; fence: string }; connection?: string; reason?: string };
}

/** GET /api/events, read frame by frame in the background. */
async function openStream(cookie: string, lastEventId?: string) {
  const ctl = new AbortController();
  const headers: Record<string, string> = { cookie };
  if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
  const res = await fetch(`${base}/api/events?connection=vault`, { headers, signal: ctl.signal });
  expect(res.status).toBe(200);
  const frames: Frame[] = [];
  let ended = false;
  const reader = res.body!.getReader();
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (r.done) return void (ended = true);
      buf += decoder.decode(r.value, { stream: true });
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const f: Frame = {};
        for (const line of buf.slice(0, end).split("\n")) {
          if (line.startsWith("id: ")) f.id = line.slice(4);
          else if (line.startsWith("event: ")) f.event = line.slice(7);
          else if (line.startsWith("data: ")) f.data = JSON.parse(line.slice(6));
        }
        buf = buf.slice(end + 2);
        if (f.event) frames.push(f);
      }
    }
  })();
  const upserts = () => frames.filter((f) => f.event === "upsert").map((f) => f.data!.lock!);
  return {
    frames,
    upserts,
    ended: () => ended,
    /** Waits (deadline: expect.poll's) until an upsert of this key has arrived. */
    upsertOf: async (key: string) => {
      await expect.poll(() => upserts().some((l) => l.key === key), { message: `an upsert of ${key}` }).toBe(true);
      return upserts().find((l) => l.key === key)!;
    },
    close: () => ctl.abort(),
  };
}

async function newLock(prefix: string): Promise<string> {
  const key = `${prefix}:lock:${Date.now()}:${randomBytes(3).toString("hex")}`;
  await redis.set(key, randomBytes(16).toString("hex"), "PX", 120_000);
  return key;
}

test("signing out ends an open event stream: an `end` event (signed out), then the end of the stream, and no change after", async () => {
  const cookie = await signIn("bo", "bo-pass-1");
  const stream = await openStream(cookie);
  await expect.poll(() => stream.frames[0]?.event).toBe("status");
  const before = await newLock("sse-session");
  expect((await stream.upsertOf(before)).fence, "an operator's stream carries fences").not.toBe("");

  const out = await fetch(`${base}/api/auth/logout`, { method: "POST", headers: { ...csrf, cookie }, body: "{}" });
  expect(out.status).toBe(200);
  expect((await fetch(`${base}/api/connections`, { headers: { cookie } })).status).toBe(401);
  const after = await newLock("sse-session");

  await expect.poll(() => stream.frames.find((f) => f.event === "end")?.data, { message: "an end event" }).toMatchObject({ reason: "signed out" });
  await expect.poll(stream.ended, { message: "the stream to end" }).toBe(true);
  // Ended: nothing more can come, and the change made after sign-out never went out.
  expect(stream.frames.at(-1)!.event).toBe("end");
  expect(stream.upserts().map((l) => l.key)).not.toContain(after);
  // The cookie no longer opens a stream.
  expect((await fetch(`${base}/api/events?connection=vault`, { headers: { cookie } })).status).toBe(401);
  stream.close();
});

test("a Last-Event-ID from another process (ahead of this one's counter, or another epoch) gets resync and status; one of this process replays", async () => {
  const cookie = await signIn("vic", "vic-pass-1");
  const resyncs = async (lastEventId: string) => {
    const s = await openStream(cookie, lastEventId);
    await newLock("sse-epoch"); // a change: without a resync it would come first
    await expect.poll(() => s.frames.length >= 2, { message: `first frames after Last-Event-ID ${lastEventId}` }).toBe(true);
    expect(
      s.frames.slice(0, 2).map((f) => f.event),
      lastEventId,
    ).toEqual(["resync", "status"]);
    expect(s.frames[0].data).toEqual({ connection: "vault" });
    s.close();
  };
  // What a browser sends after the server restarted, or to another replica: ahead of this counter.
  await resyncs("999999999");
  await resyncs("garbage");

  const first = await openStream(cookie);
  await expect.poll(() => first.frames[0]?.event).toBe("status");
  const seen = await newLock("sse-epoch");
  await first.upsertOf(seen);
  const seenId = first.frames.find((f) => f.data?.lock?.key === seen)!.id!;
  expect(seenId).toMatch(/^[0-9a-f]+-\d+$/);
  first.close();
  const [epoch, seq] = seenId.split("-");
  await resyncs(`${epoch}-999999999`);
  await resyncs(`${epoch[0] === "f" ? "e" : "f"}${epoch.slice(1)}-${seq}`); // another epoch, same number

  const missed = await newLock("sse-epoch");
  const again = await openStream(cookie, seenId);
  await again.upsertOf(missed);
  // A replay: it starts right after the id it was given (hub status events may be among what it replays).
  expect(again.frames[0].id, "a replay, not a resync").toBe(`${epoch}-${Number(seq) + 1}`);
  expect(again.frames.some((f) => f.event === "resync")).toBe(false);
  again.close();
});
