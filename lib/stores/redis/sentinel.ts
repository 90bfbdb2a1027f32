// Redis Sentinel failovers, as the console sees them (reliability.md §1.3, plan row 18).
// Replication is asynchronous: a replica promoted to master may lack the last writes of the
// old one, so a lock can vanish (acquired on the old master, never replicated) or go back in
// time (re-acquired on the old master, the replica still has the previous holder) in the
// switch — the gap Redlock-style arguments are about. The console cannot prevent it; it can
// say exactly which locks it hit:
//   - every full read records the master's identity (INFO run_id) and the holdings it saw;
//   - after a reconnect, re-reads stop updating that baseline until a full read has checked
//     the master's identity again;
//   - a full read from a different master compares with the baseline: vanished and changed
//     locks are reported (problems on the connection, and the server line) for NOTICE_MS.

import type { LockRecord, Problem } from "../../model";
import type { RedisClient } from "./client";

export interface MasterIdentity {
  runId: string;
  address: string;
}

export interface Failover {
  at: number;
  from: string;
  to: string;
  vanished: Array<{ key: string; was: string }>;
  changed: Array<{ key: string; was: string; now: string }>;
}

const NOTICE_MS = 10 * 60_000;

/** The master this client is connected to now: its run id (new at every start) and address. */
export async function masterIdentity(client: RedisClient): Promise<MasterIdentity> {
  const info = await client.info("server");
  const runId = /run_id:(\w+)/.exec(info)?.[1] ?? "?";
  const port = /tcp_port:(\d+)/.exec(info)?.[1] ?? "?";
  const host = (client as unknown as { stream?: { remoteAddress?: string } }).stream?.remoteAddress ?? "?";
  return { runId, address: `${host}:${port}` };
}

function holding(l: LockRecord): string {
  return l.holders.map((h) => h.id).join(", ") || "(no holder)";
}

export class FailoverWatch {
  private master: MasterIdentity | null = null;
  private baseline = new Map<string, string>();
  private unchecked = false;
  private last: Failover | null = null;

  /** The client reconnected: until a full read checks the master, the baseline stays as it was. */
  reconnected(): void {
    this.unchecked = true;
  }

  /** A full read from `now`'s master saw these locks. */
  afterSnapshot(now: MasterIdentity, locks: LockRecord[], at = Date.now()): void {
    const seen = new Map(locks.map((l) => [l.key, holding(l)]));
    if (this.master && now.runId !== this.master.runId) {
      const vanished: Failover["vanished"] = [];
      const changed: Failover["changed"] = [];
      for (const [key, was] of this.baseline) {
        const is = seen.get(key);
        if (is === undefined) vanished.push({ key, was });
        else if (is !== was) changed.push({ key, was, now: is });
      }
      this.last = { at, from: this.master.address, to: now.address, vanished, changed };
    }
    this.master = now;
    this.baseline = seen;
    this.unchecked = false;
  }

  /** Re-reads keep the baseline current, unless a reconnect may have moved the master. */
  afterReread(found: LockRecord[], gone: string[]): void {
    if (this.unchecked || !this.master) return;
    for (const l of found) this.baseline.set(l.key, holding(l));
    for (const k of gone) this.baseline.delete(k);
  }

  current(now = Date.now()): Failover | null {
    return this.last && now - this.last.at < NOTICE_MS ? this.last : null;
  }

  /** One problem per lock the last failover hit, while it is recent. */
  problems(now = Date.now()): Problem[] {
    const f = this.current(now);
    if (!f) return [];
    const when = new Date(f.at).toISOString();
    return [
      ...f.vanished.map((v) => ({
        key: v.key,
        code: "failover-vanished",
        message: `held by ${v.was} on the old master ${f.from}; the new master ${f.to} does not have it (failover at ${when}: the write had not reached the replica)`,
      })),
      ...f.changed.map((c) => ({
        key: c.key,
        code: "failover-changed",
        message: `held by ${c.was} on the old master ${f.from}, by ${c.now} on the new master ${f.to} (failover at ${when}: the replica was behind)`,
      })),
    ];
  }

  /** For the server line: where the master is, and what the last failover did. */
  describe(now = Date.now()): string {
    const at = this.master ? ` at ${this.master.address}` : "";
    const f = this.current(now);
    if (!f) return at;
    return `${at} · failover ${new Date(f.at).toISOString().slice(11, 19)} from ${f.from}: ${f.vanished.length} lock(s) vanished, ${f.changed.length} changed`;
  }
}
