// The acknowledgement a force-release needs on a stale view: the operator states the view's
// age ("the view is 42 s old"), and the request carries it (staleAckMs); the server refuses a
// release on a stale view without it. The fence still protects the store either way.

import { formatClock } from "./format";
import { staleSeconds } from "./freshness";
import type { Freshness } from "./truth-types";

export function StaleAck({
  freshness,
  message,
  acked,
  onAck,
  disabled,
}: {
  freshness: Freshness;
  /** Why the store could not confirm the view (the connection's message), if known. */
  message?: string;
  acked: boolean;
  onAck(acked: boolean): void;
  disabled: boolean;
}) {
  const age = freshness.staleAgeMs;
  const seconds = age === null ? null : staleSeconds(age);
  return (
    <div data-testid="stale-ack-note" data-stale-age-ms={age ?? ""} className="flex flex-col gap-1.5 rounded border border-stale/50 bg-stale/10 px-2 py-1.5">
      <p>
        <strong className="text-stale">▲ {seconds === null ? "This view was never confirmed." : `This view is ${seconds} s old.`}</strong>{" "}
        {freshness.confirmedAt ? `Last confirmed ${formatClock(freshness.confirmedAt)}` : "No read has succeeded"}
        {message ? ` (${message})` : ""}. The lock may have changed since; the release is still conditional on exactly the holding you saw, so a changed lock is
        left alone.
      </p>
      {seconds !== null ? (
        <label className="flex items-start gap-2 font-medium">
          <input type="checkbox" data-testid="stale-ack" checked={acked} disabled={disabled} onChange={(e) => onAck(e.target.checked)} className="mt-0.5" />
          <span>I know the view is {seconds} s old and want to release anyway</span>
        </label>
      ) : (
        <p className="text-muted">A view that was never read cannot be released: wait for the store to answer.</p>
      )}
    </div>
  );
}
