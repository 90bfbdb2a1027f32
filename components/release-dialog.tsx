"use client";

import { useEffect, useId, useRef, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { escapeControls, visibleLength, visibleText } from "@/lib/keys";
import type { LockView, ReleaseMode } from "@/lib/model";
import { newRequestId, releaseLock, type LockDetail, type ReleaseResult } from "./api";
import { CopyButton } from "./copy-button";
import { formatClock } from "./format";
import { whoText } from "./holder-text";
import { keys } from "./queries";
import { StaleAck } from "./release-ack";
import { ResultView, tellingAnswer } from "./release-result";
import { LookalikeNote, VisibleText } from "./visible-text";
import type { Freshness, PlanView } from "./truth-types";

export interface ReleaseDialogProps {
  conn: string;
  /** The record as the operator saw it when opening the dialog: its fence is sent unchanged. */
  lock: LockView;
  plan: PlanView;
  /** The connection's freshness, kept current while the dialog is open: a stale view needs an acknowledgement. */
  freshness: (Freshness & { message?: string }) | null;
  /** The fence of the latest read (null when the lock is gone), to warn that it changed. */
  liveFence: string | null | undefined;
  onClose(): void;
  /** Close and re-read the lock (after "changed" or an unknown outcome). */
  onReview(): void;
  /** Leave for the table (after the lock is gone). */
  onDone(): void;
}

const MIN_REASON = 3;

/** A mode's words when the answer carries no plan for it (each store's plans say what their modes do). */
function modeText(mode: ReleaseMode): string {
  return mode === "delete"
    ? "Delete only this lock's key(s), and only if they still hold exactly what you saw."
    : `${mode}: re-read the lock to see what it does`;
}

/** Answers that mean nothing was attempted: the dialog may send again, and the next send is a new confirmation. */
function nothingAttempted(r: ReleaseResult): boolean {
  return r.kind === "error" && (r.code === "bad_request" || r.code === "unreachable" || r.code === "stale_ack_required");
}

/**
 * ReleaseDialog: the force-release confirmation (shared/UI.md §4). A modal <dialog> (focus
 * stays inside, Escape closes), a required reason, and one conditional release of exactly the
 * holding shown. Nothing is retried: every answer is shown as it came.
 */
export function ReleaseDialog({ conn, lock, plan, freshness, liveFence, onClose, onReview, onDone }: ReleaseDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const id = useId();
  const client = useQueryClient();
  const [reason, setReason] = useState("");
  // The lock detail answer carries one plan per offered mode (`plans`) and, where holders can be
  // released one at a time (a Consul semaphore's slots), one per holder (`targetPlans`); the
  // dialog shows the chosen plan as it was when the dialog opened.
  const [opened] = useState(() => client.getQueryData<LockDetail>(keys.lock(conn, lock.key)));
  const targets = plan.targets ?? [];
  // "" = every holder seen; else one holder's id (its slot only).
  const [targetId, setTargetId] = useState("");
  const forTarget = targetId ? opened?.targetPlans?.[targetId] : undefined;
  const modes: ReleaseMode[] = forTarget ? (Object.keys(forTarget) as ReleaseMode[]) : plan.modes;
  const [chosenMode, setMode] = useState<ReleaseMode>(plan.modes[0] ?? "delete");
  const mode = modes.includes(chosenMode) ? chosenMode : (modes[0] ?? "delete");
  const plans = forTarget ?? opened?.plans;
  const shown: PlanView = plans?.[mode] ?? plan;
  const stale = !!freshness?.stale;
  const [acked, setAcked] = useState(false);
  // One confirmation sends one request. `sent` is set before mutate: isPending re-renders a tick
  // late (TanStack's notify batch), so a double-click or a fast double Enter passed a check of
  // it and sent a second POST, whose 409 was the only answer shown. The confirmation's id is
  // made once (not per call), so a repeat that still got out is the same request, which the
  // server answers with the first one's outcome. Only an answer that means nothing was
  // attempted frees `sent`, and the next send is a new confirmation with a new id.
  const sent = useRef(false);
  const inFlight = useRef(false);
  const confirmation = useRef<string | null>(null);
  const [answer, setAnswer] = useState<ReleaseResult>();
  const release = useMutation({
    mutationFn: (requestId: string) =>
      releaseLock(conn, {
        key: lock.key,
        fence: lock.fence,
        reason: reason.trim(),
        mode: modes.length > 1 || targetId ? mode : plan.modes[0],
        requestId,
        // When the view confirmed from was read: after an earlier release, a holding taken again
        // with the same token is released only from a view read after it (lib/api/claims.ts).
        seenAt: lock.observedAt,
        // The age the operator acknowledged: the one on screen when they confirmed.
        ...(stale && acked && freshness?.staleAgeMs != null && { staleAckMs: freshness.staleAgeMs }),
        ...(targetId && { target: targetId }),
      }),
    onSuccess: (r) => {
      // If two answers ever arrive, the one that says what happened ("released") is kept.
      setAnswer((prev) => tellingAnswer(prev, r));
      if (nothingAttempted(r)) {
        sent.current = false;
        confirmation.current = null;
      }
      // The view grew older than acknowledged: ask again, with the new age.
      if (r.kind === "error" && r.code === "stale_ack_required") setAcked(false);
    },
    onError: (e) => setAnswer((prev) => tellingAnswer(prev, { kind: "error", status: 0, code: "client", message: e.message })),
    onSettled: () => {
      inFlight.current = false;
      void client.invalidateQueries({ queryKey: keys.locksOf(conn) });
      void client.invalidateQueries({ queryKey: keys.lock(conn, lock.key) });
      void client.invalidateQueries({ queryKey: keys.connections(), exact: true });
      void client.invalidateQueries({ queryKey: ["audit"] });
    },
  });
  const result: ReleaseResult | undefined = answer;
  const pending = release.isPending;
  const holder = lock.holders[0];
  // Visible characters only: spaces and zero-width characters are no reason.
  const reasonOk = visibleLength(reason) >= MIN_REASON;
  // Only answers that mean "nothing was attempted" may be sent again: a bad reason, a store
  // that could not be reached. "changed" and "unknown" need a fresh look first.
  const retryable = !!result && nothingAttempted(result);
  const canSend = reasonOk && (!stale || acked) && !pending && (!result || retryable);
  const changedWhileOpen = !result && liveFence !== undefined && liveFence !== lock.fence;
  const defaultMode = modes[0] ?? "delete";
  const target = targets.find((t) => t.id === targetId);
  // The dialog says once that there is no fencing token (in the holder warning, or beside
  // "Fencing token" when the holder is told); a plan note saying it again is left out.
  const notes = lock.fencingToken ? shown.notes : shown.notes.filter((n) => !/no fencing token/i.test(n));

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    reasonRef.current?.focus();
    return () => d?.close();
  }, []);

  return (
    <dialog
      ref={ref}
      role="dialog"
      aria-modal="true"
      aria-labelledby={`${id}-title`}
      data-testid="release-dialog"
      onCancel={(e) => {
        e.preventDefault();
        if (!pending && !inFlight.current) onClose();
      }}
      className="m-auto w-[min(720px,calc(100vw-2rem))] rounded-lg border border-line bg-panel p-0 text-[13px] text-fg shadow-2xl"
    >
      <form
        method="dialog"
        className="flex flex-col gap-3 p-4"
        onSubmit={(e) => {
          e.preventDefault();
          // Synchronous: a second click in the same burst finds `sent` already set.
          if (!canSend || sent.current) return;
          sent.current = true;
          inFlight.current = true;
          confirmation.current ??= newRequestId();
          release.mutate(confirmation.current);
        }}
      >
        <h2 id={`${id}-title`} data-testid="release-title" className="text-[15px] font-semibold">
          {target ? (
            <>
              Release ONE slot of <VisibleText text={lock.name || lock.key} className="font-mono" />: <VisibleText text={target.label} />
            </>
          ) : targets.length > 1 ? (
            <>
              Release ALL {targets.length} holders of <VisibleText text={lock.name || lock.key} className="font-mono" />
            </>
          ) : (
            <>
              Release <VisibleText text={lock.name || lock.key} className="font-mono" />
              {holder ? (
                <>
                  {" "}
                  held by {lock.holders.length > 1 ? `${lock.holders.length} holders: ` : null}
                  <span title={visibleText(whoText(holder).title)}>
                    <VisibleText text={whoText(holder).who} />
                  </span>
                  {lock.holders.length > 1 ? ` and ${lock.holders.length - 1} more` : null}
                </>
              ) : null}
            </>
          )}{" "}
          <span className="font-normal text-muted">(seen {formatClock(lock.observedAt)})</span>?
        </h2>
        <LookalikeNote text={lock.name || lock.key} />
        {lock.name && lock.name !== lock.key ? <LookalikeNote text={lock.key} /> : null}

        {stale && freshness && (!result || retryable) ? (
          <StaleAck freshness={freshness} message={freshness.message} acked={acked} onAck={setAcked} disabled={pending} />
        ) : null}

        {targets.length > 1 ? (
          <fieldset className="flex flex-col gap-1" data-testid="release-targets">
            <legend className="mb-1 text-muted">Which holders</legend>
            <label className="flex items-start gap-2">
              <input
                type="radio"
                name={`${id}-target`}
                value=""
                checked={!targetId}
                onChange={() => setTargetId("")}
                disabled={pending || !!result}
                className="mt-0.5"
              />
              <span>All {targets.length} holders: every slot seen is freed</span>
            </label>
            {targets.map((t) => (
              <label key={t.id} className="flex items-start gap-2">
                <input
                  type="radio"
                  name={`${id}-target`}
                  value={t.id}
                  checked={targetId === t.id}
                  onChange={() => setTargetId(t.id)}
                  disabled={pending || !!result}
                  className="mt-0.5"
                />
                <span>
                  Only <span className="font-mono">{escapeControls(t.label)}</span>
                </span>
              </label>
            ))}
          </fieldset>
        ) : null}

        {changedWhileOpen ? (
          <p role="alert" className="rounded border border-warn/50 bg-warn/10 px-2 py-1 text-warn">
            ▲ The lock changed since this dialog opened: a release of what you saw will be refused.{" "}
            <button type="button" onClick={onReview} className="underline">
              Review
            </button>
          </p>
        ) : null}

        <dl className="grid grid-cols-[max-content_1fr] gap-x-3 gap-y-1.5">
          <dt className="text-muted">This deletes exactly:</dt>
          <dd data-testid="release-deletes" className="font-mono [overflow-wrap:anywhere]">
            {plans?.[mode] ? shown.deletes : mode === defaultMode ? plan.deletes : modeText(mode)}
          </dd>
          <dt className="text-muted">Fencing token:</dt>
          <dd>
            {lock.fencingToken ? (
              <span className="font-mono">{lock.fencingToken}</span>
            ) : shown.holderNotified ? (
              <span className="text-warn">none — this lock family has no fencing token</span>
            ) : (
              <span className="text-muted">none</span>
            )}
          </dd>
          {shown.wakes && (plans?.[mode] || mode === defaultMode) ? (
            <>
              <dt className="text-muted">Then wakes:</dt>
              <dd className="font-mono [overflow-wrap:anywhere]">{shown.wakes}</dd>
            </>
          ) : null}
        </dl>

        {!shown.holderNotified ? (
          <p data-testid="release-holder-warning" className="rounded border border-warn/40 bg-warn/8 px-2 py-1.5">
            <strong>The holder is NOT told.</strong> If it is alive it may keep writing —{" "}
            {lock.fencingToken ? (
              <>
                fencing token <span className="font-mono font-semibold">{lock.fencingToken}</span> is the guard it should check.
              </>
            ) : (
              <>this lock has no fencing token, so nothing stops a paused holder&apos;s late writes.</>
            )}
          </p>
        ) : null}

        {notes.length ? (
          <ul className="list-disc pl-5 text-muted">
            {notes.map((n, i) => (
              <li key={i}>{n}</li>
            ))}
          </ul>
        ) : null}

        {modes.length > 1 ? (
          <fieldset className="flex flex-col gap-1">
            <legend className="mb-1 text-muted">How to release</legend>
            {modes.map((m) => (
              <label key={m} className="flex items-start gap-2">
                <input
                  type="radio"
                  name={`${id}-mode`}
                  value={m}
                  checked={mode === m}
                  onChange={() => setMode(m)}
                  disabled={pending || !!result}
                  className="mt-0.5"
                />
                <span>
                  <span className="font-mono">{m}</span> — {plans?.[m]?.title ?? modeText(m)}
                </span>
              </label>
            ))}
          </fieldset>
        ) : null}

        <div className="flex flex-col gap-1">
          <label htmlFor={`${id}-reason`} className="font-medium">
            Reason (required)
          </label>
          <textarea
            id={`${id}-reason`}
            ref={reasonRef}
            data-testid="release-reason"
            required
            minLength={MIN_REASON}
            rows={2}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            disabled={pending || (!!result && result.kind !== "error")}
            aria-describedby={`${id}-reason-hint`}
            placeholder="e.g. stuck after deploy, INC-2231"
            className="rounded border border-line bg-sunken px-2 py-1"
          />
          <span id={`${id}-reason-hint`} className="text-[12px] text-faint">
            Recorded in the audit log with your name ({MIN_REASON}+ characters).
          </span>
        </div>

        <div className="flex flex-col gap-1">
          <span className="text-muted">Equivalent{mode !== defaultMode && !plans?.[mode] ? ` (for ${defaultMode})` : ""}:</span>
          <div className="flex items-start gap-2">
            <pre className="min-w-0 flex-1 overflow-x-auto rounded bg-sunken px-2 py-1.5 font-mono text-[12px] whitespace-pre-wrap break-all">
              <code>{shown.command}</code>
            </pre>
            <CopyButton text={shown.command} />
          </div>
        </div>

        {result ? <ResultView result={result} onReview={onReview} onDone={onDone} /> : null}

        <div className="flex justify-end gap-2">
          <button
            type="button"
            onClick={() => {
              if (!inFlight.current) onClose();
            }}
            disabled={pending}
            data-testid="release-cancel"
            className="rounded border border-line px-3 py-1 hover:bg-hover"
          >
            {result && result.kind !== "error" ? "Close" : "Cancel"}
          </button>
          {!result || canSend ? (
            <button
              type="submit"
              data-testid="release-confirm"
              disabled={!canSend}
              className="rounded bg-bad px-3 py-1 font-medium text-panel disabled:cursor-not-allowed disabled:opacity-40"
            >
              {pending ? "Releasing…" : "Release only if unchanged"}
            </button>
          ) : null}
        </div>
      </form>
    </dialog>
  );
}
