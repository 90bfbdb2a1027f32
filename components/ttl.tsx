import type { LockView } from "@/lib/model";
import { formatTtl } from "./format";

/** grantedTtl is the TTL the holding was granted, when the store tells it (etcd leases). */
export function grantedTtl(lock: LockView): number | null {
  const g = lock.holders[0]?.lease?.grantedTtlMs;
  return g && g > 0 ? g : null;
}

const SOURCE: Record<LockView["ttlSource"], string> = {
  pttl: "PTTL",
  lease: "lease TTL",
  session: "session TTL",
  "zk-session": "ZooKeeper session",
  none: "no TTL",
};

function barColour(fraction: number): string {
  if (fraction < 0.1) return "bg-expiring";
  if (fraction < 0.3) return "bg-contended/80";
  return "bg-held/70";
}

/**
 * A TTL cell for a lock whose time left the store does not give as a number: what it does say,
 * in words (data-ttl-ms is empty). `source` names why, for tests and styling.
 */
function TtlWords({ source, className, title, children }: { source: string; className: string; title: string; children: string }) {
  return (
    <span data-testid="lock-ttl" data-ttl-ms="" data-ttl-source={source} className={className} title={title}>
      {children}
    </span>
  );
}

/**
 * Ttl shows the remaining TTL exactly as the store reported it at observedAt (no local
 * countdown: the page re-reads), with a bar when the granted TTL is known.
 * data-testid="lock-ttl", data-ttl-ms = the raw value ("" for no expiry, or no number: TtlWords).
 */
export function Ttl({ lock, precise = false, wide = false }: { lock: LockView; precise?: boolean; wide?: boolean }) {
  const held = lock.holders.length > 0;
  if (lock.ttlSource === "session" && lock.ttlMs === null) {
    // Consul reports a session's configured TTL only, never the time left: say so, never "∞".
    const ttl = lock.holders[0]?.session?.ttl;
    return (
      <TtlWords
        source="session"
        className="text-muted"
        title="As configured on the holder's Consul session: Consul does not report the time left (invalidation can take up to 2× the TTL after the last renewal)."
      >
        {!held ? "–" : ttl ? `session TTL ${ttl}` : "no session TTL"}
      </TtlWords>
    );
  }
  if (lock.ttlSource === "zk-session" && lock.ttlMs === null) {
    // ZooKeeper: an ephemeral holder node lives exactly as long as its session, whose time left
    // the store does not report. Not "never expires".
    return (
      <TtlWords
        source="zk-session"
        className="text-muted"
        title="The holder's ephemeral node is deleted when its ZooKeeper session ends; ZooKeeper does not report how long that is."
      >
        {held ? "while its session lives" : "–"}
      </TtlWords>
    );
  }
  if (lock.ttlSource === "lease" && lock.ttlMs === null) {
    // A lease always runs out: null here means its TTL could not be read (etcd: LeaseTimeToLive
    // failed, e.g. no leader). Never "no expiry", which would tell on-call it never frees.
    return (
      <TtlWords
        source="lease-unknown"
        className="text-expiring"
        title="The store did not answer for the holder's lease, so its time left is unknown — not infinite. The console asks again on every lease check."
      >
        TTL unknown
      </TtlWords>
    );
  }
  const granted = grantedTtl(lock);
  const ttl = lock.ttlMs;
  const fraction = ttl !== null && granted ? Math.max(0, Math.min(1, ttl / granted)) : null;
  const title = ttl === null ? "never expires" : `${SOURCE[lock.ttlSource]}: ${ttl} ms left at the store read${granted ? ` of ${granted} ms granted` : ""}`;
  return (
    <span className="inline-flex items-center gap-1.5 tabular-nums" title={title}>
      {fraction !== null ? (
        <span aria-hidden className={`relative inline-block overflow-hidden rounded-sm bg-sunken ${wide ? "h-2.5 w-40" : "h-2 w-10"}`}>
          <span className={`absolute inset-y-0 left-0 ${barColour(fraction)}`} style={{ width: `${fraction * 100}%` }} />
        </span>
      ) : null}
      <span data-testid="lock-ttl" data-ttl-ms={ttl ?? ""} className={ttl === null ? "text-faint" : undefined}>
        {formatTtl(ttl, precise)}
      </span>
    </span>
  );
}
