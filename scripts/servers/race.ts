// The race harness (reliability plan rows 15–16): real lock clients churn one lock while
// operators force-release it through a real console's HTTP API as fast as they can, each with
// the fence of the holding it just read. Every holding is recorded by its own client (who,
// from when to when, how it ended: released by itself, or lost — someone else removed it), and
// every operator answer by the operator. judgeRace() then checks the one thing that matters:
// every holding that ended without its owner releasing it is exactly one holding the console
// said it released (200), and every 200 is such a holding — never one nobody saw.
//
// Contenders print one JSON line per holding (scripts/capture/etcd/go/churn.go documents the
// line); a fenced register (a tiny HTTP service that refuses a write whose fencing token is
// lower than one it already accepted) shows what fencing buys once a holder is evicted.

import http from "node:http";
import type { AddressInfo } from "node:net";
import { startHold, type HoldProcess } from "../capture/hold";

export interface Holding {
  who: string;
  /** The holding's identity as LockDeck shows it: the fencing token, or the holder id. */
  id: string;
  /**
   * Its holder id as LockDeck shows it, where that names one holding (a Consul session). A
   * holding taken away before its contender could read its token has only this ("" id).
   */
  holder?: string;
  from: number;
  to: number;
  /**
   * "lost": someone else removed it (possibly before its owner saw that it held the lock: the
   * store had made it the holder, the client had not told its caller yet); "waiter-removed":
   * the contender's entry was removed while it was still only waiting (never allowed).
   */
  end: "released" | "lost" | "waiter-removed" | "unknown";
  /** The late write to the fenced register ("" without one). */
  late: string;
}

export interface Churn {
  label: string;
  /** Stop taking the lock; resolves with every holding once each contender let go. */
  stop(): Promise<Holding[]>;
  /** What the contenders said on stderr (their lock errors), for a failure's context. */
  stderr?(): string;
}

/** A churn program (READY, then one JSON line per holding; a stdin line stops it; DONE). */
export async function startChurnProcess(label: string, command: string, args: string[]): Promise<Churn> {
  const proc: HoldProcess = startHold(label, command, args);
  await proc.waitForLine("READY", 60_000);
  let stopped: Promise<Holding[]> | null = null;
  const stop = async () => {
    try {
      proc.letGo();
      await proc.waitForLine("DONE", 30_000);
    } finally {
      await proc.kill();
    }
    return proc
      .lines()
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Holding);
  };
  return { label, stop: () => (stopped ??= stop()), stderr: () => proc.stderr() };
}

export interface RegisterWrite {
  who: string;
  token: number;
  phase: "start" | "late";
  accepted: boolean;
  at: number;
}

export interface Register {
  url: string;
  writes: RegisterWrite[];
  close(): Promise<void>;
}

/** The fenced register: accepts a write only if its token is at least the highest accepted. */
export async function startRegister(): Promise<Register> {
  const writes: RegisterWrite[] = [];
  let highest = -Infinity;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const w = JSON.parse(body) as { who: string; token: number; phase: "start" | "late" };
      const accepted = w.token >= highest;
      if (accepted) highest = w.token;
      writes.push({ ...w, accepted, at: Date.now() });
      res.writeHead(accepted ? 200 : 409, { "content-type": "application/json" }).end(JSON.stringify({ accepted, highest }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/write`,
    writes,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface OperatorAnswer {
  operator: number;
  at: number;
  /** HTTP status of the release; 0 when the read found nothing to release. */
  status: number;
  code?: string;
  /** Identity of the holding whose fence was sent. */
  id?: string;
  /** Its holder's id. */
  holder?: string;
}

interface LockAnswer {
  lock?: { fence: string; fencingToken?: string; holders: Array<{ id: string }> };
}

/** Identity of the holding a record shows: its fencing token where the store has one, else the holder id. */
export function holdingId(lock: { fencingToken?: string; holders: Array<{ id: string }> }): string | undefined {
  return lock.fencingToken ?? lock.holders[0]?.id;
}

/**
 * `operators` loops that read the lock through the API and force-release the holding they just
 * read, until `done()` says enough. Every answer is recorded.
 */
export async function operate(o: {
  base: string;
  connection: string;
  key: string;
  operators: number;
  done(answers: OperatorAnswer[]): boolean;
}): Promise<OperatorAnswer[]> {
  const answers: OperatorAnswer[] = [];
  const lockUrl = `${o.base}/api/connections/${encodeURIComponent(o.connection)}/lock?key=${encodeURIComponent(o.key)}`;
  const releaseUrl = `${o.base}/api/connections/${encodeURIComponent(o.connection)}/lock/release`;
  const loop = async (operator: number) => {
    while (!o.done(answers)) {
      const read = await fetch(lockUrl);
      if (read.status >= 500) answers.push({ operator, at: Date.now(), status: read.status, code: "read" });
      const lock = read.ok ? ((await read.json()) as LockAnswer).lock : undefined;
      if (!lock || lock.holders.length === 0) {
        if (!read.ok) await read.body?.cancel();
        answers.push({ operator, at: Date.now(), status: 0 });
        continue;
      }
      const res = await fetch(releaseUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-lockdeck-csrf": "1" },
        body: JSON.stringify({ key: o.key, fence: lock.fence, reason: `race operator ${operator}`, mode: "delete" }),
      });
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
      answers.push({ operator, at: Date.now(), status: res.status, code: body.error?.code, id: holdingId(lock), holder: lock.holders[0]?.id });
    }
  };
  await Promise.all(Array.from({ length: o.operators }, (_, i) => loop(i)));
  return answers;
}

export interface RaceVerdict {
  applied: number;
  changed: number;
  gone: number;
  serverErrors: OperatorAnswer[];
  holdings: number;
  /** Holdings that ended without their owner releasing them, not matched by a 200. */
  lostUnexplained: Holding[];
  /** 200s that match no lost holding (the console said it released something nobody lost). */
  appliedUnexplained: OperatorAnswer[];
  unknownEnds: Holding[];
  /** Contenders whose queue entry was removed while they still waited (a release that hit a waiter). */
  waitersRemoved: Holding[];
  register?: { lateRefused: number; lateAcceptedAfterEviction: number; refusedLegit: RegisterWrite[] };
}

/** Matches lost holdings to applied releases one to one (by token; by holder for a holding known only by it). */
export function judgeRace(holdings: Holding[], answers: OperatorAnswer[], register?: Register): RaceVerdict {
  const applied = answers.filter((a) => a.status === 200);
  const lost = holdings.filter((h) => h.end === "lost");
  const appliedLeft = [...applied];
  const lostUnexplained: Holding[] = [];
  for (const h of lost) {
    const i = appliedLeft.findIndex((a) => (h.id ? a.id === h.id : !!h.holder && a.holder === h.holder));
    if (i >= 0) appliedLeft.splice(i, 1);
    else lostUnexplained.push(h);
  }
  const verdict: RaceVerdict = {
    applied: applied.length,
    changed: answers.filter((a) => a.status === 409).length,
    gone: answers.filter((a) => a.status === 404).length,
    serverErrors: answers.filter((a) => a.status >= 500),
    holdings: holdings.length,
    lostUnexplained,
    appliedUnexplained: appliedLeft,
    unknownEnds: holdings.filter((h) => h.end === "unknown"),
    waitersRemoved: holdings.filter((h) => h.end === "waiter-removed"),
  };
  if (register) {
    const lostIds = new Set(lost.map((h) => h.id));
    const late = register.writes.filter((w) => w.phase === "late");
    verdict.register = {
      lateRefused: late.filter((w) => !w.accepted && lostIds.has(String(w.token))).length,
      lateAcceptedAfterEviction: late.filter((w) => w.accepted && lostIds.has(String(w.token))).length,
      // A holder that still held the lock must never be refused: that would be two holders.
      refusedLegit: register.writes.filter((w) => !w.accepted && !lostIds.has(String(w.token))),
    };
  }
  return verdict;
}
