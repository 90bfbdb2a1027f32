import type { ReactNode } from "react";
import { routeParam } from "@/components/route-param";
import { ConnectionFrame } from "@/components/connection-nav";
import { serverConfig } from "@/lib/config";
import { storeViews } from "@/lib/stores";

export default async function ConnectionLayout({ children, params }: { children: ReactNode; params: Promise<{ conn: string }> }) {
  const conn = routeParam((await params).conn);
  // The store's own views become tabs (lib/stores/<kind>/module.ts): only their path and label reach the browser.
  const kind = serverConfig().connections.find((c) => c.id === conn)?.kind;
  const views = (kind ? storeViews(kind) : []).map((v) => ({ path: v.path, label: v.label }));
  return (
    <ConnectionFrame conn={conn} views={views}>
      {children}
    </ConnectionFrame>
  );
}
