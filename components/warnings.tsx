// Warnings a decoder or the hub attaches to a LockRecord, in words an on-call engineer can act on.
// The ones every store may raise (lib/status.ts reads them) are here; each store's own are in its
// module (lib/stores/<kind>/module.ts), which the root layout hands to WarningTexts.

import { createContext, useContext, useMemo, type ReactNode } from "react";
import type { WarningText } from "@/lib/stores/module";

const MODEL_WARNINGS: Record<string, WarningText> = {
  "no-expiry": {
    short: "no expiry",
    text: "The lock has no TTL: if its holder died, nothing will ever release it.",
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
    text: "Held for longer than this connection's stale rule allows (staleRules.heldLongerThanMs).",
  },
  "waiter-too-long": {
    short: "waiting too long",
    text: "A waiter has been queued for longer than this connection's stale rule allows (staleRules.waiterOlderThanMs).",
  },
  // The wait-for graph (lib/waits) puts it on a lock of any store.
  deadlock: {
    short: "deadlock",
    text: "This lock is on a cycle of waits: its holder waits (directly or down a chain) for a lock held by one of its own waiters. Nobody on the cycle moves until one of them is stopped or a lock on it is force-released. The Waits tab shows the cycle.",
  },
  // The hub puts it on a lock whose prefix the last full read could not read (lib/hub/hub.ts keepUnread).
  "not-reread": {
    short: "not re-read",
    text: "The last full read of this connection skipped this lock's prefix (over the connection's limits: see its problems), so this is the lock as read before, at its observed time; it may have changed or gone since.",
  },
  "lease-expired": {
    short: "lease expired",
    text: "The holder's lease has expired but the store still shows the key.",
  },
};

const Texts = createContext<Record<string, WarningText>>(MODEL_WARNINGS);

/** Gives the tree the stores' warning texts (from the server's registry) beside the model's own. */
export function WarningTexts({ stores, children }: { stores: Record<string, WarningText>; children: ReactNode }) {
  const all = useMemo(() => ({ ...MODEL_WARNINGS, ...stores }), [stores]);
  return <Texts.Provider value={all}>{children}</Texts.Provider>;
}

/**
 * useWarnings: `known` lists the warnings the filter offers even before any row shows them;
 * `describe` gives a short label and a sentence for a warning id (unknown ids pass through).
 */
export function useWarnings(): { known: string[]; describe(id: string): WarningText } {
  const texts = useContext(Texts);
  return useMemo(() => ({ known: Object.keys(texts), describe: (id: string) => texts[id] ?? { short: id, text: id.replace(/-/g, " ") } }), [texts]);
}
