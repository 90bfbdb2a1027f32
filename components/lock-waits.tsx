"use client";

// The lock page through the wait-for graph: a holder judged dead (said first), what the holder
// is itself waiting for ("holder X is itself waiting for Y (since …)"), what else it holds, and
// the deadlock this lock is on. Reads GET …/waits?key= at the one page rate.

import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { sharedSessionCaveat } from "@/lib/waits/caveat";
import type { LockWaitsAnswer } from "@/lib/waits/types";
import { formatAge, formatClock, plural } from "./format";
import { Section } from "./lock-detail-parts";
import { LockLink, OwnerName } from "./waits-view";
import { lockWaitsQuery } from "./waits-queries";

function useLockWaits(conn: string, lockKey: string): LockWaitsAnswer | undefined {
  return useQuery(lockWaitsQuery(conn, lockKey)).data;
}

/** "Holder X is dead: …" — the first thing on the lock page when the store says so. */
export function HolderDead({ conn, lockKey }: { conn: string; lockKey: string }) {
  const a = useLockWaits(conn, lockKey);
  const dead = a?.holders.filter((h) => h.dead) ?? [];
  if (!a || dead.length === 0) return null;
  return (
    <div role="alert" data-testid="holder-dead" className="mb-1 rounded border border-stale/50 bg-stale/10 px-3 py-2 text-stale">
      {dead.map((h) => (
        <p key={h.owner}>
          ▲ Holder <OwnerName answer={a} owner={h.owner} /> is judged dead: {h.dead}.{" "}
          <span className="text-muted">Its lock stays held until the store expires it or it is force-released.</span>
        </p>
      ))}
    </div>
  );
}

/** The Waits section: what the holders wait for themselves, what else they hold, the deadlock. */
export function LockWaits({ conn, lockKey }: { conn: string; lockKey: string }) {
  const a = useLockWaits(conn, lockKey);
  if (!a) return null;
  const any = a.holders.some((h) => h.waitsFor.length || h.alsoHoldsTotal) || a.cycles.length || a.unidentifiedHolders;
  if (!any) return null;
  return (
    <Section title="Waits">
      {a.cycles.map((c, i) => (
        <p key={i} data-testid="lock-deadlock" className="text-stale">
          ▲ Deadlock:{" "}
          {c.owners.map((o, k) => (
            <span key={k}>
              {k ? "; " : ""}
              <OwnerName answer={a} owner={o} /> waits for <LockLink conn={conn} lock={c.locks[k]} name={a.lockNames[c.locks[k]] ?? c.locks[k]} deadlock />,
              held by <OwnerName answer={a} owner={c.owners[(k + 1) % c.owners.length]} />
            </span>
          ))}
          . Nobody on it moves until one of them is stopped or a lock on it force-released
          {sharedSessionCaveat(c.owners) ? <span data-testid="lock-deadlock-caveat"> — {sharedSessionCaveat(c.owners)}</span> : null}.
        </p>
      ))}
      {a.holders.map((h) => (
        <div key={h.owner} className="flex flex-col gap-0.5" data-testid="holder-waits" data-owner={h.owner}>
          {h.waitsFor.map((w) => (
            <p key={w.lock} data-testid="holder-waits-for">
              Holder <OwnerName answer={a} owner={h.owner} /> is itself waiting for <LockLink conn={conn} lock={w.lock} name={w.name} deadlock={w.deadlock} />
              {w.since ? (
                <span className="tabular-nums" title={w.since}>
                  {" "}
                  (since {formatClock(w.since)}, {formatAge(w.since, a.now)}; #{w.position} in its queue)
                </span>
              ) : (
                <span> (#{w.position} in its queue)</span>
              )}
              {w.holders.length ? (
                <>
                  , held by{" "}
                  {w.holders.map((x, i) => (
                    <span key={x.key}>
                      {i ? ", " : ""}
                      <OwnerName answer={a} owner={x.key} />
                    </span>
                  ))}
                </>
              ) : null}
              .
            </p>
          ))}
          {h.alsoHoldsTotal ? (
            <p data-testid="holder-also-holds">
              <OwnerName answer={a} owner={h.owner} /> also holds:{" "}
              {h.alsoHolds.map((l, i) => (
                <span key={l.lock}>
                  {i ? ", " : ""}
                  <LockLink conn={conn} lock={l.lock} name={l.name} />
                </span>
              ))}
              {h.alsoHoldsTotal > h.alsoHolds.length ? ` and ${plural(h.alsoHoldsTotal - h.alsoHolds.length, "more lock")}` : ""}.
            </p>
          ) : null}
        </div>
      ))}
      {a.unidentifiedHolders ? (
        <p className="text-muted" data-testid="holder-unidentified">
          This lock&apos;s library records no client identity for its holder (a plain token): LockDeck cannot tell what else that client holds or waits for.
        </p>
      ) : null}
      <Link href={`/c/${encodeURIComponent(conn)}/waits`} className="text-accent hover:underline">
        All waits on this connection →
      </Link>
    </Section>
  );
}
