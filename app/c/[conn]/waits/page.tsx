import { routeParam } from "@/components/route-param";
import { WaitsView } from "@/components/waits-view";

export default async function WaitsPage({ params }: { params: Promise<{ conn: string }> }) {
  const { conn } = await params;
  return <WaitsView conn={routeParam(conn)} />;
}
