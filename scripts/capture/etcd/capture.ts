// Captures what the real etcd lock libraries write, into lib/formats/testdata/etcd/*.json
// (EtcdFixture in lib/formats/etcd/entry.ts). See README.md here.
//
//   npx tsx scripts/capture/etcd/capture.ts [scenario ...]     (default: all)
//
// Each scenario runs on a fresh single-member etcd (scripts/servers/etcd.ts), waits by
// condition until every holder, waiter and candidate key exists, dumps every key (with
// values, revisions and leases) plus LeaseTimeToLive(keys: true) of every lease, then lets go.
import fs from "node:fs";
import path from "node:path";
import { Etcd3 } from "etcd3";
import { startEtcd, etcdctl, type EtcdServer } from "../../servers/etcd";
import { waitFor } from "../../servers/process";
import type { HoldProcess } from "../hold";
import { etcdctlElect, etcdctlLock, goHold, goWaits, interrupt, lineValue, prepareGoHold } from "./hold";
import { clientLine } from "../waits";
import { bytesToJson, type EtcdFixture, type LeaseInfo } from "../../../lib/formats/etcd/entry";
import { keyFromBytes } from "../../../lib/keys";

const OUT = path.resolve(__dirname, "../../../lib/formats/testdata/etcd");
const READY_MS = 30_000;

interface Ctx {
  etcd: EtcdServer;
  client: Etcd3;
  go: string;
  holds: HoldProcess[];
  notes: Record<string, unknown>;
}

async function keysUnder(client: Etcd3, prefix: string): Promise<number> {
  return (await client.getAll().prefix(prefix).keys()).length;
}

async function until(client: Etcd3, prefix: string, n: number) {
  await waitFor(async () => (await keysUnder(client, prefix)) >= n, { timeoutMs: READY_MS, what: `${n} keys under ${prefix}` });
}

async function dump(c: Ctx, scenario: string, library: string, version: string, program: string) {
  const now = Date.now();
  const res = await c.client.kv.range({ key: Buffer.from([0]), range_end: Buffer.from([0]) });
  const entries = res.kvs.map((kv) => ({
    key: keyFromBytes(kv.key),
    value: bytesToJson(kv.value ?? Buffer.alloc(0)),
    createRevision: String(kv.create_revision),
    modRevision: String(kv.mod_revision),
    version: String(kv.version),
    lease: String(kv.lease),
  }));
  const leases: LeaseInfo[] = [];
  for (const id of new Set(entries.map((e) => e.lease).filter((l) => l !== "0"))) {
    const t = await c.client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
    leases.push({ id, ttlSec: Number(t.TTL), grantedSec: Number(t.grantedTTL), keys: t.keys.map((k) => keyFromBytes(k)) });
  }
  const server = (await c.client.maintenance.status()).version;
  const fixture: EtcdFixture = {
    capture: { library, version, scenario, program, server: `etcd ${server}`, capturedAt: new Date(now).toISOString() },
    now,
    revision: String(res.header.revision),
    entries,
    leases,
    notes: c.notes,
  };
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${scenario}.json`);
  fs.writeFileSync(file, JSON.stringify(fixture, null, 2) + "\n");
  console.error(`wrote ${path.relative(process.cwd(), file)} (${entries.length} keys, ${leases.length} leases)`);
}

async function etcdctlVersion(ep: string) {
  return (await etcdctl(ep, ["version"])).split("\n")[0].replace(/^etcdctl version:\s*/, "");
}

const GO_VERSION = () => /go\.etcd\.io\/etcd\/client\/v3 (v\S+)/.exec(fs.readFileSync(path.join(__dirname, "go", "go.mod"), "utf8"))?.[1] ?? "?";
const JS_VERSION = () => JSON.parse(fs.readFileSync(require.resolve("etcd3/package.json"), "utf8")).version as string;

/** Each scenario holds its locks, then calls dump. */
const SCENARIOS: Record<string, (c: Ctx) => Promise<void>> = {
  /** `etcdctl lock` holder and two waiters, started one after another. */
  async "etcdctl-lock"(c) {
    const ep = c.etcd.endpoint;
    const holder = track(c, etcdctlLock(ep, "locks/etcdctl-job"));
    await waitFor(async () => holder.lines().some((l) => l.startsWith("locks/etcdctl-job/")), { timeoutMs: READY_MS, what: "etcdctl lock holder" });
    c.notes.holderKey = holder.lines()[0];
    for (let i = 1; i <= 2; i++) {
      track(c, etcdctlLock(ep, "locks/etcdctl-job"));
      await until(c.client, "locks/etcdctl-job/", 1 + i);
    }
    await dump(c, "etcdctl-lock", "etcdctl lock", await etcdctlVersion(ep), "scripts/capture/etcd/hold.ts etcdctlLock (--ttl=10)");
  },
  /** `etcdctl elect` leader "alpha" and a candidate "beta". */
  async "etcdctl-elect"(c) {
    const ep = c.etcd.endpoint;
    const leader = track(c, etcdctlElect(ep, "election-cli/web", "alpha"));
    await waitFor(async () => leader.lines().includes("alpha"), { timeoutMs: READY_MS, what: "etcdctl elect leader" });
    c.notes.leaderKey = leader.lines()[0];
    track(c, etcdctlElect(ep, "election-cli/web", "beta"));
    await until(c.client, "election-cli/web/", 2);
    await dump(c, "etcdctl-elect", "etcdctl elect", await etcdctlVersion(ep), "scripts/capture/etcd/hold.ts etcdctlElect");
  },
  /** Go concurrency.Mutex: a holder (default session TTL 60 s) and one waiter. */
  async "go-mutex"(c) {
    const holder = track(c, goHold(c.go, c.etcd.endpoint, ["mutex:locks/go-job"]));
    await holder.waitForLine("READY", READY_MS);
    c.notes.holder = { lease: lineValue(holder, "LEASE"), held: lineValue(holder, "HELD") };
    const waiter = track(c, goHold(c.go, c.etcd.endpoint, ["mutex:locks/go-job"]));
    await waitFor(async () => waiter.lines().some((l) => l.startsWith("LEASE ")), { timeoutMs: READY_MS, what: "waiter session" });
    await until(c.client, "locks/go-job/", 2);
    c.notes.waiterLease = lineValue(waiter, "LEASE");
    await dump(c, "go-mutex", "go.etcd.io/etcd/client/v3/concurrency Mutex", GO_VERSION(), "scripts/capture/etcd/go hold mutex:locks/go-job");
  },
  /** Go concurrency.Election: leader "node-a", candidate "node-b". */
  async "go-election"(c) {
    const leader = track(c, goHold(c.go, c.etcd.endpoint, ["elect:election-go/leader=node-a"], 30));
    await leader.waitForLine("READY", READY_MS);
    c.notes.leader = { lease: lineValue(leader, "LEASE"), held: lineValue(leader, "HELD") };
    track(c, goHold(c.go, c.etcd.endpoint, ["elect:election-go/leader=node-b"], 30));
    await until(c.client, "election-go/leader/", 2);
    await dump(c, "go-election", "go.etcd.io/etcd/client/v3/concurrency Election", GO_VERSION(), "scripts/capture/etcd/go hold elect:election-go/leader=...");
  },
  /** One Go session (one lease) holding two mutexes and leading an election: the blast radius of a revoke. */
  async "go-shared-lease"(c) {
    const p = track(c, goHold(c.go, c.etcd.endpoint, ["mutex:locks/orders", "mutex:locks/payments", "elect:election-go/billing=worker-7"], 20));
    await p.waitForLine("READY", READY_MS);
    c.notes.lease = lineValue(p, "LEASE");
    c.notes.held = p.lines().filter((l) => l.startsWith("HELD "));
    await dump(
      c,
      "go-shared-lease",
      "go.etcd.io/etcd/client/v3/concurrency Mutex + Election",
      GO_VERSION(),
      "scripts/capture/etcd/go hold --ttl 20 mutex:... mutex:... elect:...",
    );
  },
  /**
   * Two Go sessions, each holding one Mutex and waiting for the other's: a real deadlock. The
   * lease that holds locks/waits/a is the one queued on locks/waits/b, and the other way round.
   */
  async "go-waits-cycle"(c) {
    const p = track(c, goWaits(c.go, c.etcd.endpoint, ["locks/waits/a>locks/waits/b", "locks/waits/b>locks/waits/a"], 30));
    await p.waitForLine("READY", READY_MS);
    c.notes.leases = [clientLine(p, "LEASE", 0), clientLine(p, "LEASE", 1)];
    await dump(
      c,
      "go-waits-cycle",
      "go.etcd.io/etcd/client/v3/concurrency Mutex",
      GO_VERSION(),
      "scripts/capture/etcd/go waits --ttl 30 locks/waits/a>locks/waits/b locks/waits/b>locks/waits/a",
    );
  },
  /** The server's v3lock API (gRPC gateway POST /v3/lock/lock) on caller leases: a holder and a blocked caller. */
  async "v3lock-api"(c) {
    const post = (p: string, body: unknown, signal?: AbortSignal) =>
      fetch(new URL(p, c.etcd.endpoint), { method: "POST", body: JSON.stringify(body), signal }).then((r) => r.json() as Promise<Record<string, string>>);
    const l1 = (await post("/v3/lease/grant", { TTL: 60 })).ID;
    const l2 = (await post("/v3/lease/grant", { TTL: 60 })).ID;
    const name = Buffer.from("locks/api-job").toString("base64");
    const got = await post("/v3/lock/lock", { name, lease: l1 });
    c.notes.holderKey = Buffer.from(got.key, "base64").toString();
    const blocked = new AbortController();
    const waiting = post("/v3/lock/lock", { name, lease: l2 }, blocked.signal).catch(() => null);
    await until(c.client, "locks/api-job/", 2);
    await dump(c, "v3lock-api", "etcd v3lock API (server-side Mutex)", "etcd server", "scripts/capture/etcd/capture.ts POST /v3/lock/lock");
    blocked.abort();
    await waiting;
  },
  /** npm etcd3 Lock (one key, no queue) and Election (decimal lease suffix) with two campaigners. */
  async etcd3js(c) {
    const a = new Etcd3({ hosts: c.etcd.endpoint });
    const b = new Etcd3({ hosts: c.etcd.endpoint });
    try {
      const lock = a.lock("locks/js-single").ttl(30);
      await lock.acquire();
      c.notes.lockLease = await lock.leaseId();
      const ca = a
        .election("web-js", 60)
        .campaign("node-1")
        .on("error", () => {});
      await waitFor(async () => (await keysUnder(c.client, "election/web-js/")) >= 1, { timeoutMs: READY_MS, what: "first campaign" });
      b.election("web-js", 60)
        .campaign("node-2")
        .on("error", () => {});
      await until(c.client, "election/web-js/", 2);
      c.notes.leaderKey = await ca.getCampaignKey();
      await dump(c, "etcd3js", "npm etcd3 Lock + Election", JS_VERSION(), "scripts/capture/etcd/capture.ts etcd3js");
      await lock.release();
    } finally {
      a.close();
      b.close();
    }
  },
  /**
   * Keys a console must not mistake for locks, next to a real Go holder: no lease, a lease with
   * a value and a name that is not the lease, a foreign key inside a Mutex queue; and one
   * lease revoked between the range and the TTL read (TTL -1, the expired-lease race).
   */
  async lookalikes(c) {
    const holder = track(c, goHold(c.go, c.etcd.endpoint, ["mutex:locks/mixed"], 30));
    await holder.waitForLine("READY", READY_MS);
    await c.client.put("locks/mixed/not-a-lease").value("debris");
    await c.client.put("locks/plain-no-lease").value("1");
    const reg = c.client.lease(60, { autoKeepAlive: false });
    await reg.put("locks/registration/web-1").value('{"addr":"10.0.0.1"}');
    const doomed = c.client.lease(60, { autoKeepAlive: false });
    await doomed.put("locks/expiring-js-style").value("");
    const doomedId = await doomed.grant();
    const res = await c.client.kv.range({ key: Buffer.from([0]), range_end: Buffer.from([0]) });
    await doomed.revoke();
    c.notes.revokedLease = doomedId;
    // Dump the range taken before the revoke, with TTLs read after it.
    const saved = c.client.kv.range.bind(c.client.kv);
    c.client.kv.range = (async () => res) as typeof c.client.kv.range;
    try {
      await dump(c, "lookalikes", "(hand-written keys) + Go concurrency.Mutex", GO_VERSION(), "scripts/capture/etcd/capture.ts lookalikes");
    } finally {
      c.client.kv.range = saved;
      await reg.revoke();
    }
  },
};

function track(c: Ctx, p: HoldProcess): HoldProcess {
  c.holds.push(p);
  return p;
}

async function main(names: string[]) {
  const go = await prepareGoHold();
  const chosen = names.length ? names : Object.keys(SCENARIOS);
  for (const name of chosen) {
    const run = SCENARIOS[name];
    if (!run) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(" ")}`);
    const etcd = await startEtcd();
    const client = new Etcd3({ hosts: etcd.endpoint });
    const c: Ctx = { etcd, client, go, holds: [], notes: {} };
    try {
      console.error(`== ${name}`);
      await run(c);
    } finally {
      for (const p of c.holds) {
        if (!p.running()) continue;
        if (p.label.startsWith("etcdctl")) await interrupt(p).catch(() => p.kill());
        else await p.release().catch(() => p.kill());
      }
      client.close();
      await etcd.stop();
    }
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
