// Fixed-window counters in memory, per key (the actor for releases; client address, client
// address + name, and name alone, for sign-ins).
// One process = one console; several replicas would each count their own.

import { isIP } from "node:net";
import { normalizeAddress } from "./net.mjs";

/** Counts per key in fixed windows of `windowMs`; keys whose window has passed are pruned past 10 000. */
class FixedWindows {
  private hits = new Map<string, { start: number; count: number }>();

  constructor(private readonly windowMs: number) {}

  /** Counts one for `key`: its count in this window, and the count of the window before (0: none kept). */
  protected hit(key: string, now: number): { count: number; before: number } {
    const w = this.hits.get(key);
    if (!w || now - w.start >= this.windowMs) {
      this.hits.set(key, { start: now, count: 1 });
      if (this.hits.size > 10_000) this.prune(now);
      return { count: 1, before: w ? w.count : 0 };
    }
    return { count: ++w.count, before: 0 };
  }

  private prune(now: number) {
    for (const [k, w] of this.hits) if (now - w.start >= this.windowMs) this.hits.delete(k);
  }
}

export class RateLimiter extends FixedWindows {
  constructor(
    private readonly max: number,
    windowMs: number,
  ) {
    super(windowMs);
  }

  /** Counts one attempt; false when the key is over its limit in this window. */
  take(key: string, now = Date.now()): boolean {
    return this.hit(key, now).count <= this.max;
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
export class RefusalAudit extends FixedWindows {
  note(key: string, now = Date.now()): { write: boolean; unwritten: number } {
    const { count, before } = this.hit(key, now);
    // The first of a window gets the line; it counts the previous window's refusals past its own line.
    return count === 1 ? { write: true, unwritten: Math.max(0, before - 1) } : { write: false, unwritten: 0 };
  }
}
