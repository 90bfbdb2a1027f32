// Helpers for the access-control specs. raw(): exact control over Host, the source address the
// server sees (127.0.0.x: Linux routes all of 127/8 to loopback) and the body bytes, which
// browsers and Playwright's request context do not give. Not a spec.
import http from "node:http";
import { expect, type APIRequestContext } from "@playwright/test";

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): { error?: { code: string; message: string } } & Record<string, unknown>;
}

export function raw(
  base: string,
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer; from?: string; chunked?: boolean; target?: string } = {},
): Promise<RawAnswer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        // `target`: the request line's target verbatim (absolute-form, "*", bytes a URL would re-encode).
        path: o.target ?? url.pathname + url.search,
        method: o.method ?? "GET",
        headers: o.headers,
        localAddress: o.from,
        setHost: !o.headers?.host && !o.headers?.Host,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (o.body !== undefined && o.chunked) {
      // No Content-Length: the server has to count the bytes as they come.
      const buf = Buffer.from(o.body);
      for (let i = 0; i < buf.length; i += 8192) req.write(buf.subarray(i, i + 8192));
      req.end();
    } else req.end(o.body);
  });
}

export const JSON_POST = { "content-type": "application/json", "x-lockdeck-csrf": "1" };

/** The session cookie from a sign-in answer. */
export function sessionFrom(a: RawAnswer): string {
  const set = ([] as string[]).concat(a.headers["set-cookie"] ?? []);
  const c = set.find((s) => s.startsWith("lockdeck_session="));
  if (!c) throw new Error(`no session cookie (status ${a.status}: ${a.text})`);
  return c.split(";")[0];
}

/** The fence of a lock once the console shows it (polls the detail API). */
export async function fenceOf(request: APIRequestContext, conn: string, key: string): Promise<string> {
  let fence = "";
  await expect
    .poll(
      async () => {
        const res = await request.get(`/api/connections/${conn}/lock?key=${encodeURIComponent(key)}`);
        if (res.ok()) fence = (await res.json()).lock.fence;
        return res.status();
      },
      { message: `${conn} shows ${key}`, timeout: 15_000 },
    )
    .toBe(200);
  return fence;
}
