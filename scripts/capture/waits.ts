// Real clients that hold some locks and then wait for one more, so tests see real wait-for
// chains and cycles (scripts/capture/README.md, "waits"). One spec per client:
// "<lock>[,<lock>...][><lock>]" — it holds the locks before ">", and once every client holds
// its own, waits for the one after it. Each client is its own session / lease / client UUID.
//   Go etcd concurrency.Mutex: scripts/capture/etcd/hold.ts goWaits
//   Curator InterProcessMutex: curatorWaits (lockdeck.capture.CuratorWaits)
//   Redisson fair lock:        redissonWaits (lockdeck.capture.RedissonWaits)
//   Consul api.Semaphore:      consulSemWaits (scripts/capture/consul semwaits; limit 1, one session per client)
// Protocol lines: HOLDS i <lock>, WAITING i <lock>, READY (every wait is in the store),
// ACQUIRED i <lock>; a line on stdin lets everything go (RELEASED).
import { startHold, type HoldProcess } from "./hold";
import { HOLD_JVM_FLAGS } from "./curator/prepare";

/** Curator clients (one ZooKeeper session each); prints SESSION i 0x<id> first. */
export function curatorWaits(tool: { java: string; jar: string }, connectString: string, specs: string[]): HoldProcess {
  return startHold(`curator waits ${specs.join(" ")}`, tool.java, [
    ...HOLD_JVM_FLAGS,
    "-cp",
    tool.jar,
    "lockdeck.capture.CuratorWaits",
    connectString,
    ...specs,
  ]);
}

/** Redisson clients (one client UUID each) on fair locks; prints CLIENT i <uuid>:<thread> first. */
export function redissonWaits(tool: { java: string; jar: string }, url: string, specs: string[]): HoldProcess {
  return startHold(`redisson waits ${specs.join(" ")}`, tool.java, [...HOLD_JVM_FLAGS, "-cp", tool.jar, "lockdeck.capture.RedissonWaits", url, ...specs]);
}

/** Consul clients (one session each) on api.Semaphores of limit 1; prints SESSION i <id> first. */
export function consulSemWaits(bin: string, addr: string, specs: string[]): HoldProcess {
  return startHold(`consul semwaits ${specs.join(" ")}`, bin, ["semwaits", "-ttl", "30s", addr, ...specs]);
}

/** The value of a numbered protocol line ("SESSION 1 0x10…" → "0x10…" for word SESSION, client 1). */
export function clientLine(p: HoldProcess, word: string, i: number): string {
  const head = `${word} ${i} `;
  const line = p.lines().find((l) => l.startsWith(head));
  if (!line) throw new Error(`${p.label}: no "${head}…" line on stdout: ${JSON.stringify(p.lines())}`);
  return line.slice(head.length);
}
