// Password checks for sign-in (lib/auth/scrypt.mjs does the hashing). Each check holds 128 MiB
// for a few hundred ms, so at most two run at once and a short queue waits; past that a
// sign-in is answered "busy" rather than letting a flood of attempts exhaust memory.

import { hashPassword, needsRehash, verifyPassword as verify } from "./scrypt.mjs";
import { HttpError } from "../api/errors";

export { hashPassword, needsRehash };

const MAX_RUNNING = 2;
const MAX_WAITING = 16;
const g = globalThis as unknown as { __lockdeckScrypt?: { running: number; waiting: Array<() => void> } };

async function slot<T>(fn: () => Promise<T>): Promise<T> {
  const q = (g.__lockdeckScrypt ??= { running: 0, waiting: [] });
  if (q.running >= MAX_RUNNING) {
    if (q.waiting.length >= MAX_WAITING) throw new HttpError(503, "busy", "too many sign-ins at once: try again in a moment");
    await new Promise<void>((resolve) => q.waiting.push(resolve));
  } else q.running++;
  try {
    return await fn();
  } finally {
    const next = q.waiting.shift();
    if (next) next();
    else q.running--;
  }
}

/** Constant-time check of a password against a stored hash; rehash: the hash is older and cheaper than new ones. */
export function verifyPassword(password: string, stored: string): Promise<{ ok: boolean; rehash: boolean }> {
  return slot(() => verify(password, stored));
}
