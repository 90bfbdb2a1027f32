// Test helpers for the etcd adapter's integration tests: a real etcd member per suite, adapters
// that are closed afterwards, real lock holders that never outlive a test, and waits by
// condition with deadlines (no fixed sleeps).
import { afterAll, afterEach, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { Etcd3 } from "etcd3";
import { startEtcd, type EtcdOptions, type EtcdServer } from "../../scripts/servers/etcd";
import { waitFor } from "../../scripts/servers/process";
import type { HoldProcess } from "../../scripts/capture/hold";
import { interrupt } from "../../scripts/capture/etcd/hold";
import type { LockRecord } from "../../lib/model";
import { EtcdAdapter } from "../../lib/stores/etcd/adapter";
import { EtcdConnectionSchema, type EtcdConnectionConfig } from "../../lib/stores/etcd/config";

export const signal = new AbortController().signal;

/** One etcd member for a suite, a raw etcd3 client to it, and bookkeeping for cleanup. */
export function etcdSuite(opts: EtcdOptions = {}) {
  const s = {} as { etcd: EtcdServer; raw: Etcd3 };
  const adapters: EtcdAdapter[] = [];
  const holds: HoldProcess[] = [];
  beforeAll(async () => {
    s.etcd = await startEtcd(opts);
    s.raw = new Etcd3({ hosts: s.etcd.endpoint, ...(s.etcd.tls && { credentials: { rootCertificate: readFileSync(s.etcd.tls.caFile) } }) });
  });
  afterEach(async () => {
    await Promise.all(holds.splice(0).map((p) => (p.label.startsWith("etcdctl") ? interrupt(p).catch(() => p.kill()) : p.kill())));
  });
  afterAll(async () => {
    for (const a of adapters) await a.close();
    s.raw?.close();
    await s.etcd?.stop();
  });
  return {
    s,
    /** An adapter on this member (or on `endpoints`), closed after the suite. */
    adapter(cfg: Partial<EtcdConnectionConfig> & { prefixes: string[] }, endpoints?: string[]): EtcdAdapter {
      const a = new EtcdAdapter(
        "e1",
        EtcdConnectionSchema.parse({ id: "e1", kind: "etcd", endpoints: endpoints ?? [s.etcd.endpoint], requestTimeoutMs: 3_000, ...cfg }),
      );
      adapters.push(a);
      return a;
    },
    track(p: HoldProcess): HoldProcess {
      holds.push(p);
      return p;
    },
  };
}

/** The record for `key` from a fresh snapshot, or a clear error with what was there. */
export async function lockAt(adapter: EtcdAdapter, key: string): Promise<LockRecord> {
  const snap = await adapter.snapshot(signal);
  const rec = snap.locks.find((l) => l.key === key);
  if (!rec) throw new Error(`no record ${key}; have ${snap.locks.map((l) => l.key).join(", ") || "(none)"}`);
  return rec;
}

/** Waits until a snapshot shows `key` and `check` accepts it; returns that record. */
export async function lockWhen(adapter: EtcdAdapter, key: string, check: (l: LockRecord) => boolean, what: string, timeoutMs = 15_000): Promise<LockRecord> {
  let found: LockRecord | undefined;
  await waitFor(
    async () => {
      const l = (await adapter.snapshot(signal)).locks.find((x) => x.key === key);
      if (l && check(l)) found = l;
      return !!found;
    },
    { timeoutMs, intervalMs: 100, what },
  );
  return found!;
}

/** Waits until `p` printed a line matching `re`; returns it. */
export async function lineMatching(p: HoldProcess, re: RegExp, timeoutMs = 20_000): Promise<string> {
  await waitFor(async () => p.lines().some((l) => re.test(l)), { timeoutMs, intervalMs: 50, what: `${p.label} to print ${re}` });
  return p.lines().find((l) => re.test(l))!;
}

export const suffix = (key: string) => key.slice(key.lastIndexOf("/") + 1);
