// Runs before every page and API request (Next 16 "proxy", formerly middleware):
//   1. the Host allow-list (DNS rebinding): 421 and a log line for a Host this console does not
//      serve. Route handlers check again themselves (lib/api/errors.ts): middleware can be
//      skipped (CVE-2025-29927), so it is never the only guard of an API;
//   2. pages get a Content-Security-Policy with a fresh nonce (lib/auth/csp.ts).
// Static security headers for every answer are in next.config.js.

import { NextResponse, type NextRequest } from "next/server";
import { serverAuth } from "./lib/auth/server-auth";
import { hostProblem, logRefusedHost, misdirected } from "./lib/auth/host";
import { newNonce, pageCsp } from "./lib/auth/csp";

export function proxy(req: NextRequest) {
  const host = req.headers.get("host");
  const refused = hostProblem(host, serverAuth());
  if (refused) {
    logRefusedHost(host, req.method, req.nextUrl.pathname);
    return misdirected(refused);
  }
  if (req.nextUrl.pathname.startsWith("/api/")) return NextResponse.next();
  const nonce = newNonce();
  const csp = pageCsp(nonce);
  const headers = new Headers(req.headers);
  headers.set("content-security-policy", csp);
  const res = NextResponse.next({ request: { headers } });
  res.headers.set("content-security-policy", csp);
  return res;
}

export const config = {
  // Everything but build assets (public, immutable, no data): pages, APIs, not-found pages.
  matcher: ["/((?!_next/static|_next/image).*)"],
};
