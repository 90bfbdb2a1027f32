"use client";

import type { ReactNode } from "react";
import Link from "next/link";
import { usePathname } from "next/navigation";
import type { ConnectionSummary } from "./api";
import { ErrorNote } from "./error-note";
import { formatDuration } from "./format";
import { staleWords } from "./freshness";
import { useConnections, type ShownConnection } from "./use-connections";

/** A tab of a store's own view (lib/stores/<kind>/module.ts `views`), as the layout passes it. */
export interface ViewTab {
  path: string;
  label: string;
}

/**
 * ConnectionFrame: the tabs of one connection above its page. The page itself mounts only once
 * the connection is known to exist, so an unknown id asks the store nothing (no 404s, no event
 * stream for it) and says so plainly instead of loading forever.
 */
export function ConnectionFrame({ conn, views, children }: { conn: string; views: ViewTab[]; children: ReactNode }) {
  const { data, error } = useConnections();
  const c = data?.find((x) => x.id === conn);
  if (data && !c) return <NoSuchConnection conn={conn} connections={data} />;
  return (
    <>
      <ConnectionNav conn={conn} c={c} views={views} />
      {c ? (
        children
      ) : error ? (
        <div className="p-4">
          <ErrorNote error={error} what="the connections" />
        </div>
      ) : (
        <p className="p-4 text-muted">Loading…</p>
      )}
    </>
  );
}

function NoSuchConnection({ conn, connections }: { conn: string; connections: ConnectionSummary[] }) {
  return (
    <div data-testid="no-such-connection" className="mx-auto flex w-full max-w-[720px] flex-col gap-2 p-4">
      <h1 className="text-[15px] font-semibold">
        No connection “<span className="font-mono break-all">{conn}</span>”
      </h1>
      <p className="text-muted">
        This console has no connection with that id: the link may be old, or the connection was renamed or removed from the configuration.
      </p>
      {connections.length ? (
        <>
          <p>Connections configured here:</p>
          <ul className="flex flex-col gap-0.5">
            {connections.map((x) => (
              <li key={x.id}>
                <Link href={`/c/${encodeURIComponent(x.id)}`} className="text-accent hover:underline">
                  {x.label || x.id}
                </Link>{" "}
                <span className="text-muted">
                  {x.kind} · <span className="font-mono text-[12px]">{x.id}</span>
                </span>
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p className="text-muted">No connections are configured.</p>
      )}
    </div>
  );
}

/** ConnectionNav: which connection this is, its health, and its tabs (Locks, Waits, the store's own views, Settings). */
function ConnectionNav({ conn, c, views }: { conn: string; c: ShownConnection | undefined; views: ViewTab[] }) {
  const pathname = usePathname() ?? "";
  const base = `/c/${encodeURIComponent(conn)}`;
  const tab = (href: string, label: string, active: boolean) => (
    <Link
      key={href}
      href={href}
      aria-current={active ? "page" : undefined}
      className={`border-b-2 px-2 pb-1 ${active ? "border-accent text-fg" : "border-transparent text-muted hover:text-fg"}`}
    >
      {label}
    </Link>
  );
  return (
    <div className="shrink-0 border-b border-line bg-panel/60 px-4 pt-2">
      <div className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
        <Link href="/" className="text-muted hover:text-fg">
          Connections /
        </Link>
        <h1 className="text-[15px] font-semibold">{c?.label || conn}</h1>
        {c ? (
          <span className="text-muted">
            {c.server ?? c.kind} · {c.kind} · <span className="font-mono text-[12px]">{c.id}</span>
          </span>
        ) : null}
        <nav aria-label="Connection" className="ml-auto flex gap-1 self-end">
          {tab(base, "Locks", pathname === base || pathname.startsWith(`${base}/lock`))}
          {tab(`${base}/waits`, "Waits", pathname.startsWith(`${base}/waits`))}
          {c ? views.map((v) => tab(`${base}/${v.path}`, v.label, pathname.startsWith(`${base}/${v.path}`))) : null}
          {tab(`${base}/settings`, "Settings", pathname.startsWith(`${base}/settings`))}
        </nav>
      </div>
      {c && (c.status !== "ok" || c.stale) ? (
        <p
          role="status"
          data-testid="connection-banner"
          data-stale-age-ms={c.stale ? (c.staleAgeMs ?? "") : undefined}
          data-console-silent-ms={c.consoleSilentMs}
          className={`pb-1.5 ${c.status === "unreachable" || c.consoleSilentMs ? "text-bad" : "text-warn"}`}
        >
          ▲{" "}
          {c.consoleSilentMs
            ? `the console has not answered for ${formatDuration(c.consoleSilentMs)}: this is the view of its last answer`
            : c.status === "ok"
              ? "not confirmed lately"
              : `${c.status}: ${c.message}`}
          {c.stale ? (
            <span className="text-muted">
              {" "}
              — {c.status === "unreachable" && c.observedAt ? "showing the last snapshot; " : ""}
              {staleWords(c)}
            </span>
          ) : null}
        </p>
      ) : null}
    </div>
  );
}
