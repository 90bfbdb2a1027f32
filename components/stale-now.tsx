"use client";

// Locks that are stale right now, on every connection: the rules that fired (no expiry, lease
// not renewed, holder dead, held too long, waiter queued too long) as badges, each a link.

import Link from "next/link";
import { useQueries, useQuery } from "@tanstack/react-query";
import { fetchLocksPage } from "./api";
import { lockHref } from "./lock-row";
import { connectionsQuery, REFRESH_MS } from "./queries";
import { useWarnings } from "./warnings";
import { STALE_WARNINGS } from "@/lib/status";
import { VisibleText } from "./visible-text";

const LIMIT = 50;

export function StaleNow() {
  const { describe: describeWarning } = useWarnings();
  const conns = useQuery(connectionsQuery());
  const withStale = (conns.data ?? []).filter((c) => c.counts.stale > 0);
  const pages = useQueries({
    queries: withStale.map((c) => ({
      queryKey: ["locks", c.id, { status: "stale" }, 0, "stale-now"],
      queryFn: ({ signal }: { signal: AbortSignal }) => fetchLocksPage(c.id, { status: "stale", sort: "age" }, 0, LIMIT, signal),
      refetchInterval: REFRESH_MS,
    })),
  });
  const rows = withStale.flatMap((c, i) => (pages[i]?.data?.locks ?? []).map((lock) => ({ conn: c.id, lock })));
  return (
    <section data-testid="stale-now" className="rounded-md border border-line bg-panel p-3">
      <h2 className="mb-2 font-medium">Stale now</h2>
      {rows.length === 0 ? (
        <p className="text-muted">No stale locks on any connection.</p>
      ) : (
        <ul className="flex flex-col gap-1">
          {rows.map(({ conn, lock }) => (
            <li key={`${conn}\u0000${lock.key}`} data-testid="stale-row" className="flex flex-wrap items-center gap-2">
              <span className="text-faint">{conn}</span>
              <Link href={lockHref(conn, lock.key)} className="font-mono hover:underline">
                <VisibleText text={lock.name} />
              </Link>
              {lock.warnings
                .filter((w) => STALE_WARNINGS.has(w))
                .map((w) => (
                  <span key={w} title={describeWarning(w).text} className="rounded bg-stale/10 px-1.5 text-[12px] text-stale">
                    {describeWarning(w).short}
                  </span>
                ))}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
