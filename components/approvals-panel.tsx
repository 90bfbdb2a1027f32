"use client";

import { useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { escapeControls } from "@/lib/keys";
import type { PendingApproval } from "@/lib/api/types";
import { formatDateTime } from "./format";
import { REFRESH_MS, whoamiQuery } from "./queries";

type Pending = PendingApproval;

/**
 * ApprovalsPanel: releases held by the two-person rule. A second operator (never the requester)
 * approves; the server then runs the release with the fence the requester saw.
 */
export function ApprovalsPanel() {
  const client = useQueryClient();
  const who = useQuery(whoamiQuery());
  const pending = useQuery({
    queryKey: ["approvals"],
    queryFn: async ({ signal }) => {
      const res = await fetch("/api/approvals", { signal, cache: "no-store" });
      if (!res.ok) throw new Error(`approvals: ${res.status}`);
      return ((await res.json()) as { pending: Pending[] }).pending;
    },
    refetchInterval: REFRESH_MS,
  });
  const [results, setResults] = useState<Record<string, string>>({});

  async function approve(p: Pending) {
    const res = await fetch(`/api/approvals/${encodeURIComponent(p.id)}/approve`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-lockdeck-csrf": "1" },
      body: "{}",
    });
    const body = (await res.json().catch(() => null)) as { outcome?: { status: string }; error?: { message: string } } | null;
    setResults((r) => ({ ...r, [p.id]: res.ok ? `released ✓` : (body?.error?.message ?? `failed (${res.status})`) }));
    await client.invalidateQueries();
  }

  const rows = pending.data ?? [];
  if (rows.length === 0 && Object.keys(results).length === 0) return null;
  return (
    <section data-testid="approvals" className="mb-4 rounded border border-warn/50 bg-panel p-3">
      <h2 className="mb-2 text-sm font-semibold">Releases waiting for a second operator</h2>
      <ul className="flex flex-col gap-2 text-sm">
        {rows.map((p) => (
          <li key={p.id} data-testid="approval-row" className="flex flex-wrap items-center gap-3">
            <code>{escapeControls(p.key)}</code>
            <span className="text-muted">on {p.connection}</span>
            <span>
              by <b>{p.requester}</b>: “{p.reason}”
            </span>
            <span className="text-faint">until {formatDateTime(p.expiresAt)}</span>
            {who.data?.canRelease && who.data.actor !== p.requester ? (
              <button data-testid="approve-button" className="rounded border border-line px-2 py-0.5 hover:bg-hover" onClick={() => approve(p)}>
                Approve release
              </button>
            ) : (
              <span className="text-faint">needs another operator</span>
            )}
          </li>
        ))}
        {Object.entries(results).map(([id, text]) => (
          <li key={id} data-testid="approval-result" className="text-muted">
            {text}
          </li>
        ))}
      </ul>
    </section>
  );
}
