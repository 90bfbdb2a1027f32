// The live stream's fan-out: each event is serialised once per exposure, not once per client,
// and every stream gets the same bytes; viewers get no fence, releasers one that verifies.

import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setMaxListeners } from "node:events";
import { Registry } from "../registry";
import { ConfigSchema } from "../config";
import { decodeRedis } from "../formats/redis";
import { fenceFor } from "../fence";
import { eventStream, frameStats } from "./sse";
import type { Exposure } from "./exposure";

const reg = new Registry(
  ConfigSchema.parse({
    connections: [{ id: "m", kind: "memory", workload: false }],
    dataDir: mkdtempSync(path.join(tmpdir(), "ld-sse-")),
    history: { enabled: false },
  }),
);
const stop = new AbortController();
setMaxListeners(200, stop.signal); // one per open stream
afterAll(async () => {
  stop.abort();
  for (const c of reg.connections.values()) await c.hub.stop();
});

function open(exposure: Exposure) {
  const reader = eventStream(reg, "m", null, stop.signal, exposure).getReader();
  return { reader, next: async () => (await reader.read()).value! };
}

const lock = (key: string) =>
  decodeRedis([{ key, type: "string", pttl: 5_000, size: 32, truncated: false, value: Buffer.from("0123456789abcdef0123456789abcdef") }], {
    connection: "m",
    consistency: "x",
    now: Date.now(),
    previews: true,
  }).locks[0];

const frameData = (bytes: Uint8Array) => JSON.parse(/data: (.*)\n/.exec(new TextDecoder().decode(bytes))![1]);

describe("SSE fan-out", () => {
  it("serialises an event once per exposure and hands every stream the same bytes", async () => {
    const releasers = Array.from({ length: 50 }, () => open("release"));
    const viewers = Array.from({ length: 50 }, () => open("view"));
    for (const s of [...releasers, ...viewers])
      expect(new TextDecoder().decode(await s.next())).toMatch(new RegExp(`^id: ${reg.bus.epoch}-\\d+\\nevent: status\\n`));

    const before = frameStats.made;
    reg.bus.publish({ type: "upsert", connection: "m", data: { connection: "m", lock: lock("lock:a") } });
    const got = await Promise.all([...releasers, ...viewers].map((s) => s.next()));
    expect(frameStats.made - before).toBe(2);
    for (const f of got.slice(1, 50)) expect(f).toBe(got[0]);
    for (const f of got.slice(51)) expect(f).toBe(got[50]);

    const full = frameData(got[0]).lock;
    expect(fenceFor(full.fence, { connection: "m", key: "lock:a", formats: ["redis.token"] }).h).toMatchObject({ t: "string" });
    expect(full.holding).toBeUndefined();
    expect(full.raw).toHaveLength(1);
    const seen = frameData(got[50]).lock;
    expect(seen).toMatchObject({ key: "lock:a", fence: "" });
    expect(seen.raw).toBeUndefined();
    expect(seen.holding).toBeUndefined();

    // Events that do not differ per exposure are one frame for everyone.
    reg.bus.publish({ type: "remove", connection: "m", data: { connection: "m", key: "lock:a" } });
    const removed = await Promise.all([...releasers, ...viewers].map((s) => s.next()));
    expect(frameStats.made - before).toBe(3);
    for (const f of removed) expect(f).toBe(removed[0]);
    expect(frameData(removed[0])).toEqual({ connection: "m", key: "lock:a" });
  });

  it("changes close together go out as one chunk per stream, the same bytes for streams that got the same changes, in order", async () => {
    const streams = Array.from({ length: 20 }, () => open("view"));
    for (const s of streams) await s.next(); // status
    const first = reg.bus.lastId + 1;
    for (const k of ["lock:c", "lock:d", "lock:e"]) reg.bus.publish({ type: "upsert", connection: "m", data: { connection: "m", lock: lock(k) } });
    const got = await Promise.all(streams.map((s) => s.next()));
    for (const g of got) expect(g).toBe(got[0]);
    const text = new TextDecoder().decode(got[0]);
    expect([...text.matchAll(/^id: [0-9a-f]+-(\d+)\nevent: upsert\n/gm)].map((m) => Number(m[1]))).toEqual([first, first + 1, first + 2]);
    expect([...text.matchAll(/"key":"(lock:[a-z])"/g)].map((m) => m[1])).toEqual(["lock:c", "lock:d", "lock:e"]);
  });

  it("a reconnecting client replays what it missed, fenced for its exposure", async () => {
    const from = reg.bus.lastId;
    reg.bus.publish({ type: "upsert", connection: "m", data: { connection: "m", lock: lock("lock:b") } });
    const replay = eventStream(reg, "m", reg.bus.wireId(from), stop.signal, "release").getReader();
    const first = (await replay.read()).value!;
    expect(new TextDecoder().decode(first)).toMatch(new RegExp(`^id: ${reg.bus.epoch}-${from + 1}\\nevent: upsert\\n`));
    expect(frameData(first).lock.fence).not.toBe("");
    await replay.cancel();
  });
});
