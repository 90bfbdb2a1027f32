// Force-releases, told apart from ordinary releases through the audit log: the release route
// writes its "intent" line (synchronously) BEFORE it calls the store, so by the time the hub
// reports the holder gone, the intent is on disk. The recorder tails the file from where it
// last read (never the whole file) on each flush and relabels matching releases.

import "server-only";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { LifeEvent } from "./types";

export interface ReleaseIntent {
  connection: string;
  key: string;
  at: number;
}

/**
 * A release/expiry of (connection, key) within `windowMs` after an intent becomes
 * "force-released": the first such change after each intent (every holder that ended in it —
 * a semaphore eviction ends several), and only that one, so a later ordinary release of the
 * same lock inside the window stays a release. `used` lists the intents that matched (the
 * recorder keeps the others for the next flush: the release may be derived after it). Pure.
 */
export function markForcedOnce(events: LifeEvent[], intents: ReleaseIntent[], windowMs = 10_000): { events: LifeEvent[]; used: Set<ReleaseIntent> } {
  const used = new Set<ReleaseIntent>();
  if (intents.length === 0) return { events, used };
  const relabel = new Set<LifeEvent>();
  for (const i of intents) {
    const hits = events.filter(
      (e) =>
        (e.kind === "released" || e.kind === "expired") &&
        !relabel.has(e) &&
        e.connection === i.connection &&
        e.key === i.key &&
        e.at >= i.at - 1_000 &&
        e.at <= i.at + windowMs + e.resMs,
    );
    if (hits.length === 0) continue;
    const first = Math.min(...hits.map((e) => e.at));
    for (const e of hits) if (e.at === first) relabel.add(e);
    used.add(i);
  }
  return { events: relabel.size ? events.map((e) => (relabel.has(e) ? { ...e, kind: "force-released" as const } : e)) : events, used };
}

/** markForcedOnce's events only. */
export function markForced(events: LifeEvent[], intents: ReleaseIntent[], windowMs = 10_000): LifeEvent[] {
  return markForcedOnce(events, intents, windowMs).events;
}

export class AuditTail {
  private offset: number | null = null;
  private partial = "";

  constructor(private readonly file: string) {}

  /** New release intents since the last call (none on the first call: history starts now). */
  read(): ReleaseIntent[] {
    let fd: number;
    try {
      fd = openSync(this.file, "r");
    } catch {
      this.offset ??= 0;
      return [];
    }
    try {
      const size = fstatSync(fd).size;
      if (this.offset === null || size < this.offset) {
        this.offset = size;
        return [];
      }
      if (size === this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      readSync(fd, buf, 0, buf.length, this.offset);
      this.offset = size;
      const lines = (this.partial + buf.toString("utf8")).split("\n");
      this.partial = lines.pop() ?? "";
      const out: ReleaseIntent[] = [];
      for (const line of lines) {
        try {
          const e = JSON.parse(line) as { action?: string; phase?: string; connection?: string; key?: string; at?: string };
          if ((e.action ?? "release") === "release" && e.phase === "intent" && e.connection && e.key && e.at) {
            out.push({ connection: e.connection, key: e.key, at: Date.parse(e.at) });
          }
        } catch {
          // A torn or foreign line: the audit log's own verify() reports it.
        }
      }
      return out;
    } finally {
      closeSync(fd);
    }
  }
}
