"use client";

import { useEffect, useState } from "react";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useQuery } from "@tanstack/react-query";
import { escapeControls, visibleText } from "@/lib/keys";
import type { AuditEntry } from "./api";
import { ErrorNote } from "./error-note";
import { attemptsOf, type Attempt } from "./audit-attempts";
import { describeFence } from "./fence-text";
import { formatDateTime, plural, shortId } from "./format";
import { lockHref } from "./lock-row";
import { auditQuery, connectionsQuery, whoamiQuery } from "./queries";
import { VisibleText } from "./visible-text";

/** Outcome words as the audit log writes them (lib/audit/log.ts); anything else is a refusal or failure. */
const OUTCOME_COLOUR: Record<string, string> = {
  applied: "text-ok",
  released: "text-ok",
  ok: "text-ok",
  precondition_failed: "text-warn",
  changed: "text-warn",
  pending_approval: "text-muted",
  gone: "text-muted",
  not_applied: "text-muted",
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
  const chainProblems = data?.chainProblems ?? [];
  const writeFailure = data?.writeFailure ?? null;
  const entries = data?.entries ?? [];
  // One row per attempt: intent, approval and outcome of one request folded together.
  const attempts = attemptsOf(entries);

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
          {data ? `${plural(attempts.length, "attempt")} (${plural(entries.length, "entry", "entries")}), newest first` : ""}
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
          // A download from an API route, not a page: next/link would try to route to it. (The
          // rule takes app/api/[...path], the JSON 404 for unknown API paths, for a page.)
          // eslint-disable-next-line @next/next/no-html-link-for-pages
          <a
            href="/api/audit/export"
            className="rounded border border-line px-2 py-0.5 text-[12px] text-muted hover:bg-hover"
            title="the whole trail as JSON Lines, oldest first (for a SIEM); operators and admins only"
          >
            Export all (JSONL)
          </a>
        ) : null}
      </div>

      {writeFailure ? (
        <p role="alert" data-testid="audit-write-failure" className="rounded border border-bad/50 bg-bad/10 px-3 py-2 text-bad">
          ▲ The audit trail cannot be written ({writeFailure.message}, since {formatDateTime(writeFailure.at)}): releases are refused until it can, because
          nothing is released without its record on disk.
        </p>
      ) : null}
      {chainBrokenAt ? (
        <div role="alert" data-testid="audit-chain-broken" className="rounded border border-bad/50 bg-bad/10 px-3 py-2 text-bad">
          <p>
            ▲ The audit log&apos;s hash chain breaks at <span className="font-mono">{chainBrokenAt}</span>.
          </p>
          <ul className="list-disc pl-5">
            {chainProblems.map((p) => (
              <li key={p.line} data-testid="audit-chain-problem" data-kind={p.kind} data-line={p.line}>
                {p.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      {error ? <ErrorNote error={error} what="the audit log" /> : null}
      {isPending ? <p className="text-muted">Loading…</p> : null}
      {data && !entries.length ? <p className="text-muted">No audit entries{connection || key ? " match" : " yet"}.</p> : null}

      {attempts.length ? (
        <div className="overflow-auto rounded-md border border-line bg-panel">
          <table className="w-full border-collapse text-left">
            <thead className="sticky top-0 bg-sunken text-[11px] tracking-wide text-muted uppercase">
              <tr>
                {["Time", "Actor", "Action", "Connection", "Key", "Outcome", "Reason", "Mode", "Holding (fence)"].map((h) => (
                  <th key={h} scope="col" className="px-3 py-1.5 font-semibold">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <AttemptRow key={a.id} a={a} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

/** One attempt: who asked what, how it ended (and the steps in between), the holding in words. */
function AttemptRow({ a }: { a: Attempt }) {
  const e = a.first;
  const fenceWords = describeFence(e.fence);
  const reconciled = a.entries.some((x) => (x as { reconciled?: boolean }).reconciled);
  return (
    <tr
      data-testid="audit-row"
      data-outcome={a.outcome ?? ""}
      data-entries={a.entries.length}
      data-entry-ids={a.entries.map((x) => x.id).join(" ")}
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
          <Link href={lockHref(e.connection, e.key)} prefetch={false} className="hover:underline" data-testid="audit-key" title={visibleText(e.key)}>
            <VisibleText text={e.key} />
          </Link>
        ) : (
          <span className="text-faint">–</span>
        )}
      </td>
      <td className="px-3 py-1" data-testid="audit-outcome">
        <span className={`font-medium ${a.outcome ? (OUTCOME_COLOUR[a.outcome] ?? "text-bad") : "text-warn"}`}>
          {a.outcome === null ? (
            <span title="an intent with no outcome: the call never finished or its answer was lost">no outcome recorded (unknown)</span>
          ) : (
            a.outcome.replace(/_/g, " ")
          )}
        </span>
        {reconciled ? <span className="text-[12px] text-muted"> (reconciled)</span> : null}
        {a.approvedBy ? <span className="block text-[12px] text-muted">approved by {a.approvedBy}</span> : null}
        {a.steps.length > 1 || a.entries[0].detail ? (
          <ol className="mt-0.5 text-[12px] text-muted" data-testid="audit-steps">
            {a.steps.map((s, i) => (
              <li key={i}>{escapeControls(s)}</li>
            ))}
          </ol>
        ) : null}
      </td>
      <td className="max-w-[320px] px-3 py-1 break-words">
        {/* Isolated and escaped (an RLO or a zero-width space is shown), line breaks kept. */}
        <bdi className="whitespace-pre-line">{(e.reason ?? "").split("\n").map(escapeControls).join("\n")}</bdi>
      </td>
      <td className="px-3 py-1 font-mono text-[12px] text-muted">{e.mode}</td>
      <td className="max-w-[360px] px-3 py-1 text-[12px] text-muted" data-testid="audit-fence" title={`${e.fence}\nrequest ${e.requestId}`}>
        {fenceWords ?? (e.fence ? <span className="font-mono">{shortId(e.fence)}</span> : <span className="text-faint">–</span>)}
      </td>
    </tr>
  );
}
