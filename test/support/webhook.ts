// A local HTTP server standing in for a webhook receiver in tests: records every request, and
// can be told to fail the next few (a status, or a reset connection). Not product code.

import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  at: number;
}

export interface WebhookSink {
  url: string;
  received: Received[];
  /** The next n requests get this status (0: the connection is reset without an answer). */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

export async function webhookSink(): Promise<WebhookSink> {
  const received: Received[] = [];
  let failing = 0;
  let failStatus = 503;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (failing > 0) {
        failing--;
        if (failStatus === 0) return req.socket.destroy();
        res.writeHead(failStatus).end("not now");
        return;
      }
      const text = Buffer.concat(chunks).toString("utf8");
      received.push({ path: req.url ?? "", headers: req.headers, body: text ? JSON.parse(text) : null, at: Date.now() });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    failNext(n, status) {
      failing = n;
      failStatus = status;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
