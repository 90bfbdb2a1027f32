import { handler } from "@/lib/api/errors";
import { NoQuery, parseQuery } from "@/lib/api/params";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import type { PendingApproval } from "@/lib/api/types";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/** Releases waiting for a second operator (two-person rule). */
export const GET = handler(async (req: Request) => {
  authorize(req, "view");
  parseQuery(NoQuery, req);
  const pending = (await registry().approvals.list()).map((p): PendingApproval => ({
    id: p.id,
    connection: p.connection,
    key: p.request.key,
    reason: p.request.reason,
    mode: p.request.mode,
    requester: p.requester.name,
    createdAt: new Date(p.createdAt).toISOString(),
    expiresAt: new Date(p.expiresAt).toISOString(),
  }));
  return Response.json({ pending }, { headers: { "cache-control": "no-store" } });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
