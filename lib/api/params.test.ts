import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { toResponse } from "./errors";
import { AuditQuery, EventsQuery, LockKeyQuery, WaitsQuery, parseLockQuery, parseQuery } from "./params";

const url = (q: string) => new URL(`http://console.test/api/x?${q}`);

/** What the route would answer for this query: the parsed value, or the JSON error. */
async function answer<T extends z.AnyZodObject>(schema: T, q: string) {
  try {
    return { ok: parseQuery(schema, url(q)) };
  } catch (err) {
    const res = toResponse(err);
    return { status: res.status, body: (await res.json()) as { error: { code: string; message: string }; parameter?: string; field?: string } };
  }
}

describe("parseQuery", () => {
  it("refuses a misspelt locks filter instead of answering the whole list", () => {
    expect(parseLockQuery(url("status=held,contended&sort=ttl"))).toMatchObject({ status: ["held", "contended"], sort: "ttl", offset: 0, limit: 100 });
    expect(() => parseLockQuery(url("state=held"))).toThrow(
      /^state: unknown parameter \(this endpoint takes q, format, status, warning, sort, dir, limit, cursor\)$/,
    );
  });

  it.each([
    ["lock", LockKeyQuery, "key=a&keys=b", "keys", { key: "a" }, "key=a"],
    ["waits", WaitsQuery, "key=a&lmit=3", "lmit", { key: "a", limit: 3 }, "key=a&limit=3"],
    ["events", EventsQuery, "conection=r", "conection", { connection: "r" }, "connection=r"],
    ["audit", AuditQuery, "connection=r&since=1", "since", { connection: "r", limit: 500 }, "connection=r"],
  ] as const)("%s: an unknown parameter is a 400 naming it; the real ones parse", async (_route, schema, wrong, name, parsed, right) => {
    const bad = await answer(schema, wrong);
    expect(bad.status).toBe(400);
    expect(bad.body?.error.code).toBe("bad_request");
    expect(bad.body?.error.message).toMatch(new RegExp(`^${name}: unknown parameter`));
    expect(bad.body?.parameter).toBe(name);
    expect((await answer(schema, right)).ok).toEqual(parsed);
  });

  it("treats an empty value as absent, and still names a bad value", async () => {
    expect((await answer(AuditQuery, "connection=&key=&limit=")).ok).toEqual({ limit: 500 });
    const missing = await answer(LockKeyQuery, "key=");
    expect(missing).toMatchObject({ status: 400, body: { error: { code: "bad_request", message: "key: required" } } });
    expect((await answer(WaitsQuery, "limit=0")).body?.error.message).toMatch(/^limit: /);
  });

  it.each(["__proto__", "constructor", "toString", "hasOwnProperty"])("%s (a name every object inherits) is an unknown parameter too", async (name) => {
    const bad = await answer(AuditQuery, `${name}=1`);
    expect(bad).toMatchObject({ status: 400, body: { parameter: name, error: { message: expect.stringMatching(new RegExp(`^${name}: unknown parameter`)) } } });
  });

  it.each(["0x10", "1e2", " 10", "10.0", "+5", "-3", "9".repeat(16)])("a number written as %j is refused, named", async (limit) => {
    const bad = await answer(AuditQuery, `limit=${encodeURIComponent(limit)}`);
    expect(bad).toMatchObject({ status: 400, body: { error: { code: "bad_request", message: expect.stringMatching(/^limit: /) }, field: "limit" } });
  });

  it("a number in digits within its bounds parses", async () => {
    expect((await answer(AuditQuery, "limit=16")).ok).toEqual({ limit: 16 });
    expect((await answer(WaitsQuery, "limit=20000")).ok).toEqual({ limit: 20_000 });
    expect((await answer(WaitsQuery, "limit=20001")).status).toBe(400);
  });

  it("bounds the name it echoes", async () => {
    const bad = await answer(EventsQuery, `${"x".repeat(5_000)}=1`);
    expect(bad.body?.parameter).toHaveLength(101);
  });
});
