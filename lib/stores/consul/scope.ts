// What a Consul connection may touch: keys under its prefixes that an HTTP path can address
// exactly (no "." or ".." segment: URL resolution would walk out of /v1/kv/; no empty segment,
// "a//b": Consul answers such a path with a 307 to the cleaned one, another key), and for a release
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
    return this.underPrefixes(key) && consulPathProblem(key) === null;
  }

  /** Under a configured prefix, addressable or not: what a session destroy may touch. */
  underPrefixes(key: string): boolean {
    return this.prefixes.some((p) => key.startsWith(p));
  }

  keyProblem(key: string): KeyProblem | null {
    const bad = consulPathProblem(key);
    if (bad) return { code: "bad_key", message: `key: ${JSON.stringify(key.slice(0, 200))} ${bad}: Consul keys are addressed as URL paths` };
    if (this.underPrefixes(key)) return null;
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

/**
 * Why a key has no exact /v1/kv/ path: a "." / ".." segment or a control character (keys.ts),
 * or an empty segment before the end ("a//b", "a/b//"): Consul's HTTP mux cleans the path and
 * answers 307 to another key's URL. (A trailing "/", a directory entry, is left as it is.)
 */
function consulPathProblem(key: string): string | null {
  return pathKeyProblem(key) ?? (key.includes("//") ? 'has an empty segment ("//"), which Consul redirects to another key' : null);
}
