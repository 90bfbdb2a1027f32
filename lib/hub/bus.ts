// One event stream for all connections: a global sequence number and a ring of recent events,
// so a browser that reconnects with Last-Event-ID gets what it missed, or a resync if the ring
// no longer reaches back that far.
//
// Ids on the wire are `<epoch>-<seq>`: the epoch is random per bus (per process), because every
// process counts from 1. A Last-Event-ID from before a restart or from another replica names
// another epoch, and its number means nothing here (it may even be ahead of this counter): it
// gets a resync, as a missing or unreadable one does. Only an id of this epoch is replayed.

import { randomBytes } from "node:crypto";
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

/** `<epoch>-<seq>`: the epoch is lowercase hex, the sequence a decimal without leading zeros. */
const WIRE_ID = /^([0-9a-f]{1,32})-(0|[1-9]\d{0,15})$/;

export class EventBus {
  /** Random per bus: ids of another process (a restart, another replica) never match this one's. */
  readonly epoch: string;
  private seq = 0;
  private ring: SequencedEvent[] = [];
  private listeners = new Set<(e: SequencedEvent) => void>();

  constructor(epoch: string = randomBytes(6).toString("hex")) {
    this.epoch = epoch;
  }

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

  /**
   * Events after lastId (a sequence number of this bus), or null when the ring has lost some of
   * them or lastId is ahead of the counter (it cannot have come from this bus).
   */
  since(lastId: number): SequencedEvent[] | null {
    if (!Number.isSafeInteger(lastId) || lastId < 0 || lastId > this.seq) return null;
    if (lastId === this.seq) return [];
    const first = this.ring[0]?.id ?? this.seq + 1;
    if (lastId + 1 < first) return null;
    return this.ring.filter((e) => e.id > lastId);
  }

  /**
   * What a reconnecting client missed, from its Last-Event-ID header: the events after it when
   * it is an id of this bus's epoch the ring still reaches; null (resync) for any other (another
   * epoch, ahead of the counter, not an id at all, too old).
   */
  sinceWireId(lastEventId: string): SequencedEvent[] | null {
    const m = WIRE_ID.exec(lastEventId.trim());
    if (!m || m[1] !== this.epoch) return null;
    return this.since(Number(m[2]));
  }

  /** An event's id as sent on the wire: `<epoch>-<seq>`. */
  wireId(seq: number): string {
    return `${this.epoch}-${seq}`;
  }

  get lastId(): number {
    return this.seq;
  }
}
