// A batch of the live feed still being applied (audit2 F8): the view is behind the store, so a
// health check must not confirm it; after CATCHING_UP_MS it is stale ("catching up") with its
// age, and once applied it is confirmed as of the batch's arrival.
import { describe, expect, it } from "vitest";
import { Hub } from "./hub";
import { EventBus } from "./bus";
import { CATCHING_UP_MS } from "./health";
import type { RereadResult, StoreChange } from "../model";
import { waitFor } from "../../scripts/servers/process";
import { ScriptedAdapter, scriptedLock } from "../../test/support/scripted-adapter";

class SlowFeed extends ScriptedAdapter {
  yieldedAt = 0;
  release: (() => void) | null = null;
  private go: (() => void) | null = null;
  sendBatch(): void {
    this.go?.();
  }
  override async *watch(signal: AbortSignal): AsyncGenerator<StoreChange> {
    await new Promise<void>((r) => (this.go = r));
    this.yieldedAt = Date.now();
    yield { keys: ["a"] };
    await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
  }
  async reread(): Promise<RereadResult> {
    await new Promise<void>((r) => (this.release = r));
    return { locks: [scriptedLock("a", "h2")], gone: [], problems: [] };
  }
}

describe("hub catching up", () => {
  it("does not confirm a view whose feed batch is still being applied, shows it stale, and confirms it once applied", { timeout: 10_000 }, async () => {
    const adapter = new SlowFeed();
    adapter.locks = [scriptedLock("a", "h1")];
    const hub = new Hub("c", adapter, new EventBus(), { healthIntervalMs: 50 });
    hub.start();
    try {
      await waitFor(async () => hub.get("a") !== undefined && hub.freshness().confirmedBy === "live-feed", { timeoutMs: 2_000, what: "live and confirmed" });
      adapter.sendBatch();
      await waitFor(async () => adapter.release !== null, { timeoutMs: 2_000, what: "the re-read to start" });
      await new Promise((r) => setTimeout(r, CATCHING_UP_MS + 200));
      const f = hub.freshness();
      expect(Date.parse(f.confirmedAt!)).toBeLessThanOrEqual(adapter.yieldedAt);
      expect(f.stale).toBe(true);
      expect(hub.statusEvent().message).toMatch(/catching up/);
      adapter.release!();
      await waitFor(async () => hub.get("a")?.holders[0].id === "h2", { timeoutMs: 2_000, what: "the batch applied" });
      expect(hub.freshness().stale).toBe(false);
      expect(hub.statusEvent().message).toBe("");
    } finally {
      await hub.stop();
    }
  });
});
