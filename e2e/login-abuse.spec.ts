// Abuse of sign-in and sign-out against the real servers of the rig (scripts/e2e.ts):
//   secure `npm start`, users + a trusted proxy at 127.0.0.2 (E2E_SECURE_URL; limits: 5 per
//          address and name, 8 per name, so 50 per address across names a minute)
//   bare   a plain `next start` with the same config (E2E_BARE_URL): no socket peer is known
// A flood of random names from one address must not lock anyone else out of sign-in, nor write
// a line per refusal; an anonymous sign-out writes nothing; a client's X-Forwarded-Proto never
// makes the session cookie Secure.
import { expect, test } from "@playwright/test";
import { randomBytes } from "node:crypto";
import { JSON_POST, raw, sessionFrom, type RawAnswer } from "./raw-http";

const secure = process.env.E2E_SECURE_URL!;
const bare = process.env.E2E_BARE_URL!;
const proxyAddr = process.env.E2E_PROXY_ADDRESS!;

type Entry = { action: string; actor: string; outcome?: string; sourceIp?: string; detail?: string };

const attempt = (base: string, name: string, password: string, o: { from?: string; headers?: Record<string, string> } = {}): Promise<RawAnswer> =>
  raw(base, "/api/auth/login", { method: "POST", headers: { ...JSON_POST, ...o.headers }, body: JSON.stringify({ name, password }), from: o.from });

async function trail(): Promise<Entry[]> {
  const signIn = await attempt(secure, "ana", "ana-pass-1", { from: "127.0.0.13" });
  expect(signIn.status, signIn.text).toBe(200);
  const a = await raw(secure, "/api/audit?limit=5000", { headers: { cookie: sessionFrom(signIn) } });
  expect(a.status).toBe(200);
  return (a.json() as unknown as { entries: Entry[] }).entries;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a flood of random names from one address: another user still signs in, and the trail stays short", async () => {
  test.setTimeout(120_000);
  const attacker = "127.0.0.9";
  const flood: Record<number, number> = {};
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const s = (await attempt(secure, `x${randomBytes(6).toString("hex")}`, "x", { from: attacker })).status;
      flood[s] = (flood[s] ?? 0) + 1;
      if (s !== 401) await sleep(10);
    }
  };
  const workers = Array.from({ length: 30 }, worker);
  const legit: number[] = [];
  try {
    const started = Date.now() + 20_000;
    while (!flood[503] && !flood[429] && Date.now() < started) await sleep(20);
    expect(flood[503] || flood[429], "the flood is being refused").toBeTruthy();
    for (const from of ["127.0.0.10", "127.0.0.11", "127.0.0.12"]) {
      const a = await attempt(secure, "vic", "vic-pass-1", { from });
      legit.push(a.status);
    }
    const limited = Date.now() + 60_000;
    while (!flood[429] && Date.now() < limited) await sleep(50);
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  expect(legit, "vic's sign-ins during the flood").toEqual([200, 200, 200]);
  expect(flood[429], "the flooding address is limited across names").toBeGreaterThan(0);
  const total = Object.values(flood).reduce((a, b) => a + b, 0);
  const mine = (await trail()).filter((e) => e.action === "login" && e.sourceIp === attacker);
  const by = (o: string) => mine.filter((e) => e.outcome === o);
  // At most 50 password checks a minute from one address; refusals before a check are one line
  // per kind and window (the flood may straddle two windows).
  expect(by("denied").length).toBeLessThanOrEqual(100);
  expect(by("rate_limited").length).toBeGreaterThanOrEqual(1);
  expect(by("rate_limited").length).toBeLessThanOrEqual(2);
  expect(by("refused").length).toBeLessThanOrEqual(2);
  expect(mine.length).toBeLessThan(total);
  expect(by("rate_limited")[0].detail).toMatch(/too many attempts from 127\.0\.0\.9 across names/);
});

test("a sign-out from nobody signed in is answered and leaves no line", async () => {
  const before = (await trail()).filter((e) => e.action === "logout").length;
  const statuses = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const out = await raw(secure, "/api/auth/logout", {
      method: "POST",
      headers: { ...JSON_POST, ...(i % 2 ? { cookie: "lockdeck_session=made-up" } : {}) },
      body: "{}",
      from: "127.0.0.14",
    });
    statuses.add(out.status);
  }
  expect([...statuses]).toEqual([200]);
  expect((await trail()).filter((e) => e.action === "logout")).toHaveLength(before);
});

test("the session cookie is Secure only on a trusted proxy's word, never on a client's X-Forwarded-Proto", async () => {
  const https = { "x-forwarded-proto": "https" };
  // A bare `next start` takes the request URL's scheme from this header: it must not count.
  const bareAnswer = await attempt(bare, "bo", "bo-pass-1", { headers: https });
  expect(bareAnswer.status, bareAnswer.text).toBe(200);
  expect(String(bareAnswer.headers["set-cookie"])).toMatch(/^lockdeck_session=/);
  expect(String(bareAnswer.headers["set-cookie"])).not.toMatch(/Secure/i);
  const untrusted = await attempt(secure, "bo", "bo-pass-1", { from: "127.0.0.15", headers: https });
  expect(untrusted.status, untrusted.text).toBe(200);
  expect(String(untrusted.headers["set-cookie"])).not.toMatch(/Secure/i);
  const proxied = await attempt(secure, "bo", "bo-pass-1", { from: proxyAddr, headers: { ...https, "x-forwarded-for": "198.51.100.50" } });
  expect(proxied.status, proxied.text).toBe(200);
  expect(String(proxied.headers["set-cookie"])).toMatch(/; Secure/);
});
