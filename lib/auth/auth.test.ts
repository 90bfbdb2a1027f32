import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./password";
import { signSession, verifySession } from "./session";
import { RateLimiter } from "./ratelimit";
import { identify } from "./guard";
import { AuthSchema } from "./config";

describe("passwords", () => {
  it("verify only the right password; salts differ", () => {
    const h = hashPassword("correct horse");
    expect(verifyPassword("correct horse", h)).toBe(true);
    expect(verifyPassword("correct hors", h)).toBe(false);
    expect(hashPassword("correct horse")).not.toBe(h);
  });
});

describe("session cookies", () => {
  it("round-trip, and refuse tampering and expiry", () => {
    const t = signSession({ u: "ana", r: "operator", exp: Date.now() + 60_000 });
    expect(verifySession(t)?.u).toBe("ana");
    const [body, sig] = t.split(".");
    const forged = Buffer.from(JSON.stringify({ u: "ana", r: "admin", exp: Date.now() + 60_000 })).toString("base64url");
    expect(verifySession(`${forged}.${sig}`)).toBeNull();
    expect(verifySession(`${body}.${sig.slice(0, -2)}xx`)).toBeNull();
    expect(verifySession(signSession({ u: "ana", r: "operator", exp: Date.now() - 1 }))).toBeNull();
    expect(verifySession("garbage")).toBeNull();
  });
});

describe("rate limiter", () => {
  it("allows max per window per key", () => {
    const rl = new RateLimiter(2, 1_000);
    expect([rl.take("a", 0), rl.take("a", 1), rl.take("a", 2), rl.take("b", 2)]).toEqual([true, true, false, true]);
    expect(rl.take("a", 1_000)).toBe(true);
  });
});

describe("identify", () => {
  const auth = AuthSchema.parse({
    users: [{ name: "ana", role: "operator", passwordHash: hashPassword("x") }],
    proxy: { enabled: true, operatorGroups: ["oncall"], adminGroups: ["platform"] },
  });
  const req = (headers: Record<string, string>) => new Request("http://h/api/x", { headers });

  it("reads a signed session, and takes the role from config (not the cookie)", () => {
    const cookie = `lockdeck_session=${signSession({ u: "ana", r: "admin", exp: Date.now() + 60_000 })}`;
    expect(identify(req({ cookie }), auth)).toMatchObject({ name: "ana", role: "operator", method: "session" });
  });

  it("maps proxy groups to roles; nobody signed in is null", () => {
    expect(identify(req({ "x-forwarded-user": "bo", "x-forwarded-groups": "dev, oncall" }), auth)?.role).toBe("operator");
    expect(identify(req({ "x-forwarded-user": "cy", "x-forwarded-groups": "platform" }), auth)?.role).toBe("admin");
    expect(identify(req({ "x-forwarded-user": "di" }), auth)?.role).toBe("viewer");
    expect(identify(req({}), auth)).toBeNull();
    expect(identify(req({ "x-middleware-subrequest": "middleware:middleware:middleware" }), auth)).toBeNull();
  });

  it("without users or proxy there is one local operator", () => {
    expect(identify(req({}), AuthSchema.parse({}))).toMatchObject({ method: "local" });
  });
});
