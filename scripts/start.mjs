#!/usr/bin/env node
// `npm start`: serve a built LockDeck from a small Node server around Next, because Next route
// handlers never see the socket. This server is the one place that knows who connected:
//   - a Host header the console does not serve gets 421 before Next sees the request (Next
//     checks again in proxy.ts and in every route handler: `next start`/`next dev` get that);
//   - X-Forwarded-* and the proxy's identity headers are stripped unless the socket's peer is
//     in auth.proxy.trustedProxies;
//   - the peer address is kept in a map on globalThis, keyed by a random per-request id in the
//     x-lockdeck-peer header (always overwritten), where lib/auth/peer.ts looks it up. A client
//     cannot name a peer; under a bare `next start` the peer is unknown and the app fails closed.
// Without users or a trusted proxy in the config there is no sign-in, so it listens on loopback
// only; binding elsewhere then is refused.
//   HOST=0.0.0.0 PORT=3000 npm start     (needs auth.users or auth.proxy in the config)

import http from "node:http";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { FORWARDED_HEADERS, PEER_HEADER, hostAllowed, hostPolicy, isTrusted, normalizeAddress, trustList, cidrProblem } from "../lib/auth/net.mjs";

function rawConfig() {
  try {
    if (process.env.LOCKDECK_CONNECTIONS) return JSON.parse(process.env.LOCKDECK_CONNECTIONS);
    const file = process.env.LOCKDECK_CONFIG ?? "lockdeck.config.json";
    if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    // The server's own config check reports the error with the field's name.
  }
  return {};
}

const cfg = rawConfig();
const auth = Array.isArray(cfg) ? undefined : cfg.auth;
const signIn = (auth?.users?.length ?? 0) > 0 || auth?.proxy?.enabled === true;
const loopback = ["127.0.0.1", "::1", "localhost"];
const host = process.env.HOST ?? (signIn ? "0.0.0.0" : "127.0.0.1");
const port = Number(process.env.PORT ?? 3000);
if (!signIn && !loopback.includes(host)) {
  console.error(`lockdeck: no users and no trusted proxy are configured, so LockDeck only listens on loopback; refusing HOST=${host}`);
  process.exit(2);
}
if (!signIn) console.log(`lockdeck: no users configured: listening on loopback only (${host})`);

const allowed = hostPolicy(auth);
const cidrs = Array.isArray(auth?.proxy?.trustedProxies) ? auth.proxy.trustedProxies.filter((c) => typeof c === "string" && !cidrProblem(c)) : [];
const trusted = trustList(cidrs);
const identity = [auth?.proxy?.userHeader ?? "x-forwarded-user", auth?.proxy?.groupsHeader ?? "x-forwarded-groups"].map((h) => String(h).toLowerCase());
const peers = new Map();
globalThis.__lockdeckPeers = peers;

process.env.NODE_ENV ??= "production";
process.env.NEXT_TELEMETRY_DISABLED ??= "1";
const { default: next } = await import("next");
const app = next({ dev: false, dir: process.cwd(), hostname: host, port });
await app.prepare();
const handle = app.getRequestHandler();

let lastLog = 0;
let quiet = 0;
function refuse(req, res, peer) {
  const now = Date.now();
  if (now - lastLog >= 60_000) {
    console.warn(`lockdeck: refused ${req.method} ${String(req.url).slice(0, 200)} for Host ${JSON.stringify(String(req.headers.host ?? "").slice(0, 100))} from ${peer}: not an allowed host (421)${quiet ? ` (${quiet} more since the last line)` : ""}`);
    lastLog = now;
    quiet = 0;
  } else quiet++;
  const body = JSON.stringify({ error: { code: "misdirected", message: `host: ${JSON.stringify(String(req.headers.host ?? "").slice(0, 100))} is not served here` } });
  res.writeHead(421, { "content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const peer = normalizeAddress(req.socket.remoteAddress ?? "");
  if (!hostAllowed(req.headers.host, allowed)) return refuse(req, res, peer || "unknown peer");
  if (!isTrusted(peer, trusted)) for (const h of [...FORWARDED_HEADERS, ...identity]) delete req.headers[h];
  const id = randomBytes(16).toString("base64url");
  peers.set(id, peer);
  req.headers[PEER_HEADER] = id;
  res.once("close", () => peers.delete(id));
  handle(req, res).catch((err) => {
    console.error("lockdeck: request failed:", err);
    if (!res.headersSent) res.writeHead(500).end();
  });
});
server.listen(port, host, () => {
  const at = server.address();
  console.log(`lockdeck: listening on http://${host.includes(":") ? `[${host}]` : host}:${typeof at === "object" && at ? at.port : port}`);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
