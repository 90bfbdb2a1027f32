// JSON request bodies: at most 64 KB (413 past that, counted as the bytes arrive, whatever
// Content-Length says), valid UTF-8 JSON (else 400), then the route's strict schema (400
// naming the field, lib/api/errors.ts).

import type { z } from "zod";
import { HttpError } from "./errors";

export const MAX_BODY_BYTES = 64 * 1024;

export async function readJson<S extends z.ZodTypeAny>(req: Request, schema: S): Promise<z.infer<S>> {
  return schema.parse(await readJsonValue(req));
}

/** The body as parsed JSON, bounded and checked as above, before any schema. */
export async function readJsonValue(req: Request): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, "too_large", `body: larger than ${MAX_BODY_BYTES} bytes`);
  if (!req.body) throw new HttpError(400, "bad_request", "body: a JSON object is required");
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw new HttpError(413, "too_large", `body: larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks)));
  } catch {
    throw new HttpError(400, "bad_request", "body: not valid JSON");
  }
}
