// lockdeck.config.json (path in LOCKDECK_CONFIG, else ./lockdeck.config.json if present) or
// LOCKDECK_CONNECTIONS (the same JSON in the environment). No config at all = the embedded demo.
// A bad config stops start-up with one line that names the field.

import { z } from "zod";
import { AuthSchema } from "./auth/config";
import { ConnectionSchema, DEMO_CONNECTIONS, type ConnectionConfig } from "./stores";
import { ConfigError, firstIssue, firstIssueField, readConfigJson } from "./config-source";
import { AlertsSchema } from "./alerts/config";

export { ConnectionSchema, ConfigError, firstIssue, firstIssueField, type ConnectionConfig };

export const ConfigSchema = z
  .object({
    connections: z
      .array(ConnectionSchema)
      .min(1)
      .refine((cs) => new Set(cs.map((c) => c.id)).size === cs.length, "connection ids must be unique"),
    auth: AuthSchema.default({}),
    /** Stale-lock rules: defaults for every connection, overridden per connection id. */
    staleRules: z
      .object({
        heldLongerThanMs: z.number().int().positive().optional(),
        waiterOlderThanMs: z.number().int().positive().optional(),
        connections: z
          .record(z.object({ heldLongerThanMs: z.number().int().positive().optional(), waiterOlderThanMs: z.number().int().positive().optional() }).strict())
          .default({}),
      })
      .strict()
      .default({}),
    /** Alerts to webhooks (lib/alerts): rules, webhooks, repeat interval, retries. */
    alerts: AlertsSchema.default({}),
    /** Connections where a release needs a second operator's approval within the window. */
    twoPersonRule: z
      .object({
        connections: z.array(z.string()).default([]),
        windowMinutes: z
          .number()
          .min(1)
          .max(24 * 60)
          .default(10),
      })
      .strict()
      .default({}),
    /**
     * Reads API requests make of a store (a lock page's re-read, a page's fresh TTLs): at most
     * maxInFlight at once per connection, each request answered by deadlineMs (with the last
     * good data if the store is slower); a read slower than slowMs shows the connection as slow.
     */
    storeReads: z
      .object({
        maxInFlight: z.number().int().min(1).max(64).default(4),
        deadlineMs: z.number().int().min(100).max(60_000).default(2_000),
        slowMs: z.number().int().min(10).max(60_000).default(1_000),
      })
      .strict()
      .default({}),
    /**
     * The one PostgreSQL that several replicas share (lib/shared/db.ts): sign-in sessions,
     * rate-limit counters, pending approvals, used confirmation ids, and history. The URL may
     * come from LOCKDECK_POSTGRES_URL instead (or history.postgresUrl, an older name for the
     * same database). Without one, each replica keeps these in memory and in dataDir.
     */
    postgres: z
      .object({
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, "a postgres:// URL")
          .optional(),
        /** Connections of the shared pool (history's PostgreSQL store keeps its own pool of up to 4). */
        poolMax: z.number().int().min(2).max(100).default(10),
        /** Every query's deadline (and the connect timeout): a dead server costs a request no more. */
        statementTimeoutMs: z.number().int().min(100).max(60_000).default(3_000),
      })
      .strict()
      .default({}),
    /** Where the audit trail (and later history) is kept. */
    dataDir: z.string().default(process.env.LOCKDECK_DATA_DIR ?? ".lockdeck-data"),
    /** Lock history (lib/history): raw events for a day, minute roll-ups for a month, in <dataDir>/history.sqlite. */
    history: z
      .object({
        enabled: z.boolean().default(true),
        /**
         * "sqlite": <dataDir>/history.sqlite, one per replica. "postgres": shared by replicas, one
         * writes at a time. Default: "postgres" when a shared PostgreSQL is configured, else "sqlite".
         */
        storage: z.enum(["sqlite", "postgres"]).optional(),
        /** The shared PostgreSQL (an older name for postgres.url); else LOCKDECK_HISTORY_POSTGRES_URL. Never sent to the browser. */
        postgresUrl: z
          .string()
          .regex(/^postgres(ql)?:\/\//, "a postgres:// URL")
          .optional(),
        rawRetentionHours: z
          .number()
          .min(1)
          .max(24 * 31)
          .default(24),
        rollupRetentionDays: z.number().min(1).max(3650).default(30),
        /** Incidents: holds longer than this, waits longer than that. */
        longHoldMs: z.number().int().min(1).default(60_000),
        longWaitMs: z.number().int().min(1).default(10_000),
        /** /api/metrics: per-lock series for at most this many locks (most contended). */
        metricsTopN: z.number().int().min(0).max(1_000).default(20),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    const named = [
      ["postgres.url", c.postgres.url],
      ["LOCKDECK_POSTGRES_URL", process.env.LOCKDECK_POSTGRES_URL || undefined],
      ["history.postgresUrl", c.history.postgresUrl],
      ["LOCKDECK_HISTORY_POSTGRES_URL", process.env.LOCKDECK_HISTORY_POSTGRES_URL || undefined],
    ].filter((n): n is [string, string] => n[1] !== undefined);
    const other = named.find(([, url]) => url !== named[0][1]);
    if (other) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["postgres", "url"],
        message: `${named[0][0]} and ${other[0]} name different databases: replicas share one PostgreSQL, name it once`,
      });
    }
    if (c.history.storage === "postgres" && named.length === 0) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["history", "postgresUrl"],
        message: 'history.storage is "postgres" but no database is named: set postgres.url (or LOCKDECK_POSTGRES_URL)',
      });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;

/** The shared PostgreSQL's URL (config, then environment, then the history's older name), or null. */
export function sharedPostgresUrl(c: Config, env: NodeJS.ProcessEnv = process.env): string | null {
  return c.postgres.url || env.LOCKDECK_POSTGRES_URL || c.history.postgresUrl || env.LOCKDECK_HISTORY_POSTGRES_URL || null;
}

export const DEMO_CONFIG = { connections: DEMO_CONNECTIONS };

const g = globalThis as unknown as { __lockdeckConfig?: Config };

/** This process's config, loaded once (the registry and route guards share it; proxy.ts reads its auth part, lib/auth/server-auth.ts). */
export function serverConfig(): Config {
  g.__lockdeckConfig ??= loadConfig();
  return g.__lockdeckConfig;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const { source, json } = readConfigJson(env, DEMO_CONFIG);
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`config error (${source}): ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** What a connection looks like to the browser: never credentials. */
export function publicConnection(c: ConnectionConfig) {
  return { id: c.id, kind: c.kind, label: c.label ?? c.id, readOnly: c.readOnly };
}
