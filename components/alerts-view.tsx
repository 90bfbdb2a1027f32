"use client";

// The alerts page: what is firing now (and pending), where notifications go and whether they
// get there — each webhook's last success, its failures and drops — and the last delivery
// attempts. Webhook URLs are secrets: the server sends only their scheme and host.

import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import type { AlertsAnswer } from "@/lib/alerts/alerter";
import { escapeControls } from "@/lib/keys";
import { ApiError, getJson } from "./api";
import { ErrorNote } from "./error-note";
import { formatAge, formatClock, formatDuration, plural } from "./format";
import { lockHref } from "./lock-row";
import { REFRESH_MS, REFRESH_TEXT } from "./queries";

const alertsQuery = {
  queryKey: ["alerts"] as const,
  queryFn: ({ signal }: { signal: AbortSignal }) => getJson<AlertsAnswer>("/api/alerts", signal),
  refetchInterval: REFRESH_MS,
  retry: (n: number, err: unknown) => !(err instanceof ApiError && err.status < 500) && n < 2,
};

export function AlertsView() {
  const { data, error, isPending } = useQuery(alertsQuery);
  const firing = data?.alerts.filter((a) => a.firingAt) ?? [];
  const pending = data?.alerts.filter((a) => !a.firingAt) ?? [];
  return (
    <div className="mx-auto flex w-full max-w-[1200px] flex-col gap-3 p-4">
      <div className="flex flex-wrap items-baseline gap-3">
        <h1 className="text-[15px] font-semibold">Alerts</h1>
        {data ? (
          <span className="text-muted" data-testid="alerts-summary">
            {plural(firing.length, "firing alert")}
            {pending.length ? `, ${pending.length} pending (forMs ${formatDuration(data.settings.forMs)})` : ""} · rules:{" "}
            {data.settings.rules.join(", ") || "none"} · repeated every {formatDuration(data.settings.repeatIntervalMs)} (Alertmanager re-posted every{" "}
            {formatDuration(data.settings.alertmanagerResendMs)}) · re-read {REFRESH_TEXT}
          </span>
        ) : null}
      </div>
      {error ? <ErrorNote error={error} what="the alerts" /> : null}
      {isPending ? <p className="text-muted">Reading the alerts…</p> : null}
      {data ? (
        <>
          <section className="rounded-md border border-line bg-panel px-4 py-3" data-testid="alerts-firing">
            <h2 className="mb-2 text-[11px] font-semibold tracking-wide text-muted uppercase">Firing now</h2>
            {data.alerts.length === 0 ? <p className="text-muted">Nothing is firing.</p> : null}
            <ul className="flex flex-col gap-1.5">
              {data.alerts.map((a) => (
                <li key={`${a.rule}:${a.connection}:${a.key}`} data-testid="alert-row" data-rule={a.rule} data-key={a.key} className="flex flex-col">
                  <span>
                    <span className={a.severity === "critical" ? "font-semibold text-stale" : "font-semibold text-warn"}>
                      {a.firingAt ? "▲" : "…"} {a.alertname}
                    </span>{" "}
                    <Link href={lockHref(a.connection, a.key)} className="font-mono text-accent hover:underline">
                      {escapeControls(a.lockName || a.key)}
                    </Link>{" "}
                    <span className="text-muted">
                      ({a.connection}) ·{" "}
                      {a.firingAt ? `firing since ${formatClock(a.firingAt)} (${formatAge(a.firingAt, data.now)})` : `pending since ${formatClock(a.since)}`}
                    </span>
                  </span>
                  <span className="text-muted">{a.summary}</span>
                  {a.detail ? <span className="text-muted">{a.detail}</span> : null}
                </li>
              ))}
            </ul>
          </section>
          <section className="rounded-md border border-line bg-panel px-4 py-3" data-testid="alerts-webhooks">
            <h2 className="mb-2 text-[11px] font-semibold tracking-wide text-muted uppercase">Webhooks</h2>
            {data.webhooks.length === 0 ? (
              <p className="text-muted">No webhook is configured: alerts show here and in /api/metrics only (see alerts.webhooks in the README).</p>
            ) : (
              <table className="w-full text-left">
                <thead className="text-muted">
                  <tr>
                    <th className="py-1 font-normal">webhook</th>
                    <th className="font-normal">to</th>
                    <th className="font-normal">delivered</th>
                    <th className="font-normal">failed attempts</th>
                    <th className="font-normal">dropped</th>
                    <th className="font-normal">waiting</th>
                    <th className="font-normal">last success</th>
                    <th className="font-normal">last error</th>
                  </tr>
                </thead>
                <tbody>
                  {data.webhooks.map((w) => (
                    <tr key={w.name} data-testid="webhook-row" data-name={w.name} data-failing={w.failing || undefined} className="border-t border-line">
                      <td className="py-1 font-semibold">
                        {w.name} <span className="font-normal text-muted">{w.kind}</span>
                      </td>
                      <td className="font-mono text-[12px]">{w.target}</td>
                      <td className="tabular-nums">{w.sent}</td>
                      <td className={`tabular-nums ${w.failures ? "text-bad" : ""}`}>{w.failures}</td>
                      <td className={`tabular-nums ${w.dropped ? "text-bad" : ""}`}>{w.dropped}</td>
                      <td className="tabular-nums">{w.pending}</td>
                      <td>{w.lastSuccessAt ? formatClock(w.lastSuccessAt) : "never"}</td>
                      <td className={w.failing ? "text-bad" : "text-muted"}>
                        {w.lastError ? `${formatClock(w.lastError.at)}: ${w.lastError.message}${w.failing ? ` (${w.failing} in a row)` : ""}` : "—"}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          {data.recent.length ? (
            <section className="rounded-md border border-line bg-panel px-4 py-3" data-testid="alerts-recent">
              <h2 className="mb-2 text-[11px] font-semibold tracking-wide text-muted uppercase">Recently fired and resolved</h2>
              <ul className="flex flex-col gap-0.5 tabular-nums">
                {data.recent.slice(0, 50).map((r, i) => (
                  <li key={i}>
                    {formatClock(r.at)} · <span className={r.status === "firing" ? "text-stale" : "text-free"}>{r.status}</span> · {r.alertname}{" "}
                    <Link href={lockHref(r.connection, r.key)} className="font-mono text-accent hover:underline">
                      {escapeControls(r.lockName || r.key)}
                    </Link>{" "}
                    <span className="text-muted">({r.connection})</span>
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          {data.deliveries.length ? (
            <section className="rounded-md border border-line bg-panel px-4 py-3" data-testid="alerts-deliveries">
              <h2 className="mb-2 text-[11px] font-semibold tracking-wide text-muted uppercase">Last deliveries</h2>
              <ul className="flex flex-col gap-0.5 tabular-nums">
                {data.deliveries.slice(0, 50).map((d, i) => (
                  <li key={i} className={d.outcome === "sent" ? "" : "text-bad"}>
                    {formatClock(d.at)} · {d.webhook} · {d.what} · attempt {d.attempt} · {d.outcome}
                    {d.status ? ` (HTTP ${d.status})` : ""}
                    {d.error ? `: ${d.error}` : ""}
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
