#!/usr/bin/env node
// A container health check with nothing but Node (the deploy kit's image has no curl):
// GET http://127.0.0.1:$PORT/api/health (liveness; `--ready` asks /api/ready instead) and exit 0
// on 200, 1 otherwise. The Host header is LOCKDECK_HEALTH_HOST when set (behind a proxy with
// auth.allowedHosts, one of those names: LockDeck answers no other Host), else 127.0.0.1.

import http from "node:http";

const path = process.argv.includes("--ready") ? "/api/ready" : "/api/health";
const port = Number(process.env.PORT ?? 3000);
const host = process.env.LOCKDECK_HEALTH_HOST || `127.0.0.1:${port}`;
const req = http.get({ host: "127.0.0.1", port, path, headers: { host }, timeout: 4_000 }, (res) => {
  res.resume();
  if (res.statusCode !== 200) console.error(`healthcheck: ${path} answered ${res.statusCode}`);
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on("timeout", () => req.destroy(new Error("no answer within 4 s")));
req.on("error", (err) => {
  console.error(`healthcheck: ${path}: ${err.message}`);
  process.exit(1);
});
