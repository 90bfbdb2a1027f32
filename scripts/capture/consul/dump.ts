// Dumps a Consul agent's KV entries under a prefix and its sessions as a ConsulFixture
// (lib/formats/consul/entry.ts): Consul's own JSON shapes, Flags kept as exact decimal
// strings, entries sorted by key, `now` taken just before the reads.
//
//   npx tsx scripts/capture/consul/dump.ts <http-addr> <prefix> <out.json> [scenario]
//
// Helpers for the capture driver and tests live here too (raw HTTP, no LockDeck code).

import { writeFileSync } from "node:fs";
import { parseKv, type ConsulFixture, type ConsulSession } from "../../../lib/formats/consul/entry";
import { waitFor } from "../../servers/process";

interface Agent {
  url: string;
  token?: string;
}

/** One raw HTTP call to the agent; throws on non-2xx (404 answers ""). */
export async function kv(agent: Agent, method: "GET" | "PUT" | "DELETE", path: string, body?: string): Promise<string> {
  const res = await fetch(agent.url + path, {
    method,
    body,
    headers: agent.token ? { "x-consul-token": agent.token } : {},
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  if (res.status === 404) return "";
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text;
}

/** PUT with explicit flags (a decimal string: uint64) and optionally ?acquire. Returns Consul's true/false. */
export async function putRaw(agent: Agent, key: string, value: string, flags: string, acquire?: string): Promise<boolean> {
  const q = `flags=${flags}${acquire ? `&acquire=${acquire}` : ""}`;
  return (await kv(agent, "PUT", `/v1/kv/${key}?${q}`, value)).trim() === "true";
}

export async function dump(agent: Agent, prefix: string, capture: ConsulFixture["capture"]): Promise<ConsulFixture> {
  const now = Date.now();
  const entries = parseKv((await kv(agent, "GET", `/v1/kv/${prefix}?recurse&consistent`)) || "[]").sort((a, b) => (a.Key < b.Key ? -1 : 1));
  const sessions = (JSON.parse((await kv(agent, "GET", "/v1/session/list?consistent")) || "[]") as ConsulSession[]) ?? [];
  // Only the sessions this prefix's entries name (the agent may have others from other scenarios).
  const named = new Set<string>();
  for (const e of entries) {
    if (e.Session) named.add(e.Session);
    if (e.Key.endsWith("/.lock") && e.Value) {
      try {
        for (const h of Object.keys((JSON.parse(Buffer.from(e.Value, "base64").toString("utf8")) as { Holders?: object }).Holders ?? {})) named.add(h);
      } catch {
        // not semaphore JSON
      }
    }
  }
  return { capture, now, entries, sessions: sessions.filter((s) => named.has(s.ID)) };
}

export function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  return waitFor(check, { timeoutMs, intervalMs: 50, what });
}

if (require.main === module) {
  const [addr, prefix, out, scenario = "manual"] = process.argv.slice(2);
  if (!addr || !prefix || !out) {
    console.error("usage: dump.ts <http-addr> <prefix> <out.json> [scenario]");
    process.exit(2);
  }
  const agent = { url: addr.startsWith("http") ? addr : `http://${addr}`, token: process.env.CONSUL_HTTP_TOKEN };
  dump(agent, prefix, { library: "manual", version: "", scenario, program: "dump.ts", server: addr, capturedAt: new Date().toISOString() })
    .then((f) => writeFileSync(out, JSON.stringify(f, null, 2) + "\n"))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
