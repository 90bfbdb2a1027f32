// Alerts that reach people: follows the event bus (the records the table shows, with the stale
// rules' and the wait-for graph's warnings on them), keeps the alert book (book.ts), and every
// tick sends each configured webhook what is due — first firing, repeats, resolves — in one
// batch per webhook (payloads.ts), delivered in order with retries (delivery.ts).

import type { LockRecord } from "../model";
import type { EventBus, SequencedEvent } from "../hub/bus";
import { AlertBook, type Alert, type Recipient } from "./book";
import type { AlertsConfig, WebhookConfig } from "./config";
import { WebhookQueue, type Attempt, type WebhookStatus } from "./delivery";
import { alertmanagerBody, jsonBody, slackBody, type Notice } from "./payloads";
import { RULES, enabledRules, rulesOf, type RuleId } from "./rules";

export interface AlertSource {
  records(connection: string): Iterable<LockRecord> | undefined;
  /** A sentence more about an alert (the cycle, why the holder is judged dead). */
  detail(a: Alert): string | undefined;
  /** Whether this process notifies about a connection (several replicas: only its reader does). */
  sends?(connection: string): boolean;
}

/** GET /api/alerts (declared once; the alerts page reads it). */
export interface AlertsAnswer {
  now: string;
  alerts: Array<{
    rule: RuleId;
    alertname: string;
    severity: string;
    connection: string;
    key: string;
    lockName: string;
    since: string;
    firingAt: string | null;
    summary: string;
    detail?: string;
  }>;
  webhooks: WebhookStatus[];
  /** The last delivery attempts, newest first. */
  deliveries: Attempt[];
  /** Alerts that started firing or ended lately, newest first (for an overview of recent events). */
  recent: Array<{ at: string; status: "firing" | "resolved"; rule: RuleId; alertname: string; connection: string; key: string; lockName: string }>;
  settings: { forMs: number; repeatIntervalMs: number; alertmanagerResendMs: number; rules: RuleId[]; consoleUrl: boolean };
}

const DELIVERIES_KEPT = 200;

interface Hook {
  cfg: WebhookConfig;
  queue: WebhookQueue;
  recipient: Recipient;
}

export class Alerter {
  readonly book: AlertBook;
  private readonly enabled: Set<RuleId>;
  private readonly hooks: Hook[];
  private deliveries: Attempt[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly bus: EventBus,
    private readonly cfg: AlertsConfig,
    private readonly source: AlertSource,
    private readonly tickMs = 1_000,
  ) {
    this.book = new AlertBook(cfg.forMs, handoverMs(cfg, tickMs));
    this.enabled = enabledRules(cfg.rules);
    const record = (a: Attempt) => {
      this.deliveries.unshift(a);
      if (this.deliveries.length > DELIVERIES_KEPT) this.deliveries.length = DELIVERIES_KEPT;
      if (a.outcome !== "sent") console.warn(`lockdeck: alert webhook ${a.webhook}: ${a.outcome} (${a.what}, attempt ${a.attempt}): ${a.error}`);
    };
    this.hooks = cfg.webhooks.map((w) => ({
      cfg: w,
      queue: new WebhookQueue(w.name, w.kind, w.url, sender(w), cfg.retry, cfg.timeoutMs, record),
      recipient: {
        name: w.name,
        repeatMs: w.kind === "alertmanager" ? cfg.alertmanagerResendMs : cfg.repeatIntervalMs,
        wants: (a) => (!w.connections || w.connections.includes(a.connection)) && (!w.rules || w.rules.includes(a.rule)),
      },
    }));
  }

  start(): this {
    this.unsubscribe = this.bus.subscribe((e) => this.onEvent(e));
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref?.();
    return this;
  }

  stop(): void {
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
  }

  private onEvent(e: SequencedEvent): void {
    const now = Date.now();
    if (e.type === "upsert") {
      const l = e.data.lock;
      this.book.set(e.connection, l.key, l.name, rulesOf(l, this.enabled), now);
    } else if (e.type === "remove") this.book.set(e.connection, e.data.key, "", [], now);
    else if (e.type === "resync") {
      // Only the locks that break a rule go to the book; every other alert of the connection
      // then ends. (Setting all 100k locks of a start-up, most with no rule, cost ~60 ms inside
      // the hub's first refresh: a key string, an array and a Set per lock.)
      const breaking = new Set<string>();
      for (const l of this.source.records(e.connection) ?? []) {
        const rules = rulesOf(l, this.enabled);
        if (rules.length === 0) continue;
        breaking.add(l.key);
        this.book.set(e.connection, l.key, l.name, rules, now);
      }
      for (const k of this.book.keysOf(e.connection)) if (!breaking.has(k)) this.book.set(e.connection, k, "", [], now);
    }
  }

  /**
   * One tick (also called by tests): queues what is due for each webhook, then lets each queue
   * try its head batch. Resolves when those attempts are over; a slow webhook holds up only
   * its own queue, never the next tick.
   */
  tick(now = Date.now()): Promise<void> {
    this.collect(now);
    return Promise.all(this.hooks.map((h) => h.queue.pump(now))).then(() => undefined);
  }

  private collect(now: number): void {
    const due = this.book.take(
      now,
      this.hooks.map((h) => h.recipient),
      (connection) => this.source.sends?.(connection) ?? true,
    );
    for (const h of this.hooks) {
      const d = due.get(h.cfg.name)!;
      const notices: Notice[] = [
        ...d.resolved.map((alert) => this.notice(alert, "resolved", false)),
        ...d.firing.map((alert) => this.notice(alert, "firing", false)),
        ...d.repeat.map((alert) => this.notice(alert, "firing", true)),
      ];
      if (!notices.length) continue;
      const what = [
        d.firing.length && `${d.firing.length} firing`,
        d.repeat.length && `${d.repeat.length} repeated`,
        d.resolved.length && `${d.resolved.length} resolved`,
      ]
        .filter(Boolean)
        .join(", ");
      h.queue.enqueue(JSON.stringify(this.body(h.cfg, notices, now)), what, now);
    }
  }

  private notice(alert: Alert, status: Notice["status"], repeat: boolean): Notice {
    let detail: string | undefined;
    try {
      detail = status === "firing" ? this.source.detail(alert) : undefined;
    } catch {
      detail = undefined;
    }
    const url = this.cfg.consoleUrl
      ? `${this.cfg.consoleUrl.replace(/\/+$/, "")}/c/${encodeURIComponent(alert.connection)}/lock?key=${encodeURIComponent(alert.key)}`
      : undefined;
    return { status, repeat, alert, detail, url };
  }

  private body(w: WebhookConfig, notices: Notice[], now: number): unknown {
    if (w.kind === "slack") return slackBody(notices);
    if (w.kind === "alertmanager") return alertmanagerBody(notices, now, this.cfg.alertmanagerResendMs);
    return jsonBody(notices, now);
  }

  answer(): AlertsAnswer {
    const firingFirst = this.book.active().sort((a, b) => Number(a.firingAt === null) - Number(b.firingAt === null) || a.since - b.since);
    return {
      now: new Date().toISOString(),
      alerts: firingFirst.map((a) => {
        const r = RULES[a.rule];
        let detail: string | undefined;
        try {
          detail = this.source.detail(a);
        } catch {
          detail = undefined;
        }
        return {
          rule: a.rule,
          alertname: r.alertname,
          severity: r.severity,
          connection: a.connection,
          key: a.key,
          lockName: a.lockName,
          since: new Date(a.since).toISOString(),
          firingAt: a.firingAt === null ? null : new Date(a.firingAt).toISOString(),
          summary: r.summary(a.lockName, a.connection),
          ...(detail && { detail }),
        };
      }),
      webhooks: this.hooks.map((h) => ({ ...h.queue.status })),
      deliveries: [...this.deliveries],
      recent: this.book.recent().map((t) => ({
        at: new Date(t.at).toISOString(),
        status: t.status,
        rule: t.alert.rule,
        alertname: RULES[t.alert.rule].alertname,
        connection: t.alert.connection,
        key: t.alert.key,
        lockName: t.alert.lockName,
      })),
      settings: {
        forMs: this.cfg.forMs,
        repeatIntervalMs: this.cfg.repeatIntervalMs,
        alertmanagerResendMs: this.cfg.alertmanagerResendMs,
        rules: [...this.enabled],
        consoleUrl: !!this.cfg.consoleUrl,
      },
    };
  }

  webhookStatus(): WebhookStatus[] {
    return this.hooks.map((h) => h.queue.status);
  }
}

/**
 * How long after a condition ended a replica that takes over still resolves it (AlertBook):
 * as long as the reader may have kept that resolve undelivered — the next tick, then every
 * attempt with its deadline and the back-offs between them — and at least two minutes (a
 * reader cut off from PostgreSQL is replaced only once its session is found dead).
 */
export function handoverMs(cfg: Pick<AlertsConfig, "retry" | "timeoutMs">, tickMs: number): number {
  const { maxAttempts, initialBackoffMs, maxBackoffMs } = cfg.retry;
  let backoffs = 0;
  for (let i = 1; i < maxAttempts; i++) backoffs += Math.min(maxBackoffMs, initialBackoffMs * 2 ** (i - 1));
  return Math.max(HANDOVER_MIN_MS, tickMs + maxAttempts * cfg.timeoutMs + backoffs);
}

const HANDOVER_MIN_MS = 120_000;

/** POSTs a JSON body to the webhook (Alertmanager: its /api/v2/alerts); redirects are not followed. */
function sender(w: WebhookConfig) {
  const url = w.kind === "alertmanager" ? `${w.url.replace(/\/+$/, "")}/api/v2/alerts` : w.url;
  return async (body: string, signal: AbortSignal) => {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...w.headers }, body, signal, redirect: "manual" });
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status };
  };
}
