// What a force-release came to, in the dialog (shared/UI.md §4). Every answer is shown as it
// came; only "released" deleted anything.

import { useQuery } from "@tanstack/react-query";
import { escapeControls } from "@/lib/keys";
import { lockStatus } from "@/lib/status";
import { fetchAudit, type ReleaseResult } from "./api";
import type { AfterRelease } from "./truth-types";
import { formatClock } from "./format";
import { whoText } from "./holder-text";

/** Who holds the lock right after the release, as the store answered (data-testid="release-after", data-state). */
function AfterLine({ after }: { after: AfterRelease | undefined }) {
  if (!after) return null;
  const h = after.holders[0];
  const waiting = after.waiters > 0 ? ` · ${after.waiters} still waiting` : "";
  const at = after.observedAt ? ` (read ${formatClock(after.observedAt)})` : "";
  let text: string;
  if (after.state === "held" && h) {
    const more = after.holders.length > 1 ? ` and ${after.holders.length - 1} more` : "";
    text = `Now held by ${whoText(h).who}${more}${h.since ? ` since ${formatClock(h.since)}` : ""}${waiting}${at}.`;
  } else if (after.state === "free" || after.state === "gone") {
    text = `Now free: nobody holds it${waiting}${at}.`;
  } else {
    text = "Who holds it now is unknown: the store could not be read back.";
  }
  return (
    <p data-testid="release-after" data-state={after.state} className="font-medium">
      {escapeControls(text)}
    </p>
  );
}

/**
 * The answer to show when a confirmation gets a second one (a repeat that got out): "released"
 * says what happened and is kept; a later refusal of the same holding ("changed", the first
 * request's own release) would say nothing was deleted right after it was.
 */
export function tellingAnswer(prev: ReleaseResult | undefined, next: ReleaseResult): ReleaseResult {
  return prev?.kind === "released" ? prev : next;
}

/** ResultView renders what the release came to (data-testid="release-result", data-outcome). */
export function ResultView({ result, onReview, onDone }: { result: ReleaseResult; onReview(): void; onDone(): void }) {
  const box = "rounded border px-3 py-2";
  if (result.kind === "released") {
    return (
      <div data-testid="release-result" data-outcome="released" role="status" className={`${box} border-ok/50 bg-ok/10`}>
        <p className="font-semibold text-ok">Released ✓</p>
        <AfterLine after={result.after} />
        {result.detail ? <p>{result.detail}</p> : null}
        {result.auditId ? <p className="text-muted">Audit entry {result.auditId}</p> : null}
        <button type="button" onClick={onDone} className="mt-1 text-accent hover:underline">
          Back to locks →
        </button>
      </div>
    );
  }
  if (result.kind === "changed") {
    const cur = result.current;
    return (
      <div data-testid="release-result" data-outcome="changed" role="alert" className={`${box} border-warn/50 bg-warn/10`}>
        <p className="font-semibold text-warn">Changed since you looked — nothing deleted.</p>
        <p>
          {cur && cur.holders[0] ? (
            <>
              Now held by <span title={whoText(cur.holders[0]).title}>{escapeControls(whoText(cur.holders[0]).who)}</span> · {lockStatus(cur)}
              {cur.fencingToken ? ` · fencing token ${cur.fencingToken}` : ""} · read {formatClock(cur.observedAt)}
            </>
          ) : cur ? (
            <>Now {lockStatus(cur)} — nobody holds it.</>
          ) : (
            <>It is no longer there.</>
          )}
        </p>
        {result.message ? <p className="text-muted">{result.message}</p> : null}
        <button type="button" data-testid="release-review" onClick={onReview} className="mt-1 rounded border border-line px-2 py-0.5 hover:bg-hover">
          Review
        </button>
      </div>
    );
  }
  if (result.kind === "gone") {
    return (
      <div data-testid="release-result" data-outcome="gone" role="status" className={`${box} border-line bg-sunken`}>
        {/* Gone before the release came: it expired or was released (the message says which when history knows). */}
        <p className="font-semibold">Not there any more — nothing was deleted.</p>
        <AfterLine after={result.after} />
        {result.message ? <p className="text-muted">{result.message}</p> : null}
        <button type="button" onClick={onDone} className="mt-1 text-accent hover:underline">
          Back to locks →
        </button>
      </div>
    );
  }
  if (result.kind === "pending") {
    return (
      <div data-testid="release-result" data-outcome="pending" role="status" className={`${box} border-line bg-sunken`}>
        <p className="font-semibold">Waiting for a second operator — nothing is released yet.</p>
        <p className="text-muted">
          This connection needs two people for a release. Another operator must approve it on the Audit page before {formatClock(result.expiresAt)}; it then
          runs with the fence you saw, so a lock that changed meanwhile is still left alone.
        </p>
      </div>
    );
  }
  if (result.code === "outcome_unknown") {
    return (
      <div data-testid="release-result" data-outcome="unknown" role="alert" className={`${box} border-warn/50 bg-warn/10`}>
        <p className="font-semibold text-warn">Outcome unknown — the store did not answer after the release was sent.</p>
        <p>
          It may or may not have been released. LockDeck does not send it again: it re-reads the lock and records what it finds. Do not retry until that is
          known.
        </p>
        {result.requestId ? <Reconciliation requestId={result.requestId} /> : null}
        <button type="button" onClick={onReview} className="mt-1 rounded border border-line px-2 py-0.5 hover:bg-hover">
          Review the lock
        </button>
      </div>
    );
  }
  const unknown = result.code === "network";
  return (
    <div data-testid="release-result" data-outcome="error" data-code={result.code} role="alert" className={`${box} border-bad/50 bg-bad/10`}>
      <p className="font-semibold text-bad">{unknown ? "Outcome unknown — do not retry blindly." : "Not released."}</p>
      <p>
        {result.message} <span className="font-mono text-xs text-muted">({result.code})</span>
      </p>
      {unknown ? (
        <button type="button" onClick={onReview} className="mt-1 rounded border border-line px-2 py-0.5 hover:bg-hover">
          Review the lock
        </button>
      ) : null}
    </div>
  );
}

/** What the console found out afterwards about a release whose outcome was unknown (the audit's reconciled line). */
function Reconciliation({ requestId }: { requestId: string }) {
  const { data } = useQuery({
    queryKey: ["audit", { requestId }],
    queryFn: ({ signal }) => fetchAudit({ requestId, limit: 10 }, signal),
    refetchInterval: (q) => (q.state.data?.entries.some((e) => e.reconciled) ? false : 2_000),
  });
  const settled = data?.entries.find((e) => e.reconciled);
  if (!settled) {
    return (
      <p data-testid="release-reconciled" data-outcome="pending" className="text-muted">
        Checking the store…
      </p>
    );
  }
  return (
    <p data-testid="release-reconciled" data-outcome={settled.outcome} className="font-semibold">
      {/* "applied" here comes only from trails written before a gone holding was settled "unknown". */}
      {settled.outcome === "applied"
        ? "Checked: the holding you saw is gone — the release took effect (or the holder let go at the same moment)."
        : settled.outcome === "not_applied"
          ? "Checked: not released — the holder you saw still holds the lock. Nothing was deleted."
          : `Outcome stays unknown: ${settled.detail ?? "look at the lock itself"}.`}
    </p>
  );
}
