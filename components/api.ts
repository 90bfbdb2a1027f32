// Typed fetchers for LockDeck's HTTP API (docs/architecture.md §4). Every fetcher throws an
// ApiError on a non-OK answer, so TanStack Query never caches an error body as data; the
// release call instead returns a typed result because 409/404 are answers the dialog shows.

// Answer types are declared once, on the server side (lib/api/types.ts): type-only imports,
// nothing of the server's code reaches the browser bundle.
import type { LockView, ReleasePlan } from "@/lib/model";
import type {
  AfterRelease,
  AuditAnswer,
  AuditEntry,
  ConnectionSettings,
  ConnectionStatus,
  ConnectionSummary,
  LockDetail,
  LocksPage as ServerLocksPage,
  ReleaseRequest,
  StatusCounts,
  UpdateMode,
  WhoamiAnswer,
} from "@/lib/api/types";

export type { ReleasePlan };

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

export type { AuditAnswer, AuditEntry, ConnectionSettings, ConnectionStatus, ConnectionSummary, LockDetail, StatusCounts, UpdateMode };
export type Whoami = WhoamiAnswer;

export interface LocksPage extends ServerLocksPage {
  /** Client-only: keys an SSE `remove` event reported gone since this page was fetched. */
  removed?: string[];
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

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
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

export function fetchLocksPage(conn: string, query: LocksQuery, offset: number, limit: number, signal?: AbortSignal): Promise<LocksPage> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
  params.set("limit", String(limit));
  params.set("cursor", String(offset));
  return getJson(`${connPath(conn)}/locks?${params}`, signal);
}

export function fetchLock(conn: string, key: string, signal?: AbortSignal): Promise<LockDetail> {
  return getJson(`${connPath(conn)}/lock?key=${encodeURIComponent(key)}`, signal);
}

export function fetchAudit(filter: { connection?: string; key?: string; requestId?: string; limit?: number }, signal?: AbortSignal): Promise<AuditAnswer> {
  const params = new URLSearchParams();
  if (filter.connection) params.set("connection", filter.connection);
  if (filter.key) params.set("key", filter.key);
  if (filter.requestId) params.set("requestId", filter.requestId);
  params.set("limit", String(filter.limit ?? 200));
  return getJson(`/api/audit?${params}`, signal);
}

export function fetchSettings(conn: string, signal?: AbortSignal): Promise<ConnectionSettings> {
  return getJson(`${connPath(conn)}/settings`, signal);
}

export async function saveSettings(conn: string, settings: { consistency: string; waitReplicas?: number }): Promise<ConnectionSettings> {
  const res = await sendJson(`${connPath(conn)}/settings`, "PUT", settings);
  if (!res.ok) throw await errorFrom(res);
  return (await res.json()) as ConnectionSettings;
}

export type { ReleaseRequest };

/**
 * newRequestId makes a UUID v4 for one confirmation. crypto.randomUUID exists only in secure
 * contexts (https, localhost); a console on plain http elsewhere still has getRandomValues.
 */
export function newRequestId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** What a release attempt came to; only `released` deleted anything. */
export type ReleaseResult =
  | { kind: "released"; detail?: string; auditId?: string; after?: AfterRelease }
  | { kind: "pending"; approvalId: string; expiresAt: string }
  | { kind: "changed"; message: string; current: LockView | null; after?: AfterRelease }
  | { kind: "gone"; message: string; after?: AfterRelease }
  | { kind: "error"; status: number; code: string; message: string; requestId?: string };

/** Reads a release answer: 200 released, 202 held for approval (two-person rule), 409, 404, errors. */
async function releaseResult(send: () => Promise<Response>): Promise<ReleaseResult> {
  let res: Response;
  try {
    res = await send();
  } catch (e) {
    // The request may or may not have reached the server: the outcome is unknown.
    return { kind: "error", status: 0, code: "network", message: e instanceof Error ? e.message : String(e) };
  }
  if (res.ok) {
    const body = (await res.json().catch(() => ({}))) as {
      outcome?: { status?: string; detail?: string };
      auditId?: string;
      after?: AfterRelease;
      pending?: { approvalId: string; expiresAt: string };
    };
    if (res.status === 202 && body.pending) return { kind: "pending", ...body.pending };
    if (body.outcome?.status === "released") return { kind: "released", detail: body.outcome.detail, auditId: body.auditId, after: body.after };
    return { kind: "error", status: res.status, code: "unexpected", message: `unexpected answer: ${JSON.stringify(body).slice(0, 200)}` };
  }
  const err = await errorFrom(res);
  const extra = err.body as { current?: LockView | null; after?: AfterRelease; requestId?: unknown } | undefined;
  if (res.status === 409 && err.code === "changed") return { kind: "changed", message: err.message, current: extra?.current ?? null, after: extra?.after };
  if (res.status === 404 && err.code === "gone") return { kind: "gone", message: err.message, after: extra?.after };
  const requestId = typeof extra?.requestId === "string" ? extra.requestId : undefined;
  return { kind: "error", status: err.status, code: err.code, message: err.message, ...(requestId && { requestId }) };
}

export function releaseLock(conn: string, req: ReleaseRequest): Promise<ReleaseResult> {
  return releaseResult(() => sendJson(`${connPath(conn)}/lock/release`, "POST", req));
}

/** Sign out of a session (users in config). */
export async function signOut(): Promise<void> {
  const res = await sendJson("/api/auth/logout", "POST", {});
  if (!res.ok) throw await errorFrom(res);
}
