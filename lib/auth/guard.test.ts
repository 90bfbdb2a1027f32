import { describe, expect, it } from "vitest";
import { checkCsrf } from "./guard";
import { HttpError } from "../api/errors";

function post(headers: Record<string, string>) {
  return new Request("http://127.0.0.1:3000/api/connections/r/lock/release", {
    method: "POST",
    headers: { host: "127.0.0.1:3000", ...headers },
    body: "{}",
  });
}

function refusal(headers: Record<string, string>): string | null {
  try {
    checkCsrf(post(headers));
    return null;
  } catch (err) {
    return `${(err as HttpError).status} ${(err as HttpError).code}`;
  }
}

const ok = { "content-type": "application/json", "x-lockdeck-csrf": "1" };

describe("CSRF checks on state-changing requests", () => {
  it("accepts a same-origin JSON request with the custom header", () => {
    expect(refusal({ ...ok, origin: "http://127.0.0.1:3000", "sec-fetch-site": "same-origin" })).toBeNull();
    expect(refusal(ok)).toBeNull(); // curl from an operator's shell: no Origin, no Sec-Fetch-Site
    expect(refusal({ ...ok, "content-type": "Application/JSON; charset=utf-8" })).toBeNull();
  });

  it.each([
    [{ ...ok, origin: "http://evil.example" }, "403 csrf"],
    [{ ...ok, origin: "null" }, "403 csrf"],
    [{ ...ok, "sec-fetch-site": "cross-site" }, "403 csrf"],
    [{ ...ok, "sec-fetch-site": "same-site" }, "403 csrf"],
    [{ "content-type": "application/json" }, "403 csrf"],
    [{ "content-type": "text/plain", "x-lockdeck-csrf": "1" }, "415 bad_request"],
    [{ "content-type": "application/jsonfoo", "x-lockdeck-csrf": "1" }, "415 bad_request"],
    [{ "content-type": "application/json-patch+json", "x-lockdeck-csrf": "1" }, "415 bad_request"],
    [{ ...ok, origin: "http://127.0.0.1:3000.evil.example" }, "403 csrf"],
  ])("refuses %j", (headers, expected) => {
    expect(refusal(headers as Record<string, string>)).toBe(expected);
  });
});
