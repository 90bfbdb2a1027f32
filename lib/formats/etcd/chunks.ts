// Decoding while the pages are still arriving, so the decode runs while etcd serves the next
// page instead of after the last one. Pure: pages in (in key order, one prefix after another),
// the same result as decodeStructure() on all of them out.
//
// Why chunks are safe: a lock group "<dir>/" and everything that can share its queue (keys
// under <dir>/, nested or foreign) lie under one top-level segment of the configured prefix
// ("<prefix><segment>/..."), and a range returns keys sorted, so a segment's keys arrive
// together. Completed segments are decoded as each page ends. The one group that can span
// segments is the configured prefix itself (keys "<prefix><lease id>" make "<prefix>" a Mutex
// over everything under it); if that shows up, finish() decodes everything in one go instead.

import type { DecodeContext } from "../types";
import type { EtcdEntry } from "./entry";
import type { LockRecord, Problem } from "../../model";
import { classify } from "./layout";
import { decodeStructure, type EtcdDecodeResult } from "./decode";

export class ChunkedDecoder {
  private readonly all: EtcdEntry[] = [];
  private ready: EtcdEntry[] = [];
  private open: EtcdEntry[] = [];
  private openSegment: string | null = null;
  private prefix: string | null = null;
  private prefixIsGroup = false;
  private readonly locks: LockRecord[] = [];
  private readonly problems: Problem[] = [];
  private readonly leaseOf: string[] = [];

  constructor(private readonly ctx: DecodeContext) {}

  /** One page of entries under `prefix`, in key order, after the pages before it. */
  page(prefix: string, entries: EtcdEntry[]): void {
    if (prefix !== this.prefix) {
      this.closeSegment();
      this.prefix = prefix;
    }
    for (const e of entries) {
      this.all.push(e);
      const rest = e.key.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash < 0 && !this.prefixIsGroup && prefix.endsWith("/") && classify(e).kind !== "lone") this.prefixIsGroup = true;
      const segment = slash < 0 ? rest : rest.slice(0, slash + 1);
      if (segment !== this.openSegment) this.closeSegment(segment);
      this.open.push(e);
    }
    if (!this.prefixIsGroup && this.ready.length) this.decodeReady();
  }

  /** The holder lease of every record decoded so far, in record order (grows as pages come). */
  get leases(): readonly string[] {
    return this.leaseOf;
  }

  finish(): EtcdDecodeResult {
    this.closeSegment();
    if (this.prefixIsGroup) return decodeStructure(this.all, this.ctx);
    this.decodeReady();
    return { locks: this.locks, problems: this.problems, leaseOf: this.leaseOf };
  }

  private closeSegment(next: string | null = null): void {
    for (const e of this.open) this.ready.push(e);
    this.open = [];
    this.openSegment = next;
  }

  private decodeReady(): void {
    if (this.ready.length === 0) return;
    const r = decodeStructure(this.ready, this.ctx);
    for (const l of r.locks) this.locks.push(l);
    for (const l of r.leaseOf) this.leaseOf.push(l);
    for (const p of r.problems) this.problems.push(p);
    this.ready = [];
  }
}
