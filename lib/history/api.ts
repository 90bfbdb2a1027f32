// Request parsing and answers for the history routes (app/api/history, contention, metrics):
// the route files stay thin. Times are ms since epoch or ISO strings.

import { z } from "zod";
import { HttpError } from "../api/http-error";
import { IntParam, IntParamOr, KeyParam, parseQuery } from "../api/params";
import type { Connection, Registry } from "../registry";
import { exposition, type ConnectionFigures } from "./prometheus";
import { contentionTop, lockHistory, window } from "./query";
import type { Recorder } from "./recorder";
import type { HistoryAnswer, Resolution, TopAnswer } from "../api/types";

/** Past this a time is not one a Date can hold (±8.64e15 ms). */
const LAST_TIME_MS = 8.64e15;

const Time = z
  .string()
  .transform((s, ctx) => {
    const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isFinite(t) || t < 0 || t > LAST_TIME_MS) ctx.addIssue({ code: z.ZodIssueCode.custom, message: "not a time (ms since epoch or ISO 8601)" });
    return t;
  })
  .optional();

// `span` (ms): the window that ends at the server's now — the browser's clock never sets it.
const WindowQuery = z.object({ from: Time, to: Time, span: IntParam(1000, 31 * 86_400_000), step: IntParam(1000, 86_400_000) });

const HistoryQuery = WindowQuery.extend({ connection: z.string().min(1).max(64), key: KeyParam });
const TopQuery = WindowQuery.extend({ limit: IntParamOr(1, 200, 20) });

function recorderOf(reg: Registry): Recorder {
  if (!reg.history) throw new HttpError(404, "history_disabled", "history is disabled in the config (history.enabled = false)");
  return reg.history;
}

function parseWindow(q: { from?: number; to?: number; span?: number; step?: number }) {
  try {
    return window(q, Date.now());
  } catch (err) {
    throw new HttpError(400, "bad_request", (err as Error).message);
  }
}

function readerOf(rec: Recorder) {
  const store = rec.reader();
  if (!store) throw new HttpError(503, "history_unavailable", rec.state().message ?? "history store not open");
  return store;
}

/** Resolution of a connection's history, for the UI's "every N s" note. */
function resolutionOf(reg: Registry, rec: Recorder, connection: string): Resolution {
  const r = rec.connections.get(connection);
  const status = reg.connections.get(connection)?.hub.statusEvent();
  const mode = r?.mode ?? (status?.mode === "live" ? "live" : "polling");
  return { mode, resMs: r?.resMs ?? (mode === "live" ? 0 : (status?.pollIntervalMs ?? 5_000)) };
}

export async function historyAnswer(reg: Registry, req: Request): Promise<HistoryAnswer> {
  const q = parseQuery(HistoryQuery, req);
  reg.get(q.connection); // 404 for an unknown connection
  const rec = recorderOf(reg);
  const w = parseWindow(q);
  const h = await lockHistory(readerOf(rec), q.connection, q.key, w, rec.liveView());
  const s = rec.state();
  return { ...h, resolution: resolutionOf(reg, rec, q.connection), recording: { paused: s.paused, message: s.message } };
}

export async function topAnswer(reg: Registry, req: Request): Promise<TopAnswer> {
  const q = parseQuery(TopQuery, req);
  const rec = recorderOf(reg);
  const w = parseWindow(q);
  const top = await contentionTop(readerOf(rec), w, q.limit, rec.settings, rec.liveView());
  const s = rec.state();
  const resolution = Object.fromEntries([...reg.connections.keys()].map((id) => [id, resolutionOf(reg, rec, id)]));
  return { ...top, resolution, recording: { paused: s.paused, message: s.message } };
}

/**
 * The per-connection and per-lock part of /api/metrics. Contended locks and waiters are the hub's
 * own tally, the overview's trend (hub.sample()): locks with a waiter, named or only counted
 * (Redisson), whatever their state word (a deadlock makes it "stale"), and all those waiters.
 */
export function metricsText(reg: Pick<Registry, "history"> & { connections: ReadonlyMap<string, Pick<Connection, "config" | "hub">> }): string {
  const rec = reg.history;
  const conns: ConnectionFigures[] = [...reg.connections.values()].map(({ config, hub }) => {
    const st = hub.statusEvent();
    const counts = hub.counts();
    const { contended, waiters } = hub.sample();
    return {
      id: config.id,
      kind: config.kind,
      up: st.status === "ok",
      stale: st.stale,
      staleAgeMs: st.staleAgeMs,
      mode: st.mode,
      locks: st.lockCount,
      held: counts.held + counts.contended + counts.stale + counts.expiring,
      contended,
      staleLocks: counts.stale,
      waiters,
      problems: counts.problems,
      readErrors: rec?.metrics.readErrors.get(config.id) ?? 0,
      lifeEvents: rec?.metrics.events.get(config.id) ?? 0,
      snapshotSeconds: st.snapshotMs === null ? null : st.snapshotMs / 1000,
    };
  });
  const s = rec?.state();
  return exposition(
    conns,
    rec ? rec.metrics.top(rec.settings.metricsTopN) : [],
    s ? { paused: s.paused, queued: s.queued, dropped: s.dropped, written: s.written } : null,
  );
}
