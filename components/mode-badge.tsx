import { formatReadMode, type ReadMode } from "./format";

/**
 * ModeBadge says how a view was read: "live", "polling 5s" or "stale 42s"
 * (data-testid="mode-indicator", data-mode = live | polling | stale).
 */
export function ModeBadge({ mode, consistency }: { mode: ReadMode; consistency?: string }) {
  const kind = mode.stale ? "stale" : mode.mode;
  const dot = kind === "stale" ? "text-stale" : kind === "live" ? "text-free" : "text-expiring";
  return (
    <span className="inline-flex items-center gap-1.5 text-muted">
      <span className="inline-flex items-center gap-1 tabular-nums">
        <span aria-hidden className={dot}>
          {kind === "stale" ? "▲" : "●"}
        </span>
        <span data-testid="mode-indicator" data-mode={kind} className={kind === "stale" ? "text-stale" : undefined}>
          {formatReadMode(mode)}
        </span>
      </span>
      {consistency ? <span title="how the store was read">· {consistency}</span> : null}
    </span>
  );
}
