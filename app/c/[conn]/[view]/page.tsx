import { routeParam } from "@/components/route-param";
import { serverConfig } from "@/lib/config";
import { storeViews } from "@/lib/stores";

/** A store's own view of a connection (lib/stores/<kind>/module.ts `views`): etcd's Leases, Consul's Sessions. */
export default async function StoreViewPage({ params }: { params: Promise<{ conn: string; view: string }> }) {
  const { conn: raw, view } = await params;
  const conn = routeParam(raw);
  const kind = serverConfig().connections.find((c) => c.id === conn)?.kind;
  const found = kind ? storeViews(kind).find((v) => v.path === routeParam(view)) : undefined;
  if (!found) {
    return (
      <p className="p-4 text-muted" data-testid="no-such-view">
        This connection has no “{routeParam(view)}” view.
      </p>
    );
  }
  const View = await found.page();
  return <View conn={conn} />;
}
