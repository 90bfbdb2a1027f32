import type { Metadata } from "next";
import { Suspense } from "react";
import { ContentionView } from "@/components/contention-view";
import { StaleNow } from "@/components/stale-now";

export const metadata: Metadata = { title: "Contention" };

export default function ContentionPage() {
  return (
    <Suspense fallback={<p className="p-4 text-muted">Loading contention…</p>}>
      <ContentionView />
      <div className="mx-auto w-full max-w-[1200px] px-4 pb-4">
        <StaleNow />
      </div>
    </Suspense>
  );
}
