// One place maps errors to HTTP answers: JSON { error: { code, message } }, never a stack.

import { ZodError } from "zod";
import { FenceError } from "../fence";
import { firstIssue } from "../config";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function jsonError(status: number, code: string, message: string, extra: Record<string, unknown> = {}): Response {
  return Response.json({ error: { code, message }, ...extra }, { status, headers: { "cache-control": "no-store" } });
}

export function toResponse(err: unknown): Response {
  if (err instanceof HttpError) return jsonError(err.status, err.code, err.message, err.extra);
  if (err instanceof ZodError) return jsonError(400, "bad_request", firstIssue(err));
  if (err instanceof FenceError) return jsonError(400, "bad_request", err.message);
  console.error("lockdeck: unhandled error in route handler:", err);
  return jsonError(500, "internal", "internal error (see the server log)");
}

/** Wraps a route handler so every failure becomes a JSON error. */
export function handler<A extends unknown[]>(fn: (...args: A) => Promise<Response>) {
  return async (...args: A): Promise<Response> => {
    try {
      return await fn(...args);
    } catch (err) {
      return toResponse(err);
    }
  };
}
