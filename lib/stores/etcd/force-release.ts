// Force-release on etcd, the part that talks to the store (the pure parts — fence holding,
// plan texts — are in release.ts). Contract: acts only on the fence's holder key (scope-checked)
// and, for revoke-lease, on a lease whose keys are all under the connection's prefixes; first
// confirms the holding with a linearizable read whatever the connection's read setting, and
// removes it with a txn guarded on its revisions before any revoke; a holding that differs is
// "changed" (with the lock as it is now) or "gone", and nothing is sent; a failure before
// sending is "refused", after sending with no answer "unknown".

import type { EtcdClient } from "./client";
import type { LockRecord, LockView, ReleaseMode, ReleaseOutcome } from "../../model";
import type { EtcdEntry } from "../../formats/etcd";
import { leaseHex } from "../../formats/etcd";
import { keyToBytes } from "../../keys";
import { releaseTarget } from "../release-target";
import { errorText, neverSent } from "./client";
import { readKey } from "./read";
import { readLeases } from "./leases";
import { kvHolding, noReleaseReason, sameHolding, type KvHolding } from "./release";
import type { EtcdScope } from "./scope";
import { guardedDelete } from "./txn";

const CONFIRM_TIMEOUT_MS = 3_000;

/** What a release needs from the adapter. */
export interface EtcdReleaseContext {
  client: EtcdClient;
  scope: EtcdScope;
  readOnly: boolean;
  requestTimeoutMs: number;
  /** The lock as it is now (a fresh re-read), or null when there is none or it cannot be read. */
  current(lockKey: string, signal: AbortSignal): Promise<LockRecord | null>;
}

/** Releases the holding in `lock.fence` by a guarded delete of its key, or by revoking its lease. */
export async function releaseHolding(ctx: EtcdReleaseContext, lock: LockView, mode: ReleaseMode, signal: AbortSignal): Promise<ReleaseOutcome> {
  if (ctx.readOnly) return { status: "refused", reason: "this connection is read-only" };
  const target = releaseTarget(lock, (f) => ctx.scope.releaseProblem(f));
  if ("refused" in target) return target.refused;
  const fence = target.fence;
  const h = kvHolding(fence);
  if (!h) return { status: "refused", reason: noReleaseReason(fence.h) };
  if (mode !== "delete" && mode !== "revoke-lease") return { status: "refused", reason: `etcd locks are released by delete or revoke-lease, not ${mode}` };
  if (mode === "revoke-lease" && h.l === "0") return { status: "refused", reason: "the holder key has no lease to revoke" };
  const keyBytes = keyToBytes(h.k);

  // Confirm with a linearizable read, whatever the connection's read setting: a member that
  // cannot reach consensus must not be the basis of a delete.
  let seen: EtcdEntry | null;
  try {
    seen = (await readKey(ctx.client, h.k, keyBytes, false, Math.min(ctx.requestTimeoutMs, CONFIRM_TIMEOUT_MS))).entry;
  } catch (err) {
    return { status: "refused", reason: `cannot confirm the holding (a linearizable read failed: ${errorText(err)}): nothing was sent` };
  }
  if (!sameHolding(h, seen)) return notAsSeen(ctx, lock.key, signal);

  if (mode === "delete") {
    const done = await deleteHolding(ctx, lock.key, keyBytes, h, "the guarded delete", signal);
    if ("status" in done) return done;
    return {
      status: "released",
      detail: `deleted ${h.k} (create_revision ${h.cr}, mod_revision ${h.mr}) at revision ${done.revision}; the holder was not told`,
    };
  }

  // revoke-lease deletes every key on the lease, and a lease can carry keys anywhere (other
  // locks, elections, service registrations). So the keys are listed first, and nothing is sent
  // unless every one is under this connection's prefixes.
  const onLease = await readLeases(ctx.client, [h.l], { keys: true, timeoutMs: CONFIRM_TIMEOUT_MS }, signal);
  const keys = onLease.leases.get(h.l)?.keys;
  if (!keys) return { status: "refused", reason: `cannot list the keys on lease ${leaseHex(h.l)} (${onLease.error ?? "no answer"}): nothing was sent` };
  // Those keys are counted, never named: the connection's scope is also what it may show.
  const outside = keys.filter((k) => !ctx.scope.covers(k)).length;
  if (outside > 0) {
    return {
      status: "refused",
      reason: `mode: revoking lease ${leaseHex(h.l)} would also delete ${outside} key${outside === 1 ? "" : "s"} outside this connection's prefixes (not named here): nothing was sent; a guarded delete of the holder key (mode delete) touches only it`,
    };
  }
  // LeaseRevoke has no condition and cannot go in a txn. So the exact holding goes first, by the
  // guarded delete mode delete sends: a holder that released and locked again on the same lease
  // since the re-read above makes it fail, and nothing is revoked. Only then the lease.
  const done = await deleteHolding(ctx, lock.key, keyBytes, h, "the guarded delete of the holder key", signal);
  if ("status" in done) return done;
  const deleted = `deleted ${h.k} (create_revision ${h.cr}) at revision ${done.revision}`;
  try {
    await ctx.client.leaseClient.leaseRevoke({ ID: h.l });
  } catch (err) {
    // The holding the operator saw is gone either way; what is left unsure is the rest of the lease.
    const msg = errorText(err);
    if (/lease not found/i.test(msg)) return { status: "released", detail: `${deleted}; lease ${leaseHex(h.l)} had already expired` };
    const what = neverSent(err) || denied(err) ? `was not revoked (${msg})` : `got no answer to the revoke (${msg}): it may or may not be revoked`;
    return { status: "released", detail: `${deleted}; lease ${leaseHex(h.l)} ${what}, so its other keys (${keys.length - 1}) may remain` };
  }
  const rest = keys.filter((k) => k !== h.k);
  const list = rest.length ? `, and with it ${rest.length} other key${rest.length === 1 ? "" : "s"} listed on it just before: ${rest.join(", ")}` : "";
  return { status: "released", detail: `${deleted}, then revoked lease ${leaseHex(h.l)}${list}; the holder's keep-alive now fails` };
}

/**
 * The guarded txn delete of the holder key (both modes send it): its revision when it deleted,
 * else the outcome — changed or gone when the holding is not the one seen, refused when nothing
 * was sent, denied, or unknown when the txn got no answer (`what` names it in the reason).
 */
async function deleteHolding(
  ctx: EtcdReleaseContext,
  lockKey: string,
  keyBytes: Buffer,
  h: KvHolding,
  what: string,
  signal: AbortSignal,
): Promise<{ revision: string } | ReleaseOutcome> {
  let res: { succeeded: boolean; revision: string };
  try {
    res = await guardedDelete(ctx.client, keyBytes, h);
  } catch (err) {
    if (neverSent(err)) return { status: "refused", reason: `store unreachable, nothing was sent: ${errorText(err)}` };
    if (denied(err)) return { status: "denied", reason: `etcd: ${errorText(err)}` };
    return { status: "unknown", reason: `no answer after sending ${what}: ${errorText(err)}` };
  }
  return res.succeeded ? { revision: res.revision } : notAsSeen(ctx, lockKey, signal);
}

/**
 * The holding seen is not there any more: "changed" (409, with who holds it now) while the
 * lock itself still exists, e.g. the next waiter took over; "gone" when nothing is left.
 */
async function notAsSeen(ctx: EtcdReleaseContext, lockKey: string, signal: AbortSignal): Promise<ReleaseOutcome> {
  const current = await ctx.current(lockKey, signal);
  return current ? { status: "changed", current } : { status: "gone" };
}

/** etcd's answer when the user's role lacks write on the key (or the lease's keys). */
function denied(err: unknown): boolean {
  return /permission denied/i.test(errorText(err));
}
