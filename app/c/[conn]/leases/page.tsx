import { routeParam } from "@/components/route-param";
import { LeasesView } from "@/components/leases-view";

export default async function LeasesPage({ params }: { params: Promise<{ conn: string }> }) {
  const { conn } = await params;
  return <LeasesView conn={routeParam(conn)} />;
}
