import { formatClock, formatReadMode, type ReadMode } from "./format";

type ModeBadgeMode = ReadMode & { confirmedAt?: string | null; confirmedBy?: "read" | "live-feed" | null };

const BY = { read: "a store read", "live-feed": "the live feed, healthy (it would have reported any change)" };

/**
 * ModeBadge says how a view was read and how current it is: "live, confirmed 1 s ago",
 * "polling 5s, read 3 s ago" or "stale 42s" — ages measured by the server
 * (data-testid="mode-indicator", data-mode = live | polling | stale, data-age-ms = that age),
 * and while live, which feed carries the changes ("client tracking", "keyspace events";
 * data-testid="mode-feed").
 */
export function ModeBadge({ mode, consistency }: { mode: ModeBadgeMode; consistency?: string }) {
  const kind = mode.stale ? "stale" : mode.mode;
  const dot = kind === "stale" ? "text-stale" : kind === "live" ? "text-free" : "text-expiring";
  const age = mode.stale ? mode.staleAgeMs : mode.confirmedAgeMs;
  const title = mode.confirmedAt
    ? `last confirmed ${formatClock(mode.confirmedAt)}${mode.confirmedBy ? ` by ${BY[mode.confirmedBy]}` : ""}`
    : mode.stale
      ? "never confirmed"
      : undefined;
  return (
    <span className="inline-flex items-center gap-1.5 text-muted">
      <span className="inline-flex items-center gap-1 tabular-nums" title={title}>
        <span aria-hidden className={dot}>
          {kind === "stale" ? "▲" : "●"}
        </span>
        <span data-testid="mode-indicator" data-mode={kind} data-age-ms={age ?? ""} className={kind === "stale" ? "text-stale" : undefined}>
          {formatReadMode(mode)}
        </span>
        {kind === "live" && mode.feed ? (
          <span data-testid="mode-feed" title={`changes arrive by ${mode.feed}`}>
            · {mode.feed.replace(/ \(.*$/, "")}
          </span>
        ) : null}
      </span>
      {consistency ? <span title="how the store was read">· {consistency}</span> : null}
    </span>
  );
}
