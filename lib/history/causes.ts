// How a holding ended, in words: one table for the lock page, the timeline, the incidents and
// the API's 404 message, so that none of them tells a cause differently. Pure (the browser
// bundle imports it).

const CAUSE: Record<string, string> = {
  "ttl-ran-out": "its TTL ran out",
  "session-gone": "its session or lease ended",
  "session-expired": "its session expired",
  "holder-gone": "its client was seen gone, then its session ended",
  "session-ended": "its session ended (Consul invalidated it: its TTL ran out or a check failed; or it was destroyed)",
  "console-down": "LockDeck itself was down",
  unknown: "cause unknown",
};

/** A history cause (LifeEvent.cause) in words; an unknown one as it is. */
export const causeText = (cause: string): string => CAUSE[cause] ?? cause;

/** Why an "expired" end came: its TTL ran out, or its session ended (after its client left: holder-gone). */
export const expiryCause = (cause?: string): string => CAUSE[cause === "holder-gone" || cause === "session-ended" ? cause : "ttl-ran-out"];
