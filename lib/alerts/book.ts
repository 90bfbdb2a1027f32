// The alerts' lifecycle, per (rule, connection, lock): pending while the condition has held for
// less than forMs, then firing until the condition ends, then resolved once. What each webhook
// has been sent is its own (Alertmanager is re-posted every minute, the others at the repeat
// interval), so the book says per webhook what is due: first firing, a repeat, a resolve.
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

export class AlertBook {
  private alerts = new Map<string, Alert>();
  /** Alerts whose condition ended since the last take(). */
  private ended: Alert[] = [];
  /** Per recipient: alert id → when it was last sent (firing or repeat). */
  private sent = new Map<string, Map<string, number>>();
  private byLock = new Map<string, Set<string>>();
  private transitions: Transition[] = [];

  constructor(private readonly forMs: number) {}

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
   * sent only to recipients that were sent the firing alert.
   */
  take(now: number, recipients: Recipient[]): Map<string, Due> {
    for (const a of this.alerts.values()) {
      if (a.firingAt !== null || now - a.since < this.forMs) continue;
      a.firingAt = now;
      this.note({ at: now, status: "firing", alert: a });
    }
    const ended = this.ended;
    this.ended = [];
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
      for (const a of this.alerts.values()) {
        if (a.firingAt === null || !r.wants(a)) continue;
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

  /** Every alert, pending or firing. */
  active(): Alert[] {
    return [...this.alerts.values()];
  }
}
