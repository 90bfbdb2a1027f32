// Sign-in and sign-out through the registry, with real scrypt hashes and requests as
// scripts/start.mjs hands them on (the socket peer in the map on globalThis, its id in the
// header): a flood from one address does not starve other users, refusals do not write a line
// each, a sign-out with no session leaves no line, and the cookie's Secure flag comes only from
// what the server can vouch for.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Registry } from "../registry";
import { ConfigSchema } from "../config";
import { hashPassword } from "../auth/password";
import { PEER_HEADER } from "../auth/net.mjs";
import { login, logout } from "./login";

const g = globalThis as unknown as { __lockdeckPeers?: Map<string, string> };

/** A request as npm start passes it on from `from` (no from: a bare `next start`, peer unknown). */
function req(o: { from?: string; url?: string; headers?: Record<string, string> } = {}): Request {
  const headers: Record<string, string> = { "content-type": "application/json", "x-lockdeck-csrf": "1", ...o.headers };
  if (o.from) {
    g.__lockdeckPeers ??= new Map();
    const id = randomBytes(16).toString("base64url");
    g.__lockdeckPeers.set(id, o.from);
    headers[PEER_HEADER] = id;
  }
  return new Request(o.url ?? "http://lockdeck.test/api/auth/login", { method: "POST", headers });
}

/** The HTTP status a call answers: 200 when it resolves, else its HttpError's. */
const status = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: { status?: number }) => e.status ?? 500,
  );

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("sign-in and sign-out", () => {
  let reg: Registry;

  beforeAll(async () => {
    reg = new Registry(
      ConfigSchema.parse({
        connections: [{ id: "m", kind: "memory", workload: false }],
        dataDir: mkdtempSync(path.join(tmpdir(), "ld-login-")),
        history: { enabled: false },
        auth: {
          users: [
            { name: "ana", role: "operator", passwordHash: await hashPassword("ana-pass") },
            { name: "vic", role: "viewer", passwordHash: await hashPassword("vic-pass") },
          ],
          proxy: { trustedProxies: ["10.9.0.0/16"] },
          // Default per address across names: 10 × max = 20.
          loginRateLimit: { max: 2, perSeconds: 60, maxPerName: 50 },
        },
      }),
    );
  });
  afterAll(async () => {
    for (const c of reg.connections.values()) await c.hub.stop();
  });

  const lines = (pred: (e: ReturnType<Registry["audit"]["entries"]>[number]) => boolean) => reg.audit.entries().filter(pred);

  it("one address flooding random names neither starves another user's sign-in (no 503) nor writes a line per refusal", async () => {
    const attacker = "203.0.113.9";
    const flood: Record<number, number> = {};
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const s = await status(login(reg, { name: `x${randomBytes(6).toString("hex")}`, password: "x" }, req({ from: attacker })));
        flood[s] = (flood[s] ?? 0) + 1;
        await sleep(s === 401 ? 0 : 5);
      }
    };
    const workers = Array.from({ length: 30 }, worker);
    try {
      // The flood is under way: its first refusals are back.
      const deadline = Date.now() + 10_000;
      while (!flood[503] && !flood[429] && Date.now() < deadline) await sleep(5);
      expect(flood[503] || flood[429], "the flood was refused").toBeTruthy();
      // Three sign-ins of another user from other addresses all succeed, while the flood goes on.
      for (const from of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) {
        expect(await status(login(reg, { name: "ana", password: "ana-pass" }, req({ from }))), `ana from ${from}`).toBe(200);
      }
      // The flood's address is limited across names, before any password check.
      const limited = Date.now() + 30_000;
      while (!flood[429] && Date.now() < limited) await sleep(10);
      expect(flood[429], "the flood's address is rate-limited").toBeGreaterThan(0);
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    const total = Object.values(flood).reduce((a, b) => a + b, 0);
    const mine = lines((e) => e.action === "login" && e.sourceIp === attacker);
    const by = (o: string) => mine.filter((e) => e.outcome === o);
    // At most 20 attempts a minute get a password check (and a "denied" line); the rest are
    // refused before it, and those refusals are one line per kind per window, which says how
    // many it stands for.
    expect(by("denied").length).toBeLessThanOrEqual(20);
    expect(by("denied").length + (flood[429] ?? 0) + (flood[503] ?? 0)).toBe(total);
    expect(by("rate_limited")).toHaveLength(1);
    expect(by("refused").length).toBeLessThanOrEqual(1);
    expect(mine.length).toBeLessThan(total);
    expect(by("rate_limited")[0].detail).toMatch(/from 203\.0\.113\.9 across names/);
  });

  it("a sign-out with no session is answered and leaves no line; one that ends a session is audited", async () => {
    const before = reg.audit.entries().length;
    for (let i = 0; i < 50; i++) {
      const cookie = await logout(reg, req({ from: "192.0.2.77", headers: i % 2 ? { cookie: "lockdeck_session=made-up" } : {} }), null);
      expect(cookie).toMatch(/^lockdeck_session=; .*Max-Age=0/);
    }
    expect(reg.audit.entries().length).toBe(before);
    const set = await login(reg, { name: "vic", password: "vic-pass" }, req({ from: "192.0.2.78" }));
    await logout(reg, req({ from: "192.0.2.78", headers: { cookie: set.split(";")[0] } }), "vic");
    expect(lines((e) => e.action === "logout")).toEqual([expect.objectContaining({ actor: "vic", outcome: "applied", sourceIp: "192.0.2.78" })]);
  });

  it("the cookie is Secure only when a trusted proxy says https — never from a client's X-Forwarded-Proto", async () => {
    const https = { "x-forwarded-proto": "https" };
    const signIn = (r: Request) => login(reg, { name: "vic", password: "vic-pass" }, r);
    // A bare `next start` builds the request URL's scheme from X-Forwarded-Proto: no peer is known.
    const bare = await signIn(req({ url: "https://lockdeck.test/api/auth/login", headers: https }));
    expect(bare).not.toMatch(/Secure/i);
    expect(await logout(reg, req({ url: "https://lockdeck.test/api/auth/logout", headers: https }), null)).not.toMatch(/Secure/i);
    // An untrusted peer (npm start strips the header from it; here it is left in).
    expect(await signIn(req({ from: "192.0.2.90", url: "https://lockdeck.test/api/auth/login", headers: https }))).not.toMatch(/Secure/i);
    // The trusted proxy's word counts.
    expect(await signIn(req({ from: "10.9.0.1", headers: https }))).toMatch(/; Secure/);
    expect(await signIn(req({ from: "10.9.0.2", headers: { "x-forwarded-proto": "http" } }))).not.toMatch(/Secure/i);
  });
});
