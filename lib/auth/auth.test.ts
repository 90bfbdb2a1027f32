import { describe, expect, it } from "vitest";
import { mkdtempSync, statSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { hashPassword, verifyPassword } from "./password";
import { Sessions } from "./session";
import { RateLimiter } from "./ratelimit";
import { identify, type AuthContext } from "./guard";
import { AuthSchema } from "./config";
import { PEER_HEADER, clientAddress, hostAllowed, hostPolicy, trustList } from "./net.mjs";
import { firstIssue } from "../config";
import type { ZodError } from "zod";

describe("passwords", () => {
  it("verify only the right password, off the event loop, with N ≥ 2^17 for new hashes; old hashes verify and ask for a rehash", async () => {
    const h = await hashPassword("correct horse");
    expect(h).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(await verifyPassword("correct horse", h)).toEqual({ ok: true, rehash: false });
    expect((await verifyPassword("correct hors", h)).ok).toBe(false);
    expect(await hashPassword("correct horse")).not.toBe(h);
    // The event loop keeps turning while a hash is computed.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await verifyPassword("x", h);
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(2);
  });

  it("a hash made with earlier versions' parameters (N = 2^14) still verifies and is flagged", async () => {
    const salt = "c2FsdHNhbHRzYWx0c2FsdA==";
    const old = `scrypt$16384$8$1$${salt}$${await oldHash("pw", salt)}`;
    expect(await verifyPassword("pw", old)).toEqual({ ok: true, rehash: true });
  });
});

async function oldHash(password: string, salt: string): Promise<string> {
  const { scrypt } = await import("node:crypto");
  return new Promise((resolve, reject) =>
    scrypt(password, Buffer.from(salt, "base64"), 32, { N: 16384, r: 8, p: 1 }, (e, k) => (e ? reject(e) : resolve(k.toString("base64")))),
  );
}

describe("server-side sessions", () => {
  const ana = { name: "ana", passwordHash: "scrypt$131072$8$1$YQ==$YQ==" };
  const bo = { name: "bo", passwordHash: "scrypt$131072$8$1$Yg==$Yg==" };

  it("a token is a random handle: revoked on sign-out, gone when the user leaves the config or changes password, or expires", () => {
    const s = new Sessions(null, [ana, bo]);
    const t1 = s.create(ana, 60_000);
    expect(t1).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.lookup(t1, [ana, bo])?.name).toBe("ana");
    expect(s.revoke(t1)?.user).toBe("ana");
    expect(s.lookup(t1, [ana, bo])).toBeNull();
    const t2 = s.create(bo, 60_000);
    expect(s.lookup(t2, [ana])).toBeNull(); // bo removed from the config
    expect(s.lookup(t2, [ana, bo])).toBeNull(); // and the record went with it
    const t3 = s.create(ana, 60_000);
    expect(s.lookup(t3, [{ ...ana, passwordHash: "scrypt$131072$8$1$Yw==$Yw==" }])).toBeNull();
    const t4 = s.create(ana, 1, Date.now() - 10);
    expect(s.lookup(t4, [ana])).toBeNull();
    expect(s.lookup("forged-token", [ana])).toBeNull();
  });

  it("survive a restart in a 0600 file that holds no usable token; users removed meanwhile are signed out at start", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "ld-sess-")), "sessions.json");
    const a = new Sessions(file, [ana, bo]);
    const ta = a.create(ana, 60_000);
    const tb = a.create(bo, 60_000);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).not.toContain(ta);
    const b = new Sessions(file, [ana]);
    expect(b.size).toBe(1);
    expect(b.lookup(ta, [ana])?.name).toBe("ana");
    expect(b.lookup(tb, [ana, bo])).toBeNull();
  });
});

describe("rate limiter", () => {
  it("allows max per window per key", () => {
    const rl = new RateLimiter(2, 1_000);
    expect([rl.take("a", 0), rl.take("a", 1), rl.take("a", 2), rl.take("b", 2)]).toEqual([true, true, false, true]);
    expect(rl.take("a", 1_000)).toBe(true);
  });
});

describe("hosts, trusted proxies and client addresses", () => {
  it("without sign-in only loopback names are answered; with sign-in allowedHosts (default any)", () => {
    const local = hostPolicy({});
    for (const h of ["localhost", "localhost:3000", "127.0.0.1:8080", "[::1]:3000", "LOCALHOST"]) expect(hostAllowed(h, local), h).toBe(true);
    for (const h of ["attacker.example", "attacker.example:3000", "127.0.0.1.nip.io", "localhost.attacker.example", "", null, "127.0.0.1:3000@evil", "[::1]x"])
      expect(hostAllowed(h, local), String(h)).toBe(false);
    const signedIn = { users: [{}] };
    expect(hostPolicy(signedIn)).toBeNull();
    expect(hostAllowed("anything.example", hostPolicy(signedIn))).toBe(true);
    const listed = hostPolicy({ ...signedIn, allowedHosts: ["lockdeck.corp", "10.0.0.5:3000"] });
    expect(hostAllowed("lockdeck.corp:443", listed)).toBe(true);
    expect(hostAllowed("10.0.0.5:3000", listed)).toBe(true);
    expect(hostAllowed("10.0.0.5:3001", listed)).toBe(false);
    expect(hostAllowed("localhost:3000", listed)).toBe(false);
  });

  it("X-Forwarded-For is read from the right and only past trusted proxies", () => {
    const list = trustList(["10.0.0.0/8", "::1/128"]);
    expect(clientAddress("203.0.113.9", "1.2.3.4", list)).toBe("203.0.113.9"); // untrusted peer: header ignored
    expect(clientAddress("10.0.0.2", "1.2.3.4", list)).toBe("1.2.3.4");
    expect(clientAddress("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.3", list)).toBe("1.2.3.4"); // left of the client may be forged
    expect(clientAddress("::ffff:10.0.0.2", "1.2.3.4", list)).toBe("1.2.3.4");
    expect(clientAddress("10.0.0.2", "not-an-ip", list)).toBe("10.0.0.2");
    expect(clientAddress("::1", undefined, list)).toBe("::1");
  });

  it("trustedProxies are CIDRs, and required when the proxy is on (the error names the field)", () => {
    const bad = AuthSchema.safeParse({ proxy: { enabled: true } });
    expect(bad.success).toBe(false);
    expect(firstIssue(bad.error as ZodError)).toMatch(/^proxy\.trustedProxies: required when the proxy is enabled/);
    const notCidr = AuthSchema.safeParse({ proxy: { enabled: true, trustedProxies: ["10.0.0.0/33"] } });
    expect(firstIssue(notCidr.error as ZodError)).toMatch(/^proxy\.trustedProxies\[0\]: "10\.0\.0\.0\/33" has a bad prefix length/);
    expect(AuthSchema.safeParse({ proxy: { enabled: true, trustedProxies: ["10.0.0.0/8", "::1", "fd00::/8"] } }).success).toBe(true);
  });
});

describe("identify", () => {
  const auth = AuthSchema.parse({
    users: [{ name: "ana", role: "operator", passwordHash: "scrypt$131072$8$1$YQ==$YQ==" }],
    proxy: { enabled: true, operatorGroups: ["oncall"], adminGroups: ["platform"], trustedProxies: ["10.9.0.0/16"] },
  });
  const sessions = new Sessions(null, auth.users);
  const ctx: AuthContext = { auth, sessions };
  const g = globalThis as unknown as { __lockdeckPeers?: Map<string, string> };
  /** A request as scripts/start.mjs hands it on: the peer in the map, its id in the header. */
  const req = (headers: Record<string, string>, peer?: string) => {
    const h = { ...headers };
    if (peer) {
      g.__lockdeckPeers ??= new Map();
      const id = `id-${Math.random()}`;
      g.__lockdeckPeers.set(id, peer);
      h[PEER_HEADER] = id;
    }
    return new Request("http://h/api/x", { headers: h });
  };

  it("reads a server-side session, and takes the role from config (not the cookie)", () => {
    const token = sessions.create(auth.users[0], 60_000);
    expect(identify(req({ cookie: `lockdeck_session=${token}` }), ctx)).toMatchObject({ name: "ana", role: "operator", method: "session" });
    expect(identify(req({ cookie: "lockdeck_session=made-up" }), ctx)).toBeNull();
  });

  it("believes proxy headers only from a trusted peer; an unknown peer (bare next start) fails closed", () => {
    const proxied = { "x-forwarded-user": "bo", "x-forwarded-groups": "dev, oncall", "x-forwarded-for": "198.51.100.7" };
    expect(identify(req(proxied, "10.9.1.1"), ctx)).toMatchObject({ name: "bo", role: "operator", method: "proxy", sourceIp: "198.51.100.7" });
    expect(identify(req({ "x-forwarded-user": "cy", "x-forwarded-groups": "platform" }, "10.9.1.1"), ctx)?.role).toBe("admin");
    expect(identify(req({ "x-forwarded-user": "di" }, "10.9.1.1"), ctx)?.role).toBe("viewer");
    expect(identify(req(proxied, "192.0.2.50"), ctx)).toBeNull(); // untrusted peer
    expect(identify(req(proxied), ctx)).toBeNull(); // peer unknown
    expect(identify(req({ ...proxied, [PEER_HEADER]: "guessed-id" }), ctx)).toBeNull(); // a client naming a peer id
    expect(identify(req({}, "10.9.1.1"), ctx)).toBeNull();
    expect(identify(req({ "x-middleware-subrequest": "middleware:middleware:middleware" }), ctx)).toBeNull();
  });

  it("a session's source address is the peer, never a header the client chose", () => {
    const token = sessions.create(auth.users[0], 60_000);
    expect(identify(req({ cookie: `lockdeck_session=${token}`, "x-forwarded-for": "6.6.6.6" }, "192.0.2.50"), ctx)?.sourceIp).toBe("192.0.2.50");
  });

  it("without users or proxy there is one local operator", () => {
    expect(identify(req({}), { auth: AuthSchema.parse({}), sessions: null })).toMatchObject({ method: "local" });
  });
});
