// What an etcd connection may touch: keys under its prefixes (compared as bytes; etcd keys are
// bytes and have no path semantics, so "/locks/../x" is a key under "/locks/", not a way out),
// and for a release only the lock's own holder key and that key's lease. Pure.

import type { KeyProblem } from "../../model";
import type { Fence } from "../../fence";
import { keyToBytes } from "../../keys";
import { kvHolding } from "./release";

export class EtcdScope {
  private readonly prefixes: Buffer[];

  constructor(private readonly names: string[]) {
    this.prefixes = names.map((p) => Buffer.from(p, "utf8"));
  }

  covers(key: string): boolean {
    const bytes = keyToBytes(key);
    return this.prefixes.some((p) => bytes.length >= p.length && bytes.subarray(0, p.length).equals(p));
  }

  keyProblem(key: string): KeyProblem | null {
    if (this.covers(key)) return null;
    return { code: "out_of_scope", message: `key: ${JSON.stringify(key.slice(0, 200))} is not under this connection's prefixes (${this.names.join(", ")})` };
  }

  /**
   * The holder key the release deletes (or whose lease it revokes) is the lock key itself (a
   * lone etcd3 Lock) or inside the lock's group "<prefix>/", and under a prefix. The lease is
   * then checked against that key in the store (release reads the key before acting).
   */
  releaseProblem(fence: Fence): string | null {
    const key = this.keyProblem(fence.k);
    if (key) return key.message;
    const h = kvHolding(fence);
    if (!h) return null;
    const lock = keyToBytes(fence.k);
    const holder = keyToBytes(h.k);
    const inGroup = lock[lock.length - 1] === 0x2f && holder.length > lock.length && holder.subarray(0, lock.length).equals(lock);
    if (!holder.equals(lock) && !inGroup) return `fence: holder key ${JSON.stringify(h.k.slice(0, 200))} is not part of the lock ${fence.k}`;
    if (!this.covers(h.k)) return `fence: holder key ${JSON.stringify(h.k.slice(0, 200))} is not under this connection's prefixes`;
    if (!/^-?\d{1,20}$/.test(h.l) || !/^\d{1,20}$/.test(h.cr) || !/^\d{1,20}$/.test(h.mr)) return "fence: revisions and lease must be decimal integers";
    return null;
  }
}
