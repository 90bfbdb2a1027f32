// One place maps errors to HTTP answers: JSON { error: { code, message } }, never a stack.

import { ZodError } from "zod";
import { FenceError } from "../fence";
import { firstIssue, firstIssueField, serverConfig } from "../config";
import { hostProblem, logRefusedHost, misdirected } from "../auth/host";
import { peerOf } from "../auth/peer";
import { HttpError } from "./http-error";

export { HttpError };

export function jsonError(status: number, code: string, message: string, extra: Record<string, unknown> = {}): Response {
  return Response.json({ error: { code, message }, ...extra }, { status, headers: { "cache-control": "no-store" } });
}

/** What an expected error answers with (status, code, message); null for anything unexpected. */
export function answerOf(err: unknown): { status: number; code: string; message: string; extra?: Record<string, unknown> } | null {
  const name = err instanceof Error ? err.name : "";
  if (name === "HttpError") {
    const e = err as HttpError;
    return { status: e.status, code: e.code, message: e.message, extra: e.extra };
  }
  // A refusal names its field in words (the message starts with it) and for programs (`field`).
  if (name === "ZodError")
    return { status: 400, code: "bad_request", message: firstIssue(err as ZodError), extra: { field: firstIssueField(err as ZodError) } };
  if (name === "FenceError") return { status: 400, code: "bad_fence", message: (err as FenceError).message, extra: { field: "fence" } };
  // Nothing that must be audited goes ahead without its record on disk.
  if (name === "AuditUnavailableError") return { status: 503, code: "audit_unavailable", message: `${(err as Error).message}: nothing was done` };
  return null;
}

export function toResponse(err: unknown): Response {
  const answer = answerOf(err);
  if (answer) return jsonError(answer.status, answer.code, answer.message, answer.extra);
  console.error("lockdeck: unhandled error in route handler:", err);
  return jsonError(500, "internal", "internal error (see the server log)");
}

/**
 * Wraps a route handler: the Host allow-list first (not left to proxy.ts alone: middleware can
 * be skipped, CVE-2025-29927), then the requester's identity (lib/auth/guard.ts), then the
 * handler; every failure becomes a JSON error.
 */
export function handler<A extends unknown[]>(fn: (...args: A) => Promise<Response>) {
  return async (...args: A): Promise<Response> => {
    try {
      const req = args[0] as Request;
      const auth = serverConfig().auth;
      const refused = hostProblem(req.headers.get("host"), auth);
      if (refused) {
        logRefusedHost(req.headers.get("host"), req.method, new URL(req.url).pathname, peerOf(req, auth).address ?? "unknown peer");
        return misdirected(refused);
      }
      // Who is asking, worked out before the route runs (a shared session is a PostgreSQL
      // lookup): authorize() inside the route is synchronous. Imported lazily: guard.ts
      // imports the registry, which imports this file.
      const { resolveIdentity } = await import("../auth/guard");
      // A failure here (no config) leaves it unresolved: identify() then fails closed.
      await resolveIdentity(req).catch(() => undefined);
      return await fn(...args);
    } catch (err) {
      return toResponse(err);
    }
  };
}
