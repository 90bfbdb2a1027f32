// One event stream for all connections: a global sequence number and a ring of recent events,
// so a browser that reconnects with Last-Event-ID gets what it missed, or a resync if the ring
// no longer reaches back that far.

import type { ConnectionStatus, LockRecord, UpdateMode } from "../model";
import type { Freshness } from "../api/types";

export type HubEvent =
  | { type: "status"; connection: string; data: ConnectionStatusEvent }
  | { type: "upsert"; connection: string; data: { connection: string; lock: LockRecord } }
  | { type: "remove"; connection: string; data: { connection: string; key: string } }
  | { type: "resync"; connection: string; data: { connection: string } };

export interface ConnectionStatusEvent extends Freshness {
  connection: string;
  status: ConnectionStatus;
  mode: UpdateMode;
  /** The live feed, when the store names it (e.g. "client tracking"). */
  feed?: string;
  lockCount: number;
  /** When the last full snapshot was read (a live feed's changes do not move it; confirmedAt does). */
  observedAt: string | null;
  /** Why it is degraded or unreachable (the hub always sends it; "" when fine). */
  message?: string;
  /** Polling: how often the store is read. */
  pollIntervalMs?: number;
}

export type SequencedEvent = HubEvent & { id: number };

const RING = 5_000;

export class EventBus {
  private seq = 0;
  private ring: SequencedEvent[] = [];
  private listeners = new Set<(e: SequencedEvent) => void>();

  publish(e: HubEvent): void {
    const ev = { ...e, id: ++this.seq } as SequencedEvent;
    this.ring.push(ev);
    if (this.ring.length > RING) this.ring.splice(0, this.ring.length - RING);
    for (const l of this.listeners) l(ev);
  }

  subscribe(listener: (e: SequencedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events after lastId, or null when the ring has lost some of them. */
  since(lastId: number): SequencedEvent[] | null {
    if (lastId >= this.seq) return [];
    const first = this.ring[0]?.id ?? this.seq + 1;
    if (lastId + 1 < first) return null;
    return this.ring.filter((e) => e.id > lastId);
  }

  get lastId(): number {
    return this.seq;
  }
}
