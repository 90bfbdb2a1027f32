// The alerts' lifecycle, per (rule, connection, lock): pending while the condition has held for
// less than forMs, then firing until the condition ends, then resolved once. What each webhook
// has been sent is its own (Alertmanager is re-posted every minute, the others at the repeat
// interval), so the book says per webhook what is due: first firing, a repeat, a resolve.
//
// Several replicas: every replica keeps the book, and only the one reading a connection's store
// sends (take()'s `sending`). A resolve is due from whoever sent the firing, so a reader that dies
// between the end of a condition and its resolve (or with the resolve waiting for a retry) would
// leave receivers with an alert firing for ever. A follower therefore remembers what it saw
// firing and then end while another replica was to notify, for `handoverMs`; when it takes over
// it resolves those once, to every webhook that wants them (a receiver may see a resolve twice
// around a failover, as it may see a firing twice). An alert it saw firing that ends once it has
// taken over, before it re-announced it, is resolved the same way.
// Pure: the clock is passed in.

import type { RuleId } from "./rules";

export interface Alert {
  /** rule \0 connection \0 lock key */
  id: string;
  rule: RuleId;
  connection: string;
  key: string;
  lockName: string;
  /** When the condition was first seen (ms). */
  since: number;
  /** When it started firing (since + forMs at the earliest), null while pending. */
  firingAt: number | null;
  /** When the condition ended (ms), for resolved alerts. */
  endedAt?: number;
}

export interface Due {
  firing: Alert[];
  repeat: Alert[];
  resolved: Alert[];
}

export interface Recipient {
  name: string;
  /** How often a firing alert is sent again. */
  repeatMs: number;
  /** Whether this recipient wants this alert at all (its connection and rule filters). */
  wants(a: Alert): boolean;
}

const idOf = (rule: RuleId, connection: string, key: string) => `${rule}\u0000${connection}\u0000${key}`;

/** An alert starting to fire or ending (what an overview of recent events lists). */
export interface Transition {
  at: number;
  status: "firing" | "resolved";
  alert: Alert;
}

/** How many transitions are kept. */
const RECENT = 200;
/** At most this many resolves are kept for a takeover (the oldest go first). */
const OWED_MAX = 5_000;

export class AlertBook {
  private alerts = new Map<string, Alert>();
  /** Alerts whose condition ended since the last take(). */
  private ended: Alert[] = [];
  /** Per recipient: alert id → when it was last sent (firing or repeat). */
  private sent = new Map<string, Map<string, number>>();
  private byLock = new Map<string, Set<string>>();
  private transitions: Transition[] = [];
  /** Alerts seen firing while another replica was to notify about them (this one followed). */
  private followed = new Set<string>();
  /** Of those, the ones that ended while this replica followed, by id, oldest end first: resolved if it takes over within handoverMs. */
  private owed = new Map<string, Alert>();

  /**
   * @param forMs how long a condition holds before its alert fires
   * @param handoverMs how long after its end a followed alert is still resolved by a replica
   *   that takes over (the time its reader may have needed to deliver the resolve)
   */
  constructor(
    private readonly forMs: number,
    private readonly handoverMs = 0,
  ) {}

  private note(t: Transition): void {
    this.transitions.unshift(t);
    if (this.transitions.length > RECENT) this.transitions.length = RECENT;
  }

  /** The latest alerts that started firing or ended, newest first. */
  recent(): Transition[] {
    return [...this.transitions];
  }

  /** The rules one lock breaks now (none: every alert of it ends). */
  set(connection: string, key: string, lockName: string, rules: RuleId[], now: number): void {
    const lockId = `${connection}\u0000${key}`;
    const had = this.byLock.get(lockId);
    const want = new Set(rules.map((r) => idOf(r, connection, key)));
    for (const id of had ?? []) {
      if (want.has(id)) continue;
      const a = this.alerts.get(id)!;
      this.alerts.delete(id);
      if (a.firingAt !== null) {
        const ended = { ...a, endedAt: now };
        this.ended.push(ended);
        this.note({ at: now, status: "resolved", alert: ended });
      }
    }
    for (const rule of rules) {
      const id = idOf(rule, connection, key);
      const a = this.alerts.get(id);
      if (a) a.lockName = lockName || a.lockName;
      else this.alerts.set(id, { id, rule, connection, key, lockName, since: now, firingAt: null });
    }
    if (want.size) this.byLock.set(lockId, want);
    else this.byLock.delete(lockId);
  }

  /** Lock keys of a connection that have alerts (a resync clears the ones no longer there). */
  keysOf(connection: string): string[] {
    const out: string[] = [];
    for (const lockId of this.byLock.keys()) {
      const [c, k] = lockId.split("\u0000");
      if (c === connection) out.push(k);
    }
    return out;
  }

  /**
   * Advances pending alerts to firing and says, per recipient, what to send now. A resolve is
   * sent to recipients that were sent the firing alert, and, by a replica that sends for the
   * alert's connection (`sending`), for an alert it saw firing while another replica was to
   * send it (see the top of the file).
   */
  take(now: number, recipients: Recipient[], sending: (connection: string) => boolean = () => true): Map<string, Due> {
    const sends = new Map<string, boolean>();
    const sendsFor = (connection: string) => {
      let s = sends.get(connection);
      if (s === undefined) sends.set(connection, (s = sending(connection)));
      return s;
    };
    for (const a of this.alerts.values()) {
      if (a.firingAt !== null || now - a.since < this.forMs) continue;
      a.firingAt = now;
      this.note({ at: now, status: "firing", alert: a });
    }
    const ended = this.ended;
    this.ended = [];
    // Followed alerts that ended: this replica resolves them if it sends now, else keeps them
    // in case it takes over before the reader has delivered their resolve.
    const handover: Alert[] = [];
    for (const a of ended) {
      if (!this.followed.delete(a.id)) continue;
      if (sendsFor(a.connection)) {
        this.owed.delete(a.id);
        handover.push(a);
      }
      // One it sent itself (before it turned follower) it resolves below, as the sender.
      else if (![...this.sent.values()].some((m) => m.has(a.id))) this.owe(a);
    }
    for (const [id, a] of this.owed) {
      if (now - a.endedAt! > this.handoverMs) this.owed.delete(id);
      else if (sendsFor(a.connection)) {
        this.owed.delete(id);
        handover.push(a);
      }
    }
    for (const a of this.alerts.values()) if (a.firingAt !== null && !sendsFor(a.connection)) this.followed.add(a.id);
    const out = new Map<string, Due>();
    for (const r of recipients) {
      let sent = this.sent.get(r.name);
      if (!sent) this.sent.set(r.name, (sent = new Map()));
      const due: Due = { firing: [], repeat: [], resolved: [] };
      // Resolves first: an alert that ended and came back since the last take is resolved, then fires anew.
      for (const a of ended) {
        if (!sent.has(a.id)) continue;
        sent.delete(a.id);
        due.resolved.push(a);
      }
      if (handover.length) {
        const resolved = new Set(due.resolved);
        for (const a of handover) if (!resolved.has(a) && r.wants(a)) due.resolved.push(a);
      }
      for (const a of this.alerts.values()) {
        if (a.firingAt === null || !r.wants(a) || !sendsFor(a.connection)) continue;
        const last = sent.get(a.id);
        if (last === undefined) due.firing.push(a);
        else if (now - last >= r.repeatMs) due.repeat.push(a);
        else continue;
        sent.set(a.id, now);
      }
      out.set(r.name, due);
    }
    return out;
  }

  /** Keeps a followed alert's end for a takeover (one per alert: a later end replaces an earlier). */
  private owe(a: Alert): void {
    if (this.handoverMs <= 0) return;
    this.owed.delete(a.id);
    this.owed.set(a.id, a);
    if (this.owed.size > OWED_MAX) this.owed.delete(this.owed.keys().next().value!);
  }

  /** Every alert, pending or firing. */
  active(): Alert[] {
    return [...this.alerts.values()];
  }
}
