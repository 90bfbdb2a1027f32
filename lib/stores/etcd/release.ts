// Force-release on etcd (reliability.md §2.2), two modes the operator chooses between:
//   delete        a txn that deletes the holder's key only while its create_revision AND
//                 mod_revision are still the ones seen. Precise; the holder is NOT told (its
//                 session and lease stay alive); the next waiter (next create_revision) owns it.
//   revoke-lease  the same guarded delete, then LeaseRevoke of the holder's lease: ends its
//                 session (keep-alive fails, Session.Done() fires) and deletes EVERY key on that
//                 lease, so only a lease whose keys are all under the connection's prefixes.
// Both start with a linearizable read of the holder key: if it is not what the operator saw,
// nothing is sent (409 with the current state); if that read fails, nothing is sent either
// ("cannot confirm"). This file holds the pure parts: the fence holding and the plan texts;
// force-release.ts sends the release.

import type { Fence, FenceHolding } from "../../fence";
import type { LockView, ReleaseMode, ReleasePlan } from "../../model";
import type { EtcdEntry } from "../../formats/etcd";
import { holderKeyOf, leaseHex } from "../../formats/etcd";
import { escapeControls } from "../../keys";

export interface KvHolding {
  k: string;
  cr: string;
  mr: string;
  l: string;
}

/** The holder key's identity from a fence, or null when the lock is not releasable. */
export function kvHolding(fence: Pick<Fence, "k" | "f" | "h">): KvHolding | null {
  const h = fence.h;
  if (h.t !== "kv" || typeof h.cr !== "string" || typeof h.mr !== "string" || typeof h.l !== "string") return null;
  return { k: holderKeyOf(fence.k, fence.f, h), cr: h.cr, mr: h.mr, l: h.l };
}

/** Same key, same create and mod revision, same lease: the holding the operator saw. */
export function sameHolding(seen: KvHolding, now: EtcdEntry | null): boolean {
  return !!now && now.createRevision === seen.cr && now.modRevision === seen.mr && now.lease === seen.l;
}

export function noReleaseReason(h: FenceHolding): string {
  if (h.why === "foreign-holder") {
    return "The key at the head of this queue does not follow the lock layout (its name is not its lease id), so LockDeck does not release it. If it is debris, delete it by hand with the guarded txn below.";
  }
  if (h.why === "no-lease") return "This key has no lease: it is not a lock any etcd library writes, so there is nothing exact to release.";
  return "This key does not have a known lock layout, so LockDeck does not release it.";
}

export interface PlanContext {
  endpoints: string[];
  username?: string;
  caFile?: string;
  readOnly: boolean;
}

function etcdctlPrefix(c: PlanContext): string {
  const parts = ["ETCDCTL_API=3 etcdctl", `--endpoints=${c.endpoints.join(",")}`];
  if (c.username) parts.push(`--user=${shellQuote(c.username)}`);
  if (c.caFile) parts.push(`--cacert=${shellQuote(c.caFile)}`);
  return parts.join(" ");
}

/** etcdctl txn reads compares, a blank line, success ops, a blank line, failure ops. */
export function txnCommand(c: PlanContext, h: KvHolding): string {
  const q = JSON.stringify(h.k);
  return [`${etcdctlPrefix(c)} txn <<'EOF'`, `create(${q}) = "${h.cr}"`, `mod(${q}) = "${h.mr}"`, "", `del ${q}`, "", "", "EOF"].join("\n");
}

export function revokeCommand(c: PlanContext, leaseDecimal: string): string {
  const hex = leaseHex(leaseDecimal);
  return `${etcdctlPrefix(c)} lease timetolive ${hex} --keys\n${etcdctlPrefix(c)} lease revoke ${hex}`;
}

/** What each mode would do, in etcd's words, for the dialog. */
export function describe(lock: LockView, mode: ReleaseMode, fence: Fence, c: PlanContext): ReleasePlan {
  const holding = fence.h;
  const h = kvHolding(fence);
  const head = lock.waiters[0];
  const wakes = head
    ? `the next waiter, lease ${escapeControls(head.id)}${head.owner ? ` (${head.owner})` : ""}: it watches for this delete and then owns the lock (with a higher create_revision)`
    : undefined;
  const fencing = lock.fencingToken
    ? `Fencing token (the holder key's create_revision) ${lock.fencingToken}: a resource that compares it (IsOwner(), Compare(CreateRevision)) refuses the old holder's late writes.`
    : "No fencing token.";
  if (!h) {
    return {
      modes: [],
      deletes: "nothing",
      command: guardedByHand(c, lock),
      holderNotified: false,
      notes: [noReleaseReason(holding)],
    };
  }
  const keys = lock.holders[0]?.lease?.keys;
  // A lease that also carries keys outside the prefixes is not revoked (force-release.ts checks
  // again just before): it would delete what this connection does not cover. Those keys are
  // counted, never named (the adapter cut them from the list).
  const outside = lock.holders[0]?.lease?.keysElsewhere ?? 0;
  const modes: ReleaseMode[] = c.readOnly ? [] : h.l !== "0" && outside === 0 ? ["delete", "revoke-lease"] : ["delete"];
  const notOffered =
    h.l !== "0" && outside > 0
      ? `Revoking lease ${leaseHex(h.l)} is not offered: it also holds ${outside} key${outside === 1 ? "" : "s"} outside this connection's prefixes (not named here), which a revoke would delete.`
      : null;
  if (mode === "revoke-lease" && h.l !== "0" && !notOffered) {
    const list = keys ? keys.map(escapeControls) : null;
    return {
      modes,
      title: `Revoke lease ${leaseHex(h.l)}: ends the holder's session and deletes every key on it${list ? ` (${list.length} key${list.length === 1 ? "" : "s"})` : ""}. The holder's keep-alive fails, so it finds out.`,
      deletes: list
        ? `lease ${leaseHex(h.l)} and every key on it (${list.length}): ${list.join(", ")}`
        : `lease ${leaseHex(h.l)} and every key attached to it (the list could not be read: see the command below)`,
      wakes,
      command: revokeCommand(c, h.l),
      holderNotified: true,
      notes: [
        "Revoking ends the holder's whole session: its keep-alive fails and Session.Done() fires, so a well-written holder stops.",
        "Every key on the lease is deleted. Just before, LockDeck lists them again and sends nothing if any is outside this connection's prefixes; the list above is what etcd reported when you opened this, the outcome what was on the lease when it was revoked.",
        "LeaseRevoke has no condition in etcd: LockDeck first deletes the holder key by the guarded txn (only at the create and mod revision you saw; otherwise nothing is sent), then revokes. A key the holder attaches to the lease in the moment between the listing and the revoke goes too.",
        fencing,
      ],
    };
  }
  return {
    modes,
    title: "Guarded delete of the holder key only, while its create and mod revision are what you saw. The holder is not told; the next waiter gets the lock.",
    deletes: `${escapeControls(h.k)} only while its create_revision is ${h.cr} and its mod_revision is ${h.mr}${h.l !== "0" ? ` (lease ${leaseHex(h.l)})` : ""}`,
    wakes,
    command: txnCommand(c, h),
    holderNotified: false,
    notes: [
      "The holder is not told: its session and lease stay alive, and the Go Mutex has no watch on its own key. If it is alive it may keep working.",
      fencing,
      "Nothing else on the holder's lease is touched.",
      ...(notOffered ? [notOffered] : []),
    ],
  };
}

function guardedByHand(c: PlanContext, lock: LockView): string {
  const head = lock.relatedKeys?.[0] ?? lock.key;
  return `${etcdctlPrefix(c)} get ${JSON.stringify(head)} -w json   # then a txn guarded on its create/mod revision`;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * What names the holding in a fence, to tell after an unknown outcome whether it is still
 * there: the holder key's create_revision (unique in the cluster; both modes remove the key).
 */
export function holdingIds(holding: FenceHolding): string[] {
  return holding.t === "kv" && typeof holding.cr === "string" ? [`cr:${holding.cr}`] : [];
}
