// The HTTP client's own contract, against a plain HTTP server that plays a Consul agent whose
// keep-alive socket is gone when the client reuses it (an agent restart, an idle-socket close):
// a GET is sent again on a new socket; a write never is (its outcome would be unknown).
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsulHttp } from "./http";
import { ConsulConnectionSchema } from "./config";

let server: http.Server;
let url: string;
/** Requests the server saw, in order, with whether they came on a socket used before. */
const seen: Array<{ method: string; reused: boolean }> = [];

beforeAll(async () => {
  const used = new WeakSet<Socket>();
  server = http.createServer((req, res) => {
    const reused = used.has(req.socket);
    used.add(req.socket);
    seen.push({ method: req.method!, reused });
    // The second request on a kept-alive socket finds it closed: reset without an answer.
    if (reused) return req.socket.resetAndDestroy();
    res.setHeader("content-type", "application/json");
    res.end("[]");
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = () => new ConsulHttp(ConsulConnectionSchema.parse({ id: "c", kind: "consul", url, requestTimeoutMs: 2_000 }));

describe("a pooled socket the agent already closed", () => {
  it("a GET is sent once more on a new socket and answers", async () => {
    const c = client();
    seen.length = 0;
    expect((await c.request("GET", "/v1/kv/locks/")).status).toBe(200);
    expect((await c.request("GET", "/v1/kv/locks/")).status).toBe(200);
    expect(seen).toEqual([
      { method: "GET", reused: false },
      { method: "GET", reused: true },
      { method: "GET", reused: false },
    ]);
  });

  it("a write is not sent again: it fails as sent (outcome unknown)", async () => {
    const c = client();
    seen.length = 0;
    expect((await c.request("GET", "/v1/kv/locks/")).status).toBe(200);
    await expect(c.request("PUT", "/v1/txn", { body: "[]" })).rejects.toMatchObject({ name: "ConsulError", code: "http", sent: true });
    expect(seen.map((s) => s.method)).toEqual(["GET", "PUT"]);
  });
});
