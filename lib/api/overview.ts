// GET /api/overview: the overview page's sense of time across every connection —
//   recent: force-releases (with who and why, from the audit log), expiries, holdings lost in
//           a gap, outages and console-down gaps, deadlocks and holders judged dead (from the
//           alert book, in memory), newest first (last 24 h, at most 50);
//   trends: per connection, locks with waiters and waiters over the last hour (the recorder
//           samples each hub every 15 s; in memory, so a restart starts a new line);
//   worst:  from the live views, the oldest waiter, the longest hold and the most waiters,
//           across stores (top 5 each);
//   gaps:   outages and console-down gaps in the last 24 h (marked on the overview).
// History off: recent, trends and gaps are empty; worst offenders still come from the hubs.

import type { Registry } from "../registry";
import type { HistoryGap, Offender, OverviewAnswer, RecentEvent } from "./types";
import { TREND_STEP_MS } from "../history/recorder";

const RECENT_WINDOW_MS = 86_400_000;
const RECENT_MAX = 50;
const WORST_N = 5;

export async function overviewAnswer(reg: Registry, now = Date.now()): Promise<OverviewAnswer> {
  const rec = reg.history;
  const store = rec?.reader() ?? null;
  let recent: RecentEvent[] = [];
  let gaps: HistoryGap[] = [];
  if (store) {
    const from = now - RECENT_WINDOW_MS;
    const [events, g] = await Promise.all([
      store.events({ from, to: now + 1, kinds: ["force-released", "expired", "lost"], limit: RECENT_MAX, newestFirst: true }),
      store.gaps({ from, to: now + 1 }),
    ]);
    gaps = g;
    const releases = reg.audit.read({ limit: 2_000 }).filter((e) => (e.action ?? "release") === "release" && e.phase === "intent");
    recent = events.map((e): RecentEvent => {
      const base: RecentEvent = {
        at: e.at,
        connection: e.connection,
        key: e.key,
        kind: e.kind as RecentEvent["kind"],
        holder: e.holder,
        owner: e.owner,
        ms: e.holdMs,
      };
      if (e.cause) base.cause = e.cause;
      if (e.kind === "force-released") {
        // The intent written just before the store call (audit-tail.ts matches the same way).
        const who = releases.find((r) => r.connection === e.connection && r.key === e.key && Math.abs(Date.parse(r.at) - e.at) <= 15_000);
        if (who) Object.assign(base, { actor: who.actor, reason: who.reason });
      }
      return base;
    });
    recent.push(...alertEvents(reg, from));
    for (const gp of g)
      recent.push({
        at: gp.from,
        to: gp.to,
        connection: gp.connection,
        kind: gp.kind === "console-down" ? "console-down" : "outage",
        cause: gp.detail,
        ...(gp.to !== null && { ms: gp.to - gp.from }),
      });
    recent.sort((a, b) => b.at - a.at);
    recent = recent.slice(0, RECENT_MAX);
  }
  const s = rec?.state();
  return {
    now,
    recent,
    trends: rec?.trends() ?? {},
    trendStepMs: TREND_STEP_MS,
    worst: worstOffenders(reg, now),
    gaps,
    recording: s ? { paused: s.paused, message: s.message } : null,
  };
}

/** Deadlocks and dead holders that started (with `to` once they ended), from the alert book. */
function alertEvents(reg: Registry, from: number): RecentEvent[] {
  const out: RecentEvent[] = [];
  const ended = new Map<string, number>();
  // Newest first: a resolve is met before the firing it ends.
  for (const t of reg.alerts.book.recent()) {
    const { rule, connection, key } = t.alert;
    if (rule !== "deadlock" && rule !== "holder-dead") continue;
    const id = `${rule}\u0000${connection}\u0000${key}`;
    if (t.status === "resolved") {
      ended.set(id, t.at);
      continue;
    }
    if (t.at < from) continue;
    out.push({ at: t.at, to: ended.get(id) ?? null, connection, key, kind: rule });
    ended.delete(id);
  }
  return out;
}

/** Oldest waiter, longest hold, most waiters across every connection's live view. */
export function worstOffenders(reg: Registry, now: number): OverviewAnswer["worst"] {
  const oldestWaiter: Offender[] = [];
  const longestHold: Offender[] = [];
  const mostWaiters: Offender[] = [];
  const age = (since: string | undefined) => (since ? Math.max(0, now - Date.parse(since)) : 0);
  for (const { config, hub } of reg.connections.values()) {
    for (const r of hub.all()) {
      const base = { connection: config.id, key: r.key, name: r.name };
      let wait: Offender | null = null;
      for (const w of r.waiters) {
        const ms = age(w.since);
        if (!wait || ms > wait.ms!) wait = { ...base, ms, holder: w.id, owner: w.owner };
      }
      if (r.anonymousWaiters) {
        const ms = age(r.anonymousWaiters.since);
        if (!wait || ms > wait.ms!) wait = { ...base, ms, owner: `${r.anonymousWaiters.count} waiting (not identified)` };
      }
      if (wait) keepTop(oldestWaiter, wait, (o) => o.ms!);
      let hold: Offender | null = null;
      for (const h of r.holders) {
        const ms = age(h.since);
        if (!hold || ms > hold.ms!) hold = { ...base, ms, holder: h.id, owner: h.owner };
      }
      if (hold) keepTop(longestHold, hold, (o) => o.ms!);
      const count = r.waiters.length + (r.anonymousWaiters?.count ?? 0);
      if (count > 0) keepTop(mostWaiters, { ...base, count }, (o) => o.count!);
    }
  }
  return { oldestWaiter, longestHold, mostWaiters };
}

/** Keeps the WORST_N largest by `by` in `list` (sorted, largest first). */
function keepTop(list: Offender[], o: Offender, by: (o: Offender) => number): void {
  if (list.length === WORST_N && by(o) <= by(list[WORST_N - 1])) return;
  list.push(o);
  list.sort((a, b) => by(b) - by(a));
  if (list.length > WORST_N) list.pop();
}
