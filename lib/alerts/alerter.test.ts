// The alerter over one bus, delivering to a real local HTTP server: each alert fires once,
// repeats at its interval, resolves once; json, Slack and Alertmanager bodies; retries with
// back-off on failures, giving up after maxAttempts; everything visible in answer().
import { afterEach, describe, expect, it } from "vitest";
import { EventBus } from "../hub/bus";
import type { LockRecord } from "../model";
import { Alerter } from "./alerter";
import { AlertsSchema } from "./config";
import { webhookSink, type WebhookSink } from "../../test/support/webhook";
import { waitsAndAlertsExposition } from "./metrics";

function rec(key: string, warnings: string[]): LockRecord {
  return {
    connection: "c1",
    key,
    name: key,
    format: "memory.mutex",
    kind: "mutex",
    state: "held",
    holders: [{ id: "h", owner: "svc-1", ownerKey: "owner:svc-1" }],
    waiters: [],
    ttlMs: null,
    ttlSource: "none",
    holding: {},
    observedAt: new Date().toISOString(),
    consistency: "",
    warnings,
  };
}

describe("Alerter", () => {
  const sinks: WebhookSink[] = [];
  const alerters: Alerter[] = [];
  afterEach(async () => {
    alerters.splice(0).forEach((a) => a.stop());
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });

  /** An alerter on its own bus with webhooks on a local receiver; ticks are driven by hand from T (just after now). */
  async function setup(extra: Record<string, unknown> | ((sinkUrl: string) => Record<string, unknown>) = {}) {
    const sink = await webhookSink();
    sinks.push(sink);
    const bus = new EventBus();
    const cfg = AlertsSchema.parse({
      consoleUrl: "https://lockdeck.example",
      webhooks: [
        { name: "ops", kind: "json", url: `${sink.url}/hook`, headers: { authorization: "Bearer t0k" } },
        { name: "chat", kind: "slack", url: `${sink.url}/slack` },
        { name: "am", kind: "alertmanager", url: `${sink.url}/am/` },
      ],
      repeatIntervalMs: 3_600_000,
      alertmanagerResendMs: 60_000,
      retry: { maxAttempts: 3, initialBackoffMs: 1_000, maxBackoffMs: 10_000 },
      ...(typeof extra === "function" ? extra(sink.url) : extra),
    });
    const alerter = new Alerter(
      bus,
      cfg,
      { records: () => [], detail: (a) => (a.rule === "deadlock" ? "A waits for b, held by B; B waits for a, held by A" : undefined) },
      3_600_000,
    ).start();
    alerters.push(alerter);
    const upsert = (l: LockRecord) => bus.publish({ type: "upsert", connection: "c1", data: { connection: "c1", lock: l } });
    const at = (path: string) => sink.received.filter((r) => r.path === path);
    return { sink, alerter, upsert, at, T: Date.now() + 1_000 };
  }

  it("fires once, repeats at its interval, and resolves once, in each webhook's own format", async () => {
    const { alerter, upsert, at, T } = await setup();
    upsert(rec("a", ["deadlock"]));
    upsert(rec("b", ["deadlock"]));
    await alerter.tick(T);
    await alerter.tick(T + 1_000); // nothing new: nothing sent
    expect(at("/hook")).toHaveLength(1);
    const json = at("/hook")[0];
    expect(json.headers.authorization).toBe("Bearer t0k");
    expect(json.body).toMatchObject({
      version: 1,
      source: "lockdeck",
      alerts: [
        {
          status: "firing",
          repeat: false,
          rule: "deadlock",
          alertname: "LockDeadlock",
          severity: "critical",
          connection: "c1",
          lock: "a",
          detail: "A waits for b, held by B; B waits for a, held by A",
          url: "https://lockdeck.example/c/c1/lock?key=a",
        },
        { status: "firing", lock: "b" },
      ],
    });
    const slack = at("/slack")[0].body as { text: string; blocks: Array<{ text: { text: string } }> };
    expect(slack.text).toBe("LockDeck: 2 firing");
    expect(slack.blocks[0].text.text).toContain("*FIRING* LockDeadlock on <https://lockdeck.example/c/c1/lock?key=a|a> (c1)");
    const am = at("/am/api/v2/alerts");
    expect(am).toHaveLength(1);
    const [alertA] = am[0].body as Array<{
      labels: Record<string, string>;
      annotations: Record<string, string>;
      startsAt: string;
      endsAt: string;
      generatorURL: string;
    }>;
    expect(alertA.labels).toEqual({ alertname: "LockDeadlock", severity: "critical", service: "lockdeck", connection: "c1", lock: "a" });
    expect(Date.parse(alertA.endsAt)).toBe(T + 4 * 60_000); // Alertmanager resolves it itself if LockDeck goes quiet
    expect(alertA.generatorURL).toBe("https://lockdeck.example/c/c1/lock?key=a");

    // Alertmanager is re-posted every minute; the others only at the repeat interval.
    await alerter.tick(T + 61_000);
    expect(at("/am/api/v2/alerts")).toHaveLength(2);
    expect(at("/hook")).toHaveLength(1);
    await alerter.tick(T + 3_600_000);
    expect(at("/hook")).toHaveLength(2);
    expect((at("/hook")[1].body as { alerts: Array<{ repeat: boolean }> }).alerts.map((a) => a.repeat)).toEqual([true, true]);

    // The cycle breaks: one resolve per alert, to every webhook, once.
    upsert(rec("a", []));
    upsert(rec("b", []));
    await alerter.tick(T + 3_601_000);
    await alerter.tick(T + 3_700_000);
    expect(at("/hook")).toHaveLength(3);
    expect((at("/hook")[2].body as { alerts: Array<{ status: string; endsAt: string }> }).alerts.map((a) => a.status)).toEqual(["resolved", "resolved"]);
    expect((at("/slack").at(-1)!.body as { text: string }).text).toBe("LockDeck: 2 resolved");
    const resolved = at("/am/api/v2/alerts").at(-1)!.body as Array<{ endsAt: string }>;
    expect(Date.parse(resolved[0].endsAt)).toBeLessThanOrEqual(Date.now());
    expect(alerter.answer().alerts).toEqual([]);
    expect(alerter.answer().recent.map((r) => [r.status, r.key])).toEqual([
      ["resolved", "b"],
      ["resolved", "a"],
      ["firing", "b"],
      ["firing", "a"],
    ]);
  });

  it("a resync sets each lock's alerts from the hub's records: new ones start, the others end", () => {
    const bus = new EventBus();
    let records = [rec("a", ["deadlock"]), rec("b", []), rec("c", ["deadlock"])];
    const alerter = new Alerter(bus, AlertsSchema.parse({ webhooks: [] }), { records: () => records, detail: () => undefined }, 3_600_000).start();
    alerters.push(alerter);
    const resync = () => bus.publish({ type: "resync", connection: "c1", data: { connection: "c1" } });
    const active = () =>
      alerter
        .answer()
        .alerts.map((a) => `${a.rule} ${a.key}`)
        .sort();
    resync();
    expect(active()).toEqual(["deadlock a", "deadlock c"]);
    records = [rec("a", []), rec("b", ["deadlock"])]; // a recovered, b deadlocked, c gone
    resync();
    expect(active()).toEqual(["deadlock b"]);
  });

  it("retries a failing webhook with back-off and in order, and gives up after maxAttempts; failures show in answer() and the metrics", async () => {
    const { sink, alerter: solo, upsert, T } = await setup((url) => ({ webhooks: [{ name: "ops", kind: "json", url: `${url}/hook` }] }));
    upsert(rec("x", ["not-renewed"]));
    sink.failNext(2, 503);
    await solo.tick(T); // attempt 1: 503
    await solo.tick(T + 500); // not due yet (back-off 1 s)
    await solo.tick(T + 1_000); // attempt 2: 503
    await solo.tick(T + 2_000); // not due (back-off 2 s)
    upsert(rec("x", [])); // resolves meanwhile: queued behind
    await solo.tick(T + 3_000); // attempt 3: sent (firing); the resolve is next
    await solo.tick(T + 3_001);
    const bodies = sink.received.map((r) => (r.body as { alerts: Array<{ status: string }> }).alerts[0].status);
    expect(bodies).toEqual(["firing", "resolved"]);
    const a = solo.answer();
    expect(a.webhooks[0]).toMatchObject({ name: "ops", kind: "json", target: sink.url, sent: 2, failures: 2, dropped: 0, pending: 0, failing: 0 });
    expect(a.deliveries.map((d) => [d.outcome, d.attempt, d.status])).toEqual([
      ["sent", 1, 200],
      ["sent", 3, 200],
      ["retrying", 2, 503],
      ["retrying", 1, 503],
    ]);
    expect(JSON.stringify(a)).not.toContain("/hook"); // the URL (a secret for Slack) never leaves the server

    // A receiver that resets every connection: three attempts, then the batch is dropped and counted.
    upsert(rec("y", ["holder-node-failing"]));
    sink.failNext(100, 0);
    for (const t of [10_000, 11_000, 13_000, 20_000]) await solo.tick(T + t);
    const st = solo.answer().webhooks[0];
    expect(st).toMatchObject({ dropped: 1, failures: 5, pending: 0, failing: 3 });
    expect(solo.answer().deliveries[0]).toMatchObject({ outcome: "dropped", attempt: 3 });
    const metrics = waitsAndAlertsExposition([], solo.book.active(), solo.webhookStatus());
    expect(metrics).toContain('lockdeck_alert_delivery_failures_total{webhook="ops",kind="json"} 5');
    expect(metrics).toContain('lockdeck_alert_notifications_dropped_total{webhook="ops",kind="json"} 1');
    expect(metrics).toContain('lockdeck_alerts_firing{connection="c1",alertname="LockHolderDead"} 1');
  });

  it("waits forMs before firing; a condition that ends sooner sends nothing", async () => {
    const { alerter, upsert, at, T } = await setup({ forMs: 30_000 });
    upsert(rec("a", ["held-too-long"]));
    await alerter.tick(T);
    upsert(rec("a", []));
    await alerter.tick(T + 40_000);
    expect(at("/hook")).toHaveLength(0);
    upsert(rec("b", ["waiter-too-long"]));
    await alerter.tick(T + 10_000);
    expect(at("/hook")).toHaveLength(0);
    await alerter.tick(T + 31_000);
    expect((at("/hook")[0].body as { alerts: Array<{ alertname: string }> }).alerts.map((a) => a.alertname)).toEqual(["LockWaiterQueuedTooLong"]);
  });

  it("a replica that follows another's reads sends nothing for that store; once it reads, it announces what is firing", async () => {
    const sink = await webhookSink();
    sinks.push(sink);
    const bus = new EventBus();
    let reader = false;
    const alerter = new Alerter(
      bus,
      AlertsSchema.parse({ webhooks: [{ name: "ops", kind: "json", url: sink.url }] }),
      { records: () => [], detail: () => undefined, sends: () => reader },
      3_600_000,
    ).start();
    alerters.push(alerter);
    bus.publish({ type: "upsert", connection: "c1", data: { connection: "c1", lock: rec("a", ["deadlock"]) } });
    const T = Date.now() + 1_000;
    await alerter.tick(T);
    expect(sink.received).toHaveLength(0);
    expect(alerter.answer().alerts).toHaveLength(1); // the book is kept all the same
    reader = true;
    await alerter.tick(T + 1_000);
    expect((sink.received[0].body as { alerts: Array<{ status: string; lock: string }> }).alerts).toMatchObject([{ status: "firing", lock: "a" }]);
  });
});
