// What a Consul connection may touch: keys under its prefixes that an HTTP path can address
// exactly (no "." or ".." segment: URL resolution would walk out of /v1/kv/), and for a release
// only the lock's key, sessions named by Consul's own id format, and semaphore contender keys in
// the lock's own directory. Pure; checked before any request is sent.

import type { KeyProblem } from "../../model";
import type { Fence } from "../../fence";
import { pathKeyProblem } from "../../keys";
import { dirOf } from "../../formats/consul/entry";
import { evictees } from "./plan";

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ConsulScope {
  constructor(private readonly prefixes: string[]) {}

  covers(key: string): boolean {
    return this.prefixes.some((p) => key.startsWith(p)) && pathKeyProblem(key) === null;
  }

  keyProblem(key: string): KeyProblem | null {
    const bad = pathKeyProblem(key);
    if (bad) return { code: "bad_key", message: `key: ${JSON.stringify(key.slice(0, 200))} ${bad}: Consul keys are addressed as URL paths` };
    if (this.prefixes.some((p) => key.startsWith(p))) return null;
    return { code: "out_of_scope", message: `key: ${JSON.stringify(key.slice(0, 200))} is not under this connection's prefixes (${this.prefixes.join(", ")})` };
  }

  releaseProblem(fence: Fence): string | null {
    const key = this.keyProblem(fence.k);
    if (key) return key.message;
    const h = fence.h;
    if (h.t === "kv" && !SESSION_ID.test(String(h.s))) return "fence: the session is not a Consul session id";
    if (h.t === "sem") {
      for (const [k, s] of evictees(h)) {
        if (typeof k !== "string" || !this.covers(k) || dirOf(k) !== dirOf(fence.k))
          return `fence: contender key ${JSON.stringify(String(k).slice(0, 200))} is not in the semaphore's directory`;
        if (!SESSION_ID.test(String(s))) return "fence: a holder session is not a Consul session id";
      }
    }
    return null;
  }
}
