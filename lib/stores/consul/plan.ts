// What a Consul force-release would do, in words and in curl, for the release dialog. Pure:
// the adapter passes what it last read (entries by key, sessions by id).

import type { LockView, ReleaseMode, ReleasePlan } from "../../model";
import { decodeFence, type FenceHolding } from "../../fence";
import type { ConsulEntry, ConsulSession } from "../../formats/consul/entry";
import { destroyCurl, evictOps, txnCurl, unlockOps, MAX_TXN_OPS } from "./release";

export interface PlanContext {
  base: string;
  datacenter?: string;
  readOnly: boolean;
  entries: ReadonlyMap<string, ConsulEntry>;
  sessions: ReadonlyMap<string, ConsulSession>;
  /** Keys under the watched prefixes that this session holds, from the last reads. */
  keysOfSession(id: string): string[];
}

/** The plan also says, in one line, what the mode does (the dialog's mode picker shows it). */
export type ConsulPlan = ReleasePlan & { title: string };

export function evictees(h: FenceHolding): Array<[string, string, number]> {
  try {
    const list = JSON.parse(String(h.hs ?? "[]")) as unknown;
    return Array.isArray(list) ? (list as Array<[string, string, number]>) : [];
  } catch {
    return [];
  }
}

export function modesFor(lock: LockView, ctx: PlanContext): ReleaseMode[] {
  if (ctx.readOnly) return [];
  const h = decodeFence(lock.fence).h;
  if (h.t === "kv") return ["delete", "destroy-session"];
  if (h.t === "sem") {
    const n = evictees(h).length;
    if (n === 0 || 1 + 2 * n > MAX_TXN_OPS) return [];
    return n === 1 ? ["delete", "destroy-session"] : ["delete"];
  }
  return [];
}

/** A semaphore's holders that can be released one at a time (each its own slot), with a label and their modes. */
export function targetsFor(lock: LockView, ctx: PlanContext): NonNullable<ReleasePlan["targets"]> | undefined {
  const h = decodeFence(lock.fence).h;
  if (h.t !== "sem" || ctx.readOnly) return undefined;
  // One holder's session can always be destroyed alone, even where the whole semaphore's cannot.
  const modes = [...new Set<ReleaseMode>([...modesFor(lock, ctx), "destroy-session"])];
  return evictees(h).map(([key, sid]) => {
    const name = ctx.sessions.get(sid)?.Name;
    return { id: sid, label: `${name ? `${name} · ` : ""}session ${sid.slice(0, 8)} · ${key}`, modes };
  });
}

/**
 * The holders a semaphore release acts on: the one named by `target`, or every holder seen.
 * null when the target is not one of the holders in the fence (nothing may be released then).
 */
export function semaphoreEvictees(h: FenceHolding, target: string | undefined): Array<[string, string, number]> | null {
  const all = evictees(h);
  if (target === undefined) return all;
  const one = all.filter(([, sid]) => sid === target);
  return one.length === 1 ? one : null;
}

export function describe(lock: LockView, mode: ReleaseMode, ctx: PlanContext, target?: string): ConsulPlan {
  const h = decodeFence(lock.fence).h;
  const modes = modesFor(lock, ctx);
  const notes: string[] = [];
  const targets = targetsFor(lock, ctx);
  const chosen = h.t === "sem" ? semaphoreEvictees(h, target) : target === undefined || target === String(h.s) ? [] : null;
  if (chosen === null) {
    return {
      title: `not releasable: ${target} is not a holder of this lock as you saw it`,
      modes,
      deletes: "nothing",
      command: "(no such holder in the holding seen)",
      holderNotified: false,
      notes: ["Re-read the lock: the holder may have left or the lock changed."],
      targets,
      target,
    };
  }
  if (modes.length === 0 && !(h.t === "sem" && target !== undefined && mode === "destroy-session" && !ctx.readOnly)) {
    return {
      title: "not releasable",
      modes,
      deletes: "nothing",
      command: "(no conditional release exists for this record)",
      holderNotified: false,
      notes: [ctx.readOnly ? "This connection is read-only." : notReleasable(lock, h)],
    };
  }
  const monitored = lock.format === "consul.lock" || lock.format === "consul.semaphore";
  if (lock.fencingToken)
    notes.push(`Fencing token (LockIndex) ${lock.fencingToken}: resources that check the sequencer (key, LockIndex, session) refuse the old holder.`);
  if (lock.consistency.startsWith("stale") || lock.consistency.includes("NO KNOWN LEADER"))
    notes.push("This view was read in stale mode; the release itself always goes through the leader and checks the index.");

  if (mode === "destroy-session") {
    const sid = h.t === "kv" ? String(h.s) : (chosen[0]?.[1] ?? "");
    // The key the guarded txn ends: the lock's own key, or a semaphore holder's contender key.
    const heldKey = h.t === "kv" ? lock.key : (chosen[0]?.[0] ?? lock.key);
    const s = ctx.sessions.get(sid);
    const keys = ctx.keysOfSession(sid);
    const others = keys.filter((k) => k !== heldKey);
    const delayMs = s?.LockDelay !== undefined ? Math.round(s.LockDelay / 1e6) : 15_000;
    const behavior = s?.Behavior || "release";
    const guarded = h.t === "kv" ? kvOps(lock, h, ctx) : semOps(lock, h, chosen, ctx);
    const guard =
      h.t === "kv"
        ? `unlocks ${lock.key} with the guarded /v1/txn of delete (only while ModifyIndex is ${h.mi} and Session is ${sid})`
        : `frees its slot with the guarded /v1/txn of delete (.lock cas on ModifyIndex ${h.mi}; deletes ${heldKey} only while ${sid.slice(0, 8)} holds it)`;
    notes.push(
      `Before anything is sent LockDeck reads the whole KV once (consistent) for every key session ${sid.slice(0, 8)} holds — Consul has no session→keys index — and refuses, nothing sent, if any is outside this connection's prefixes, if Consul's ACLs hide keys from its token, or if the KV is over maxKeysPerPrefix / maxPrefixBytes. The keys listed here are the ones under the watched prefixes, as last read.`,
      `The lock you saw is ended by the same guarded txn as delete: if it changed since you looked (re-acquired, another holder, a slot given back), nothing is destroyed (409). ${h.t === "kv" ? "That key is unlocked, not destroyed: no lock-delay on it." : ""}`.trim(),
      `Only then is the session destroyed. Consul's /v1/txn has no session operations, so the destroy is not conditional: a key the session takes between the check and the destroy (one round trip) is released with it. If the destroy fails, the lock you saw is still released.`,
      "The session cannot be re-created: its holder must take a new one (api.Lock and `consul lock` report the lock as lost).",
    );
    return {
      title: `Destroy session ${sid.slice(0, 8)}${s?.Name ? ` (${s.Name})` : ""}: if everything it holds is under the prefixes, ${guard}, then destroys the session: its other keys (${others.length} seen${others.length ? `: ${others.slice(0, 6).join(", ")}${others.length > 6 ? ", …" : ""}` : ""}) are ${behavior === "delete" ? "deleted" : "released"}, lock-delay ${fmtMs(delayMs)}.`,
      modes,
      deletes: `DESTROYS session ${sid} (${s?.Name ?? "name unknown"}, node ${s?.Node ?? "?"}, behavior ${behavior}) after the guarded txn ended ${heldKey} — refused if it holds any key outside the prefixes — then Consul ${behavior === "delete" ? "DELETES" : "releases"} every other key it holds: ${others.join(", ") || "(none seen)"}${keys.length ? ` (seen under the prefixes: ${keys.join(", ")})` : ""}`,
      wakes: `nobody can acquire ${others.length === 1 ? "its other key" : `its other ${others.length} keys`} for the lock-delay of ${fmtMs(delayMs)} after the destroy (Consul refuses ?acquire meanwhile)${h.t === "kv" ? `; ${lock.key} is free at once` : ""}`,
      command: `${txnCurl(ctx.base, guarded, ctx.datacenter)} --fail && ${destroyCurl(ctx.base, sid, ctx.datacenter)}`,
      holderNotified: monitored,
      notes,
      targets,
      ...(target !== undefined && { target }),
    };
  }

  if (h.t === "sem") {
    const ev = chosen;
    const all = evictees(h).length;
    const ops = semOps(lock, h, ev, ctx);
    notes.push("api.Semaphore holders watch .lock: each evicted holder sees it lost its slot. Contender keys of waiters stay.");
    const one = target !== undefined;
    const who = one ? `${ctx.sessions.get(ev[0][1])?.Name ?? "holder"} (session ${ev[0][1].slice(0, 8)})` : "";
    if (one && all > 1) notes.push(`The other ${all - 1} holder${all - 1 === 1 ? " keeps its slot" : "s keep their slots"}.`);
    return {
      title: one
        ? `Free ONE slot — ${who}: one /v1/txn rewrites .lock without it (CAS on ModifyIndex ${h.mi}) and deletes its contender key ${ev[0][0]}; ${all > 1 ? `the other ${all - 1} holder${all - 1 === 1 ? "" : "s"} stay` : "it was the only holder"}; no lock-delay.`
        : `Evict ALL ${ev.length} holder${ev.length === 1 ? "" : "s"} seen: one /v1/txn rewrites .lock without ${ev.length === 1 ? "it" : "them"} (CAS on ModifyIndex ${h.mi}) and deletes ${ev.length === 1 ? "its contender key" : "their contender keys"}; no lock-delay.`,
      targets,
      ...(one && { target }),
      modes,
      deletes: `${ev.map(([k]) => k).join(", ")} (each only while its session holds it), and ${ev.length === 1 ? "that holder" : "those holders"} from ${lock.key} (only while its ModifyIndex is ${h.mi})`,
      wakes: `waiters (${lock.waiters.length}) see ${ev.length} permit${ev.length === 1 ? "" : "s"} free at once`,
      command: txnCurl(ctx.base, ops, ctx.datacenter),
      holderNotified: true,
      notes,
    };
  }

  const others = ctx.keysOfSession(String(h.s)).filter((k) => k !== lock.key);
  const ops = kvOps(lock, h, ctx);
  if (others.length)
    notes.push(
      `Session ${String(h.s).slice(0, 8)} keeps holding ${others.length} other key${others.length === 1 ? "" : "s"}: ${others.slice(0, 6).join(", ")}${others.length > 6 ? ", …" : ""}.`,
    );
  notes.push("By hand without the index check: consul kv put -release -session=<session> <key> <value> (resend the value, or it is replaced).");
  return {
    title: `Unlock only this key with one /v1/txn (check-index + check-session + unlock): no lock-delay; the session's other keys stay held.`,
    modes,
    deletes: `nothing is deleted: UNLOCKS ${lock.key} (clears its Session, keeps value and flags) only while ModifyIndex is ${h.mi} and Session is ${h.s}`,
    wakes: "contenders blocked on the key can acquire it at once (no lock-delay)",
    command: txnCurl(ctx.base, ops, ctx.datacenter),
    holderNotified: monitored,
    notes,
  };
}

/** The guarded unlock of a key (delete mode, and the first step of destroy-session). */
function kvOps(lock: LockView, h: FenceHolding, ctx: PlanContext) {
  const e = ctx.entries.get(lock.key);
  const value = e && e.ModifyIndex === Number(h.mi) ? (e.Value ?? "") : "<base64 value at this ModifyIndex>";
  return unlockOps({ key: lock.key, modifyIndex: Number(h.mi), session: String(h.s) }, value, e?.Flags ?? "0");
}

/** The guarded eviction of semaphore holders (delete mode, and the first step of destroy-session). */
function semOps(lock: LockView, h: FenceHolding, ev: Array<[string, string, number]>, ctx: PlanContext) {
  return evictOps({
    lockKey: lock.key,
    lockModifyIndex: Number(h.mi),
    limit: Number(h.lim),
    flags: ctx.entries.get(lock.key)?.Flags ?? "16210313421097356768",
    holdersNow: lock.holders.map((x) => x.id),
    evict: ev.map(([k, s]) => [k, s]),
  });
}

function notReleasable(lock: LockView, h: FenceHolding): string {
  if (lock.state === "free") return "Nobody holds this lock.";
  if (h.t === "sem") return "No live holder to evict (or too many for one transaction).";
  if (lock.format === "consul.unknown") return "This key does not have a known lock layout, so there is nothing exact to release.";
  return "No exact holding to release.";
}

function fmtMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
