import { HttpError, handler } from "@/lib/api/errors";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { kindsWithView, storeViews } from "@/lib/stores";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/**
 * A store's own view of a connection (lib/stores/<kind>/module.ts `views`): etcd's leases at
 * GET /api/connections/:id/leases, Consul's sessions at …/sessions. 404 on a connection whose
 * store has no such view.
 */
export const GET = handler(async (req: Request, { params }: { params: Promise<{ id: string; view: string }> }) => {
  authorize(req, "view");
  const { id, view } = await params;
  const conn = registry().get(id);
  const found = storeViews(conn.config.kind).find((v) => v.path === view);
  if (!found) {
    const kinds = kindsWithView(view);
    throw new HttpError(
      404,
      "not_found",
      kinds.length ? `${view}: only ${kinds.join(", ")} connections have them, and "${id}" is ${conn.config.kind}` : `no such view "${view}"`,
    );
  }
  return found.api(req, { hub: conn.hub });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
