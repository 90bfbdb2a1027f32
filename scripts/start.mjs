#!/usr/bin/env node
// `npm start`: serve a built LockDeck from a small Node server around Next, because Next route
// handlers never see the socket. This server is the one place that knows who connected:
//   - a Host header the console does not serve gets 421 before Next sees the request (Next
//     checks again in proxy.ts and in every route handler: `next start`/`next dev` get that);
//   - a request line Next would mishandle gets a JSON error naming the field: a target that is
//     not a path (absolute-form would be answered as if for that site), a path whose percent-
//     encoding does not decode, a query parameter whose escapes are not UTF-8 (Next would hand the
//     route U+FFFD for them), a method the console has no use for (405);
//   - X-Forwarded-* and the proxy's identity headers are stripped unless the socket's peer is
//     in auth.proxy.trustedProxies;
//   - the peer address is kept in a map on globalThis, keyed by a random per-request id in the
//     x-lockdeck-peer header (always overwritten), where lib/auth/peer.ts looks it up. A client
//     cannot name a peer; under a bare `next start` the peer is unknown and the app fails closed.
// Without users or a trusted proxy in the config there is no sign-in, so it listens on loopback
// only; binding elsewhere then is refused.
//   HOST=0.0.0.0 PORT=3000 npm start     (needs auth.users or auth.proxy in the config)
//
// The same file serves the repository's build and the self-contained one (next.config.js has
// output: "standalone"; scripts/standalone.mjs completes .next/standalone, whose copy of this
// file is what the deploy kit's image runs): Next's app directory is the parent of this file's
// folder, and the config Next saved at build time is used, so no next.config.js is needed.
//
// SIGTERM / SIGINT (a rolling update, Ctrl-C): stop accepting connections, answer requests that
// still arrive on open ones with 503, end every live event stream with a retry hint (browsers
// reconnect — behind a load balancer, to another replica), let requests in flight finish, flush
// history and close store and database clients, then exit 0; whatever is left at 9.5 s is cut
// and the exit code is 1. Kubernetes' default grace period is 30 s; this stays well inside 10.

import http from "node:http";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
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
const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const saved = path.join(appDir, ".next", "required-server-files.json");
if (!existsSync(saved)) {
  console.error(`lockdeck: no production build in ${appDir}: run \`npx next build\` first`);
  process.exit(1);
}
// The build's own Next config (what `next build` resolved): the standalone folder has no
// next.config.js, and Next reads this variable instead of looking for one.
process.env.__NEXT_PRIVATE_STANDALONE_CONFIG ??= JSON.stringify(JSON.parse(readFileSync(saved, "utf8")).config);
const { default: next } = await import("next");
const app = next({ dev: false, dir: appDir, hostname: host, port });
await app.prepare();
const handle = app.getRequestHandler();

/** A JSON error answer, as the app's own ({ error: { code, message } }), for what never reaches Next. */
function answer(res, status, code, message, headers = {}) {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, {
    "content-type": "application/json",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * What the request line itself gets wrong, or null: a target that is not a path (absolute-form
 * "https://evil.example/…" would be answered as if for that site, e.g. a redirect off-site;
 * "*"), a path whose percent-encoding does not decode (Next answers those with a bare 500), a
 * query parameter whose name or value does not decode as UTF-8, a
 * method the console has no use for (TRACE, CONNECT, …).
 */
function requestLineProblem(req) {
  if (!METHODS.has(req.method))
    return [405, "method_not_allowed", `method: ${String(req.method).slice(0, 20)} is not allowed`, { allow: [...METHODS].join(", ") }];
  const target = String(req.url ?? "");
  if (!target.startsWith("/") || target.startsWith("//")) return [400, "bad_request", "path: the request target must be a path starting with a single /"];
  const q = target.indexOf("?");
  try {
    decodeURIComponent(q < 0 ? target : target.slice(0, q));
  } catch {
    return [400, "bad_request", "path: not a valid percent-encoding (UTF-8)"];
  }
  if (q < 0) return null;
  const query = target.slice(q + 1);
  // Next hands the route a query whose undecodable escapes are already U+FFFD (`?key=%ff`
  // arrives as "\uFFFD", another key than the client meant), so only this server can tell.
  // A binary key has its own form (`base64:…`).
  const bad = undecodableParameter(query);
  if (bad !== null) return [400, "bad_request", `${bad}: not a valid percent-encoding (UTF-8)`];
  // Next drops a `__proto__` parameter before the route sees the query, so the route's strict
  // check (lib/api/params.ts) cannot name it; no route takes one.
  if (new URLSearchParams(query).has("__proto__")) return [400, "bad_request", "__proto__: unknown parameter"];
  return null;
}

/** The name (decoded where it decodes, cut to 100 characters) of the first parameter whose name or value does not decode as UTF-8; null if all do. */
function undecodableParameter(query) {
  const decodes = (text) => {
    try {
      decodeURIComponent(text.replaceAll("+", " "));
      return true;
    } catch {
      return false;
    }
  };
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    if (decodes(name) && decodes(eq < 0 ? "" : part.slice(eq + 1))) continue;
    const shown = decodes(name) ? decodeURIComponent(name.replaceAll("+", " ")) : name;
    return shown.length > 100 ? `${shown.slice(0, 100)}…` : shown;
  }
  return null;
}

let lastLog = 0;
let quiet = 0;
function refuse(req, res, peer) {
  const now = Date.now();
  if (now - lastLog >= 60_000) {
    console.warn(
      `lockdeck: refused ${req.method} ${String(req.url).slice(0, 200)} for Host ${JSON.stringify(String(req.headers.host ?? "").slice(0, 100))} from ${peer}: not an allowed host (421)${quiet ? ` (${quiet} more since the last line)` : ""}`,
    );
    lastLog = now;
    quiet = 0;
  } else quiet++;
  answer(res, 421, "misdirected", `host: ${JSON.stringify(String(req.headers.host ?? "").slice(0, 100))} is not served here`);
}

let draining = false;
let inFlight = 0;
const server = http.createServer((req, res) => {
  const peer = normalizeAddress(req.socket.remoteAddress ?? "");
  if (draining) {
    return answer(res, 503, "shutting_down", "this replica is shutting down: try again (another replica will answer)", {
      "retry-after": "1",
      connection: "close",
    });
  }
  if (!hostAllowed(req.headers.host, allowed)) return refuse(req, res, peer || "unknown peer");
  const bad = requestLineProblem(req);
  if (bad) return answer(res, bad[0], bad[1], bad[2], bad[3]);
  if (!isTrusted(peer, trusted)) for (const h of [...FORWARDED_HEADERS, ...identity]) delete req.headers[h];
  const id = randomBytes(16).toString("base64url");
  peers.set(id, peer);
  req.headers[PEER_HEADER] = id;
  inFlight++;
  res.once("close", () => {
    peers.delete(id);
    inFlight--;
  });
  handle(req, res).catch((err) => {
    console.error("lockdeck: request failed:", err);
    if (!res.headersSent) answer(res, 500, "internal", "internal error (see the server log)");
  });
});
server.listen(port, host, () => {
  const at = server.address();
  console.log(`lockdeck: listening on http://${host.includes(":") ? `[${host}]` : host}:${typeof at === "object" && at ? at.port : port}`);
});
const SHUTDOWN_MS = 9_500;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(check, ms) {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await sleep(25);
  return check();
}

async function shutdown(sig) {
  if (draining) return;
  draining = true;
  const started = Date.now();
  const left = () => SHUTDOWN_MS - (Date.now() - started);
  const hard = setTimeout(() => {
    console.error(`lockdeck: ${sig}: not finished after ${SHUTDOWN_MS} ms (${inFlight} requests still open): exiting anyway`);
    process.exit(1);
  }, SHUTDOWN_MS);
  hard.unref();
  // The app's side (lib/ops/shutdown.ts), installed at start-up; absent if start-up failed.
  const appSide = globalThis.__lockdeckShutdown;
  server.close();
  server.closeIdleConnections();
  const streams = appSide ? appSide.endStreams() : 0;
  console.log(`lockdeck: ${sig}: shutting down: not accepting connections, ended ${streams} live event streams, waiting for ${inFlight} requests`);
  const settled = await until(() => inFlight === 0, Math.max(0, left() - 3_000));
  if (!settled) console.warn(`lockdeck: ${sig}: ${inFlight} requests still open: closing them`);
  if (appSide) {
    try {
      await Promise.race([appSide.close(), sleep(Math.max(0, left() - 500))]);
    } catch (err) {
      console.error(`lockdeck: ${sig}: closing: ${err?.message ?? err}`);
    }
  }
  server.closeAllConnections();
  console.log(`lockdeck: ${sig}: stopped in ${Date.now() - started} ms`);
  process.exit(0);
}
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => void shutdown(sig));
