"use client";

// LiveEvents keeps one EventSource on /api/events and turns its events into TanStack Query
// cache updates (keys in components/queries.ts):
//   upsert  → replace the row with that key in every cached page of ["locks", conn], refetch
//             ["lock", conn, key]; then a throttled invalidation of the lists.
//   remove  → mark the key in cached pages (`removed`), refetch ["lock", conn, key]; throttled
//             invalidation of the lists so totals and sort order catch up.
//   status  → patch the connection's entry in ["connections"].
//   resync  → invalidate everything of that connection.
//   end     → the server ended the stream because the identity that opened it no longer holds
//             (signed out, or a role that may see less): refetch who is signed in and what is
//             shown (a 401 goes to sign-in); EventSource reconnects by itself.
// Event ids (`<epoch>-<seq>`, lib/hub/bus.ts) are opaque here: EventSource sends the last one
// back as Last-Event-ID, and the server replays or resyncs.
// Events are buffered and applied at most every 100 ms, and list invalidation runs at most once
// a second per connection, so a burst of changes costs one render, not thousands.
// The stream is scoped to the connection in the URL (/c/<id>/...) when that connection exists,
// else spans all connections.

import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { usePathname } from "next/navigation";
import { useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import type { LockView } from "@/lib/model";
import type { ConnectionStatusEvent } from "@/lib/api/types";
import type { ConnectionSummary, LocksPage } from "./api";
import { connectionsQuery, keys } from "./queries";

export type LiveState = "connecting" | "live" | "reconnecting" | "offline";

const LiveContext = createContext<LiveState>("connecting");

/** useLiveState tells whether the event stream is connected (for the header's live indicator). */
export function useLiveState(): LiveState {
  return useContext(LiveContext);
}

/** A `status` event as the hub sends it (lib/hub/bus.ts). */
type StatusEvent = ConnectionStatusEvent;

/** The freshness fields a status event carries (lib/api/types.ts Freshness), copied as sent. */
const FRESHNESS_FIELDS = ["now", "confirmedAt", "confirmedBy", "confirmedAgeMs", "outageSince"] as const;

/** Pending changes of one connection: key → new record, or null when removed. */
type Pending = Map<string, Map<string, LockView | null>>;

const FLUSH_MS = 100;
const INVALIDATE_MS = 1_000;

export function connectionFromPath(pathname: string | null): string | null {
  const m = /^\/c\/([^/]+)/.exec(pathname ?? "");
  return m ? decodeURIComponent(m[1]) : null;
}

function applyChanges(client: QueryClient, conn: string, changes: Map<string, LockView | null>) {
  client.setQueriesData<LocksPage>({ queryKey: keys.locksOf(conn) }, (page) => {
    if (!page) return page;
    let touched = false;
    const removed = new Set(page.removed);
    const locks = page.locks.map((lock) => {
      if (!changes.has(lock.key)) return lock;
      const next = changes.get(lock.key);
      touched = true;
      if (next) {
        removed.delete(lock.key);
        return next;
      }
      removed.add(lock.key);
      return lock;
    });
    return touched ? { ...page, locks, removed: [...removed] } : page;
  });
  // The detail is refetched, not patched: its release plans must describe the same holding as
  // the fence the dialog sends, and only the server can build them.
  for (const key of changes.keys()) void client.invalidateQueries({ queryKey: keys.lock(conn, key), exact: true });
}

function patchStatus(client: QueryClient, ev: StatusEvent) {
  client.setQueryData<ConnectionSummary[]>(keys.connections(), (list) =>
    list?.map((c) =>
      c.id === ev.connection
        ? {
            ...c,
            status: ev.status ?? c.status,
            mode: ev.mode ?? c.mode,
            feed: ev.feed,
            stale: ev.stale ?? c.stale,
            staleAgeMs: ev.staleAgeMs ?? null,
            lockCount: ev.lockCount ?? c.lockCount,
            observedAt: ev.observedAt ?? c.observedAt,
            ...Object.fromEntries(FRESHNESS_FIELDS.filter((f) => ev[f] !== undefined).map((f) => [f, ev[f]])),
          }
        : c,
    ),
  );
}

function parse<T>(e: Event): T | null {
  try {
    return JSON.parse((e as MessageEvent<string>).data) as T;
  } catch {
    return null;
  }
}

export function LiveEvents({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const pathname = usePathname();
  // The sign-in page has nothing live to show (and the stream would answer 401).
  const off = pathname?.startsWith("/login") ?? false;
  const connections = useQuery({ ...connectionsQuery(), enabled: !off });
  const inPath = connectionFromPath(pathname);
  // Scoped to the connection in the URL once it is known to exist (undefined: not known yet);
  // an unknown id gets the stream of all connections, not a 404 that reads as "offline".
  const scope =
    inPath === null ? null : !connections.data ? (connections.isError ? inPath : undefined) : connections.data.some((c) => c.id === inPath) ? inPath : null;
  const [state, setState] = useState<LiveState>("connecting");

  useEffect(() => {
    if (off || scope === undefined) return;
    let source: EventSource | null = null;
    let flushTimer: ReturnType<typeof setTimeout> | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | null = null;
    let retryDelay = 2_000;
    let hadError = false;
    let pending: Pending = new Map();
    const lastInvalidate = new Map<string, number>();
    const invalidateTimers = new Map<string, ReturnType<typeof setTimeout>>();

    const invalidateLists = (conn: string) => {
      void client.invalidateQueries({ queryKey: keys.locksOf(conn) });
      void client.invalidateQueries({ queryKey: keys.connections(), exact: true });
      lastInvalidate.set(conn, Date.now());
    };
    // Leading and trailing throttle: at most one list refetch per connection per second.
    const scheduleInvalidate = (conn: string) => {
      if (invalidateTimers.has(conn)) return;
      const wait = INVALIDATE_MS - (Date.now() - (lastInvalidate.get(conn) ?? 0));
      if (wait <= 0) return invalidateLists(conn);
      invalidateTimers.set(
        conn,
        setTimeout(() => {
          invalidateTimers.delete(conn);
          invalidateLists(conn);
        }, wait),
      );
    };
    const flush = () => {
      flushTimer = null;
      const batch = pending;
      pending = new Map();
      for (const [conn, changes] of batch) {
        applyChanges(client, conn, changes);
        scheduleInvalidate(conn);
      }
    };
    const queue = (conn: string, key: string, record: LockView | null) => {
      let changes = pending.get(conn);
      if (!changes) pending.set(conn, (changes = new Map()));
      changes.set(key, record);
      flushTimer ??= setTimeout(flush, FLUSH_MS);
    };
    const resync = (conn: string | null) => {
      if (conn) {
        void client.invalidateQueries({ queryKey: keys.locksOf(conn) });
        void client.invalidateQueries({ queryKey: keys.lockOf(conn) });
      } else {
        void client.invalidateQueries({ queryKey: ["locks"] });
        void client.invalidateQueries({ queryKey: ["lock"] });
      }
      void client.invalidateQueries({ queryKey: keys.connections(), exact: true });
      void client.invalidateQueries({ queryKey: ["search"] });
    };

    const open = () => {
      setState(hadError ? "reconnecting" : "connecting");
      const url = scope ? `/api/events?connection=${encodeURIComponent(scope)}` : "/api/events";
      const es = new EventSource(url);
      source = es;
      es.onopen = () => {
        setState("live");
        retryDelay = 2_000;
        // Events may have been missed while the stream was down: re-read what is on screen.
        if (hadError) resync(scope);
        hadError = false;
      };
      es.onerror = () => {
        hadError = true;
        if (es.readyState === EventSource.CLOSED) {
          // The browser gave up (e.g. a non-stream answer): retry ourselves, with backoff.
          setState("offline");
          es.close();
          retryTimer = setTimeout(open, retryDelay);
          retryDelay = Math.min(retryDelay * 2, 30_000);
        } else {
          setState("reconnecting");
        }
      };
      es.addEventListener("upsert", (e) => {
        const ev = parse<{ connection: string; lock: LockView }>(e);
        if (ev?.lock) queue(ev.connection, ev.lock.key, ev.lock);
      });
      es.addEventListener("remove", (e) => {
        const ev = parse<{ connection: string; key: string }>(e);
        if (ev) queue(ev.connection, ev.key, null);
      });
      es.addEventListener("status", (e) => {
        const ev = parse<StatusEvent>(e);
        if (ev) patchStatus(client, ev);
      });
      es.addEventListener("resync", (e) => {
        const ev = parse<{ connection?: string }>(e);
        resync(ev?.connection ?? null);
      });
      es.addEventListener("end", () => {
        void client.invalidateQueries({ queryKey: keys.whoami(), exact: true });
        resync(scope);
      });
    };

    open();
    return () => {
      source?.close();
      if (flushTimer) clearTimeout(flushTimer);
      if (retryTimer) clearTimeout(retryTimer);
      for (const t of invalidateTimers.values()) clearTimeout(t);
    };
  }, [client, scope, off]);

  return <LiveContext.Provider value={state}>{children}</LiveContext.Provider>;
}
