// What each kind of webhook receives, for one batch of notices. Pure.
//   json          { version: 1, source: "lockdeck", sentAt, alerts: [ … ] }: LockDeck's own shape
//   slack         an incoming-webhook message: text (the fallback) and one mrkdwn section per alert
//   alertmanager  the body of POST /api/v2/alerts: postable alerts with labels and annotations;
//                 firing ones carry endsAt 4 re-post periods ahead (Prometheus's rule), so
//                 Alertmanager resolves them itself if LockDeck goes quiet; resolved ones endsAt now.

import type { Alert } from "./book";
import { RULES } from "./rules";

export interface Notice {
  status: "firing" | "resolved";
  /** A firing alert sent again (repeat interval). */
  repeat: boolean;
  alert: Alert;
  /** More about it: the cycle of waits, why the holder is judged dead. */
  detail?: string;
  /** The lock's page, when the console's address is configured. */
  url?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function jsonBody(notices: Notice[], now: number): unknown {
  return {
    version: 1,
    source: "lockdeck",
    sentAt: iso(now),
    alerts: notices.map((n) => {
      const r = RULES[n.alert.rule];
      return {
        status: n.status,
        repeat: n.repeat,
        rule: n.alert.rule,
        alertname: r.alertname,
        severity: r.severity,
        connection: n.alert.connection,
        lock: n.alert.key,
        lockName: n.alert.lockName,
        summary: r.summary(n.alert.lockName, n.alert.connection),
        ...(n.detail && { detail: n.detail }),
        startsAt: iso(n.alert.since),
        ...(n.alert.endedAt !== undefined && { endsAt: iso(n.alert.endedAt) }),
        ...(n.url && { url: n.url }),
      };
    }),
  };
}

/** Slack's mrkdwn needs &, < and > escaped; everything else is shown as written. */
const slackEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** At most this many alerts get their own section (Slack allows 50 blocks per message). */
const SLACK_SECTIONS = 40;

export function slackBody(notices: Notice[]): unknown {
  const firing = notices.filter((n) => n.status === "firing").length;
  const resolved = notices.length - firing;
  const text = `LockDeck: ${[firing && `${firing} firing`, resolved && `${resolved} resolved`].filter(Boolean).join(", ")}`;
  const blocks: unknown[] = notices.slice(0, SLACK_SECTIONS).map((n) => {
    const r = RULES[n.alert.rule];
    const head =
      n.status === "resolved"
        ? ":white_check_mark: *RESOLVED*"
        : `${r.severity === "critical" ? ":rotating_light:" : ":warning:"} *${n.repeat ? "STILL FIRING" : "FIRING"}*`;
    const lock = n.url ? `<${n.url}|${slackEscape(n.alert.lockName)}>` : `\`${slackEscape(n.alert.lockName)}\``;
    const lines = [`${head} ${r.alertname} on ${lock} (${slackEscape(n.alert.connection)})`, slackEscape(r.summary(n.alert.lockName, n.alert.connection))];
    if (n.detail) lines.push(slackEscape(n.detail));
    lines.push(`since ${iso(n.alert.since)}${n.alert.endedAt !== undefined ? `, ended ${iso(n.alert.endedAt)}` : ""}`);
    return { type: "section", text: { type: "mrkdwn", text: lines.join("\n").slice(0, 2_900) } };
  });
  if (notices.length > SLACK_SECTIONS)
    blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `and ${notices.length - SLACK_SECTIONS} more (see the alerts page)` }] });
  return { text, blocks };
}

export function alertmanagerBody(notices: Notice[], now: number, resendMs: number): unknown[] {
  return notices.map((n) => {
    const r = RULES[n.alert.rule];
    return {
      labels: { alertname: r.alertname, severity: r.severity, service: "lockdeck", connection: n.alert.connection, lock: n.alert.key },
      annotations: {
        summary: r.summary(n.alert.lockName, n.alert.connection),
        ...(n.detail && { description: n.detail }),
        lock_name: n.alert.lockName,
      },
      startsAt: iso(n.alert.since),
      endsAt: iso(n.status === "resolved" ? (n.alert.endedAt ?? now) : now + 4 * resendMs),
      ...(n.url && { generatorURL: n.url }),
    };
  });
}
