// Sections of the lock detail page (shared/UI.md §3). Presentational: no fetching here.

import type { ReactNode } from "react";
import Link from "next/link";
import { escapeControls } from "@/lib/keys";
import type { Holder, LockRecord, RawPreview, Waiter } from "@/lib/model";
import { CopyButton } from "./copy-button";
import { formatAge, formatClock, formatDuration, formatRawSize, formatTtl, shortId } from "./format";
import { whoText } from "./holder-text";
import { lockHref } from "./lock-row";
import { Ttl } from "./ttl";
import { describeWarning } from "./warnings";

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
        title={id}
      >
        {escapeControls(id)}
      </span>
      <CopyButton text={id} label="copy" small />
    </span>
  );
}

function HolderRow({ h, observedAt }: { h: Holder; observedAt: string }) {
  const t = whoText(h);
  return (
    <div className="flex flex-col gap-0.5" data-testid="holder-row">
      {t.id === null ? (
        <FullId id={h.id} testId="holder-id" strong />
      ) : (
        <>
          <div className="flex flex-wrap items-baseline gap-x-2">
            <span data-testid="holder-who" className="font-semibold break-words" title={t.title}>
              {escapeControls(t.who)}
            </span>
            {h.ownerNote ? <span className="text-[12px] text-faint">({h.ownerNote})</span> : null}
          </div>
          <FullId id={h.id} testId="holder-id" />
        </>
      )}
      <div className="flex flex-wrap gap-x-3 text-muted tabular-nums">
        {h.reentrancy !== undefined ? <span>reentrancy {h.reentrancy}</span> : null}
        {h.since ? (
          <span
            title={
              h.sinceObserved
                ? "The store does not record when the lock was taken: this is when LockDeck first saw it."
                : "As recorded by the store."
            }
          >
            {h.sinceObserved ? "first seen" : "since"} {formatClock(h.since)} ({h.sinceObserved ? "≥ " : ""}
            {formatAge(h.since, observedAt)})
          </span>
        ) : (
          <span>since unknown</span>
        )}
        {h.lease ? (
          <span title={`lease ${h.lease.id}`}>
            lease <span className="font-mono">{shortId(h.lease.id)}</span> <CopyButton text={h.lease.id} label="copy" small /> ·{" "}
            {formatTtl(h.lease.ttlMs)} of{" "}
            {formatDuration(h.lease.grantedTtlMs)}
            {h.lease.keys ? ` · ${h.lease.keys.length} key${h.lease.keys.length === 1 ? "" : "s"} attached` : ""}
          </span>
        ) : null}
        {h.session ? (
          <span title={`session ${h.session.id}`}>
            session <span className="font-mono">{shortId(h.session.id)}</span> <CopyButton text={h.session.id} label="copy" small />
            {h.session.name ? ` “${h.session.name}”` : ""}
            {h.session.node ? ` on ${h.session.node}` : ""}
            {h.session.behavior ? ` · behavior ${h.session.behavior}` : ""}
            {h.session.ttl ? ` · TTL ${h.session.ttl}` : ""}
            {h.session.lockDelayMs ? ` · lock-delay ${formatDuration(h.session.lockDelayMs)}` : ""}
          </span>
        ) : null}
      </div>
    </div>
  );
}

export function Holders({ lock }: { lock: LockRecord }) {
  if (!lock.holders.length) return <p className="text-muted">Nobody holds it.</p>;
  return (
    <>
      {lock.holders.map((h) => (
        <HolderRow key={h.id} h={h} observedAt={lock.observedAt} />
      ))}
      {lock.permitsFree !== undefined ? <p className="text-muted">{lock.permitsFree} permit(s) free</p> : null}
    </>
  );
}

export function TtlLine({ lock }: { lock: LockRecord }) {
  return (
    <div className="flex flex-wrap items-center gap-3">
      <Ttl lock={lock} precise wide />
      <span className="text-muted">
        {lock.ttlSource === "none" ? "no TTL" : `from ${lock.ttlSource}`}, as the store reported it at{" "}
        {formatClock(lock.observedAt, true)}
      </span>
    </div>
  );
}

function WaiterRow({ w, observedAt }: { w: Waiter; observedAt: string }) {
  const t = whoText(w);
  return (
    <li data-testid="waiter-row" data-waiter-id={w.id} className="flex flex-wrap items-baseline gap-x-3 tabular-nums">
      <span className="w-6 text-right text-muted">{w.position}.</span>
      {t.id === null ? null : <span title={t.title}>{escapeControls(t.who)}</span>}
      <span className="font-mono text-[12px] text-muted" title={t.title}>
        {escapeControls(t.id ?? t.who)}
      </span>
      {w.since ? <span className="text-muted">waiting {formatAge(w.since, observedAt)}</span> : null}
      {w.deadline ? <span className="text-muted">gives up at {formatClock(w.deadline)}</span> : null}
    </li>
  );
}

export function Queue({ lock }: { lock: LockRecord }) {
  if (!lock.waiters.length) return <p className="text-muted">No one is waiting.</p>;
  return (
    <ol className="flex flex-col gap-0.5">
      {lock.waiters.map((w) => (
        <WaiterRow key={`${w.position}:${w.id}`} w={w} observedAt={lock.observedAt} />
      ))}
    </ol>
  );
}

export function Warnings({ warnings }: { warnings: string[] }) {
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
            <span className="font-mono text-fg break-all">{escapeControls(r.key)}</span>
            <span>
              {r.encoding} · <span data-testid="raw-size">{formatRawSize(r.type, r.size)}</span>
              {r.truncated ? " · truncated" : ""}
            </span>
          </div>
          <pre className="max-h-48 overflow-auto rounded bg-sunken px-2 py-1 font-mono text-[12px] whitespace-pre-wrap break-all">
            {r.preview}
          </pre>
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
            <span key={k} className="font-mono break-all">
              {escapeControls(k)}
            </span>
          ))}
        </p>
      ) : null}
      {related.length ? (
        <p className="flex flex-wrap gap-x-3">
          <span className="text-muted">on the same lease or session:</span>
          {related.map((k) => (
            <Link key={k} href={lockHref(conn, k)} prefetch={false} className="font-mono break-all text-accent hover:underline">
              {escapeControls(k)}
            </Link>
          ))}
        </p>
      ) : null}
    </div>
  );
}
