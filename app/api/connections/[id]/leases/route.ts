import { HttpError, handler } from "@/lib/api/errors";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { isLeaseSource, leasesPage } from "@/lib/stores/etcd/leases-page";

export const dynamic = "force-dynamic";

/** Every lease of an etcd connection: TTLs from LeaseTimeToLive, attached keys, which are locks. */
export const GET = handler(async (req: Request, { params }: { params: Promise<{ id: string }> }) => {
  authorize(req, "view");
  const { id } = await params;
  const { hub } = registry().get(id);
  if (!isLeaseSource(hub.adapter)) throw new HttpError(404, "not_found", "leases exist only on etcd connections");
  const limit = Math.min(Math.max(Number(new URL(req.url).searchParams.get("limit") ?? 1000) || 1000, 1), 5000);
  try {
    const page = await leasesPage(hub.adapter, (k) => hub.get(k), AbortSignal.timeout(10_000), limit);
    return Response.json({ ...page, consistency: hub.statusEvent().consistency }, { headers: { "cache-control": "no-store" } });
  } catch (err) {
    throw new HttpError(503, "unreachable", `etcd did not answer: ${(err as Error).message}`);
  }
});
