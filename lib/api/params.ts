// Query strings of the API, parsed with strict zod schemas: a bad value or an unknown parameter
// (a typo such as `state=` for `status=`, which a lenient parser would silently ignore and so
// answer with the whole list) is a 400 naming the parameter. Every route that reads its query
// goes through parseQuery.

import { z } from "zod";
import { LOCK_STATUSES, type LockStatus } from "../status";
import type { LockQuery } from "../hub/query";
import { echoed, HttpError } from "./http-error";

export const KeyParam = z
  .string({ required_error: "required" })
  .min(1, "required")
  .max(64 * 1024);

/** A whole-number parameter, written as decimal digits only (not "0x10", "1e2", " 10"), within [min, max]. */
const digits = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, "a whole number (digits only)")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** An optional whole-number parameter (digits only) within [min, max]. */
export const IntParam = (min: number, max: number) => digits(min, max).optional();

/** A whole-number parameter (digits only) within [min, max]; `fallback` when absent. */
export const IntParamOr = (min: number, max: number, fallback: number) =>
  digits(min, max)
    .optional()
    .transform((n) => n ?? fallback);

/**
 * The query of `req` (or a URL) parsed with `schema`, which is made strict: an unknown
 * parameter answers 400 "name: unknown parameter (this endpoint takes …)". An empty value
 * counts as absent (`?status=` is no filter); a repeated parameter keeps its last value.
 */
export function parseQuery<T extends z.AnyZodObject>(schema: T, from: Request | URL): z.infer<T> {
  const url = from instanceof URL ? from : new URL(from.url);
  const raw = Object.fromEntries([...url.searchParams].filter(([, v]) => v !== ""));
  // Own keys only: `in` would also take Object.prototype's names (__proto__, constructor, toString).
  const unknown = Object.keys(raw).find((k) => !Object.hasOwn(schema.shape, k));
  if (unknown !== undefined) {
    const takes = Object.keys(schema.shape);
    const name = echoed(unknown);
    throw new HttpError(400, "bad_request", `${name}: unknown parameter (this endpoint takes ${takes.length ? takes.join(", ") : "none"})`, {
      parameter: name,
    });
  }
  return schema.strict().parse(raw);
}

/** For the routes that take no query parameters: any one given is refused, named (not ignored). */
export const NoQuery = z.object({});

export const LockQuerySchema = z.object({
  q: z.string().max(500).optional(),
  format: z.string().max(100).optional(),
  status: z
    .string()
    .optional()
    .transform((s, ctx) => {
      const list = (s ?? "").split(",").filter(Boolean);
      const bad = list.find((x) => !LOCK_STATUSES.includes(x as LockStatus));
      if (bad) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `unknown status "${bad}"` });
      return list as LockStatus[];
    }),
  warning: z.string().max(100).optional(),
  sort: z.enum(["key", "ttl", "age", "waiters"]).default("key"),
  dir: z.enum(["asc", "desc"]).default("asc"),
  limit: IntParamOr(1, 500, 100),
  cursor: z
    .string()
    .regex(/^\d{1,9}$/, "cursor is a row offset")
    .default("0"),
});

/** GET /api/connections/:id/locks: filters, order and page. */
export function parseLockQuery(from: Request | URL): LockQuery {
  const p = parseQuery(LockQuerySchema, from);
  return { q: p.q, format: p.format, status: p.status, warning: p.warning, sort: p.sort, dir: p.dir, limit: p.limit, offset: Number(p.cursor) };
}

/** GET /api/connections/:id/lock?key= */
export const LockKeyQuery = z.object({ key: KeyParam });

/** GET /api/connections/:id/waits, and ?key= for one lock. */
export const WaitsQuery = z.object({
  key: KeyParam.optional(),
  limit: IntParamOr(1, 20_000, 5_000),
});

/** GET /api/events, and ?connection= for one connection's stream. */
export const EventsQuery = z.object({ connection: z.string().max(64).optional() });

/** GET /api/audit: filters and how many entries, newest first. */
export const AuditQuery = z.object({
  connection: z.string().max(64).optional(),
  key: z
    .string()
    .max(64 * 1024)
    .optional(),
  requestId: z.string().uuid().optional(),
  limit: IntParamOr(1, 5_000, 500),
});
