import type { ReactNode } from "react";
import { routeParam } from "@/components/route-param";
import { ConnectionFrame } from "@/components/connection-nav";

export default async function ConnectionLayout({
  children,
  params,
}: {
  children: ReactNode;
  params: Promise<{ conn: string }>;
}) {
  const { conn } = await params;
  return <ConnectionFrame conn={routeParam(conn)}>{children}</ConnectionFrame>;
}
