// What a Redis connection may touch: lock keys its patterns match (never a Redisson or
// python-redis-lock helper key on its own), and for a release only that key and the lock's
// own Redisson channel. Pure; checked before any command is sent.

import type { KeyProblem } from "../../model";
import type { Fence } from "../../fence";
import { globToRegExp } from "../../glob";
import { keyToBytes } from "../../keys";
import { isHelperKey } from "../../formats/redis/redisson";
import { REDISSON, prefixName } from "../../formats/redis/names";

/** Patterns match the key's text; a binary key (base64: form) is matched on its lossy text. */
export function keyText(key: string): string {
  return key.startsWith("base64:") ? keyToBytes(key).toString("utf8") : key;
}

export class RedisScope {
  private readonly re: RegExp;

  constructor(private readonly patterns: string[]) {
    this.re = globToRegExp(patterns);
  }

  /** Read scope: lock keys and the helper keys that belong to locks. */
  wanted = (key: string): boolean => {
    const text = keyText(key);
    return this.re.test(text) || isHelperKey(text);
  };

  keyProblem(key: string): KeyProblem | null {
    const text = keyText(key);
    if (this.re.test(text) && !isHelperKey(text)) return null;
    return {
      code: "out_of_scope",
      message: `key: ${JSON.stringify(key.slice(0, 200))} is not a lock key of this connection (patterns ${this.patterns.join(", ")})`,
    };
  }

  /** The key is a lock key here, and a Redisson wake-up goes only to that lock's own channel. */
  releaseProblem(fence: Fence): string | null {
    const key = this.keyProblem(fence.k);
    if (key) return key.message;
    const ch = fence.h.ch;
    if (fence.h.t === "hash" && typeof ch === "string" && ch !== "") {
      const lock = prefixName(REDISSON.lockChannel, fence.k);
      if (ch !== lock && !ch.startsWith(lock + ":") && ch !== prefixName(REDISSON.rwChannel, fence.k)) {
        return `fence: channel ${JSON.stringify(ch.slice(0, 200))} is not this lock's Redisson channel`;
      }
    }
    return null;
  }
}
