// The one write a guarded release sends: a txn that deletes the holder key only while its
// create_revision and mod_revision are the ones seen. etcd evaluates the compares and the
// delete atomically, so a holder that changed in between (even after LockDeck's own re-read)
// makes the txn fail instead of deleting someone else's key.

import type { Etcd3 } from "etcd3";
import type { KvHolding } from "./release";

export async function guardedDelete(client: Etcd3, key: Buffer, h: Pick<KvHolding, "cr" | "mr">): Promise<{ succeeded: boolean; revision: string }> {
  const res = await client.kv.txn({
    compare: [
      { key, target: "Create", result: "Equal", create_revision: h.cr },
      { key, target: "Mod", result: "Equal", mod_revision: h.mr },
    ],
    success: [{ request_delete_range: { key } }],
    failure: [],
  });
  return { succeeded: res.succeeded, revision: String(res.header.revision) };
}
