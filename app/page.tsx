import { Suspense } from "react";
import { Overview } from "@/components/overview";

export default function OverviewPage() {
  return (
    <Suspense fallback={<p className="p-4 text-muted">Loading…</p>}>
      <Overview />
    </Suspense>
  );
}
