// What the server knows about the other end of a request. Next route handlers do not see the
// socket, so scripts/start.mjs (`npm start`) records each request's peer address in a map on
// globalThis and passes only a random per-request id in a header it always overwrites: a
// client cannot name a peer, and under a bare `next start` or `next dev` (no map) the peer is
// unknown. Unknown fails closed: no proxy identity, no X-Forwarded-* believed.

import type { BlockList } from "node:net";
import type { AuthConfig } from "./config";
import { PEER_HEADER, clientAddress, isTrusted, trustList } from "./net.mjs";

const g = globalThis as unknown as { __lockdeckPeers?: Map<string, string>; __lockdeckTrust?: { key: string; list: BlockList } };

export interface Peer {
  /** The socket's remote address; null when unknown (not served by scripts/start.mjs). */
  address: string | null;
  /** The peer is one of auth.proxy.trustedProxies: its forwarding and identity headers count. */
  trusted: boolean;
  /** The client: the peer, or behind trusted proxies the address they saw; undefined when unknown. */
  client: string | undefined;
}

/** True when requests come through scripts/start.mjs, so peers are known. */
export function peersKnown(): boolean {
  return g.__lockdeckPeers instanceof Map;
}

function trust(auth: AuthConfig): BlockList {
  const key = auth.proxy.trustedProxies.join(",");
  if (g.__lockdeckTrust?.key !== key) g.__lockdeckTrust = { key, list: trustList(auth.proxy.trustedProxies) };
  return g.__lockdeckTrust.list;
}

export function peerOf(req: Request, auth: AuthConfig): Peer {
  const id = req.headers.get(PEER_HEADER);
  const address = (id && g.__lockdeckPeers?.get(id)) || null;
  if (!address) return { address: null, trusted: false, client: undefined };
  const list = trust(auth);
  const trusted = isTrusted(address, list);
  return { address, trusted, client: trusted ? clientAddress(address, req.headers.get("x-forwarded-for"), list) : clientAddress(address, null, list) };
}

/** The host the browser addressed: X-Forwarded-Host from a trusted proxy, else Host. */
export function requestHost(req: Request, peer: Peer): string | null {
  const forwarded = peer.trusted ? req.headers.get("x-forwarded-host")?.split(",")[0]?.trim() : undefined;
  return forwarded || req.headers.get("host");
}
