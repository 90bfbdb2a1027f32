import { Suspense } from "react";
import { routeParam } from "@/components/route-param";
import { LockTable } from "@/components/lock-table";

export default async function LocksPage({ params }: { params: Promise<{ conn: string }> }) {
  const { conn } = await params;
  return (
    <Suspense fallback={<p className="p-4 text-muted">Loading locks…</p>}>
      <LockTable conn={routeParam(conn)} />
    </Suspense>
  );
}
