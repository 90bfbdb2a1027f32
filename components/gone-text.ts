// What the lock page says about a lock that is gone, from what history and the audit log know
// (GET …/lock 404 body `gone`, lib/api/types.ts GoneLock). Pure.

import { causeText, expiryCause } from "@/lib/history/causes";
import { formatDateTime, formatDuration } from "./format";
import type { GoneLock } from "./truth-types";

/**
 * goneWords: the lock's last history in one sentence ("force-released by alice at 2024-05-01
 * 14:03:55, reason: stuck after deploy"), and the last force-release attempt when it is not
 * already that sentence. Null when nothing is known (then the page says it may never have existed).
 */
export function goneWords(g: GoneLock | null | undefined): { last: string; release: string | null } | null {
  if (!g || (!g.last && !g.release)) return null;
  const l = g.last;
  const r = g.release;
  const by = (who?: string, owner?: string) => (owner ? ` (holder ${owner})` : who ? ` (holder ${who})` : "");
  const held = (ms?: number) => (ms !== undefined ? `, after ${formatDuration(ms)} held` : "");
  let last: string;
  let releaseTold = false;
  if (!l) last = "No release or expiry of it is in the last day's history.";
  else if (l.kind === "force-released") {
    releaseTold = !!r;
    last = r
      ? `Force-released by ${r.actor} at ${formatDateTime(new Date(l.at).toISOString())}, reason: ${r.reason}${by(l.holder, l.owner)}.`
      : `Force-released at ${formatDateTime(new Date(l.at).toISOString())}${by(l.holder, l.owner)}${held(l.holdMs)}.`;
  } else if (l.kind === "lost") {
    last = `Lost during an outage, last seen held at ${formatDateTime(new Date(l.at).toISOString())}${by(l.holder, l.owner)}: it ended while LockDeck could not see the store (${causeText(l.cause ?? "unknown")}), not necessarily released.`;
  } else {
    const verb = l.kind === "expired" ? `Expired (${expiryCause(l.cause)})` : l.kind === "released" ? "Released by its holder" : l.kind;
    last = `${verb} at ${formatDateTime(new Date(l.at).toISOString())}${by(l.holder, l.owner)}${held(l.holdMs)}.`;
  }
  const release =
    r && !releaseTold
      ? `Last force-release attempt: ${r.actor} at ${formatDateTime(r.at)}, reason: ${r.reason}${r.outcome ? ` — ${r.outcome.replace(/_/g, " ")}` : ""}.`
      : null;
  return { last, release };
}
