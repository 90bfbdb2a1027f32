// Raw value previews: escaped text or hex, capped, never markup. Pure.

import type { RawPreview } from "../model";
import { escapeControls, isUtf8 } from "../keys";

export const PREVIEW_BYTES = 512;

export function previewBytes(key: string, type: string, bytes: Buffer, size: number, truncated: boolean): RawPreview {
  const head = bytes.subarray(0, PREVIEW_BYTES);
  const cut = truncated || bytes.length > PREVIEW_BYTES;
  // A cut may split a UTF-8 sequence; judge text-ness on whole input where we have it.
  if (isUtf8(bytes) || (cut && isUtf8(head.subarray(0, Math.max(0, head.length - 3))))) {
    return { key, type, preview: escapeControls(head.toString("utf8")), encoding: "text", size, truncated: cut };
  }
  return { key, type, preview: hex(head), encoding: "hex", size, truncated: cut };
}

export function previewText(key: string, type: string, text: string, size: number, truncated = false): RawPreview {
  const cut = truncated || text.length > PREVIEW_BYTES;
  return { key, type, preview: escapeControls(text.slice(0, PREVIEW_BYTES)), encoding: "text", size, truncated: cut };
}

function hex(bytes: Buffer): string {
  return bytes.toString("hex").replace(/(..)(?=.)/g, "$1 ");
}
