// Shared by the Consul integration tests (never imported by the app): a real agent, the
// adapter on it, raw HTTP for cross-checks, and the hold programs' bookkeeping.

import { afterAll, afterEach, beforeAll } from "vitest";
import { startConsul, type ConsulOptions, type ConsulServer } from "../../scripts/servers/consul";
import { prepareConsulCapture } from "../../scripts/capture/consul/hold";
import { kv } from "../../scripts/capture/consul/dump";
import type { HoldProcess } from "../../scripts/capture/hold";
import { parseKv, type ConsulEntry } from "../../lib/formats/consul/entry";
import type { LockRecord } from "../../lib/model";
import { ConsulAdapter } from "../../lib/stores/consul/adapter";
import { ConsulConnectionSchema } from "../../lib/stores/consul/config";

export const BUILD_TIMEOUT_MS = 45 * 60_000;
export const signal = new AbortController().signal;

export function adapterFor(consul: { url: string; token?: string }, extra: Record<string, unknown> = {}): ConsulAdapter {
  return new ConsulAdapter(
    "c1",
    ConsulConnectionSchema.parse({ id: "c1", kind: "consul", url: consul.url, token: consul.token, prefixes: ["locks/"], ...extra }),
  );
}

/** One agent (+ the Go hold program) per test file; every hold process is killed after each test. */
export function consulFixture(opts: ConsulOptions = {}) {
  const s = {} as { consul: ConsulServer; bin: string; adapter: ConsulAdapter; procs: HoldProcess[] };
  s.procs = [];
  beforeAll(async () => {
    [s.consul, s.bin] = await Promise.all([startConsul(opts), prepareConsulCapture()]);
    s.adapter = adapterFor(s.consul);
  }, BUILD_TIMEOUT_MS);
  afterEach(async () => {
    await Promise.all(s.procs.splice(0).map((p) => p.kill()));
  });
  afterAll(async () => {
    await s.adapter?.close();
    await s.consul?.stop();
  });
  return s;
}

export function track(s: { procs: HoldProcess[] }, p: HoldProcess): HoldProcess {
  s.procs.push(p);
  return p;
}

/** The raw entry, read consistently, straight from Consul (null: no such key). */
export async function rawEntry(consul: ConsulServer, key: string): Promise<ConsulEntry | null> {
  const text = await kv(consul, "GET", `/v1/kv/${key}?consistent`);
  return text ? (parseKv(text)[0] ?? null) : null;
}

export async function createSession(consul: ConsulServer, body: Record<string, unknown> = {}): Promise<string> {
  return (JSON.parse(await kv(consul, "PUT", "/v1/session/create", JSON.stringify(body))) as { ID: string }).ID;
}

export async function acquire(consul: ConsulServer, key: string, session: string, value = ""): Promise<boolean> {
  return (await kv(consul, "PUT", `/v1/kv/${key}?acquire=${session}`, value)).trim() === "true";
}

export async function lockAt(adapter: ConsulAdapter, key: string): Promise<LockRecord> {
  const snap = await adapter.snapshot(signal);
  const rec = snap.locks.find((l) => l.key === key);
  if (!rec) throw new Error(`no record for ${key}; seen: ${JSON.stringify(snap.locks.map((l) => l.key))}`);
  return rec;
}
