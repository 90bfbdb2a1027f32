// LockDeck's Alertmanager webhook against a real Alertmanager (built from its Go module): the
// alerts it posts to /api/v2/alerts are accepted and listed with their labels and annotations,
// and the resolve it sends ends them there.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAlertmanager, startAlertmanager, type AlertmanagerServer } from "../../scripts/servers/alertmanager";
import { waitFor } from "../../scripts/servers/process";
import { EventBus } from "../hub/bus";
import type { LockRecord } from "../model";
import { Alerter } from "./alerter";
import { AlertsSchema } from "./config";

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  generatorURL?: string;
}

describe("Alertmanager v2 API (real alertmanager)", () => {
  let am: AlertmanagerServer;
  beforeAll(async () => {
    am = await startAlertmanager(await buildAlertmanager());
  }, 900_000);
  afterAll(async () => {
    await am?.stop();
  });

  it("accepts LockDeck's firing alerts with their labels, and the resolve ends them", { timeout: 60_000 }, async () => {
    const bus = new EventBus();
    const alerter = new Alerter(
      bus,
      AlertsSchema.parse({ consoleUrl: "https://lockdeck.example", webhooks: [{ name: "am", kind: "alertmanager", url: am.url }] }),
      { records: () => [], detail: () => "A waits for b, held by B; B waits for a, held by A" },
      3_600_000,
    ).start();
    const rec = (warnings: string[]): LockRecord => ({
      connection: "redis-prod",
      key: "orders:a",
      name: "orders:a",
      format: "redisson.fair",
      kind: "mutex",
      state: "held",
      holders: [{ id: "h" }],
      waiters: [],
      ttlMs: null,
      ttlSource: "none",
      holding: {},
      observedAt: new Date().toISOString(),
      consistency: "",
      warnings,
    });
    const listed = async () => (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as AmAlert[];
    try {
      bus.publish({ type: "upsert", connection: "redis-prod", data: { connection: "redis-prod", lock: rec(["deadlock"]) } });
      await alerter.tick(Date.now() + 10);
      expect(alerter.answer().webhooks[0]).toMatchObject({ sent: 1, failures: 0 });
      const [a] = await listed();
      expect(a.labels).toEqual({ alertname: "LockDeadlock", severity: "critical", service: "lockdeck", connection: "redis-prod", lock: "orders:a" });
      expect(a.annotations).toMatchObject({ description: "A waits for b, held by B; B waits for a, held by A", lock_name: "orders:a" });
      expect(a.status.state).toBe("active");
      expect(a.generatorURL).toBe("https://lockdeck.example/c/redis-prod/lock?key=orders%3Aa");

      bus.publish({ type: "upsert", connection: "redis-prod", data: { connection: "redis-prod", lock: rec([]) } });
      await alerter.tick(Date.now() + 20);
      expect(alerter.answer().webhooks[0]).toMatchObject({ sent: 2, failures: 0 });
      await waitFor(async () => (await listed()).length === 0, { timeoutMs: 10_000, what: "Alertmanager to stop listing the resolved alert" });
    } finally {
      alerter.stop();
    }
  });
});
