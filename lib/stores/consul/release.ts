// Force-release for Consul (reliability.md §2.3), as pure builders: the /v1/txn bodies and
// the curl lines an operator could run by hand. The adapter sends them.
//
// (a) txn unlock, one key: check-index (the ModifyIndex seen) + check-session (the session
//     seen) + unlock. Consul applies it all or nothing: 200 applied, 409 rolled back. No
//     lock-delay; the session's other keys stay held. `unlock` REWRITES the entry, so the
//     value and the uint64 flags read at that ModifyIndex are sent back unchanged (flags
//     spliced in as digits: JSON numbers in JS cannot carry api.Lock's 0x2ddccbc058a50c18).
// (b) destroy the session, after (1) one consistent read of the whole KV proved every key it
//     holds is under the prefixes and (2) the exact holding seen was ended by (a) or (c): its
//     other keys are then released (deleted, behavior=delete) and Consul refuses to
//     re-acquire them for the session's lock-delay. The destroy itself cannot be guarded
//     (/v1/txn has no session operations); see adapter.ts destroySession.
// (c) semaphore: a txn that CAS-rewrites <prefix>/.lock without the holders seen (cas on the
//     ModifyIndex seen) and deletes each one's contender key while that session holds it.

export const MAX_TXN_OPS = 128;

export interface KvSeen {
  key: string;
  modifyIndex: number;
  session: string;
}

type Op = Record<string, string | number>;

/** JSON for a txn; `flags` values are decimal strings written as bare JSON numbers. */
export function txnJson(ops: Op[]): string {
  const parts = ops.map((op) => {
    const fields = Object.entries(op).map(([k, v]) => {
      const value = k === "Flags" ? String(v).replace(/[^0-9]/g, "") || "0" : JSON.stringify(v);
      return `${JSON.stringify(k)}:${value}`;
    });
    return `{"KV":{${fields.join(",")}}}`;
  });
  return `[${parts.join(",")}]`;
}

export function unlockOps(seen: KvSeen, valueBase64: string, flags: string): Op[] {
  return [
    { Verb: "check-index", Key: seen.key, Index: seen.modifyIndex },
    { Verb: "check-session", Key: seen.key, Session: seen.session },
    { Verb: "unlock", Key: seen.key, Value: valueBase64, Flags: flags, Session: seen.session },
  ];
}

/** api.Semaphore's encodeLock: {"Limit":n,"Holders":{…}} with Go's sorted map keys. */
export function semaphoreValue(limit: number, holders: string[]): string {
  const sorted = [...new Set(holders)].sort();
  return JSON.stringify({ Limit: limit, Holders: Object.fromEntries(sorted.map((h) => [h, true])) });
}

export interface SemaphoreEviction {
  lockKey: string;
  lockModifyIndex: number;
  limit: number;
  flags: string;
  /** Holders named in .lock now (at lockModifyIndex). */
  holdersNow: string[];
  /** The holders to evict: [contender key, session]. */
  evict: Array<[string, string]>;
}

export function evictOps(e: SemaphoreEviction): Op[] {
  const gone = new Set(e.evict.map(([, s]) => s));
  const value = Buffer.from(
    semaphoreValue(
      e.limit,
      e.holdersNow.filter((h) => !gone.has(h)),
    ),
  ).toString("base64");
  const ops: Op[] = [{ Verb: "cas", Key: e.lockKey, Index: e.lockModifyIndex, Value: value, Flags: e.flags }];
  for (const [key, session] of e.evict) {
    ops.push({ Verb: "check-session", Key: key, Session: session }, { Verb: "delete", Key: key });
  }
  return ops;
}

/** Consul's 409 body for a rolled-back txn: {"Errors":[{"OpIndex":n,"What":"…"}]}. */
export function txnErrors(body: string): string {
  try {
    const parsed = JSON.parse(body) as { Errors?: Array<{ OpIndex: number; What: string }> };
    return (parsed.Errors ?? []).map((e) => `op ${e.OpIndex}: ${e.What}`).join("; ") || body.slice(0, 300);
  } catch {
    return body.slice(0, 300);
  }
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@=%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The URL part of a curl line: the agent's address, plus dc= when the connection sets one. */
function endpoint(base: string, path: string, dc?: string): string {
  return shellQuote(`${base}${path}${dc ? `?dc=${encodeURIComponent(dc)}` : ""}`);
}

const TOKEN = `-H "X-Consul-Token: $CONSUL_HTTP_TOKEN"`;

export function txnCurl(base: string, ops: Op[], dc?: string): string {
  return `curl -sS -X PUT ${TOKEN} --data-binary ${shellQuote(txnJson(ops))} ${endpoint(base, "/v1/txn", dc)}`;
}

export function destroyCurl(base: string, session: string, dc?: string): string {
  return `curl -sS -X PUT ${TOKEN} ${endpoint(base, `/v1/session/destroy/${encodeURIComponent(session)}`, dc)}`;
}

/**
 * What names the holding in a fence, to tell after an unknown outcome whether it is still
 * there: the session and LockIndex of a key (both modes end that acquisition), or each
 * evicted semaphore holder's contender key and session (the txn evicts all or none).
 */
export function holdingIds(holding: Record<string, unknown>): string[] {
  if (holding.t === "kv" && holding.s) return [`s:${String(holding.s)}@${String(holding.li)}`];
  if (holding.t === "sem" && typeof holding.hs === "string") {
    return (JSON.parse(holding.hs) as Array<[string, string, number]>).map(([k, s]) => `sem:${k}@${s}`);
  }
  return [];
}
