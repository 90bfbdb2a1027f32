import { handler } from "@/lib/api/errors";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { parseLockQuery } from "@/lib/api/params";
import { freshTtls } from "@/lib/hub/fresh";
import { lockFor } from "@/lib/api/exposure";
import type { LocksPage } from "@/lib/api/types";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

export const GET = handler(async (req: Request, { params }: { params: Promise<{ id: string }> }) => {
  const actor = authorize(req, "view");
  const { id } = await params;
  const { hub } = registry().get(id);
  const query = parseLockQuery(req);
  const page = hub.query(query);
  // The store's TTLs, re-read for this page; when it does not answer, the newest it gave (and the answer says so).
  const fresh = await freshTtls(hub, page.locks);
  const locks = fresh.locks.map(lockFor(actor));
  const status = hub.statusEvent();
  const next = query.offset + page.locks.length;
  return Response.json(
    {
      observedAt: status.observedAt,
      consistency: status.consistency,
      mode: status.mode,
      feed: status.feed,
      pollIntervalMs: status.pollIntervalMs,
      // now, confirmedAt, confirmedBy, confirmedAgeMs, stale, staleAgeMs, outageSince (lib/api/types.ts Freshness)
      ...hub.freshness(),
      total: page.total,
      offset: query.offset,
      locks,
      problems: hub.currentProblems().slice(0, 100),
      nextCursor: next < page.total ? String(next) : null,
      formats: hub.formats(),
      ttls: fresh.ttls,
    } satisfies LocksPage,
    { headers: { "cache-control": "no-store" } },
  );
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
