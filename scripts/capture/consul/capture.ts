// Captures what the real Consul lock recipes write, for the decoder's table tests:
//   npx tsx scripts/capture/consul/capture.ts
// Starts a dev agent (scripts/servers/consul.ts), runs each scenario with the real
// hashicorp/consul/api (Go hold program) or the real `consul lock` CLI, and dumps the KV
// entries under the scenario's prefix plus /v1/session/list into
// lib/formats/testdata/consul/<scenario>.json (format: ConsulFixture in
// lib/formats/consul/entry.ts). Fixture ids and indexes change on every run.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startConsul, type ConsulServer } from "../../servers/consul";
import { parseKv, type ConsulFixture, type ConsulSession } from "../../../lib/formats/consul/entry";
import type { HoldProcess } from "../hold";
import { holdApiLock, holdApiPair, holdApiSemaphore, holdConsulCli, prepareConsulCapture } from "./hold";
import { dump, kv, putRaw, waitUntil } from "./dump";

const OUT = path.resolve(__dirname, "../../../lib/formats/testdata/consul");
const READY_MS = 30_000;

function apiVersion(): string {
  const mod = readFileSync(path.join(__dirname, "go.mod"), "utf8");
  return /github\.com\/hashicorp\/consul\/api (v\S+)/.exec(mod)?.[1]?.replace(/^v/, "") ?? "?";
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const bin = await prepareConsulCapture();
  const consul = await startConsul();
  const procs: HoldProcess[] = [];
  const hold = (p: HoldProcess) => (procs.push(p), p);
  const server = `consul ${await kv(consul, "GET", "/v1/agent/self").then((r) => JSON.parse(r).Config.Version)}`;
  const api = { library: "hashicorp/consul/api", version: apiVersion(), server };
  const cli = { library: "consul lock (CLI)", version: server.replace("consul ", ""), server };
  const save = async (scenario: string, meta: { library: string; version: string; server: string }, program: string, prefix: string) => {
    const fixture: ConsulFixture = await dump(consul, prefix, { ...meta, scenario, program, capturedAt: new Date().toISOString() });
    writeFileSync(path.join(OUT, `${scenario}.json`), JSON.stringify(fixture, null, 2) + "\n");
    console.error(`captured ${scenario}: ${fixture.entries.length} entries, ${fixture.sessions.length} sessions`);
  };
  try {
    // api.Lock: one held key (lock-delay 5 s, a value), and one released key left behind free.
    const free = hold(holdApiLock(bin, consul.addr, "capture/api-lock/free"));
    await free.waitForLine("READY", READY_MS);
    await free.release();
    const held = hold(holdApiLock(bin, consul.addr, "capture/api-lock/payout", { lockDelay: "5s", value: "worker-7" }));
    await held.waitForLine("READY", READY_MS);
    await save("api-lock", api, "scripts/capture/consul lock", "capture/api-lock/");
    await held.release();

    // One session holding two api.Lock keys.
    const pair = hold(holdApiPair(bin, consul.addr, "capture/pair/a", "capture/pair/b", { lockDelay: "2s" }));
    await pair.waitForLine("READY", READY_MS);
    await save("api-lock-pair", api, "scripts/capture/consul pair", "capture/pair/");
    await pair.release();

    // `consul lock` (n = 1): api.Lock on <prefix>/.lock.
    const cliLock = hold(holdConsulCli(consul.bin, consul.addr, "capture/cli/deploy"));
    await cliLock.waitForLine("READY", READY_MS);
    await save("cli-lock", cli, "consul lock capture/cli/deploy", "capture/cli/");
    await cliLock.release();

    // api.Semaphore, limit 2: two holders and one waiter.
    const sems = [0, 1, 2].map(() => hold(holdApiSemaphore(bin, consul.addr, "capture/sem/workers", 2)));
    await waitUntil(async () => sems.filter((p) => p.lines().includes("READY")).length === 2, "two semaphore holders");
    await waitUntil(async () => (await contenders(consul, "capture/sem/workers/")) === 3, "three contender keys");
    await save("api-semaphore", api, "scripts/capture/consul semaphore ×3 (limit 2)", "capture/sem/");
    await releaseHoldersFirst(sems);

    // `consul lock -n 2`: the semaphore through the CLI, two holders and one waiter.
    const clis = [0, 1, 2].map(() => hold(holdConsulCli(consul.bin, consul.addr, "capture/cli-sem/batch", { n: 2 })));
    await waitUntil(async () => clis.filter((p) => p.lines().includes("READY")).length === 2, "two CLI semaphore holders");
    await waitUntil(async () => (await contenders(consul, "capture/cli-sem/batch/")) === 3, "three CLI contender keys");
    await save("cli-semaphore", cli, "consul lock -n 2 ×3", "capture/cli-sem/");
    await releaseHoldersFirst(clis);

    // A semaphore whose .lock still names a holder whose session was destroyed (behavior=delete
    // removed its contender key; .lock is rewritten only on the next acquire/release).
    const dead = [0, 1].map(() => hold(holdApiSemaphore(bin, consul.addr, "capture/sem-dead/pool", 3)));
    await waitUntil(async () => dead.every((p) => p.lines().includes("READY")), "two holders");
    const victim = (JSON.parse(await kv(consul, "GET", "/v1/kv/capture/sem-dead/pool/?recurse")) as Array<{ Key: string; Session?: string }>).find(
      (e) => e.Session,
    )!.Session!;
    await kv(consul, "PUT", `/v1/session/destroy/${victim}`);
    await waitUntil(async () => (await contenders(consul, "capture/sem-dead/pool/")) === 1, "the victim's contender key to go");
    await save("api-semaphore-dead-holder", api, "scripts/capture/consul semaphore ×2, one session destroyed", "capture/sem-dead/");
    await releaseHoldersFirst(dead);

    // Generic: a key acquired with a session by a plain HTTP client (flags 0), next to a
    // key the same session released (LockIndex 1, free) and plain data (never a lock).
    const sid = (
      JSON.parse(await kv(consul, "PUT", "/v1/session/create", JSON.stringify({ Name: "billing-leader", TTL: "30s", LockDelay: "1s" }))) as { ID: string }
    ).ID;
    await kv(consul, "PUT", `/v1/kv/capture/generic/leader?acquire=${sid}`, "node-a:8080");
    await kv(consul, "PUT", `/v1/kv/capture/generic/was-held?acquire=${sid}`, "x");
    await kv(consul, "PUT", `/v1/kv/capture/generic/was-held?release=${sid}`, "x");
    await kv(consul, "PUT", `/v1/kv/capture/generic/config`, "plain data");
    await save(
      "generic-session",
      { library: "Consul HTTP API (?acquire)", version: server.replace("consul ", ""), server },
      "capture.ts: session/create + kv ?acquire",
      "capture/generic/",
    );
    await kv(consul, "PUT", `/v1/session/destroy/${sid}`);

    // Look-alikes that do not parse: semaphore flags with bad JSON, a .lock with foreign flags,
    // a contender key without its .lock.
    const sid2 = (JSON.parse(await kv(consul, "PUT", "/v1/session/create", JSON.stringify({ Name: "bad-writer", TTL: "30s" }))) as { ID: string }).ID;
    await putRaw(consul, "capture/bad/sem/.lock", "{not json", "16210313421097356768");
    await putRaw(consul, `capture/bad/sem/${sid2}`, "", "16210313421097356768", sid2);
    await putRaw(consul, "capture/bad/flags/.lock", "{}", "42");
    await putRaw(consul, `capture/bad/orphan/${sid2}`, "", "16210313421097356768", sid2);
    await save(
      "malformed",
      { library: "Consul HTTP API (hand-written look-alikes)", version: server.replace("consul ", ""), server },
      "capture.ts: kv puts",
      "capture/bad/",
    );
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    await consul.stop();
  }
}

/** Holders first: a waiter only gets to read its stdin line once it holds a permit. */
async function releaseHoldersFirst(ps: HoldProcess[]): Promise<void> {
  const holders = ps.filter((p) => p.lines().includes("READY"));
  for (const p of holders) await p.release();
  for (const p of ps.filter((x) => !holders.includes(x))) await p.release();
}

async function contenders(consul: ConsulServer, dir: string): Promise<number> {
  const text = await kv(consul, "GET", `/v1/kv/${dir}?recurse`).catch(() => "[]");
  return parseKv(text || "[]").filter((e) => !e.Key.endsWith("/.lock") && e.Session).length;
}

export type { ConsulSession };

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
