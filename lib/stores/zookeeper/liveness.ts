// Reads every server's connection list (`cons`) for holder liveness (lib/formats/zookeeper/
// liveness.ts judges). `cons` must be in the servers' 4lw.commands.whitelist (ZooKeeper's
// default whitelist is srvr only): where it is not, liveness is "unknown" and says so.
// Answers are cached for maxAgeMs, so a burst of re-reads asks each server once.
//
// Which servers: every member of the ensemble, as the ensemble itself lists them
// (/zookeeper/config, ZooKeeper 3.5+), and every server of the connect string. A session no
// server listed is "absent" (and, after the grace period, its holder dead) only when every
// member was asked and answered in full; a member that could not be asked (its client port is
// not in /zookeeper/config and the connect string does not name it), a member list that could
// not be read, an answer that is empty or cut short: "unknown", saying which.

import { parseCons, type ConsAnswer, type ConsConnection, type SessionFacts } from "../../formats/zookeeper/liveness";
import { fourLetterWord } from "./server-info";

/** One member of the ensemble as /zookeeper/config lists it. */
export interface Member {
  id: string;
  /** The member's quorum address host. */
  host: string;
  /** host:port of its client port, where the config names one (server.N=…;[host:]port). */
  client?: string;
}

/** Who is in the ensemble: its members, a standalone server, or unknown (and why). */
export type Ensemble = { members: Member[] } | { standalone: true } | { unknown: string };

/**
 * The members in a /zookeeper/config text (ZooKeeper 3.5+):
 *   server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181
 *   server.2=10.0.0.2:2888:3888:observer;2181
 *   server.3=10.0.0.3:2888:3888            (client port in zoo.cfg's clientPort: not listed)
 *   version=100000000
 */
export function parseEnsembleConfig(text: string): Member[] {
  const out: Member[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*server\.(\d+)\s*=\s*([^;\s]+)\s*(?:;\s*(\S+))?\s*$/.exec(line);
    if (!m) continue;
    const quorum = /^(\[[^\]]+\]|[^:]+):\d+/.exec(m[2]);
    if (!quorum) continue;
    const host = quorum[1];
    const member: Member = { id: m[1], host };
    const c = m[3] ? /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(m[3]) : null;
    if (c) {
      const bound = c[1];
      // A wildcard (or no) client address: the member's own host.
      const h = !bound || bound === "0.0.0.0" || bound === "[::]" || bound === "[0:0:0:0:0:0:0:0]" ? host : bound;
      member.client = `${h}:${c[2]}`;
    }
    out.push(member);
  }
  return out;
}

function hostOf(address: string): string {
  return /^(\[[^\]]+\]|.+):\d+$/.exec(address)?.[1] ?? address;
}

/**
 * Which servers to ask `cons`, and after the answers, which members were not covered by one.
 * A member with a client address is covered by that address answering. Members without one
 * (client port only in zoo.cfg) are covered by the connect string's servers on their host —
 * as many answering servers there as members — or, where the connect string names no server
 * on that host and uses one port, by that port on the member's host (asked: a server answering
 * there is that member). Anything else is not covered, and says why.
 */
export function consPlan(
  connect: string[],
  ensemble: Ensemble,
): { ask: string[]; guesses: Set<string>; uncovered(answered: Set<string>, failed: Map<string, string>): Array<{ server: string; why: string }> } {
  const ask = new Set(connect);
  const guesses = new Set<string>();
  if ("standalone" in ensemble) return { ask: [...ask], guesses, uncovered: () => [] };
  if ("unknown" in ensemble) {
    const why = `the ensemble's members are unknown (${ensemble.unknown}): only the connect string's ${connect.length} server(s) were asked, and a client may be on another`;
    return { ask: [...ask], guesses, uncovered: () => [{ server: "ensemble", why }] };
  }
  const { members } = ensemble;
  const explicit = new Set(members.flatMap((m) => (m.client ? [m.client] : [])));
  for (const a of explicit) ask.add(a);
  const ports = new Set(connect.map((a) => a.slice(a.lastIndexOf(":") + 1)));
  const byHost = new Map<string, Member[]>();
  for (const m of members) if (!m.client) byHost.set(m.host, [...(byHost.get(m.host) ?? []), m]);
  // A member with a client address that fails is reported by its own refusal.
  const checks: Array<(answered: Set<string>, failed: Map<string, string>) => { server: string; why: string } | null> = [];
  const total = members.length;
  for (const [host, group] of byHost) {
    const names = group.map((m) => `server.${m.id}`).join(", ");
    const onHost = connect.filter((a) => hostOf(a) === host && !explicit.has(a));
    if (onHost.length > 0) {
      checks.push((answered) => {
        const n = onHost.filter((a) => answered.has(a)).length;
        if (n >= group.length) return null;
        return {
          server: `${names} (${host})`,
          why: `${group.length} ensemble member(s) on ${host} whose client port /zookeeper/config does not give, and ${n} server(s) of the connect string there answered: the others were not asked (list every server of the ensemble in connectString)`,
        };
      });
    } else if (ports.size === 1 && group.length === 1) {
      const guess = `${host}:${[...ports][0]}`;
      if (!ask.has(guess)) guesses.add(guess);
      ask.add(guess);
      checks.push((answered, failed) =>
        answered.has(guess)
          ? null
          : {
              server: `${names} ${guess}`,
              why: `asked at the connect string's client port (its own is not in /zookeeper/config): ${failed.get(guess) ?? "no answer"}`,
            },
      );
    } else {
      checks.push(() => ({
        server: `${names} (${host})`,
        why: `not asked: its client port is not in /zookeeper/config and the connect string names no server on ${host} (list every server of the ensemble in connectString)`,
      }));
    }
  }
  return {
    ask: [...ask],
    guesses,
    uncovered: (answered, failed) =>
      checks
        .map((c) => c(answered, failed))
        .filter((x): x is { server: string; why: string } => x !== null)
        .map((x) => ({ ...x, why: `${x.why}; ${total} member(s) in the ensemble` })),
  };
}

/**
 * One server's `cons` answer, whole or refused. A complete answer ends with an empty line
 * (ZooKeeper's ConsCommand prints each connection on its line, then one more line break) and
 * lists at least the asking connection: an empty or cut answer (a connection closed early, a
 * proxy) is a failed read, never "this server has no sessions".
 */
export function consAnswer(server: string, text: string): ConsAnswer {
  const parsed = parseCons(server, text);
  if ("refused" in parsed) return parsed;
  if (!/\)\s*\n\s*\n\s*$/.test(text)) {
    return { server, refused: `incomplete cons answer (${text.length} bytes, no closing empty line): the server's connection list was cut short` };
  }
  return parsed;
}

export interface ConsOptions {
  /** How long an answer is reused. */
  maxAgeMs: number;
  /** A session absent from every server for this long: its holder is judged dead. */
  graceMs: number;
  timeoutMs: number;
  /** Who is in the ensemble (the adapter reads /zookeeper/config); none: standalone, the connect string's servers are all. */
  ensemble?: () => Promise<Ensemble>;
}

export class ConsReader {
  private last: { at: number; facts: Omit<SessionFacts, "absentSince" | "graceMs"> } | null = null;
  private inFlight: Promise<Omit<SessionFacts, "absentSince" | "graceMs">> | null = null;
  /** sid → the lresp value last seen, on which server, and when LockDeck first saw that value. */
  private seen = new Map<string, { server: string; lresp: number; at?: number }>();
  private absentSince = new Map<string, number>();

  constructor(
    /** host:port of every server in the connect string. */
    readonly servers: string[],
    private readonly opts: ConsOptions,
  ) {}

  /** Facts about these holder sessions as of a recent cons read (at most maxAgeMs old). */
  async facts(holders: Iterable<string>, fresh = false): Promise<SessionFacts> {
    const base = await this.read(fresh);
    // Absence is tracked only for the sessions asked about, from the read that saw them missing.
    const wanted = new Set(holders);
    for (const sid of wanted) {
      if (base.connected.has(sid)) this.absentSince.delete(sid);
      else if (base.refused.length === 0 && !this.absentSince.has(sid)) this.absentSince.set(sid, base.readAt);
    }
    for (const sid of this.absentSince.keys()) if (!wanted.has(sid) && !base.connected.has(sid)) this.absentSince.delete(sid);
    return { ...base, absentSince: new Map(this.absentSince), graceMs: this.opts.graceMs };
  }

  /** Starts a read (unless a recent answer is cached) that the next facts() call will use. */
  prefetch(): void {
    this.read(false).catch(() => {});
  }

  private async read(fresh: boolean): Promise<Omit<SessionFacts, "absentSince" | "graceMs">> {
    if (!fresh && this.last && Date.now() - this.last.at < this.opts.maxAgeMs) return this.last.facts;
    this.inFlight ??= this.readAll().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async readAll(): Promise<Omit<SessionFacts, "absentSince" | "graceMs">> {
    const readAt = Date.now();
    let ensemble: Ensemble = { standalone: true };
    if (this.opts.ensemble) {
      try {
        ensemble = await this.opts.ensemble();
      } catch (err) {
        ensemble = { unknown: (err as Error).message };
      }
    }
    const plan = consPlan(this.servers, ensemble);
    const answers = await Promise.all(
      plan.ask.map(async (server): Promise<ConsAnswer> => {
        try {
          return consAnswer(server, await fourLetterWord(server, "cons", this.opts.timeoutMs));
        } catch (err) {
          return { server, refused: (err as Error).message };
        }
      }),
    );
    const refused: SessionFacts["refused"] = [];
    const answered = new Set(answers.filter((a) => !("refused" in a)).map((a) => a.server));
    const failed = new Map(answers.flatMap((a) => ("refused" in a ? [[a.server, a.refused] as const] : [])));
    const connected = new Map<string, ConsConnection & { lastActivity?: number }>();
    // A member's own address first: one server reached under two names (a VIP and the member's
    // address) lists a session twice, and its lresp is tracked under one of them only.
    const ordered = [...answers].sort((x, y) => Number(this.servers.includes(x.server)) - Number(this.servers.includes(y.server)));
    for (const a of ordered) {
      if ("refused" in a) {
        // A guessed address (a member's host at the connect string's port) is reported as its member.
        if (!plan.guesses.has(a.server)) refused.push({ server: a.server, why: a.refused });
        continue;
      }
      for (const c of a.connections) {
        if (connected.has(c.sid)) continue;
        const before = this.seen.get(c.sid);
        // lresp is on the server's own clock: a new value means the client was answered since the
        // last read (so by readAt); an unchanged one keeps when it was first seen; the first
        // sighting says nothing about when.
        const at = !before ? undefined : before.server === c.server && before.lresp === c.lresp ? before.at : readAt;
        this.seen.set(c.sid, { server: c.server, lresp: c.lresp, at });
        connected.set(c.sid, { ...c, lastActivity: at });
      }
    }
    refused.push(...plan.uncovered(answered, failed));
    for (const sid of this.seen.keys()) if (!connected.has(sid)) this.seen.delete(sid);
    const facts = { readAt, refused, connected };
    this.last = { at: readAt, facts };
    return facts;
  }
}

/** host:port of each server in a connect string ("a:2181,b:2181/chroot"). */
export function serversOf(connectString: string): string[] {
  const slash = connectString.indexOf("/");
  return (slash < 0 ? connectString : connectString.slice(0, slash)).split(",").filter(Boolean);
}
