// How a holder or waiter reads in every view: who it is first (owner text, ZooKeeper session,
// Consul node), its id second — short, never cut to one character, copyable in full where it
// is shown whole. Pure.

import type { Holder, Waiter } from "@/lib/model";
import { compactIds, shortId } from "./format";
import type { SinceSource } from "./truth-types";

export interface WhoText {
  /** The line a person reads: "127.0.0.1 · session 0x1000…90002", or the short id when nothing else is known. */
  who: string;
  /** The id, shortened, when `who` is something else (null: `who` is the id). */
  id: string | null;
  /** Everything in full, for a tooltip. */
  title: string;
}

type Party = Pick<Holder, "id" | "owner" | "ownerNote" | "session" | "lease">;

export function whoText(p: Party | Waiter): WhoText {
  const parts: string[] = [];
  const full: string[] = [];
  if (p.owner) {
    parts.push(compactIds(p.owner));
    full.push(p.owner + (p.ownerNote ? ` (${p.ownerNote})` : ""));
  }
  const session = "session" in p ? p.session : undefined;
  if (session) {
    // ZooKeeper: the session is what tells two holders on one host apart.
    if (!session.name && session.id.startsWith("0x")) parts.push(`session ${shortId(session.id)}`);
    if (session.node) parts.push(`on ${session.node}`);
    full.push(`session ${session.id}${session.name ? ` “${session.name}”` : ""}${session.node ? ` on ${session.node}` : ""}`);
  }
  const lease = "lease" in p ? p.lease : undefined;
  if (lease && lease.id !== p.id) full.push(`lease ${lease.id}`);
  full.push(`id ${p.id}`);
  return parts.length ? { who: parts.join(" · "), id: shortId(p.id), title: full.join("\n") } : { who: shortId(p.id), id: null, title: full.join("\n") };
}

/** Where a holding's (or wait's) start comes from, for labelling its age. */
export interface StartLabel {
  /** "≥" when the start is a first sighting: the real age is at least the one shown. */
  prefix: string;
  /** Short word before the clock time: "since", "first seen", "took over". */
  word: string;
  /** The whole story, for a tooltip. */
  title: string;
}

export function startLabel(p: { since?: string; sinceObserved?: boolean; sinceSource?: SinceSource }): StartLabel {
  const source: SinceSource = p.sinceSource ?? (p.sinceObserved ? "first-seen" : "store");
  if (source === "first-seen") {
    return {
      prefix: "≥",
      word: "first seen",
      title: "The store does not record when this started: the age counts from when LockDeck first saw it, so it is at least this long.",
    };
  }
  if (source === "became-holder") {
    return { prefix: "", word: "took over", title: "When LockDeck saw it take over from the queue (the store records only when it joined the queue)." };
  }
  return { prefix: "", word: "since", title: "As recorded by the store." };
}
