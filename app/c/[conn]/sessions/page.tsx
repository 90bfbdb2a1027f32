import { SessionsTable } from "@/components/sessions-table";
import { routeParam } from "@/components/route-param";

export default async function SessionsPage({ params }: { params: Promise<{ conn: string }> }) {
  const { conn } = await params;
  return <SessionsTable conn={routeParam(conn)} />;
}
