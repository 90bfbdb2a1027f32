import { SettingsForm } from "@/components/settings-form";
import { routeParam } from "@/components/route-param";

export default async function SettingsPage({ params }: { params: Promise<{ conn: string }> }) {
  const { conn } = await params;
  return <SettingsForm conn={routeParam(conn)} />;
}
