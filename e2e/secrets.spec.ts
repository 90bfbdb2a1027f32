// Store credentials and the session key carry a marker (scripts/servers/e2e-secure.ts). It must
// never reach a client bundle, a page, an RSC payload, an API answer, an error page or a log line.
import { expect, test } from "@playwright/test";
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

const base = process.env.E2E_SECURE_URL!;
const marker = process.env.E2E_SECRET_MARKER!;
test.use({ baseURL: base });

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else yield p;
  }
}

test("no client bundle contains the secret", () => {
  expect(marker.length).toBeGreaterThan(10);
  let scanned = 0;
  for (const f of files(".next/static")) {
    scanned++;
    expect(readFileSync(f).includes(marker), f).toBe(false);
  }
  expect(scanned).toBeGreaterThan(5);
});

test("no page, RSC payload, API answer, error page or log line contains the secret", async ({ request }) => {
  const login = await request.post("/api/auth/login", {
    headers: { "content-type": "application/json", "x-lockdeck-csrf": "1" },
    data: { name: "ana", password: "ana-pass-1" },
  });
  expect(login.status()).toBe(200);
  expect(login.headers()["set-cookie"]).toMatch(/HttpOnly; SameSite=Strict/);
  // The connection works only with the right password, so the secret is really in use.
  await expect.poll(async () => (await (await request.get("/api/connections")).json())[0].status).toBe("ok");
  const paths = [
    "/",
    "/login",
    "/audit",
    "/c/vault",
    "/c/vault/settings",
    "/c/vault/lock?key=none",
    "/no-such-page",
    "/api/connections",
    "/api/connections/vault/locks",
    "/api/connections/vault/settings",
    "/api/whoami",
    "/api/audit",
    "/api/audit/export",
    "/api/connections/vault/lock?key=%00",
    "/api/connections/nope/locks",
    "/api/connections/vault/locks?limit=-1",
  ];
  for (const p of paths) {
    const variants: Array<Record<string, string>> = [{}, { RSC: "1" }];
    for (const headers of variants) {
      const res = await request.get(p, { headers });
      const body = await res.text();
      expect(body.includes(marker), `${p} ${JSON.stringify(headers)}`).toBe(false);
    }
  }
  const log = readFileSync(process.env.E2E_SECURE_LOG!, "utf8");
  expect(log.length).toBeGreaterThan(0);
  expect(log.includes(marker)).toBe(false);
});
