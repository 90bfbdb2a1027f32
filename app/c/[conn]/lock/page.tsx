import { Suspense } from "react";
import { routeParam } from "@/components/route-param";
import { LockDetailView } from "@/components/lock-detail";

export default async function LockPage({ params }: { params: Promise<{ conn: string }> }) {
  const { conn } = await params;
  return (
    <Suspense fallback={<p className="p-4 text-muted">Loading lock…</p>}>
      <LockDetailView conn={routeParam(conn)} />
    </Suspense>
  );
}
