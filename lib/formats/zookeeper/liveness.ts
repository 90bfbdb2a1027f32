// Holder liveness on ZooKeeper, from the servers' connection lists (the `cons` four-letter
// word): a holder node's ephemeralOwner is a session, and a live client keeps a connection for
// it on one server of the ensemble. Pure: the adapter reads `cons` (lib/stores/zookeeper/
// liveness.ts) and hands the facts here.
//
// What `cons` says (ZooKeeper 3.8), one line per connection:
//   /127.0.0.1:48102[1](queued=0,recved=1,sent=1,sid=0x1000079fc860000,lop=SESS,est=1796415674580,
//     to=10000,lcxid=0x0,lzxid=0x1,lresp=7994787,llat=9,minlat=0,avglat=9,maxlat=9)
// `est` is wall-clock ms, but `lresp` (the last response) is on the server's monotonic clock,
// so it cannot be turned into a time on its own: the adapter remembers when it first saw each
// lresp value (lastActivity is then known to within its check interval).
//
// Judgement: connected somewhere → alive, unless the server has answered it nothing for 2/3 of
// its session timeout (frozen or cut off: dead); every server answered and none has it for
// longer than the grace period → dead ("holder-disconnected": the client is gone or cut off, and
// its lock stays held until the session times out); any server not answering `cons` (not in
// 4lw.commands.whitelist, down) → unknown, since the session may be on that one.

import type { Liveness, LockRecord } from "../../model";
import { applyHolderLiveness } from "../liveness";

export interface ConsConnection {
  /** The server (host:port) the client is connected to. */
  server: string;
  /** The client's address as the server sees it. */
  client: string;
  sid: string;
  /** The server's monotonic ms of its last response to this client. */
  lresp: number;
  /** The negotiated session timeout, ms. */
  timeoutMs?: number;
  lastOp?: string;
}

export type ConsAnswer = { server: string; connections: ConsConnection[] } | { server: string; refused: string };

const LINE = /^\s*\/(.+?)\[\d+\]\((.*)\)\s*$/;

/** One server's `cons` answer; a refusal (not whitelisted, an error text) says why. */
export function parseCons(server: string, text: string): ConsAnswer {
  if (/not in the whitelist/i.test(text)) return { server, refused: "cons is not in the server's 4lw.commands.whitelist" };
  const lines = text.split("\n").filter((l) => l.trim());
  // A real answer lists at least the connection asking: none at all is no answer, not "no sessions".
  if (lines.length === 0) return { server, refused: "an empty cons answer (the server closed the connection without answering)" };
  const connections: ConsConnection[] = [];
  for (const line of lines) {
    const m = LINE.exec(line);
    if (!m) return { server, refused: `unexpected cons answer: ${text.trim().slice(0, 120)}` };
    const f = Object.fromEntries(m[2].split(",").map((kv) => kv.split("=", 2) as [string, string]));
    // The connection asking (ours) has no session.
    if (!f.sid) continue;
    connections.push({ server, client: m[1], sid: f.sid, lresp: Number(f.lresp), timeoutMs: f.to ? Number(f.to) : undefined, lastOp: f.lop });
  }
  return { server, connections };
}

export interface SessionFacts {
  /** When `cons` was read (ms). */
  readAt: number;
  refused: Array<{ server: string; why: string }>;
  /** Sessions connected somewhere, with when their current lresp was first seen (ms), if known. */
  connected: Map<string, ConsConnection & { lastActivity?: number }>;
  /** Holder sessions no server listed, since when (ms). */
  absentSince: Map<string, number>;
  /** How long a session may be absent before its holder is judged dead (a client reconnecting moves between servers). */
  graceMs: number;
}

export function livenessOf(sid: string, f: SessionFacts): Liveness {
  const c = f.connected.get(sid);
  if (c) {
    // Connected, but answered nothing for 2/3 of its session timeout: a live client pings every
    // third of it (the Java, C, kazoo and node clients do) and gives its connection up itself
    // after 2/3 of it with no word from the server. The silence is a lower bound (lastActivity is
    // when LockDeck first saw the last answer), so this never calls a pinging client dead; a
    // frozen or cut-off client keeps its connection (and its nodes) until the session expires.
    const silentMs = c.lastActivity !== undefined ? f.readAt - c.lastActivity : 0;
    if (c.timeoutMs && silentMs >= (c.timeoutMs * 2) / 3) {
      return {
        state: "dead",
        reason: `connected to ${c.server} from ${c.client}, but answered nothing for ${Math.round(silentMs / 1000)} s of its ${Math.round(c.timeoutMs / 1000)} s session timeout (a live client pings every third of it): the client is frozen or cut off, and its nodes stay until the session times out`,
        clientAddress: c.client,
        lastActivity: new Date(c.lastActivity!).toISOString(),
      };
    }
    return {
      state: "alive",
      reason: `connected to ${c.server} from ${c.client}${c.timeoutMs ? `, session timeout ${Math.round(c.timeoutMs / 1000)} s` : ""} (from cons)`,
      clientAddress: c.client,
      ...(c.lastActivity !== undefined && { lastActivity: new Date(c.lastActivity).toISOString() }),
    };
  }
  if (f.refused.length) {
    return { state: "unknown", reason: `not on the servers that answered; ${f.refused.map((r) => `${r.server}: ${r.why}`).join("; ")}` };
  }
  const since = f.absentSince.get(sid) ?? f.readAt;
  const gone = f.readAt - since;
  if (gone < f.graceMs) return { state: "unknown", reason: "no server has a connection for this session right now (the client may be reconnecting)" };
  return {
    state: "dead",
    reason: `no ZooKeeper server has had a connection for its session ${sid} for ${Math.round(gone / 1000)} s: the client is gone or cut off, and its nodes stay until the session times out`,
  };
}

/** Sets each holder's liveness and the holder-disconnected warning, in place (fresh records only). */
export function applyLiveness(locks: LockRecord[], f: SessionFacts): void {
  applyHolderLiveness(locks, "holder-disconnected", (h) => (h.session?.id ? livenessOf(h.session.id, f) : undefined));
}

/** The holder sessions of some records (what the adapter asks `cons` about). */
export function holderSessions(locks: Iterable<LockRecord>): Set<string> {
  const out = new Set<string>();
  for (const l of locks) for (const h of l.holders) if (h.session?.id) out.add(h.session.id);
  return out;
}
