// Warnings a decoder or the hub attaches to a LockRecord, in words an on-call engineer can act on.

const WARNINGS: Record<string, { short: string; text: string }> = {
  "no-expiry": {
    short: "no expiry",
    text: "The lock has no TTL: if its holder died, nothing will ever release it.",
  },
  "non-unique-token": {
    short: "non-unique",
    text: "The holder value is not unique (e.g. \"1\" or a hostname): a compare-and-delete cannot tell a re-acquisition apart, so a force-release is not exact.",
  },
  "holder-session-dead": {
    short: "session dead",
    text: "The holder's session or lease is gone or failing its checks; the lock outlived the process that took it.",
  },
  "not-renewed": {
    short: "not renewed",
    text: "The TTL has not been renewed when a watchdog or keep-alive should have done so: the holder may be paused or dead.",
  },
  "held-too-long": {
    short: "held too long",
    text: "Held for longer than the configured threshold for this lock family.",
  },
  "lease-expired": {
    short: "lease expired",
    text: "The holder's lease has expired but the store still shows the key.",
  },
};

/** KNOWN_WARNINGS lists the warnings the filter offers even before any row shows them. */
export const KNOWN_WARNINGS = Object.keys(WARNINGS);

/** describeWarning returns a short label and a sentence for a warning id (unknown ids pass through). */
export function describeWarning(id: string): { short: string; text: string } {
  return WARNINGS[id] ?? { short: id, text: id.replace(/-/g, " ") };
}
