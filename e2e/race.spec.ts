// The race harness on every store (reliability plan rows 15–16): 8 real lock clients with
// unique identities churn one lock while 2 operators force-release it through a real console's
// HTTP API as fast as they can, each with the fence of the holding it just read. It passes only
// if every holding that ended without its owner releasing it is exactly one the console
// answered 200 for (and every 200 is such a holding) — counting a holding taken away before its
// contender's lock call returned, which the churn programs report from the store's own record —,
// no release removed a contender that was only waiting, at least 20 releases applied, some were
// refused as changed, and nothing answered 5xx. Where the store has a fencing token, a fenced
// register shows what it buys: an evicted holder's late write is refused once the next holder
// wrote, and a holder that still held the lock is never refused.
import { expect, test } from "@playwright/test";
import { startConsole, type Console } from "../scripts/servers/console";
import { judgeRace, operate, startChurnProcess, startRegister, type Churn, type Register } from "../scripts/servers/race";
import { startRedlockChurn } from "../scripts/capture/redlock/churn";
import { prepareGoHold } from "../scripts/capture/etcd/hold";
import { prepareConsulCapture } from "../scripts/capture/consul/hold";
import { prepareKazoo } from "../scripts/capture/kazoo/prepare";
import path from "node:path";

const CONTENDERS = 8;
const OPERATORS = 2;
const MIN_APPLIED = 20;
const env = process.env;
let lockdeck: Console;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  lockdeck = await startConsole({
    config: {
      connections: [
        { id: "redis", kind: "redis", url: env.E2E_REDIS_URL, patterns: ["race:*"], notifications: "use" },
        { id: "etcd", kind: "etcd", endpoints: [env.E2E_ETCD_ENDPOINT], prefixes: ["race/"] },
        { id: "zookeeper", kind: "zookeeper", connectString: env.E2E_ZK_ADDRESS, roots: ["/race"] },
        { id: "consul", kind: "consul", url: env.E2E_CONSUL_URL, prefixes: ["race/"] },
      ],
      auth: { releaseRateLimit: { max: 100_000, perSeconds: 60 } },
    },
  });
});
test.afterAll(async () => {
  await lockdeck?.stop();
});

async function race(connection: string, key: string, start: (register: Register) => Promise<Churn>, fenced: boolean) {
  test.setTimeout(100_000);
  const register = await startRegister();
  const churn = await start(register);
  try {
    // The console sees the lock held before the operators start.
    const lockUrl = `${lockdeck.url}/api/connections/${connection}/lock?key=${encodeURIComponent(key)}`;
    await expect.poll(async () => (await fetch(lockUrl)).status, { timeout: 20_000, message: `${connection} shows ${key}` }).toBe(200);
    const started = Date.now();
    const answers = await operate({
      base: lockdeck.url,
      connection,
      key,
      operators: OPERATORS,
      done: (a) => {
        const elapsed = Date.now() - started;
        const applied = a.filter((x) => x.status === 200).length;
        return (elapsed > 5_000 && applied >= MIN_APPLIED + 10) || elapsed > 40_000;
      },
    });
    const holdings = await churn.stop();
    const v = judgeRace(holdings, answers, fenced ? register : undefined);
    console.log(
      `${connection}: ${v.holdings} holdings by ${CONTENDERS} ${churn.label} contenders in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `operators: ${v.applied} applied, ${v.changed} refused as changed (409), ${v.gone} gone (404), ${answers.filter((a) => a.status === 0).length} reads with no holder; ` +
        `lost holdings ${holdings.filter((h) => h.end === "lost").length} (${holdings.filter((h) => h.end === "lost" && h.from === h.to).length} before their contender saw them)` +
        (v.register
          ? `; register: ${v.register.lateRefused} late writes of evicted holders refused, ${v.register.lateAcceptedAfterEviction} landed before the next holder wrote`
          : ""),
    );
    const said = churn.stderr?.().trim();
    if (said) console.log(`${connection} contenders' stderr (last lines):\n${said.split("\n").slice(-20).join("\n")}`);
    expect(v.serverErrors, "no 5xx").toEqual([]);
    expect(v.unknownEnds, "every holder knows how its holding ended").toEqual([]);
    expect(v.waitersRemoved, "no release removed a contender that was still waiting").toEqual([]);
    expect(v.lostUnexplained, "every holding lost without its owner releasing it is one the console said it released").toEqual([]);
    expect(v.appliedUnexplained, "every 200 is a holding its owner then found gone").toEqual([]);
    expect(v.applied).toBeGreaterThanOrEqual(MIN_APPLIED);
    expect(v.changed).toBeGreaterThan(0);
    expect(new Set(holdings.map((h) => h.who)).size).toBe(CONTENDERS);
    if (v.register) {
      expect(v.register.refusedLegit, "the register never refused a holder that still held the lock").toEqual([]);
      expect(v.register.lateRefused, "fencing refused at least one evicted holder's late write").toBeGreaterThan(0);
    }
  } finally {
    await churn.stop().catch(() => []);
    await register.close();
  }
}

test("Redis: node-redlock contenders, 2 operators force-releasing", async () => {
  const key = `race:redlock-${Date.now()}`;
  await race("redis", key, async () => startRedlockChurn(env.E2E_REDIS_URL!, key, CONTENDERS), false);
});

test("etcd: Go concurrency.Mutex contenders, 2 operators force-releasing, fenced by create_revision", async () => {
  const prefix = `race/go-${Date.now()}`;
  const bin = await prepareGoHold();
  await race(
    "etcd",
    `${prefix}/`,
    (r) => startChurnProcess("etcd Go Mutex", bin, ["churn", env.E2E_ETCD_ENDPOINT!, prefix, String(CONTENDERS), "--register", r.url]),
    true,
  );
});

test("ZooKeeper: kazoo Lock contenders, 2 operators force-releasing, fenced by czxid", async () => {
  const lockPath = `/race/kazoo-${Date.now()}`;
  const kazoo = await prepareKazoo();
  const script = path.join(path.dirname(kazoo.script), "churn.py");
  await race(
    "zookeeper",
    lockPath,
    (r) => startChurnProcess("kazoo Lock", kazoo.python, [script, env.E2E_ZK_ADDRESS!, lockPath, String(CONTENDERS), r.url]),
    true,
  );
});

test("Consul: api.Lock contenders, 2 operators force-releasing, fenced by LockIndex", async () => {
  const key = `race/api-${Date.now()}`;
  const bin = await prepareConsulCapture();
  await race(
    "consul",
    key,
    (r) => startChurnProcess("consul api.Lock", bin, ["churn", "-register", r.url, env.E2E_CONSUL_ADDR!, key, String(CONTENDERS)]),
    true,
  );
});
