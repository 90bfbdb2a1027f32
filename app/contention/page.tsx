import type { Metadata } from "next";
import { Suspense } from "react";
import { ContentionView } from "@/components/contention-view";

export const metadata: Metadata = { title: "Contention" };

export default function ContentionPage() {
  return (
    <Suspense fallback={<p className="p-4 text-muted">Loading contention…</p>}>
      <ContentionView />
    </Suspense>
  );
}
