import type { Metadata } from "next";
import { Suspense } from "react";
import { AuditTable } from "@/components/audit-table";
import { ApprovalsPanel } from "@/components/approvals-panel";

export const metadata: Metadata = { title: "Audit" };

export default function AuditPage() {
  return (
    <Suspense fallback={<p className="p-4 text-muted">Loading audit…</p>}>
      <div className="px-4 pt-4">
        <ApprovalsPanel />
      </div>
      <AuditTable />
    </Suspense>
  );
}
