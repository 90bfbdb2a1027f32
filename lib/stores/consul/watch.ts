// Live updates through Consul blocking queries: one open `?recurse&index=&wait=` per watched
// prefix and one on /v1/session/list, merged into batches of changed keys for the hub.
//
// Contracts (Consul's blocking.mdx):
// - each loop resumes from the last X-Consul-Index it saw (first: the snapshot's index);
// - a return does not mean a change: keys are compared by ModifyIndex and only changed,
//   added or deleted keys are yielded;
// - an index that goes BACKWARDS (agent restarted, raft snapshot restore) means our view is
//   void: {resync: true} and continue from the new index;
// - a failed query (agent down, no leader) is retried with backoff, WITHOUT an index: an agent
//   that came back with lower indexes would otherwise hold a query for the old, higher index
//   for the whole wait while changes happen below it. That first answer yields
//   {resync: true} (changes meanwhile were not seen). (Without a failure, a backwards index
//   is only seen when the wait ends — Consul's own rule; hence a bounded wait.)
// - 403 ends the feed with an error (the hub polls; the snapshot reports "not permitted");
// - a session that disappears yields the keys it held (from the adapter's last reads).

import type { StoreChange } from "../../model";
import type { ConsulSession } from "../../formats/consul/entry";
import { ConsulError } from "./http";
import { ChangeFeed } from "../change-feed";
import { startTicks } from "../ticks";
import type { PrefixIndexes } from "./read";

/** What a watch compares per key. */
export interface KeyIndex {
  Key: string;
  ModifyIndex: number;
}

export interface PrefixState {
  index: number;
  /**
   * key → ModifyIndex. A snapshot leaves its entries as read (kept anyway), mapped only when the
   * first answer comes to compare with: 100k map entries (~25 ms) off the snapshot.
   */
  seen: ReadonlyMap<string, number> | readonly KeyIndex[];
}

export interface WatchDeps {
  prefixes: string[];
  /** Where each prefix and the session list stood at the last snapshot. */
  start: { prefixes: Map<string, PrefixState>; sessions: { index: number; ids: Set<string> } };
  readPrefix(prefix: string, index: number, signal: AbortSignal): Promise<PrefixIndexes>;
  readSessions(index: number, signal: AbortSignal): Promise<{ sessions: ConsulSession[]; index: number }>;
  keysOfSession(id: string): string[];
  /** Called once per loop when it has its first blocking query open (tests, idle-cost checks). */
  onBlocking?(what: string): void;
  /** Called every tickMs while following (holder liveness); returns lock keys to re-read. */
  tick?(signal: AbortSignal): Promise<string[]>;
  tickMs?: number;
}

const MAX_BACKOFF_MS = 5_000;

/** Keys whose ModifyIndex changed, appeared or disappeared. */
export function changedKeys(seen: PrefixState["seen"], after: ReadonlyMap<string, number>): string[] {
  const before = asMap(seen);
  const out: string[] = [];
  for (const [k, mi] of after) if (before.get(k) !== mi) out.push(k);
  for (const k of before.keys()) if (!after.has(k)) out.push(k);
  return out;
}

function asMap(seen: PrefixState["seen"]): ReadonlyMap<string, number> {
  if (!Array.isArray(seen)) return seen as ReadonlyMap<string, number>;
  const m = new Map<string, number>();
  for (const e of seen as readonly KeyIndex[]) m.set(e.Key, e.ModifyIndex);
  return m;
}

export async function* blockingChanges(deps: WatchDeps, outer: AbortSignal): AsyncGenerator<StoreChange> {
  // The loops stop when the caller aborts OR stops iterating (return() runs the finally).
  const inner = new AbortController();
  const signal = inner.signal;
  const stopInner = () => inner.abort();
  outer.addEventListener("abort", stopInner, { once: true });
  if (outer.aborted) inner.abort();
  const feed = new ChangeFeed();
  const push = (keys: string[], needResync = false) => {
    feed.add(keys);
    if (needResync) feed.needResync();
  };

  const loop = async (what: string, step: (signal: AbortSignal, recovering: boolean) => Promise<void>) => {
    let backoff = 250;
    let failed = false;
    let announced = false;
    while (!signal.aborted) {
      try {
        if (!announced) {
          announced = true;
          deps.onBlocking?.(what);
        }
        await step(signal, failed);
        failed = false;
        backoff = 250;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ConsulError && err.code === "forbidden") {
          feed.fail(err);
          return;
        }
        failed = true;
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  };

  const loops = deps.prefixes.map((prefix) => {
    let state: PrefixState = deps.start.prefixes.get(prefix) ?? { index: 0, seen: new Map<string, number>() };
    return loop(`kv:${prefix}`, async (s, recovering) => {
      const res = await deps.readPrefix(prefix, recovering ? 0 : state.index, s);
      if (res.tooLarge) {
        // Over the bounds: reported by the snapshot; not followed (a resync re-lists it).
        await new Promise<void>((r) => s.addEventListener("abort", () => r(), { once: true }));
        return;
      }
      if (recovering || res.index < state.index) {
        state = { index: res.index, seen: res.seen };
        push([], true);
        return;
      }
      if (res.index === state.index) return;
      const keys = changedKeys(state.seen, res.seen);
      state = { index: res.index, seen: res.seen };
      push(keys);
    });
  });
  let sessions = deps.start.sessions;
  loops.push(
    loop("sessions", async (s, recovering) => {
      const res = await deps.readSessions(recovering ? 0 : sessions.index, s);
      const ids = new Set(res.sessions.map((x) => x.ID));
      if (recovering || res.index < sessions.index) {
        sessions = { index: res.index, ids };
        push([], true);
        return;
      }
      const vanished = [...sessions.ids].filter((id) => !ids.has(id));
      sessions = { index: res.index, ids };
      push(vanished.flatMap((id) => deps.keysOfSession(id)));
    }),
  );

  const stopTicks = deps.tick ? startTicks(deps.tick, deps.tickMs ?? 5_000, signal, (keys) => push(keys)) : null;
  try {
    yield* feed.drain(signal);
  } finally {
    stopTicks?.();
    outer.removeEventListener("abort", stopInner);
    inner.abort();
    void Promise.allSettled(loops);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
