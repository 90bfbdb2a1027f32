import { HttpError, handler } from "@/lib/api/errors";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { LockKeyQuery, parseQuery } from "@/lib/api/params";
import { goneLock, goneMessage, lockDetail } from "@/lib/api/detail";
import { detailFor } from "@/lib/api/exposure";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/** One lock, re-read from the store on every call (fresh holder, waiters and TTL). */
export const GET = handler(async (req: Request, { params }: { params: Promise<{ id: string }> }) => {
  const actor = authorize(req, "view");
  const { id } = await params;
  const { key } = parseQuery(LockKeyQuery, req);
  const reg = registry();
  const conn = reg.get(id);
  const detail = await lockDetail(conn, key);
  if (!detail) {
    // gone: the lock's last history and last force-release (lib/api/types.ts GoneLock), so the
    // page can say "force-released by alice at …, reason …" instead of guessing.
    const gone = await goneLock(reg, id, key);
    throw new HttpError(404, "not_found", goneMessage(gone), { gone });
  }
  return Response.json(detailFor(actor, detail), { headers: { "cache-control": "no-store" } });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
