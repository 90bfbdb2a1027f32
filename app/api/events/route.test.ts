// GET /api/events as the server runs it (handler, guard, file sessions, the bus), on a console
// with users: an open stream ends when its session does or its role no longer allows what it
// sends, and a Last-Event-ID this process did not issue gets the resync a first visit gets.

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigSchema, type Config } from "@/lib/config";
import { hashPassword } from "@/lib/auth/scrypt.mjs";
import type { Registry } from "@/lib/registry";
import { decodeRedis } from "@/lib/formats/redis";

const g = globalThis as unknown as { __lockdeckConfig?: Config; __lockdeckRegistry?: Registry };
const HOST = "127.0.0.1:3000";
const csrf = { "content-type": "application/json", "x-lockdeck-csrf": "1", host: HOST };

let reg: Registry;
let events: typeof import("./route");
let login: typeof import("../auth/login/route");
let logout: typeof import("../auth/logout/route");

beforeAll(async () => {
  const users = await Promise.all(
    [
      ["ana", "operator"],
      ["vic", "viewer"],
    ].map(async ([name, role]) => ({ name, role, passwordHash: await hashPassword(`${name}-pass-1`) })),
  );
  g.__lockdeckConfig = ConfigSchema.parse({
    connections: [{ id: "m", kind: "memory", workload: false }],
    dataDir: mkdtempSync(path.join(tmpdir(), "ld-events-")),
    history: { enabled: false },
    auth: { users, loginRateLimit: { max: 100, perSeconds: 60, maxPerName: 100 } },
  });
  events = await import("./route");
  login = await import("../auth/login/route");
  logout = await import("../auth/logout/route");
  reg = (await import("@/lib/registry")).registry();
});
afterAll(async () => {
  for (const c of reg.connections.values()) await c.hub.stop();
  delete g.__lockdeckRegistry;
  delete g.__lockdeckConfig;
});
afterEach(() => {
  vi.useRealTimers();
  for (const u of reg.config.auth.users) u.role = u.name === "ana" ? "operator" : "viewer";
});

async function signIn(name: string): Promise<string> {
  const res = await login.POST(
    new Request(`http://${HOST}/api/auth/login`, { method: "POST", headers: csrf, body: JSON.stringify({ name, password: `${name}-pass-1` }) }),
  );
  expect(res.status).toBe(200);
  return /lockdeck_session=[^;]+/.exec(res.headers.get("set-cookie")!)![0];
}

interface Frame {
  id?: string;
  event?: string;
  data?: Record<string, unknown>;
}

/** An open stream, read frame by frame; every wait has a deadline. */
async function open(cookie: string, lastEventId?: string) {
  const ctl = new AbortController();
  const headers: Record<string, string> = { host: HOST, cookie };
  if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
  const res = await events.GET(new Request(`http://${HOST}/api/events?connection=m`, { headers, signal: ctl.signal }));
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let done = false;
  const frames: Frame[] = [];
  const pump = (async () => {
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (r.done) return void (done = true);
      buf += decoder.decode(r.value, { stream: true });
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const f: Frame = {};
        for (const line of block.split("\n")) {
          if (line.startsWith("id: ")) f.id = line.slice(4);
          else if (line.startsWith("event: ")) f.event = line.slice(7);
          else if (line.startsWith("data: ")) f.data = JSON.parse(line.slice(6));
        }
        if (f.event) frames.push(f);
      }
    }
  })();
  /** Waits (up to 5 s) until `pred` holds of the frames read so far. */
  const until = async (what: string, pred: () => boolean) => {
    const deadline = performance.now() + 5_000; // not Date: tests move the wall clock
    while (!pred()) {
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames.map((f) => f.event))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    frames,
    until,
    ended: () => done,
    /** Waits for the first frame of this event, from index `from` on. */
    next: async (event: string, from = 0) => {
      await until(`event ${event}`, () => frames.slice(from).some((f) => f.event === event));
      return frames.slice(from).find((f) => f.event === event)!;
    },
    close: async () => {
      ctl.abort();
      await reader.cancel().catch(() => undefined);
      await pump;
    },
  };
}

const lock = (key: string) =>
  decodeRedis([{ key, type: "string", pttl: 60_000, size: 32, truncated: false, value: Buffer.from("0123456789abcdef0123456789abcdef") }], {
    connection: "m",
    consistency: "x",
    now: Date.now(),
    previews: true,
  }).locks[0];
const upsert = (key: string) => reg.bus.publish({ type: "upsert", connection: "m", data: { connection: "m", lock: lock(key) } });
const keysOf = (frames: Frame[]) => frames.filter((f) => f.event === "upsert").map((f) => (f.data!.lock as { key: string }).key);

/** The wall clock moved on by ms (timers stay real): the stream's last identity check is that old. */
function later(ms: number) {
  const now = Date.now();
  if (!vi.isFakeTimers()) vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(now + ms);
}

describe("an open event stream is tied to the identity that opened it", () => {
  it("signing out ends the stream at once, with an `end` event saying why, and not one change more", async () => {
    const cookie = await signIn("ana");
    const s = await open(cookie);
    await s.next("status");
    upsert("m:before");
    const before = await s.next("upsert");
    expect((before.data!.lock as { fence: string }).fence).not.toBe(""); // an operator's stream: fenced

    const out = await logout.POST(new Request(`http://${HOST}/api/auth/logout`, { method: "POST", headers: { ...csrf, cookie }, body: "{}" }));
    expect(out.status).toBe(200);
    upsert("m:after");
    const end = await s.next("end");
    expect(end.data).toMatchObject({ reason: "signed out" });
    await s.until("the stream to end", s.ended);
    expect(keysOf(s.frames)).toEqual(["m:before"]);
    await s.close();
  });

  it("a session ended elsewhere (another replica, expiry) ends the stream before its next change goes out", async () => {
    const cookie = await signIn("vic");
    const s = await open(cookie);
    await s.next("status");
    // Revoked without this process's sign-out route: only the stream's own re-check sees it.
    await reg.sessions.revoke(/=(.*)$/.exec(cookie)![1]);
    later(2_000);
    upsert("m:gone");
    expect((await s.next("end")).data).toMatchObject({ reason: "signed out" });
    await s.until("the stream to end", s.ended);
    expect(keysOf(s.frames)).toEqual([]);
    await s.close();
  });

  it("an operator demoted to viewer gets no fence more: the stream ends (role changed); while the role holds it goes on", async () => {
    const cookie = await signIn("ana");
    const s = await open(cookie);
    await s.next("status");
    later(2_000); // the next frames wait for a fresh check, which passes
    upsert("m:still-operator");
    expect(((await s.next("upsert")).data!.lock as { fence: string }).fence).not.toBe("");

    reg.config.auth.users.find((u) => u.name === "ana")!.role = "viewer";
    later(4_000);
    upsert("m:demoted");
    expect((await s.next("end")).data).toMatchObject({ reason: "role changed" });
    await s.until("the stream to end", s.ended);
    expect(keysOf(s.frames)).toEqual(["m:still-operator"]);
    await s.close();
  });
});

describe("Last-Event-ID", () => {
  it("an id this process did not issue (ahead of its counter, another epoch, unreadable) gets a resync and the status first", async () => {
    const cookie = await signIn("vic");
    for (const id of ["999999999", "0123abcd-999999999", `${reg.bus.epoch}-999999999`, "ffffffffffff-1", "not an id"]) {
      const s = await open(cookie, id);
      upsert(`m:ahead:${id}`);
      await s.next("upsert");
      expect(
        s.frames.slice(0, 2).map((f) => f.event),
        id,
      ).toEqual(["resync", "status"]);
      expect(s.frames[0].data).toEqual({ connection: "m" });
      await s.close();
    }
  });

  it("an id of this epoch is replayed from where it left off, without a resync", async () => {
    const cookie = await signIn("vic");
    const first = await open(cookie);
    upsert("m:seen");
    const seen = await first.next("upsert");
    await first.close();
    upsert("m:missed");
    const again = await open(cookie, seen.id);
    await again.next("upsert");
    // It starts right after the id it was given (a hub status event may be among what it replays).
    const [epoch, seq] = seen.id!.split("-");
    expect(again.frames[0].id).toBe(`${epoch}-${Number(seq) + 1}`);
    expect(keysOf(again.frames)[0]).toBe("m:missed");
    expect(again.frames.some((f) => f.event === "resync")).toBe(false);
    await again.close();
  });
});
