import { describe, expect, it } from "vitest";
import { agedConnections, CONSOLE_SILENT_MS } from "./use-connections";
import type { ConnectionSummary } from "./api";

const live = { id: "r", status: "ok", stale: false, confirmedAgeMs: 400, staleAgeMs: null } as unknown as ConnectionSummary;

describe("connections while the console does not answer", () => {
  it("are as answered while the console answers", () => {
    expect(agedConnections([live], CONSOLE_SILENT_MS)).toEqual([live]);
  });

  it("turn stale once it has been silent for longer, aged by the silence", () => {
    const [c] = agedConnections([live], 9_000);
    expect(c).toMatchObject({ stale: true, confirmedAgeMs: 9_400, staleAgeMs: 9_400, consoleSilentMs: 9_000 });
  });

  it("keep 'never confirmed' as it is", () => {
    const [c] = agedConnections([{ ...live, confirmedAgeMs: null }], 9_000);
    expect(c).toMatchObject({ stale: true, confirmedAgeMs: null, staleAgeMs: null });
  });
});
