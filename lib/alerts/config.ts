// The `alerts` part of lockdeck.config.json: which rules notify, where (webhooks), how often a
// firing alert is repeated, and how deliveries are retried. Webhook URLs and headers are
// secrets (a Slack URL is its token): they never leave the server.

import { z } from "zod";

const WebhookSchema = z
  .object({
    /** Shown on the alerts page and in metrics (the URL never is). */
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)"),
    /** json: LockDeck's own payload; slack: an incoming-webhook message; alertmanager: POST <url>/api/v2/alerts. */
    kind: z.enum(["json", "slack", "alertmanager"]),
    /** http(s) URL; for alertmanager its base URL (http://alertmanager:9093). */
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//i.test(u), "an http:// or https:// URL"),
    /** Extra request headers (e.g. authorization). */
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "a header name"), z.string().max(4096)).default({}),
    /** Only these connections' alerts (default: all). */
    connections: z.array(z.string()).optional(),
    /** Only these rules (default: all enabled). */
    rules: z.array(z.enum(["deadlock", "holder-dead", "held-too-long", "waiter-too-long"])).optional(),
  })
  .strict();

export const AlertsSchema = z
  .object({
    rules: z
      .object({
        /** A lock on a cycle of waits (lib/waits). */
        deadlock: z.boolean().default(true),
        /** A holder judged dead: lease not renewed or expired, session gone, node failing, disconnected. */
        holderDead: z.boolean().default(true),
        /** staleRules.heldLongerThanMs fired. */
        heldTooLong: z.boolean().default(true),
        /** staleRules.waiterOlderThanMs fired: a waiter queued too long. */
        waiterTooLong: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /** A condition must hold this long before its alert fires (a deadlock that resolves itself at once is not news). */
    forMs: z.number().int().min(0).max(3_600_000).default(0),
    /** A firing alert is sent again this often to json and slack webhooks (Alertmanager repeats by its own rules). */
    repeatIntervalMs: z
      .number()
      .int()
      .min(60_000)
      .max(7 * 86_400_000)
      .default(4 * 3_600_000),
    /** Alertmanager webhooks: firing alerts are re-posted this often (with endsAt 4 periods ahead), as Prometheus does. */
    alertmanagerResendMs: z.number().int().min(5_000).max(3_600_000).default(60_000),
    /** The console's address as people reach it (links in notifications); none: no links. */
    consoleUrl: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//i.test(u), "an http:// or https:// URL")
      .optional(),
    webhooks: z
      .array(WebhookSchema)
      .default([])
      .refine((w) => new Set(w.map((x) => x.name)).size === w.length, "webhook names must be unique"),
    /** Delivery: each POST has this deadline; a failure is retried with exponential back-off up to maxAttempts. */
    timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).max(100).default(8),
        initialBackoffMs: z.number().int().min(10).max(600_000).default(1_000),
        maxBackoffMs: z.number().int().min(10).max(3_600_000).default(60_000),
      })
      .strict()
      .default({}),
  })
  .strict();

export type AlertsConfig = z.infer<typeof AlertsSchema>;
export type WebhookConfig = z.infer<typeof WebhookSchema>;
