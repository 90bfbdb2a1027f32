// Password checks for sign-in (lib/auth/scrypt.mjs does the hashing). Each check holds 128 MiB
// for a few hundred ms, so at most two run at once and a short queue waits; past that a
// sign-in is answered "busy" rather than letting a flood of attempts exhaust memory. One client
// address (an IPv6 one by its /64) holds at most MAX_PER_CLIENT of those places, running or
// waiting, so a burst from it is answered "busy" while other addresses are still checked. A
// check against the dummy hash (a name that does not exist) takes a place the same way, so it
// only ever uses its own address's share.

import { hashPassword, needsRehash, verifyPassword as verify } from "./scrypt.mjs";
import { HttpError } from "../api/errors";
import { clientKey } from "./ratelimit";

export { hashPassword, needsRehash };

const MAX_RUNNING = 2;
const MAX_WAITING = 16;
/** Places (running or waiting) one client address may hold at once: 4 of the 18. */
export const MAX_PER_CLIENT = 4;

interface Queue {
  running: number;
  waiting: Array<() => void>;
  /** Places held per client key. */
  held: Map<string, number>;
}
const g = globalThis as unknown as { __lockdeckScryptQueue?: Queue };

/** Why a check was not queued: the address's share is taken, or the whole queue is. */
export type BusyReason = "client" | "all";

export class BusyError extends HttpError {
  constructor(readonly reason: BusyReason) {
    super(
      503,
      "busy",
      reason === "client" ? "too many sign-ins from your address at once: try again in a moment" : "too many sign-ins at once: try again in a moment",
    );
  }
}

async function slot<T>(client: string, fn: () => Promise<T>): Promise<T> {
  const q: Queue = (g.__lockdeckScryptQueue ??= { running: 0, waiting: [], held: new Map() });
  const key = clientKey(client);
  const held = q.held.get(key) ?? 0;
  if (held >= MAX_PER_CLIENT) throw new BusyError("client");
  if (q.running >= MAX_RUNNING && q.waiting.length >= MAX_WAITING) throw new BusyError("all");
  q.held.set(key, held + 1);
  try {
    if (q.running >= MAX_RUNNING) await new Promise<void>((resolve) => q.waiting.push(resolve));
    else q.running++;
    try {
      return await fn();
    } finally {
      const next = q.waiting.shift();
      if (next) next();
      else q.running--;
    }
  } finally {
    const left = (q.held.get(key) ?? 1) - 1;
    if (left > 0) q.held.set(key, left);
    else q.held.delete(key);
  }
}

/**
 * Constant-time check of a password against a stored hash, in `client`'s share of the queue
 * (its address, or "unknown"); rehash: the hash is older and cheaper than new ones.
 */
export function verifyPassword(password: string, stored: string, client = "unknown"): Promise<{ ok: boolean; rehash: boolean }> {
  return slot(client, () => verify(password, stored));
}
