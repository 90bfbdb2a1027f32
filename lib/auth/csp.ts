// The Content-Security-Policy of pages. Scripts: our own files, Next's inline bootstrap
// scripts by a per-request nonce (Next reads it from the request's CSP header and stamps its
// scripts; proxy.ts makes one per page request), and the one inline script of ours, the theme
// script, by its hash. No 'unsafe-inline' for scripts; nothing may frame the console.
// API answers get a policy that allows nothing at all (next.config.js).

import { createHash, randomBytes } from "node:crypto";
import { THEME_SCRIPT } from "../../components/theme";

export const THEME_SCRIPT_HASH = `sha256-${createHash("sha256").update(THEME_SCRIPT, "utf8").digest("base64")}`;

export function newNonce(): string {
  return randomBytes(18).toString("base64");
}

export function pageCsp(nonce: string, dev = process.env.NODE_ENV === "development"): string {
  return [
    "default-src 'self'",
    // React in development evaluates code to rebuild server error stacks; production never does.
    `script-src 'self' 'nonce-${nonce}' '${THEME_SCRIPT_HASH}'${dev ? " 'unsafe-eval'" : ""}`,
    // React and the virtualised table set style attributes; styles cannot run code.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}
