"use client";

import { useEffect, useState } from "react";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useQuery } from "@tanstack/react-query";
import { escapeControls } from "@/lib/keys";
import type { AuditEntry } from "./api";
import { ErrorNote } from "./error-note";
import { formatDateTime, shortId } from "./format";
import { lockHref } from "./lock-row";
import { auditQuery, connectionsQuery, whoamiQuery } from "./queries";

/** Outcome words as the audit log writes them (lib/audit/log.ts); anything else is a refusal or failure. */
const OUTCOME_COLOUR: Record<string, string> = {
  applied: "text-ok",
  released: "text-ok",
  ok: "text-ok",
  precondition_failed: "text-warn",
  changed: "text-warn",
  pending_approval: "text-muted",
  gone: "text-muted",
};

function setParam(name: string, value: string) {
  const params = new URLSearchParams(window.location.search);
  if (value) params.set(name, value);
  else params.delete(name);
  const text = params.toString();
  window.history.replaceState(null, "", `${window.location.pathname}${text ? `?${text}` : ""}`);
}

function download(entries: AuditEntry[]) {
  const blob = new Blob([JSON.stringify(entries, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `lockdeck-audit-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  a.click();
  URL.revokeObjectURL(url);
}

/** AuditTable: who force-released what, when, why, with which fence, and what came of it; newest first. */
export function AuditTable() {
  const params = useSearchParams();
  const connection = params.get("connection") ?? "";
  const key = params.get("key") ?? "";
  const [draftKey, setDraftKey] = useState(key);
  const [urlKey, setUrlKey] = useState(key);
  if (key !== urlKey) {
    // The URL changed from elsewhere (back button, a link): show it.
    setUrlKey(key);
    setDraftKey(key);
  }
  useEffect(() => {
    if (draftKey === key) return;
    const t = setTimeout(() => setParam("key", draftKey), 300);
    return () => clearTimeout(t);
  }, [draftKey, key]);

  const connections = useQuery(connectionsQuery());
  const who = useQuery(whoamiQuery());
  const { data, error, isPending } = useQuery(auditQuery({ connection, key }));
  const chainBrokenAt = data?.chainBrokenAt ?? null;
  const entries = data?.entries ?? [];
  // An intent with no outcome is a release whose result was never recorded (e.g. a crash mid-call).
  const finished = new Set(entries.filter((e) => e.phase === "outcome").map((e) => e.requestId));

  return (
    <div data-testid="audit-page" className="mx-auto flex w-full max-w-[1500px] flex-col gap-3 p-4">
      <div className="flex flex-wrap items-center gap-2">
        <h1 className="mr-2 text-[15px] font-semibold">Audit</h1>
        <label htmlFor="audit-connection" className="sr-only">
          Connection
        </label>
        <select
          id="audit-connection"
          data-testid="audit-connection"
          value={connection}
          onChange={(e) => setParam("connection", e.target.value)}
          className="rounded border border-line bg-panel px-1.5 py-1 text-[12px]"
        >
          <option value="">all connections</option>
          {connections.data?.map((c) => (
            <option key={c.id} value={c.id}>
              {c.label || c.id}
            </option>
          ))}
        </select>
        <label htmlFor="audit-key" className="sr-only">
          Key
        </label>
        <input
          id="audit-key"
          data-testid="audit-key"
          type="search"
          value={draftKey}
          onChange={(e) => setDraftKey(e.target.value)}
          placeholder="lock key…"
          className="w-72 rounded border border-line bg-panel px-2 py-1 font-mono text-[12px] placeholder:font-sans"
        />
        <span className="ml-auto text-muted">
          {data ? `${entries.length} entr${entries.length === 1 ? "y" : "ies"}, newest first` : ""}
        </span>
        <button
          type="button"
          disabled={!entries.length}
          onClick={() => download(entries)}
          className="rounded border border-line px-2 py-0.5 text-[12px] text-muted hover:bg-hover disabled:opacity-40"
          title="the entries shown, as JSON"
        >
          Export shown
        </button>
        {who.data?.canRelease ? (
          <a
            href="/api/audit/export"
            className="rounded border border-line px-2 py-0.5 text-[12px] text-muted hover:bg-hover"
            title="the whole trail as JSON Lines, oldest first (for a SIEM); operators and admins only"
          >
            Export all (JSONL)
          </a>
        ) : null}
      </div>

      {chainBrokenAt ? (
        <p role="alert" data-testid="audit-chain-broken" className="rounded border border-bad/50 bg-bad/10 px-3 py-2 text-bad">
          ▲ The audit log&apos;s hash chain breaks at entry <span className="font-mono">{chainBrokenAt}</span>: lines were
          edited or removed after they were written.
        </p>
      ) : null}

      {error ? <ErrorNote error={error} what="the audit log" /> : null}
      {isPending ? <p className="text-muted">Loading…</p> : null}
      {data && !entries.length ? <p className="text-muted">No audit entries{connection || key ? " match" : " yet"}.</p> : null}

      {entries.length ? (
        <div className="overflow-auto rounded-md border border-line bg-panel">
          <table className="w-full border-collapse text-left">
            <thead className="sticky top-0 bg-sunken text-[11px] tracking-wide text-muted uppercase">
              <tr>
                {["Time", "Actor", "Action", "Connection", "Key", "Phase", "Outcome", "Reason", "Mode", "Fence"].map((h) => (
                  <th key={h} scope="col" className="px-3 py-1.5 font-semibold">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr
                  key={e.id}
                  data-testid="audit-row"
                  data-phase={e.phase}
                  data-outcome={e.outcome ?? ""}
                  className="border-t border-line/60 align-top hover:bg-hover"
                >
                  <td className="px-3 py-1 whitespace-nowrap tabular-nums" title={e.at}>
                    {formatDateTime(e.at)}
                  </td>
                  <td className="px-3 py-1">
                    {e.actor}
                    {e.role ? <span className="ml-1 text-[11px] text-faint">{e.role}</span> : null}
                  </td>
                  <td className="px-3 py-1 text-muted">{e.action ?? "release"}</td>
                  <td className="px-3 py-1">{e.connection}</td>
                  <td className="max-w-[360px] px-3 py-1 font-mono break-all">
                    {e.key && e.connection ? (
                      <Link href={lockHref(e.connection, e.key)} prefetch={false} className="hover:underline">
                        {escapeControls(e.key)}
                      </Link>
                    ) : (
                      <span className="text-faint">–</span>
                    )}
                    {e.format ? <span className="ml-1 font-sans text-[11px] text-faint">{e.format}</span> : null}
                  </td>
                  <td className="px-3 py-1 text-muted">{e.phase}</td>
                  <td className={`px-3 py-1 ${e.outcome ? (OUTCOME_COLOUR[e.outcome] ?? "text-bad") : "text-faint"}`}>
                    {e.outcome ??
                      (e.phase === "intent" ? (
                        finished.has(e.requestId) ? (
                          "–"
                        ) : (
                          <span className="text-warn" title="no outcome entry for this request: still running, or it never finished">
                            no outcome yet
                          </span>
                        )
                      ) : (
                        "–"
                      ))}
                    {e.approvedBy ? <span className="block text-[12px] text-muted">approved by {e.approvedBy}</span> : null}
                    {e.detail ? <span className="block text-[12px] text-muted">{e.detail}</span> : null}
                  </td>
                  <td className="max-w-[320px] px-3 py-1 break-words">{e.reason}</td>
                  <td className="px-3 py-1 font-mono text-[12px] text-muted">{e.mode}</td>
                  <td className="px-3 py-1 font-mono text-[12px] text-muted" title={`${e.fence}\nrequest ${e.requestId}`}>
                    {shortId(e.fence)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
