// A fence names the exact holding an operator saw. Only the server makes fences and only the
// server reads them; the browser passes them back untouched (it may compare two for equality).
//
// Form: base64url(JSON {v, c, k, f, h}) + "." + base64url(HMAC-SHA256(fence key, first part)).
// The fence key is derived from the server secret (lib/auth/secret.ts), so an edited, forged or
// foreign fence fails verification before anything reads what it names. A verified fence is
// still checked against the request: its connection, key and format must be the ones asked
// about. Holdings carry identities (revisions, sessions, znode versions, a digest of a token),
// never a raw value.
//
// Fences are made on demand: a record keeps only its compact holding (LockRecord.holding), and
// fenceOf makes the fence when one is sent (an API page, an SSE upsert, a release plan). It is a
// pure function of (connection, key, format, holding) and the process's fence key: the same
// holding gives the same fence on every call and every replica sharing the secret.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { derivedKey } from "./auth/secret";
import type { Holding, LockRecord, LockView } from "./model";

const FenceSchema = z
  .object({
    v: z.literal(2),
    c: z.string(), // connection id
    k: z.string(), // lock key (lib/keys.ts form)
    f: z.string(), // format id
    /** Store-specific identity of the holding: digest, field and count, revisions, session... */
    h: z.record(z.union([z.string(), z.number(), z.null()])),
  })
  .strict();

export type Fence = z.infer<typeof FenceSchema>;
export type FenceHolding = Fence["h"];

const MAC_CHARS = 43; // 32 bytes in base64url, unpadded

function mac(payload: string): string {
  return createHmac("sha256", derivedKey("fence")).update(payload).digest("base64url");
}

export function encodeFence(connection: string, key: string, format: string, holding: FenceHolding): string {
  const payload = Buffer.from(JSON.stringify({ v: 2, c: connection, k: key, f: format, h: holding }), "utf8").toString("base64url");
  return `${payload}.${mac(payload)}`;
}

/** The holding of a lock nobody can release (unknown layout, truncated value): shared, never mutated. */
export const NO_HOLDING: Holding = Object.freeze({ t: "none" }) as Holding;

/**
 * A Redis token whose value is its holder id verbatim (the caller checked that the UTF-8 text
 * round-trips to the stored bytes): the record keeps the string it already holds, and the
 * digest a fence carries is taken only when a fence is made.
 */
export function tokenHolding(value: string): Holding {
  return { t: "token", v: value };
}

/** The fence's `h` for a record's holding: the same except a kept token, which becomes its SHA-1 (never the value). */
export function fenceHolding(h: Holding): FenceHolding {
  if (h.t !== "token") return h;
  return { t: "string", d: createHash("sha1").update(String(h.v), "utf8").digest("hex") };
}

/** The fence of a record as it is now (a pure function of connection, key, format and holding). */
export function fenceOf(rec: Pick<LockRecord, "connection" | "key" | "format" | "holding">): string {
  return encodeFence(rec.connection, rec.key, rec.format, fenceHolding(rec.holding));
}

/** The record as the API sends it to someone who may release: its fence made, its holding left out. */
export function withFence(rec: LockRecord): LockView {
  const { holding: _holding, ...rest } = rec;
  return { ...rest, fence: fenceOf(rec) };
}

/** A refused fence; the message names the field ("fence: ..."). */
export class FenceError extends Error {
  override readonly name = "FenceError";
}

/** Verifies the signature first, then reads the fence. Throws FenceError. */
export function decodeFence(text: string): Fence {
  const dot = typeof text === "string" ? text.length - MAC_CHARS - 1 : -1;
  if (dot < 1 || text[dot] !== ".") throw new FenceError("fence: not a fence made by this server");
  const payload = text.slice(0, dot);
  // The signature's text, not its decoded bytes: 43 base64url characters carry 2 bits more than
  // the 32 bytes, and the decoder also takes "+" and "/", so several strings decode alike. Only
  // the exact string this server issued verifies (the audit keeps that string).
  const given = Buffer.from(text.slice(dot + 1), "utf8");
  const want = Buffer.from(mac(payload), "utf8");
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    throw new FenceError("fence: signature does not verify (edited, forged, or made by a server with another secret)");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw new FenceError("fence: signed but unreadable");
  }
  const result = FenceSchema.safeParse(parsed);
  if (!result.success) throw new FenceError("fence: signed but of an unknown shape");
  return result.data;
}

/** A verified fence that belongs to this request: same connection and key, a format of this store. */
export function fenceFor(text: string, want: { connection: string; key: string; formats: readonly string[] }): Fence {
  const fence = decodeFence(text);
  if (fence.c !== want.connection) throw new FenceError(`fence: made for connection "${fence.c}", not "${want.connection}"`);
  if (fence.k !== want.key) throw new FenceError("fence: made for another key than the one in the request");
  if (!want.formats.includes(fence.f)) throw new FenceError(`fence: format "${fence.f}" is not one this connection's store decodes`);
  return fence;
}

/** By name, not instanceof: Next bundles can hold several copies of the class in one process. */
export function isFenceError(err: unknown): err is FenceError {
  return err instanceof Error && err.name === "FenceError";
}
