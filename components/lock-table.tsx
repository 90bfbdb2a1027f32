"use client";

import { useCallback, useMemo, useRef, useState } from "react";
import { useRouter, useSearchParams } from "next/navigation";
import { useQueryClient } from "@tanstack/react-query";
import { escapeControls } from "@/lib/keys";
import { ErrorNote } from "./error-note";
import { formatAgo, formatClock, formatCount, laterOf, msBetween } from "./format";
import { staleWords } from "./freshness";
import { filtersSearch, nextSort, parseFilters, toLocksQuery, type LockFilters, type SortColumn } from "./lock-filters";
import { FilterBar } from "./lock-table-filters";
import { LOCK_GRID, LockRow, SkeletonRow } from "./lock-row";
import { ModeBadge } from "./mode-badge";
import type { LocksPage } from "./api";
import { locksPageQuery, REFRESH_TEXT } from "./queries";
import { useConnections } from "./use-connections";
import { useVirtualLockRows } from "./use-virtual-lock-rows";
import { useRestoredPlace, useReturnSearch } from "./use-table-place";
import { useSelectionFollowsLock } from "./use-selection-follows";
import { useTableKeys } from "./use-table-keys";
import { useKeyFilter } from "./use-key-filter";

const COLUMNS: Array<{ label: string; sort?: SortColumn }> = [
  { label: "State" },
  { label: "Lock", sort: "key" },
  { label: "Format" },
  { label: "Holder" },
  { label: "Waiters", sort: "waiters" },
  { label: "TTL", sort: "ttl" },
  { label: "Held", sort: "age" },
  { label: "Warnings" },
];

/**
 * LockTable: one connection's locks, filtered and sorted by the server, virtualised so that
 * 100k rows cost only the ~50 rendered ones and the pages covering them.
 * Keyboard: j/k move the selection, Enter opens it, "/" focuses the key filter (use-table-keys.ts);
 * coming back from a lock's page restores the scroll and selection (use-table-place.ts).
 */
export function LockTable({ conn }: { conn: string }) {
  const router = useRouter();
  const searchParams = useSearchParams();
  const filters = useMemo(() => parseFilters(searchParams), [searchParams]);
  const search = filtersSearch(filters);

  const scrollRef = useRef<HTMLDivElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [showProblems, setShowProblems] = useState(false);

  // A new answer starts at its top, with nothing selected.
  const toTop = useCallback(() => {
    setSelected(null);
    scrollRef.current?.scrollTo({ top: 0 });
  }, []);
  const writeUrl = useCallback((patch: Partial<LockFilters>, replace: boolean) => {
    // A change landing after a row was opened (the key filter's, QUIET_MS late) must not rewrite the detail's URL.
    if (!/^\/c\/[^/]+\/?$/.test(window.location.pathname)) return;
    const next = filtersSearch({ ...parseFilters(new URLSearchParams(window.location.search)), ...patch });
    const url = `${window.location.pathname}${next}`;
    if (replace) window.history.replaceState(null, "", url);
    else window.history.pushState(null, "", url);
  }, []);
  const onChange = useCallback(
    (patch: Partial<LockFilters>, replace = false) => {
      writeUrl(patch, replace);
      toTop();
    },
    [writeUrl, toTop],
  );

  // The key filter: the table asks for the text as typed; the URL follows (use-key-filter.ts).
  const key = useKeyFilter(
    filters.q,
    useCallback((q: string) => writeUrl({ q }, true), [writeUrl]),
  );
  const { type: typeKey } = key;
  const client = useQueryClient();
  const onType = useCallback(
    (q: string) => {
      // The first page of the new answer is asked for now, before React renders the keystroke
      // (10–20 ms at 100k rows); the table's query for it finds it in flight.
      void client.prefetchQuery(locksPageQuery(conn, toLocksQuery({ ...filters, q }), 0));
      typeKey(q);
      toTop();
    },
    [client, conn, filters, typeKey, toTop],
  );
  const query = useMemo(() => toLocksQuery({ ...filters, q: key.draft }), [filters, key.draft]);
  const filtered = Boolean(query.q || query.format || query.status || query.warning);

  const { pages, total, virtualizer, items } = useVirtualLockRows(conn, query, scrollRef);

  const connections = useConnections();
  const summary = connections.data?.find((c) => c.id === conn);

  useReturnSearch(conn, search);
  const onScroll = useRestoredPlace({ conn, search, total, selected, setSelected, scrollRef });

  useSelectionFollowsLock(pages, selected, setSelected);
  useTableKeys({ conn, virtualizer, searchRef, selected, setSelected, total, pages });

  const openRow = useCallback((href: string) => router.push(href), [router]);
  const meta = pages.meta;
  const problems = meta?.problems ?? [];
  // One freshness per connection (GET /api/connections, patched by status events): the badge,
  // the banner, the dimmed rows and the lock page all show the same age.
  const fresh = summary ?? meta;
  const now = laterOf(meta?.now, summary?.now);
  const staleNote = fresh?.stale ? staleWords(fresh) : null;

  return (
    <div className="flex min-h-0 flex-1 flex-col gap-2 px-4 pt-2 pb-3">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <FilterBar
          filters={filters}
          formats={meta?.formats ?? []}
          counts={summary?.counts}
          searchRef={searchRef}
          keyText={key.draft}
          onType={onType}
          onSettle={key.settle}
          onChange={onChange}
        />
        <div data-testid="table-summary" className="flex items-center gap-3 text-muted tabular-nums">
          {meta ? (
            <>
              <span>
                <span data-testid="lock-total" className="font-semibold text-fg">
                  {formatCount(meta.total)}
                </span>{" "}
                {filtered ? "matching" : "locks"}
              </span>
              <ModeBadge mode={fresh ?? meta} consistency={meta.consistency} />
              {problems.length ? (
                <button type="button" className="text-warn hover:underline" onClick={() => setShowProblems((v) => !v)}>
                  ⚠ {problems.length} problem{problems.length === 1 ? "" : "s"}
                </button>
              ) : null}
            </>
          ) : (
            <span>loading…</span>
          )}
          <span aria-hidden className={pages.fetching ? "text-faint" : "invisible"} title="reading">
            ↻
          </span>
        </div>
      </div>

      {showProblems && problems.length ? (
        <ul className="max-h-40 overflow-auto rounded border border-warn/40 bg-warn/8 px-3 py-1.5 text-[12px]">
          {problems.map((p) => (
            <li key={`${p.key}:${p.code}`}>
              <span className="font-mono">{escapeControls(p.key)}</span> — <span className="text-warn">{p.code}</span>: {p.message}
            </li>
          ))}
        </ul>
      ) : null}

      {pages.error ? <ErrorNote error={pages.error} what="locks" /> : null}

      <div
        ref={scrollRef}
        onScroll={onScroll}
        role="grid"
        aria-label="Locks"
        aria-rowcount={total + 1}
        data-testid="lock-table"
        className="min-h-0 flex-1 overflow-auto rounded-md border border-line bg-panel"
      >
        <div className="min-w-[1250px]">
          <div
            role="row"
            aria-rowindex={1}
            className={`${LOCK_GRID} sticky top-0 z-10 h-8 border-b border-line bg-sunken text-[11px] font-semibold tracking-wide text-muted uppercase`}
          >
            {COLUMNS.map((c) => (
              <SortHeader key={c.label} column={c} filters={filters} onChange={onChange} />
            ))}
          </div>
          {meta && total === 0 ? (
            <p className="px-3 py-6 text-muted">{filtered ? "No locks match these filters." : "No locks in this connection right now."}</p>
          ) : null}
          <div className="relative" style={{ height: virtualizer.getTotalSize() }}>
            {items.map((item) => {
              const row = pages.rowAt(item.index);
              return row ? (
                <LockRow
                  key={item.index}
                  conn={conn}
                  onOpen={openRow}
                  lock={row.lock}
                  index={item.index}
                  top={item.start}
                  selected={selected === item.index}
                  removed={row.removed}
                  now={now}
                  staleNote={staleNote}
                />
              ) : (
                <SkeletonRow key={item.index} index={item.index} top={item.start} />
              );
            })}
          </div>
        </div>
      </div>
      <p className="text-[11px] text-faint">
        <kbd>j</kbd>/<kbd>k</kbd> move · <kbd>Enter</kbd> open · <kbd>/</kbd> filter keys
        {meta?.ttls ? (
          <>
            {" · "}
            <TtlNote ttls={meta.ttls} now={meta.now} />
          </>
        ) : null}
      </p>
    </div>
  );
}

/** Where the TTLs shown come from: re-read from the store, or — it did not answer — as it last reported them, and when. */
function TtlNote({ ttls, now }: { ttls: NonNullable<LocksPage["ttls"]>; now: string }) {
  if (ttls.fresh)
    return (
      <span data-testid="ttl-note" data-fresh="true">
        TTLs are re-read from the store {REFRESH_TEXT}
      </span>
    );
  const age = msBetween(ttls.readAt, now);
  return (
    <span data-testid="ttl-note" data-fresh="false" className="text-warn" title={ttls.error}>
      the store did not answer the TTL read: TTLs are as it last reported them
      {ttls.readAt ? ` at ${formatClock(ttls.readAt)}${age === null ? "" : ` (${formatAgo(Math.max(0, age))})`}` : ""}
    </span>
  );
}

function SortHeader({
  column,
  filters,
  onChange,
}: {
  column: { label: string; sort?: SortColumn };
  filters: LockFilters;
  onChange: (patch: Partial<LockFilters>) => void;
}) {
  if (!column.sort) return <span role="columnheader">{column.label}</span>;
  const active = filters.sort === column.sort;
  const dir = active ? filters.dir : "";
  return (
    <span role="columnheader" aria-sort={dir === "asc" ? "ascending" : dir === "desc" ? "descending" : "none"}>
      <button
        type="button"
        data-testid={`sort-${column.sort}`}
        onClick={() => onChange(nextSort(filters, column.sort!))}
        className={`uppercase hover:text-fg ${active ? "text-fg" : ""}`}
      >
        {column.label} {dir === "asc" ? "▲" : dir === "desc" ? "▼" : <span className="text-faint">↕</span>}
      </button>
    </span>
  );
}
