// /api/metrics lines for the wait-for graph and the alerts (appended to lib/history's
// exposition): what deploy/prometheus-rules.yml and the Grafana dashboard are built on. Pure.

import { writeFamily } from "../history/prometheus";
import type { Alert } from "./book";
import type { WebhookStatus } from "./delivery";
import { RULES } from "./rules";

export interface WaitFigures {
  connection: string;
  /** Waits between identified clients (graph edges). */
  waits: number;
  deadlocks: number;
  deadlockedLocks: number;
  /** Owners judged dead that hold locks others wait for. */
  deadHolders: number;
}

export function waitsAndAlertsExposition(waits: WaitFigures[], alerts: Alert[], hooks: WebhookStatus[]): string {
  const out: string[] = [];
  const per = (f: (w: WaitFigures) => number) => waits.map((w): [Record<string, string>, number] => [{ connection: w.connection }, f(w)]);
  writeFamily(
    out,
    "lockdeck_waits",
    "gauge",
    "Waits between identified clients (wait-for graph edges: waiter -> holder, by lock).",
    per((w) => w.waits),
  );
  writeFamily(
    out,
    "lockdeck_deadlocks",
    "gauge",
    "Deadlocks now: cycles of waits in the wait-for graph.",
    per((w) => w.deadlocks),
  );
  writeFamily(
    out,
    "lockdeck_deadlocked_locks",
    "gauge",
    "Locks on a cycle of waits (carrying the deadlock warning).",
    per((w) => w.deadlockedLocks),
  );
  writeFamily(
    out,
    "lockdeck_dead_holders_blocking",
    "gauge",
    "Clients judged dead (lease not renewed, session gone, node failing, disconnected) that others wait for.",
    per((w) => w.deadHolders),
  );
  const firing = new Map<string, number>();
  for (const a of alerts) {
    if (a.firingAt === null) continue;
    const k = `${a.connection}\u0000${RULES[a.rule].alertname}`;
    firing.set(k, (firing.get(k) ?? 0) + 1);
  }
  writeFamily(
    out,
    "lockdeck_alerts_firing",
    "gauge",
    "Alerts firing now, by connection and alert name.",
    [...firing].map(([k, v]) => {
      const [connection, alertname] = k.split("\u0000");
      return [{ connection, alertname }, v];
    }),
  );
  const hook = (f: (h: WebhookStatus) => number) => hooks.map((h): [Record<string, string>, number] => [{ webhook: h.name, kind: h.kind }, f(h)]);
  writeFamily(
    out,
    "lockdeck_alert_notifications_sent_total",
    "counter",
    "Notification batches a webhook accepted (2xx).",
    hook((h) => h.sent),
  );
  writeFamily(
    out,
    "lockdeck_alert_delivery_failures_total",
    "counter",
    "Failed delivery attempts (each retry counts).",
    hook((h) => h.failures),
  );
  writeFamily(
    out,
    "lockdeck_alert_notifications_dropped_total",
    "counter",
    "Notification batches given up after the last retry, or dropped from a full queue.",
    hook((h) => h.dropped),
  );
  writeFamily(
    out,
    "lockdeck_alert_queue",
    "gauge",
    "Notification batches waiting to be delivered.",
    hook((h) => h.pending),
  );
  writeFamily(
    out,
    "lockdeck_alert_webhook_failing",
    "gauge",
    "Delivery attempts failed in a row since the last success.",
    hook((h) => h.failing),
  );
  writeFamily(
    out,
    "lockdeck_alert_last_success_timestamp_seconds",
    "gauge",
    "When a webhook last accepted a notification (0: never).",
    hook((h) => (h.lastSuccessAt ? Date.parse(h.lastSuccessAt) / 1000 : 0)),
  );
  return out.join("\n") + "\n";
}
