// Reads every server's connection list (`cons`) for holder liveness (lib/formats/zookeeper/
// liveness.ts judges). `cons` must be in the servers' 4lw.commands.whitelist (ZooKeeper's
// default whitelist is srvr only): where it is not, liveness is "unknown" and says so.
// Answers are cached for maxAgeMs, so a burst of re-reads asks each server once.

import { parseCons, type ConsConnection, type SessionFacts } from "../../formats/zookeeper/liveness";
import { fourLetterWord } from "./server-info";

export interface ConsOptions {
  /** How long an answer is reused. */
  maxAgeMs: number;
  /** A session absent from every server for this long: its holder is judged dead. */
  graceMs: number;
  timeoutMs: number;
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
    const answers = await Promise.all(
      this.servers.map(async (server) => {
        try {
          return parseCons(server, await fourLetterWord(server, "cons", this.opts.timeoutMs));
        } catch (err) {
          return { server, refused: (err as Error).message };
        }
      }),
    );
    const refused: SessionFacts["refused"] = [];
    const connected = new Map<string, ConsConnection & { lastActivity?: number }>();
    for (const a of answers) {
      if ("refused" in a) {
        refused.push({ server: a.server, why: a.refused });
        continue;
      }
      for (const c of a.connections) {
        const before = this.seen.get(c.sid);
        // lresp is on the server's own clock: a new value means the client was answered since the
        // last read (so by readAt); an unchanged one keeps when it was first seen; the first
        // sighting says nothing about when.
        const at = !before ? undefined : before.server === c.server && before.lresp === c.lresp ? before.at : readAt;
        this.seen.set(c.sid, { server: c.server, lresp: c.lresp, at });
        connected.set(c.sid, { ...c, lastActivity: at });
      }
    }
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
