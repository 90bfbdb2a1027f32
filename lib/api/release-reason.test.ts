import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { ReleaseBody } from "./release";
import { answerOf } from "./errors";

const body = { key: "lock:a", fence: "f", mode: "delete" };

describe("the release reason counts visible characters", () => {
  it.each([["\u200b\u200b\u200b"], ["\u00a0\u2060\ufeff\u200b"], ["  a  "], ["a\u200bb"]])("%j is refused, naming the field reason", (reason) => {
    const parsed = ReleaseBody.safeParse({ ...body, reason });
    expect(parsed.success).toBe(false);
    const answer = answerOf(parsed.error as ZodError);
    expect(answer).toMatchObject({ status: 400, code: "bad_request", extra: { field: "reason" } });
    expect(answer!.message).toMatch(/^reason: .*3 visible characters/);
  });

  it("a reason that can be read is kept, trimmed", () => {
    expect(ReleaseBody.parse({ ...body, reason: "  INC-7 stuck  " }).reason).toBe("INC-7 stuck");
    expect(ReleaseBody.parse({ ...body, reason: "сбой" }).reason).toBe("сбой");
  });
});
