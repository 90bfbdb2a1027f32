// @ts-check
// Who is on the other end of a request, in plain JavaScript: scripts/start.mjs (run by node, no
// build step) and the app (lib/auth/*.ts, proxy.ts) share these rules.
//   - the Host allow-list: which Host headers the console answers at all;
//   - trusted proxies: CIDRs whose X-Forwarded-For and identity headers are believed;
//   - the client address: the socket peer, or, behind trusted proxies, the first address in
//     X-Forwarded-For (read from the right) that is not itself a trusted proxy.
// Pure functions; no I/O.

import { BlockList, isIP } from "node:net";

/** Without sign-in only these are answered (any port): DNS rebinding cannot name them. */
export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"];

/** The request header scripts/start.mjs sets to a per-request id; the app looks the socket peer up by it. */
export const PEER_HEADER = "x-lockdeck-peer";

/** Headers only a trusted proxy may set: stripped from everyone else's requests. */
export const FORWARDED_HEADERS = ["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-real-ip", "forwarded"];

/**
 * A Host header value → { name, port } (name lowercased; an IPv6 literal keeps its brackets),
 * or null when it is not a plain host[:port].
 * @param {string | null | undefined} value
 * @returns {{ name: string; port: string | null } | null}
 */
export function parseHost(value) {
  if (!value) return null;
  const v = value.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(v);
  if (!m) return null;
  return { name: m[1].replace(/\.$/, ""), port: m[2] ?? null };
}

/**
 * Which Host headers are answered: null = any (sign-in on, no allowedHosts); else a list of
 * "name" (any port) or "name:port".
 * @param {{ users?: unknown[]; proxy?: { enabled?: boolean }; allowedHosts?: string[] } | undefined} auth
 * @returns {string[] | null}
 */
export function hostPolicy(auth) {
  const signIn = (auth?.users?.length ?? 0) > 0 || auth?.proxy?.enabled === true;
  if (!signIn) return LOOPBACK_HOSTS;
  return auth?.allowedHosts?.length ? auth.allowedHosts : null;
}

/**
 * @param {string | null | undefined} hostHeader
 * @param {string[] | null} allowed
 */
export function hostAllowed(hostHeader, allowed) {
  if (allowed === null) return true;
  const h = parseHost(hostHeader);
  if (!h) return false;
  return allowed.some((entry) => {
    const a = parseHost(entry);
    return !!a && a.name === h.name && (a.port === null || a.port === h.port);
  });
}

/** "::ffff:10.0.0.1" → "10.0.0.1": a v4-mapped peer is matched against IPv4 CIDRs. */
/** @param {string} address */
export function normalizeAddress(address) {
  const a = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? mapped[1] : a;
}

/**
 * Why a trusted-proxy entry is not a CIDR ("10.0.0.0/8", "::1/128", or one address), or null.
 * @param {string} entry
 */
export function cidrProblem(entry) {
  const [addr, bits, extra] = entry.split("/");
  const family = isIP(addr ?? "");
  if (!family || extra !== undefined) return `"${entry}" is not an address or CIDR (e.g. 10.0.0.0/8, ::1/128)`;
  if (bits === undefined) return null;
  const n = Number(bits);
  if (!/^\d{1,3}$/.test(bits) || n > (family === 4 ? 32 : 128)) return `"${entry}" has a bad prefix length`;
  return null;
}

/**
 * @param {string[]} cidrs (checked with cidrProblem first)
 * @returns {BlockList}
 */
export function trustList(cidrs) {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split("/");
    const type = isIP(addr) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return list;
}

/**
 * @param {string} address
 * @param {BlockList} list
 */
export function isTrusted(address, list) {
  const a = normalizeAddress(address);
  const family = isIP(a);
  return family !== 0 && list.check(a, family === 6 ? "ipv6" : "ipv4");
}

/**
 * The client's address: the peer, unless the peer is a trusted proxy; then X-Forwarded-For is
 * read from the right and the first address that is not a trusted proxy is the client (what
 * the nearest trusted proxy saw). Anything left of it may be forged, so it is never used.
 * @param {string} peer the socket's remote address
 * @param {string | null | undefined} forwardedFor
 * @param {BlockList} list
 */
export function clientAddress(peer, forwardedFor, list) {
  let client = normalizeAddress(peer);
  if (!isTrusted(client, list) || !forwardedFor) return client;
  const hops = forwardedFor
    .split(",")
    .map((s) => normalizeAddress(s))
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!isIP(hops[i])) return client;
    client = hops[i];
    if (!isTrusted(client, list)) return client;
  }
  return client;
}
