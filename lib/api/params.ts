// Query-string parsing for the lock API, with zod: bad input is a 400 naming the parameter.

import { z } from "zod";
import { LOCK_STATUSES, type LockStatus } from "../status";
import type { LockQuery } from "../hub/query";

const LockQuerySchema = z.object({
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
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z
    .string()
    .regex(/^\d{1,9}$/, "cursor is a row offset")
    .default("0"),
});

export function parseLockQuery(url: URL): LockQuery {
  const raw = Object.fromEntries([...url.searchParams.entries()].filter(([, v]) => v !== ""));
  const p = LockQuerySchema.parse(raw);
  return { q: p.q, format: p.format, status: p.status, warning: p.warning, sort: p.sort, dir: p.dir, limit: p.limit, offset: Number(p.cursor) };
}

export const KeyParam = z.string().min(1, "key is required").max(64 * 1024);
