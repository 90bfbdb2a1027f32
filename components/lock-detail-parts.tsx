// Sections of the lock detail page (shared/UI.md §3). Presentational: no fetching here.

import type { ReactNode } from "react";
import Link from "next/link";
import { visibleText } from "@/lib/keys";
import type { RawPreview } from "@/lib/model";
import { CopyButton } from "./copy-button";
import { formatAge, formatClock, formatDuration, formatRawSize, formatTtl, msBetween, shortId } from "./format";
import { startLabel, whoText } from "./holder-text";
import type { AnonymousWaiters, HolderView, LockView, WaiterView } from "./truth-types";
import { lockHref } from "./lock-row";
import { Ttl } from "./ttl";
import { LookalikeNote, VisibleText } from "./visible-text";
import { useWarnings } from "./warnings";

/**
 * The lock page's heading: the name (or key) with its escapes marked, and, when the name or the
 * key is not plain text, a warning naming the characters (the header wraps it onto its own line).
 */
export function KeyHeading({ lock }: { lock: Pick<LockView, "name" | "key"> }) {
  const shown = lock.name || lock.key;
  return (
    <>
      <h1 className="font-mono text-[17px] font-semibold break-all" data-testid="lock-heading">
        <VisibleText text={shown} />
      </h1>
      <LookalikeNote text={shown} />
      {shown !== lock.key ? <LookalikeNote text={lock.key} /> : null}
    </>
  );
}

export function Section({ title, children, aside }: { title: string; children: ReactNode; aside?: ReactNode }) {
  return (
    <section className="grid grid-cols-[88px_minmax(0,1fr)] gap-x-3 border-t border-line py-2.5">
      <h2 className="pt-0.5 text-[11px] font-semibold tracking-wide text-muted uppercase">{title}</h2>
      <div className="flex min-w-0 flex-col gap-1.5">
        {children}
        {aside}
      </div>
    </section>
  );
}

/** The full id, selectable and with a copy button (data-testid="holder-id" / "waiter-id" carries it). */
function FullId({ id, testId, strong = false }: { id: string; testId: string; strong?: boolean }) {
  return (
    <span className="inline-flex min-w-0 flex-wrap items-baseline gap-x-1.5">
      <span
        data-testid={testId}
        data-holder-id={testId === "holder-id" ? id : undefined}
        className={`font-mono break-all ${strong ? "font-semibold" : "text-[12px] text-muted"}`}
        title={visibleText(id)}
      >
        <VisibleText text={id} />
      </span>
      <CopyButton text={id} label="copy" small />
    </span>
  );
}

function HolderRow({ h, now }: { h: HolderView; now: string }) {
  const t = whoText(h);
  const start = startLabel(h);
  return (
    <div className="flex flex-col gap-0.5" data-testid="holder-row">
      {t.id === null ? (
        <FullId id={h.id} testId="holder-id" strong />
      ) : (
        <>
          <div className="flex flex-wrap items-baseline gap-x-2">
            <span data-testid="holder-who" className="font-semibold break-words" title={visibleText(t.title)}>
              <VisibleText text={t.who} />
            </span>
            {h.ownerNote ? <span className="text-[12px] text-faint">({h.ownerNote})</span> : null}
          </div>
          <FullId id={h.id} testId="holder-id" />
        </>
      )}
      <div className="flex flex-wrap gap-x-3 text-muted tabular-nums">
        {h.reentrancy !== undefined ? <span>reentrancy {h.reentrancy}</span> : null}
        {h.since ? (
          <span data-testid="holder-since" data-held-ms={msBetween(h.since, now) ?? ""} title={start.title}>
            {start.word} {formatClock(h.since)} (held {start.prefix}
            {formatAge(h.since, now)})
          </span>
        ) : (
          <span>since unknown</span>
        )}
        {h.lease ? (
          <span title={`lease ${h.lease.id}`}>
            lease <span className="font-mono">{shortId(h.lease.id)}</span> <CopyButton text={h.lease.id} label="copy" small /> · {formatTtl(h.lease.ttlMs)} of{" "}
            {formatDuration(h.lease.grantedTtlMs)}
            {h.lease.keys ? ` · ${h.lease.keys.length} key${h.lease.keys.length === 1 ? "" : "s"} attached` : ""}
            {h.lease.keysElsewhere ? ` (and ${h.lease.keysElsewhere} outside this connection's prefixes)` : ""}
          </span>
        ) : null}
        {h.session ? (
          <span title={`session ${h.session.id}`}>
            session <span className="font-mono">{shortId(h.session.id)}</span> <CopyButton text={h.session.id} label="copy" small />
            {h.session.name ? (
              <>
                {" “"}
                <VisibleText text={h.session.name} />”
              </>
            ) : null}
            {h.session.node ? (
              <>
                {" on "}
                <VisibleText text={h.session.node} />
              </>
            ) : null}
            {h.session.behavior ? ` · behavior ${h.session.behavior}` : ""}
            {h.session.ttl ? ` · TTL ${h.session.ttl}` : ""}
            {h.session.lockDelayMs ? ` · lock-delay ${formatDuration(h.session.lockDelayMs)}` : ""}
          </span>
        ) : null}
      </div>
      {h.liveness ? <LivenessLine h={h} now={now} /> : null}
    </div>
  );
}

const LIVENESS_STYLE = { alive: "text-free", dead: "text-stale", unknown: "text-muted" } as const;

/** Is the holder's client still there, as the store tells (ZooKeeper cons, Consul node checks). */
function LivenessLine({ h, now }: { h: HolderView; now: string }) {
  const l = h.liveness!;
  return (
    <p data-testid="holder-liveness" data-state={l.state} className={LIVENESS_STYLE[l.state]}>
      {l.state === "dead" ? "▲ judged dead" : l.state === "alive" ? "● client present" : "? liveness unknown"}: {l.reason}
      {l.lastActivity ? (
        <span className="text-muted tabular-nums">
          {" "}
          · last answered by {formatClock(l.lastActivity)} ({formatAge(l.lastActivity, now)} ago)
        </span>
      ) : null}
    </p>
  );
}

/** `now`: the server's time of the latest read; ages run to it, so they tick while the page is open. */
export function Holders({ lock, now }: { lock: LockView; now: string }) {
  if (!lock.holders.length) return <p className="text-muted">Nobody holds it.</p>;
  return (
    <>
      {lock.holders.map((h) => (
        <HolderRow key={h.id} h={h} now={now} />
      ))}
      {lock.permitsFree !== undefined ? <p className="text-muted">{lock.permitsFree} permit(s) free</p> : null}
    </>
  );
}

export function TtlLine({ lock }: { lock: LockView }) {
  return (
    <div className="flex flex-wrap items-center gap-3">
      <Ttl lock={lock} precise wide />
      <span className="text-muted">
        {lock.ttlSource === "none" ? "no TTL" : `from ${lock.ttlSource}`}, as the store reported it at {formatClock(lock.observedAt, true)}
      </span>
    </div>
  );
}

function WaiterRow({ w, now }: { w: WaiterView; now: string }) {
  const t = whoText(w);
  const start = startLabel(w);
  return (
    <li data-testid="waiter-row" data-waiter-id={w.id} className="flex flex-wrap items-baseline gap-x-3 tabular-nums">
      <span className="w-6 text-right text-muted">{w.position}.</span>
      {t.id === null ? null : (
        <span title={visibleText(t.title)}>
          <VisibleText text={t.who} />
        </span>
      )}
      <span className="font-mono text-[12px] text-muted" title={visibleText(t.title)}>
        <VisibleText text={t.id ?? t.who} />
      </span>
      {w.since ? (
        <span className="text-muted" title={`${start.word} ${formatClock(w.since)}. ${start.title}`}>
          waiting {start.prefix}
          {formatAge(w.since, now)}
        </span>
      ) : null}
      {w.deadline ? <span className="text-muted">gives up at {formatClock(w.deadline)}</span> : null}
    </li>
  );
}

export function Queue({ lock, now }: { lock: LockView; now: string }) {
  const anon = lock.anonymousWaiters;
  if (!lock.waiters.length && !anon) return <p className="text-muted">No one is waiting.</p>;
  return (
    <>
      {lock.waiters.length ? (
        <ol className="flex flex-col gap-0.5">
          {lock.waiters.map((w) => (
            <WaiterRow key={`${w.position}:${w.id}`} w={w} now={now} />
          ))}
        </ol>
      ) : null}
      {anon ? <AnonymousWaitersLine anon={anon} now={now} /> : null}
    </>
  );
}

/** Waiters the store counts but does not name: how many, where the count comes from, since when. */
function AnonymousWaitersLine({ anon, now }: { anon: AnonymousWaiters; now: string }) {
  return (
    <p data-testid="anonymous-waiters" data-count={anon.count} className="flex flex-wrap items-baseline gap-x-2">
      <span className="font-medium text-contended">{anon.count} waiting (not identified)</span>
      <span className="text-muted">
        counted by <span className="font-mono text-[12px]">{anon.source}</span>: the store knows they wait, not who they are or in what order
      </span>
      <span className="text-muted" title={`first counted ${formatClock(anon.since)}`}>
        · the oldest waiting ≥ {formatAge(anon.since, now)}
      </span>
    </p>
  );
}

export function Warnings({ warnings }: { warnings: string[] }) {
  const { describe: describeWarning } = useWarnings();
  return (
    <ul className="flex flex-col gap-1">
      {warnings.map((w) => (
        <li key={w} data-warning={w} className="text-warn">
          <span aria-hidden>⚠ </span>
          <span className="font-medium">{describeWarning(w).short}</span>
          <span className="text-fg"> — {describeWarning(w).text}</span>
        </li>
      ))}
    </ul>
  );
}

/** Raw store values: the server's escaped preview, rendered as text in a <pre>, never as HTML. */
export function RawPreviews({ raw }: { raw: RawPreview[] }) {
  return (
    <div className="flex flex-col gap-2">
      {raw.map((r) => (
        <div key={`${r.key}:${r.type}`} className="flex flex-col gap-0.5">
          <div className="flex flex-wrap gap-x-2 text-muted">
            <span className="rounded bg-sunken px-1 font-mono text-[11px] uppercase">{r.type}</span>
            <VisibleText text={r.key} className="font-mono text-fg break-all" />
            <span>
              {r.encoding} · <span data-testid="raw-size">{formatRawSize(r.type, r.size)}</span>
              {r.truncated ? " · truncated" : ""}
            </span>
          </div>
          <pre className="max-h-48 overflow-auto rounded bg-sunken px-2 py-1 font-mono text-[12px] whitespace-pre-wrap break-all">{r.preview}</pre>
        </div>
      ))}
    </div>
  );
}

export function RelatedKeys({ conn, related, storeKeys }: { conn: string; related: string[]; storeKeys: string[] }) {
  return (
    <div className="flex flex-col gap-1">
      {storeKeys.length ? (
        <p className="flex flex-wrap gap-x-3">
          <span className="text-muted">store keys of this lock:</span>
          {storeKeys.map((k) => (
            <VisibleText key={k} text={k} className="font-mono break-all" />
          ))}
        </p>
      ) : null}
      {related.length ? (
        <p className="flex flex-wrap gap-x-3">
          <span className="text-muted">on the same lease or session:</span>
          {related.map((k) => (
            <Link key={k} href={lockHref(conn, k)} prefetch={false} className="font-mono break-all text-accent hover:underline">
              <VisibleText text={k} />
            </Link>
          ))}
        </p>
      ) : null}
    </div>
  );
}
