// Store keys are bytes. LockDeck names them with strings that round-trip exactly:
// valid UTF-8 stays as it is; anything else (or a text key that itself starts with the
// prefix) becomes "base64:" + standard base64 of the bytes.

const PREFIX = "base64:";

export function keyFromBytes(bytes: Buffer): string {
  const text = bytes.toString("utf8");
  // Invalid UTF-8 always decodes to U+FFFD somewhere; without one, the text round-trips.
  // (A key that really contains U+FFFD takes the slower exact check.)
  if (!text.startsWith(PREFIX) && (!text.includes("\uFFFD") || Buffer.from(text, "utf8").equals(bytes))) return text;
  return PREFIX + bytes.toString("base64");
}

export function keyToBytes(key: string): Buffer {
  if (key.startsWith(PREFIX)) return Buffer.from(key.slice(PREFIX.length), "base64");
  return Buffer.from(key, "utf8");
}

/** True when the bytes are valid UTF-8 (round-trip exact). */
export function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString("utf8"), "utf8").equals(bytes);
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A display form of a key or value: control characters shown as \xNN escapes. */
export function escapeControls(text: string): string {
  // Nearly every key and token has none: a test is cheaper than a replace that finds nothing.
  return HAS_CONTROL.test(text) ? text.replace(CONTROL, (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0")) : text;
}

/**
 * Why a "/"-separated key cannot be sent as a path: a "." or ".." segment (URL resolution and
 * ZooKeeper both treat them as steps up or in place) or a control character. Null when fine.
 */
export function pathKeyProblem(key: string): string | null {
  if (HAS_CONTROL.test(key)) return "contains a control character (NUL, newline, ...)";
  for (const seg of key.split("/")) if (seg === "." || seg === "..") return `has a "${seg}" segment`;
  return null;
}
