// How fixture files (lib/formats/testdata/*) store byte strings: a plain string when the
// bytes are valid UTF-8, else {"base64": "..."}. Shared by every store's fixtures.

export type JsonBytes = string | { base64: string };

export function bytesFromJson(b: JsonBytes): Buffer {
  return typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b.base64, "base64");
}

export function bytesToJson(b: Buffer): JsonBytes {
  const text = b.toString("utf8");
  return Buffer.from(text, "utf8").equals(b) ? text : { base64: b.toString("base64") };
}
