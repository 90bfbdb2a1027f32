// What a lock value says about its holder, in a line an on-call engineer reads first: a JSON
// object's telling fields ("owner worker-7 · host app-3 · pid 4242"), not its raw text. Pure.

import { escapeControls } from "../keys";

/** Fields that name a holder, in the order they are shown (compared case-insensitively). */
const TELLING = [
  "owner",
  "holder",
  "client",
  "clientname",
  "name",
  "instance",
  "service",
  "app",
  "host",
  "hostname",
  "node",
  "pod",
  "ip",
  "address",
  "pid",
  "process",
  "thread",
  "threadid",
  "threadname",
  "worker",
  "user",
];
const MAX_FIELDS = 4;
const MAX_CHARS = 160;
/** Values longer than this are not parsed: a holder's identity is short. */
const MAX_JSON = 4_096;

function scalar(v: unknown): string | null {
  if (typeof v === "string") return v.length ? v : null;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return null;
}

/**
 * ownerOfValue reads a JSON object value as "<field> <value> · …": the fields that name a
 * holder (owner, host, pid, thread…), else its first scalar fields. Anything else → undefined
 * (the value itself is then the holder's id and is shown as such).
 */
export function ownerOfValue(text: string): string | undefined {
  const t = text.trim();
  if (!t.startsWith("{") || t.length > MAX_JSON) return undefined;
  let obj: unknown;
  try {
    obj = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) return undefined;
  const entries = Object.entries(obj as Record<string, unknown>)
    .map(([k, v]) => [k, scalar(v)] as const)
    .filter((e): e is readonly [string, string] => e[1] !== null);
  const rank = (k: string) => TELLING.indexOf(k.toLowerCase().replace(/[_-]/g, ""));
  const telling = entries.filter(([k]) => rank(k) >= 0).sort((a, b) => rank(a[0]) - rank(b[0]));
  const shown = (telling.length ? telling : entries).slice(0, MAX_FIELDS);
  if (!shown.length) return undefined;
  const line = shown.map(([k, v]) => `${k} ${v}`).join(" · ");
  return escapeControls(line.length > MAX_CHARS ? `${line.slice(0, MAX_CHARS)}…` : line);
}
