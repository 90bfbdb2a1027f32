import { memo, type MouseEvent } from "react";
import { suspects, visibleText } from "@/lib/keys";
import { lockStatus } from "@/lib/status";
import { formatClock, formatDuration, laterOf, msBetween } from "./format";
import { startLabel, whoText } from "./holder-text";
import type { HolderView, LockView } from "./truth-types";
import { StatusBadge } from "./status-badge";
import { Ttl } from "./ttl";
import { VisibleText } from "./visible-text";
import { useWarnings } from "./warnings";

/** Column template shared by the header and every row, so they line up. */
export const LOCK_GRID = "grid grid-cols-[112px_minmax(200px,2.2fr)_130px_minmax(280px,2.6fr)_76px_150px_96px_minmax(130px,1.2fr)] items-center gap-x-3 px-3";

export const ROW_HEIGHT = 28;

export function lockHref(conn: string, key: string): string {
  return `/c/${encodeURIComponent(conn)}/lock?key=${encodeURIComponent(key)}`;
}

/** Who holds it first (owner, session), the short id after it; the id never shrinks to a stub. */
function Holder({ lock }: { lock: LockView }) {
  const h = lock.holders[0];
  if (!h) return <span className="text-faint">–</span>;
  const more = lock.holders.length - 1;
  const t = whoText(h);
  return (
    <span className="flex min-w-0 items-baseline gap-1.5" title={lock.holders.map((x) => visibleText(whoText(x).title)).join("\n\n")}>
      {t.id === null ? (
        <span data-testid="holder-id" data-holder-id={h.id} className="shrink-0 font-mono">
          <VisibleText text={t.who} />
        </span>
      ) : (
        <>
          <span data-testid="holder-who" className="min-w-0 truncate">
            <VisibleText text={t.who} />
          </span>
          {/* The id gives way first, but never below a readable stub (the full id is in the title). */}
          <span data-testid="holder-id" data-holder-id={h.id} className="min-w-[9ch] shrink-[4] truncate font-mono text-[11px] text-faint">
            <VisibleText text={t.id} />
          </span>
        </>
      )}
      {h.reentrancy && h.reentrancy > 1 ? <span className="shrink-0 text-muted">(x{h.reentrancy})</span> : null}
      {more > 0 ? <span className="shrink-0 rounded bg-sunken px-1 text-[11px] text-muted">+{more}</span> : null}
    </span>
  );
}

/** The key as it can be told apart (escapes marked); a key that is not plain text starts with ⚠, so a cut one is marked too. */
function KeyCell({ lockKey }: { lockKey: string }) {
  const odd = suspects(lockKey);
  return (
    <span role="gridcell" data-testid="lock-key" className="truncate font-mono" title={visibleText(lockKey) + (odd.length ? `\n⚠ ${odd.join(", ")}` : "")}>
      {odd.length ? (
        <span data-testid="key-lookalike-mark" className="text-warn">
          ⚠{" "}
        </span>
      ) : null}
      <VisibleText text={lockKey} />
    </span>
  );
}

/** Named waiters as filled bars, waiters the store only counts as hollow ones; the number is both. */
function Waiters({ lock }: { lock: LockView }) {
  const named = lock.waiters.length;
  const anon = lock.anonymousWaiters?.count ?? 0;
  const n = named + anon;
  if (n === 0) return <span className="text-faint">–</span>;
  const title = anon ? `${named ? `${named} in the queue + ` : ""}${anon} waiting (not identified): ${lock.anonymousWaiters!.source}` : `${n} waiting`;
  return (
    <span data-testid="waiters" data-waiters={n} data-anonymous={anon || undefined} className="flex items-center gap-1 tabular-nums" title={title}>
      <span aria-hidden className="tracking-[-2px] text-contended">
        {"▮".repeat(Math.min(named, 4))}
        {"▯".repeat(Math.min(anon, Math.max(0, 4 - named)))}
      </span>
      {n}
      {anon ? <span className="text-faint">?</span> : null}
    </span>
  );
}

/**
 * Held: from the holding's start to the server's "now" (never to the last change), labelled by
 * its source. While the view is stale it stops at the last confirmed read, marked "≥": nobody
 * knows whether the holding still exists now.
 */
function Held({ lock, now, stale }: { lock: LockView; now: string | undefined; stale: boolean }) {
  const h: HolderView | undefined = lock.holders[0];
  const ms = msBetween(h?.since, stale ? lock.observedAt : laterOf(now, lock.observedAt));
  if (!h?.since || ms === null) return <span className="text-faint">–</span>;
  const label = startLabel(h);
  const staleWords = stale
    ? ` The view is stale: at least this long when last confirmed (${formatClock(lock.observedAt)}); whether it is still held is not known.`
    : "";
  return (
    <span
      data-testid="held"
      data-held-ms={ms}
      data-stale={stale ? "true" : undefined}
      className="tabular-nums"
      title={`${label.word} ${formatClock(h.since)}. ${label.title}${staleWords}`}
    >
      {stale && !label.prefix ? "≥" : label.prefix}
      {formatDuration(ms)}
    </span>
  );
}

function Warnings({ warnings }: { warnings: string[] }) {
  const { describe: describeWarning } = useWarnings();
  if (!warnings.length) return null;
  const shown = warnings.slice(0, 2);
  return (
    <span className="flex min-w-0 items-center gap-1 overflow-hidden" title={warnings.map((w) => describeWarning(w).text).join("\n")}>
      {shown.map((w) => (
        <span key={w} data-warning={w} className="shrink-0 truncate rounded bg-warn/12 px-1 text-[11px] text-warn">
          ⚠ {describeWarning(w).short}
        </span>
      ))}
      {warnings.length > 2 ? <span className="text-[11px] text-muted">+{warnings.length - 2}</span> : null}
    </span>
  );
}

export interface LockRowProps {
  conn: string;
  /** Client-side navigation to the detail (a plain click; modified clicks keep the browser's behaviour). */
  onOpen(href: string): void;
  lock: LockView;
  index: number;
  top: number;
  selected: boolean;
  removed: boolean;
  /** Server time of the page read: ages run to it. */
  now: string | undefined;
  /** Set while the connection's view is stale: the row is dimmed and says how old it is. */
  staleNote: string | null;
}

/**
 * LockRow is one virtualised row (data-testid="lock-row", data-key = the lock key) and a link to
 * the lock's detail. A plain <a> rather than next/link: rows mount and unmount on every scroll
 * frame, so they stay as light as possible.
 */
export const LockRow = memo(function LockRow({ conn, onOpen, lock, index, top, selected, removed, now, staleNote }: LockRowProps) {
  const status = lockStatus(lock);
  const href = lockHref(conn, lock.key);
  const open = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    onOpen(href);
  };
  return (
    <a
      href={href}
      onClick={open}
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      data-testid="lock-row"
      data-key={lock.key}
      data-index={index}
      data-status={removed ? "gone" : status}
      data-stale={staleNote ? "true" : undefined}
      title={staleNote ?? undefined}
      className={`${LOCK_GRID} absolute inset-x-0 top-0 border-b border-line/60 ${
        selected ? "bg-selected" : "hover:bg-hover"
      } ${removed ? "opacity-50" : staleNote ? "opacity-55 saturate-50" : ""}`}
      style={{ height: ROW_HEIGHT, transform: `translateY(${top}px)` }}
    >
      <span role="gridcell">
        <StatusBadge status={status} gone={removed} />
      </span>
      <KeyCell lockKey={lock.key} />
      <span role="gridcell" className="truncate text-muted">
        {lock.format}
      </span>
      <span role="gridcell" className="min-w-0">
        <Holder lock={lock} />
      </span>
      <span role="gridcell">
        <Waiters lock={lock} />
      </span>
      <span role="gridcell">
        <Ttl lock={lock} />
      </span>
      <span role="gridcell">
        <Held lock={lock} now={now} stale={!!staleNote} />
      </span>
      <span role="gridcell" className="min-w-0">
        <Warnings warnings={lock.warnings} />
      </span>
    </a>
  );
});

/** A placeholder row while its page loads. */
export function SkeletonRow({ top, index }: { top: number; index: number }) {
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      aria-busy
      className={`${LOCK_GRID} absolute inset-x-0 top-0 border-b border-line/60`}
      style={{ height: ROW_HEIGHT, transform: `translateY(${top}px)` }}
    >
      <span className="h-3 w-16 rounded bg-sunken" />
      <span className="h-3 w-2/3 rounded bg-sunken" />
      <span className="h-3 w-20 rounded bg-sunken" />
      <span className="h-3 w-24 rounded bg-sunken" />
    </div>
  );
}
