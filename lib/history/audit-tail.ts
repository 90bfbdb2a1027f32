// Force-releases, told apart from ordinary releases through the audit log: the release route
// writes its "intent" line (synchronously) BEFORE it calls the store, so by the time the hub
// reports the holder gone, the intent is on disk. The recorder tails the file from where it
// last read (never the whole file) on each flush and relabels matching releases.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { LifeEvent } from "./types";

export interface ReleaseIntent {
  connection: string;
  key: string;
  at: number;
}

/** A release/expiry of (connection, key) within `windowMs` after an intent becomes "force-released". Pure. */
export function markForced(events: LifeEvent[], intents: ReleaseIntent[], windowMs = 10_000): LifeEvent[] {
  if (intents.length === 0) return events;
  return events.map((e) => {
    if (e.kind !== "released" && e.kind !== "expired") return e;
    const hit = intents.some((i) => i.connection === e.connection && i.key === e.key && e.at >= i.at - 1_000 && e.at <= i.at + windowMs + e.resMs);
    return hit ? { ...e, kind: "force-released" } : e;
  });
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
