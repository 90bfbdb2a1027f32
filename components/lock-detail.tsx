"use client";

import { useRef, useState, useSyncExternalStore } from "react";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { escapeControls } from "@/lib/keys";
import { lockStatus } from "@/lib/status";
import { ApiError } from "./api";
import { CopyButton } from "./copy-button";
import { ErrorNote } from "./error-note";
import { formatClock, formatDuration, laterOf } from "./format";
import { goneWords } from "./gone-text";
import { Holders, KeyHeading, Queue, RawPreviews, RelatedKeys, Section, TtlLine, Warnings } from "./lock-detail-parts";
import { tableReturnKey } from "./lock-filters";
import { ModeBadge } from "./mode-badge";
import { keys, lockQuery, REFRESH_TEXT, whoamiQuery } from "./queries";
import { useConnections } from "./use-connections";
import { ReleaseDialog } from "./release-dialog";
import { LockTimeline } from "./lock-timeline";
import { HolderDead, LockWaits } from "./lock-waits";
import { StatusBadge } from "./status-badge";
import type { GoneLock, LockView, PlanView } from "./truth-types";

/** LockDetailView: one lock, re-read from the store at the page rate (key from ?key=). */
export function LockDetailView({ conn }: { conn: string }) {
  const key = useSearchParams().get("key");
  if (key === null) {
    return <p className="p-4 text-muted">No lock key given: open a lock from the table.</p>;
  }
  // A new key starts with a fresh view (and no dialog left open for the previous one).
  return <LockDetail key={key} conn={conn} lockKey={key} />;
}

/** "← locks" goes back to the table as the user left it. The server render (and so hydration)
 *  links the unfiltered table; the browser then reads the query the table stored. */
function useTableHref(conn: string): string {
  const search = useSyncExternalStore(
    noSubscription,
    () => storedTableQuery(conn),
    () => "",
  );
  return `/c/${encodeURIComponent(conn)}${search}`;
}

/** The table writes its query before the user leaves it, so there is no change to listen for. */
const noSubscription = () => () => {};

function storedTableQuery(conn: string): string {
  try {
    return sessionStorage.getItem(tableReturnKey(conn)) ?? "";
  } catch {
    return ""; // No storage: the unfiltered table.
  }
}

function LockDetail({ conn, lockKey }: { conn: string; lockKey: string }) {
  const router = useRouter();
  const client = useQueryClient();
  const detail = useQuery(lockQuery(conn, lockKey));
  const who = useQuery(whoamiQuery());
  // The connection's freshness (one source for the banner, the table and this page).
  const summary = useConnections().data?.find((c) => c.id === conn);
  const tableHref = useTableHref(conn);
  const releaseButton = useRef<HTMLButtonElement>(null);
  // What the operator saw when opening the dialog; the dialog never follows later reads.
  const [target, setTarget] = useState<{ lock: LockView; plan: PlanView } | null>(null);

  const notFound = detail.error instanceof ApiError && detail.error.status === 404;
  const data = notFound ? undefined : detail.data;
  const lock = data?.lock;
  const status = lock ? lockStatus(lock) : null;
  // A free lock can still offer a mode that acts on it (pruning an empty ZooKeeper lock parent).
  const freeRelease = lock?.state === "free" ? data?.freeLockRelease : undefined;
  const canRelease = !!who.data?.canRelease && (lock?.state === "held" || !!freeRelease);
  const fresh = summary ?? data;
  // Ages run to the newest server time we have (this read, or the connection list's); while the
  // view is stale, to its last confirmed read (the banner says how old that is): a hold or a
  // wait that kept growing would claim it still exists.
  const now = (fresh?.stale ? lock?.observedAt : laterOf(laterOf(data?.now, summary?.now), lock?.observedAt)) ?? "";

  const closeDialog = () => {
    setTarget(null);
    setTimeout(() => releaseButton.current?.focus(), 0);
  };
  const review = () => {
    setTarget(null);
    void client.invalidateQueries({ queryKey: keys.lock(conn, lockKey), exact: true });
  };

  return (
    <div className="mx-auto flex w-full max-w-[1200px] flex-col p-4">
      <div className="mb-2 flex items-center gap-3 text-muted">
        <Link href={tableHref} className="hover:text-fg">
          ← locks
        </Link>
        <CopyButton text={() => window.location.href} label="Copy link" />
      </div>

      {notFound ? (
        <Gone lockKey={lockKey} error={detail.error as ApiError} tableHref={tableHref} />
      ) : detail.isPending ? (
        <p className="text-muted">Reading the lock from the store…</p>
      ) : detail.error && !data ? (
        <ErrorNote error={detail.error} what="this lock" />
      ) : null}

      {data && lock && status ? (
        <article className="rounded-md border border-line bg-panel px-4 pb-2">
          <header className="flex flex-wrap items-center gap-x-3 gap-y-1 py-3">
            <KeyHeading lock={lock} />
            <span className="text-muted">
              {lock.format} · {lock.kind}
            </span>
            <StatusBadge status={status} />
            <span className="ml-auto text-muted" data-testid="fencing-token">
              {lock.fencingToken ? (
                <>
                  fencing token <span className="font-mono font-semibold text-fg">{lock.fencingToken}</span>
                </>
              ) : (
                "no fencing token"
              )}
            </span>
            {lock.name && lock.name !== lock.key ? (
              <p className="w-full text-muted">
                key <span className="font-mono text-fg break-all">{escapeControls(lock.key)}</span>
              </p>
            ) : null}
          </header>

          {detail.error ? (
            <div className="mb-2">
              <ErrorNote error={detail.error} what="a fresh read (showing the last one)" />
            </div>
          ) : null}

          <HolderDead conn={conn} lockKey={lockKey} />
          {lock.warnings.length ? (
            <Section title="Warnings">
              <Warnings warnings={lock.warnings} />
            </Section>
          ) : null}
          <Section title={lock.holders.length > 1 ? "Holders" : "Holder"}>
            <Holders lock={lock} now={now} />
          </Section>
          <Section title="TTL">
            <TtlLine lock={lock} />
          </Section>
          <Section title="Queue">
            <Queue lock={lock} now={now} />
          </Section>
          <LockWaits conn={conn} lockKey={lockKey} />
          {lock.raw?.length ? (
            <Section title="Raw">
              <RawPreviews raw={lock.raw} />
            </Section>
          ) : null}
          {data.related.length || lock.relatedKeys?.length ? (
            <Section title="Related">
              <RelatedKeys conn={conn} related={data.related} storeKeys={lock.relatedKeys ?? []} />
            </Section>
          ) : null}
          <Section title="Read">
            <div className="flex flex-wrap items-center gap-x-4 gap-y-1">
              <span className="tabular-nums" title="when this lock was last read from the store">
                {formatClock(lock.observedAt, true)}
              </span>
              <ModeBadge mode={fresh ?? data} consistency={lock.consistency || data.consistency} />
              <span className="text-muted">re-read {REFRESH_TEXT}</span>
              {canRelease ? (
                <button
                  ref={releaseButton}
                  type="button"
                  data-testid="release-button"
                  onClick={() => setTarget({ lock, plan: data.plan })}
                  className="ml-auto rounded border border-bad/60 px-3 py-1 font-medium text-bad hover:bg-bad/10"
                >
                  {freeRelease ? `${freeRelease}…` : "Force release…"}
                  {fresh?.stale ? <span className="ml-1 text-[12px] font-normal">(view {formatDuration(fresh.staleAgeMs ?? 0)} old)</span> : null}
                </button>
              ) : who.data && !who.data.canRelease && lock.state === "held" ? (
                <span className="ml-auto text-faint">read-only: {who.data.actor} cannot force-release</span>
              ) : null}
            </div>
          </Section>
        </article>
      ) : null}

      <LockTimeline conn={conn} lockKey={lockKey} />

      {target ? (
        <ReleaseDialog
          conn={conn}
          lock={target.lock}
          plan={target.plan}
          freshness={fresh ?? null}
          liveFence={notFound ? null : detail.data?.lock.fence}
          onClose={closeDialog}
          onReview={review}
          onDone={() => router.push(tableHref)}
        />
      ) : null}
    </div>
  );
}

/** A lock that is gone: what history and the audit log last knew of it, instead of a guess. */
function Gone({ lockKey, error, tableHref }: { lockKey: string; error: ApiError; tableHref: string }) {
  const words = goneWords((error.body as { gone?: GoneLock } | undefined)?.gone);
  return (
    <div data-testid="lock-gone" className="flex flex-col gap-1 rounded border border-line bg-panel px-3 py-3">
      <p className="font-semibold">
        No lock at <span className="font-mono break-all">{escapeControls(lockKey)}</span> now
      </p>
      {words ? (
        <>
          <p data-testid="lock-gone-last">{words.last}</p>
          {words.release ? <p className="text-muted">{words.release}</p> : null}
        </>
      ) : (
        <p className="text-muted" title={error.message}>
          Nothing about this key is in the last day&apos;s history or the audit log: it was released or expired before that, or never existed.
        </p>
      )}
      <Link href={tableHref} className="text-accent hover:underline">
        Back to locks →
      </Link>
    </div>
  );
}
