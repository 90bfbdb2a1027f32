"use client";

// The contention page: a time range (kept in ?range= so links and reloads keep it), the
// lock × time heatmap, the top contended locks and the incidents of the window.

import { useQuery } from "@tanstack/react-query";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { ContentionHeatmap } from "./contention-heatmap";
import { ContentionIncidents, ContentionTable } from "./contention-table";
import { ErrorNote } from "./error-note";
import { contentionQuery, isRange, type RangeName } from "./history-api";
import { RangePicker, RecordingNote } from "./history-parts";

export function ContentionView() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const raw = params.get("range");
  const range: RangeName = isRange(raw) ? raw : "15m";
  const q = useQuery(contentionQuery(range));
  const d = q.data;
  const setRange = (r: RangeName) => router.replace(`${pathname}?range=${r}`, { scroll: false });
  const resolutions = d ? Object.entries(d.resolution) : [];
  return (
    <div className="mx-auto flex w-full max-w-[1200px] flex-col gap-3 p-4">
      <header className="flex flex-wrap items-center gap-3">
        <h1 className="text-[17px] font-semibold">Contention</h1>
        <RecordingNote recording={d?.recording} />
        <span className="ml-auto">
          <RangePicker value={range} onChange={setRange} />
        </span>
      </header>
      {resolutions.some(([, r]) => r.mode === "polling") ? (
        <p className="text-[12px] text-muted">
          {resolutions
            .filter(([, r]) => r.mode === "polling")
            .map(([id, r]) => `${id}: polled every ${Math.round(r.resMs / 1000)} s`)
            .join(" · ")}{" "}
          — holds and waits shorter than that may be missing.
        </p>
      ) : null}
      {q.error && !d ? <ErrorNote error={q.error} what="contention history" /> : null}
      {!d ? (
        q.isPending ? (
          <p className="text-muted">Loading contention…</p>
        ) : null
      ) : (
        <>
          <Panel title="Waiting, lock × time">
            <ContentionHeatmap data={d} />
          </Panel>
          <Panel title="Most contended locks">
            <ContentionTable data={d} />
          </Panel>
          <Panel title="Incidents">
            <ContentionIncidents data={d} />
          </Panel>
        </>
      )}
    </div>
  );
}

function Panel({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <section className="rounded-md border border-line bg-panel px-4 py-3">
      <h2 className="mb-2 text-[11px] font-semibold tracking-wide text-muted uppercase">{title}</h2>
      {children}
    </section>
  );
}
