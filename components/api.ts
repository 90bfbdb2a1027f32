// Typed fetchers for LockDeck's HTTP API (docs/architecture.md §4). Every fetcher throws an
// ApiError on a non-OK answer, so TanStack Query never caches an error body as data; the
// release call instead returns a typed result because 409/404 are answers the dialog shows.

import type { LockRecord, Problem, ReleaseMode } from "@/lib/model";

/** ApiError carries the server's `error.code` and `error.message` verbatim, and the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface Whoami {
  actor: string;
  canRelease: boolean;
}

export type ConnectionStatus = "ok" | "degraded" | "unreachable";
export type UpdateMode = "live" | "polling";

export interface StatusCounts {
  held: number;
  contended: number;
  stale: number;
  expiring: number;
  free: number;
  unknown: number;
  problems: number;
}

export interface ConnectionSummary {
  id: string;
  kind: string;
  label: string;
  status: ConnectionStatus;
  message: string;
  consistency: string;
  lockCount: number;
  observedAt: string | null;
  stale: boolean;
  staleAgeMs: number | null;
  mode: UpdateMode;
  pollIntervalMs?: number;
  server?: string;
  counts: StatusCounts;
}

export interface LocksPage {
  observedAt: string;
  consistency: string;
  mode: UpdateMode;
  pollIntervalMs?: number;
  stale: boolean;
  staleAgeMs: number | null;
  total: number;
  offset: number;
  locks: LockRecord[];
  problems: Problem[];
  nextCursor: string | null;
  formats: string[];
  /** Client-only: keys an SSE `remove` event reported gone since this page was fetched. */
  removed?: string[];
}

export interface ReleasePlan {
  modes: ReleaseMode[];
  deletes: string;
  wakes?: string;
  command: string;
  holderNotified: boolean;
  notes: string[];
}

export interface LockDetail {
  lock: LockRecord;
  related: string[];
  plan: ReleasePlan;
  mode: UpdateMode;
  pollIntervalMs?: number;
  stale: boolean;
  staleAgeMs: number | null;
  consistency: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  requestId: string;
  phase: "intent" | "outcome";
  actor: string;
  connection: string;
  key: string;
  format: string;
  fence: string;
  reason: string;
  mode: string;
  outcome?: string;
  detail?: string;
}

export interface ConnectionSettings {
  consistency: string;
  options: Array<{ value: string; label: string; description: string }>;
  waitReplicas: number;
}

async function errorFrom(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const err = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof err?.code === "string" ? err.code : `http_${res.status}`;
  const message = typeof err?.message === "string" ? err.message : `${res.status} ${res.statusText}`.trim();
  return new ApiError(res.status, code, message, body);
}

async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { signal, cache: "no-store", headers: { accept: "application/json" } });
  if (!res.ok) throw await errorFrom(res);
  return (await res.json()) as T;
}

/** Mutations carry the CSRF header the route handlers require. */
async function sendJson(url: string, method: "POST" | "PUT", body: unknown): Promise<Response> {
  return fetch(url, {
    method,
    cache: "no-store",
    headers: { "content-type": "application/json", accept: "application/json", "x-lockdeck-csrf": "1" },
    body: JSON.stringify(body),
  });
}

const connPath = (id: string) => `/api/connections/${encodeURIComponent(id)}`;

export function fetchWhoami(signal?: AbortSignal): Promise<Whoami> {
  return getJson("/api/whoami", signal);
}

export function fetchConnections(signal?: AbortSignal): Promise<ConnectionSummary[]> {
  return getJson("/api/connections", signal);
}

/** Query parameters of the locks endpoint; empty values are left out of the URL. */
export interface LocksQuery {
  q?: string;
  format?: string;
  status?: string;
  warning?: string;
  sort?: string;
  dir?: string;
}

export function fetchLocksPage(
  conn: string,
  query: LocksQuery,
  offset: number,
  limit: number,
  signal?: AbortSignal,
): Promise<LocksPage> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
  params.set("limit", String(limit));
  params.set("cursor", String(offset));
  return getJson(`${connPath(conn)}/locks?${params}`, signal);
}

export function fetchLock(conn: string, key: string, signal?: AbortSignal): Promise<LockDetail> {
  return getJson(`${connPath(conn)}/lock?key=${encodeURIComponent(key)}`, signal);
}

export function fetchAudit(
  filter: { connection?: string; key?: string; limit?: number },
  signal?: AbortSignal,
): Promise<{ entries: AuditEntry[] }> {
  const params = new URLSearchParams();
  if (filter.connection) params.set("connection", filter.connection);
  if (filter.key) params.set("key", filter.key);
  params.set("limit", String(filter.limit ?? 200));
  return getJson(`/api/audit?${params}`, signal);
}

export function fetchSettings(conn: string, signal?: AbortSignal): Promise<ConnectionSettings> {
  return getJson(`${connPath(conn)}/settings`, signal);
}

export async function saveSettings(
  conn: string,
  settings: { consistency: string; waitReplicas: number },
): Promise<ConnectionSettings> {
  const res = await sendJson(`${connPath(conn)}/settings`, "PUT", settings);
  if (!res.ok) throw await errorFrom(res);
  return (await res.json()) as ConnectionSettings;
}

export interface ReleaseRequest {
  key: string;
  /** Sent exactly as the lock endpoint returned it: the release is conditional on it. */
  fence: string;
  reason: string;
  mode?: ReleaseMode;
}

/** What a release attempt came to; only `released` deleted anything. */
export type ReleaseResult =
  | { kind: "released"; detail?: string; auditId?: string }
  | { kind: "changed"; message: string; current: LockRecord | null }
  | { kind: "gone"; message: string }
  | { kind: "error"; status: number; code: string; message: string };

export async function releaseLock(conn: string, req: ReleaseRequest): Promise<ReleaseResult> {
  let res: Response;
  try {
    res = await sendJson(`${connPath(conn)}/lock/release`, "POST", req);
  } catch (e) {
    // The request may or may not have reached the server: the outcome is unknown.
    return { kind: "error", status: 0, code: "network", message: e instanceof Error ? e.message : String(e) };
  }
  if (res.ok) {
    const body = (await res.json().catch(() => ({}))) as { outcome?: { detail?: string }; auditId?: string };
    return { kind: "released", detail: body.outcome?.detail, auditId: body.auditId };
  }
  const err = await errorFrom(res);
  if (res.status === 409 && err.code === "changed") {
    const current = (err.body as { current?: LockRecord | null } | undefined)?.current ?? null;
    return { kind: "changed", message: err.message, current };
  }
  if (res.status === 404) return { kind: "gone", message: err.message };
  return { kind: "error", status: err.status, code: err.code, message: err.message };
}
