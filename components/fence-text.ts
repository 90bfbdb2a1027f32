// A release fence in words for the audit page: which holding the operator saw ("value with
// SHA-1 1a2b…", "holder key at create revision 42, mod revision 42, lease 694d…", "znode …
// version 0"), not base64. A fence is base64url(JSON) + "." + its signature (lib/fence.ts): only
// the server makes, verifies and acts on it; this only reads the part before the signature, to
// describe it. Pure; an unreadable fence gives null (the raw text stays in the title).

import { shortId } from "./format";

type Holding = Record<string, string | number | null>;

function decode(fence: string): { k: string; f: string; h: Holding } | null {
  try {
    const dot = fence.lastIndexOf(".");
    const b64 = (dot > 0 ? fence.slice(0, dot) : fence).replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
    const v = JSON.parse(new TextDecoder().decode(bytes)) as { k?: unknown; f?: unknown; h?: unknown };
    if (typeof v.k !== "string" || typeof v.f !== "string" || !v.h || typeof v.h !== "object") return null;
    return { k: v.k, f: v.f, h: v.h as Holding };
  } catch {
    return null;
  }
}

function json<T>(s: unknown): T | null {
  try {
    return typeof s === "string" ? (JSON.parse(s) as T) : null;
  } catch {
    return null;
  }
}

/** etcd lease ids are int64 in decimal; etcdctl and Go print them in hex (negatives as two's complement). */
function leaseHex(dec: string | number | null): string {
  try {
    return (BigInt(String(dec)) & 0xffffffffffffffffn).toString(16);
  } catch {
    return String(dec);
  }
}

function holdingWords(h: Holding): string {
  switch (h.t) {
    case "string":
      // The value's SHA-1, never the value (a token is a credential of sorts).
      return `value with SHA-1 ${shortId(String(h.d))}`;
    case "hash": {
      const fields = json<[string, string][]>(h.fields) ?? [];
      return fields.length ? fields.map(([f, c]) => `holder ${shortId(f)} ×${c}`).join(", ") : "no holder fields";
    }
    case "kv":
      // etcd (create/mod revision, lease) or Consul (session, LockIndex, ModifyIndex).
      if (h.cr !== undefined)
        return `holder key at create revision ${h.cr}, mod revision ${h.mr}${h.l && h.l !== "0" ? `, lease ${shortId(leaseHex(h.l))}` : ""}`;
      return `session ${shortId(String(h.s))}, LockIndex ${h.li}, ModifyIndex ${h.mi}`;
    case "sem": {
      const holders = json<[string, string, number][]>(h.hs) ?? [];
      return `.lock at ModifyIndex ${h.mi}, limit ${h.lim}, ${holders.length} holder${holders.length === 1 ? "" : "s"}${holders.length ? ` (session ${holders.map(([, s]) => shortId(s)).join(", ")})` : ""}`;
    }
    case "zk": {
      const nodes = json<[string, number, string][]>(h.nodes) ?? [];
      const words = nodes.map(([p, v, cz]) => `${shortId(p.slice(p.lastIndexOf("/") + 1))} version ${v} (czxid ${cz})`).join(", ");
      return `znode ${words || "none"}${h.revoke ? ", revocable" : ""}`;
    }
    case "zk-empty":
      return `empty parent at version ${h.v}, cversion ${h.cv}`;
    case "none":
      return `nothing releasable${h.why ? ` (${h.why})` : ""}`;
    default:
      // The memory store: holder id and fencing token.
      if ("holder" in h) return h.holder === null ? "no holder" : `holder ${shortId(String(h.holder))}, fencing token ${h.token}`;
      return Object.entries(h)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
  }
}

/** "redis.token · value “a1b2…c3d4e”"; null when the text is not a fence. */
export function describeFence(fence: string): string | null {
  if (!fence) return null;
  const d = decode(fence);
  return d ? `${d.f} · ${holdingWords(d.h)}` : null;
}
