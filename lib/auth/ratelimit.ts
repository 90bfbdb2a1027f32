// Fixed-window counters in memory, per key (the actor for releases; client address, client
// address + name, and name alone, for sign-ins).
// One process = one console; several replicas would each count their own.

import { isIP } from "node:net";
import { normalizeAddress } from "./net.mjs";

export class RateLimiter {
  private hits = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one attempt; false when the key is over its limit in this window. */
  take(key: string, now = Date.now()): boolean {
    const w = this.hits.get(key);
    if (!w || now - w.start >= this.windowMs) {
      this.hits.set(key, { start: now, count: 1 });
      if (this.hits.size > 10_000) this.prune(now);
      return true;
    }
    w.count++;
    return w.count <= this.max;
  }

  private prune(now: number) {
    for (const [k, w] of this.hits) if (now - w.start >= this.windowMs) this.hits.delete(k);
  }
}

/**
 * Which client a per-address limit counts: an IPv4 address as it is, an IPv6 one by its /64
 * (one host usually has a whole /64 and could otherwise rotate through it); anything else
 * (including "unknown": a bare `next start`, where every client is one) as it is.
 */
export function clientKey(address: string): string {
  const a = normalizeAddress(address);
  if (isIP(a) !== 6) return a;
  const [head, tail = ""] = a.split("::");
  const h = head ? head.split(":") : [];
  const t = a.includes("::") ? (tail ? tail.split(":") : []) : [];
  // An embedded IPv4 tail (::a.b.c.d) counts as two groups; only the first four matter here.
  const groups = [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

/**
 * Refusals that cost the server nothing (rate-limited, busy) are audited once per key and
 * window, not once each, so a flood cannot grow the trail without bound. note() says whether
 * this one gets a line, and how many earlier ones without a line it stands for.
 */
export class RefusalAudit {
  private seen = new Map<string, { start: number; count: number }>();

  constructor(private readonly windowMs: number) {}

  note(key: string, now = Date.now()): { write: boolean; unwritten: number } {
    const w = this.seen.get(key);
    if (!w || now - w.start >= this.windowMs) {
      // The previous window's refusals past its line are counted in this one.
      this.seen.set(key, { start: now, count: 1 });
      if (this.seen.size > 10_000) this.prune(now);
      return { write: true, unwritten: w ? w.count - 1 : 0 };
    }
    w.count++;
    return { write: false, unwritten: 0 };
  }

  private prune(now: number) {
    for (const [k, w] of this.seen) if (now - w.start >= this.windowMs) this.seen.delete(k);
  }
}
