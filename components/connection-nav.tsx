"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { useQuery } from "@tanstack/react-query";
import { formatClock, formatDuration } from "./format";
import { connectionsQuery } from "./queries";

/** ConnectionNav: which connection this is, its health, and its tabs (Locks, Settings). */
export function ConnectionNav({ conn }: { conn: string }) {
  const pathname = usePathname() ?? "";
  const { data, isPending } = useQuery(connectionsQuery());
  const c = data?.find((x) => x.id === conn);
  const base = `/c/${encodeURIComponent(conn)}`;
  const tab = (href: string, label: string, active: boolean) => (
    <Link
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
        ) : !isPending && data ? (
          <span className="text-bad">no connection with id “{conn}”</span>
        ) : null}
        <nav aria-label="Connection" className="ml-auto flex gap-1 self-end">
          {tab(base, "Locks", pathname === base || pathname.startsWith(`${base}/lock`))}
          {c?.kind === "consul" ? tab(`${base}/sessions`, "Sessions", pathname.startsWith(`${base}/sessions`)) : null}
          {c?.kind === "etcd" ? tab(`${base}/leases`, "Leases", pathname.startsWith(`${base}/leases`)) : null}
          {tab(`${base}/settings`, "Settings", pathname.startsWith(`${base}/settings`))}
        </nav>
      </div>
      {c && c.status !== "ok" ? (
        <p role="status" className={`pb-1.5 ${c.status === "unreachable" ? "text-bad" : "text-warn"}`}>
          ▲ {c.status}: {c.message}
          {c.status === "unreachable" && c.observedAt ? (
            <span className="text-muted">
              {" "}
              — showing the last snapshot, read {formatClock(c.observedAt)}
              {c.staleAgeMs !== null ? ` (${formatDuration(c.staleAgeMs)} old)` : ""}
            </span>
          ) : null}
        </p>
      ) : null}
    </div>
  );
}
