import type { ReactNode } from "react";
import { routeParam } from "@/components/route-param";
import { ConnectionNav } from "@/components/connection-nav";

export default async function ConnectionLayout({
  children,
  params,
}: {
  children: ReactNode;
  params: Promise<{ conn: string }>;
}) {
  const { conn } = await params;
  return (
    <>
      <ConnectionNav conn={routeParam(conn)} />
      {children}
    </>
  );
}
