// A fence names the exact holding an operator saw. It is opaque to the browser (base64url of
// a small JSON) and decoded only on the server, where the adapter turns it into the store's
// conditional operation. A fence for another key or connection is refused.

import { z } from "zod";

const FenceSchema = z.object({
  v: z.literal(1),
  c: z.string(), // connection id
  k: z.string(), // lock key (lib/keys.ts form)
  f: z.string(), // format id
  /** Store-specific identity of the holding: value, field and count, revisions, session... */
  h: z.record(z.union([z.string(), z.number(), z.null()])),
});

export type Fence = z.infer<typeof FenceSchema>;
export type FenceHolding = Fence["h"];

export function encodeFence(connection: string, key: string, format: string, holding: FenceHolding): string {
  const fence: Fence = { v: 1, c: connection, k: key, f: format, h: holding };
  return Buffer.from(JSON.stringify(fence), "utf8").toString("base64url");
}

export class FenceError extends Error {
  override readonly name = "FenceError";
}

export function decodeFence(text: string): Fence {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw new FenceError("fence is not valid base64url JSON");
  }
  const result = FenceSchema.safeParse(parsed);
  if (!result.success) throw new FenceError("fence has an unknown shape");
  return result.data;
}
