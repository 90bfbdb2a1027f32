// The Redis part of lockdeck.config.json. Credentials here stay on the server.

import { z } from "zod";

export const DEFAULT_REDIS_PATTERNS = ["*lock*", "*Lock*", "*LOCK*", "*mutex*", "*semaphore*", "*leader*"];

const Tls = z
  .object({
    ca: z.string().optional().describe("path to a PEM file"),
    cert: z.string().optional(),
    key: z.string().optional(),
    servername: z.string().optional(),
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict();

export const RedisConnectionSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)"),
    kind: z.literal("redis"),
    label: z.string().optional(),
    /**
     * redis://[user:pass@]host:port[/db] or rediss://. With topology "sentinel" the host is not
     * used (Sentinel names the master): "redis://sentinel/2" picks db 2, "rediss://…" turns on TLS.
     */
    url: z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://"),
    /**
     * standalone (one primary, optional replica), cluster (url is one seed; every master is
     * scanned), or sentinel (the master `masterName` as `sentinels` name it, followed across
     * failovers).
     */
    topology: z.enum(["standalone", "cluster", "sentinel"]).default("standalone"),
    /** Sentinel: "host:port" of each sentinel (at least one). */
    sentinels: z
      .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, "host:port"))
      .min(1)
      .optional(),
    /** Sentinel: the master's name in the sentinels' configuration. */
    masterName: z.string().min(1).optional(),
    /** Sentinel: credentials for the sentinels themselves (the data nodes use username/password). */
    sentinelUsername: z.string().optional(),
    sentinelPassword: z.string().optional(),
    /** A replica to read from when consistency is "replica" (standalone only). */
    replicaUrl: z
      .string()
      .regex(/^rediss?:\/\//)
      .optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    tls: Tls.optional(),
    /** Globs (SCAN MATCH syntax) naming lock keys; Redisson helper keys are always read. */
    patterns: z.array(z.string().min(1)).min(1).default(DEFAULT_REDIS_PATTERNS),
    consistency: z.enum(["primary", "replica"]).default("primary"),
    /** After a release, WAIT for this many replicas (0 = don't wait). */
    waitReplicas: z.number().int().min(0).max(16).default(0),
    /** use: subscribe if the server already sends keyspace events; enable: turn them on; off: poll. */
    notifications: z.enum(["use", "enable", "off"]).default("use"),
    pollIntervalMs: z.number().int().min(500).max(600_000).default(5_000),
    /** Values are read up to this many bytes; longer ones are marked truncated. */
    valueCapBytes: z
      .number()
      .int()
      .min(64)
      .max(16 * 1024 * 1024)
      .default(64 * 1024),
    commandTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    readOnly: z.boolean().default(false),
    /** Demo only: run the workload generator against this Redis (npm run demo -- --target). */
    demoWorkload: z.boolean().default(false),
  })
  .strict();

export type RedisConnectionConfig = z.infer<typeof RedisConnectionSchema>;

/** The settings page's read modes: the primary, and the replica when one is configured. */
export function redisConsistencyOptions(c: RedisConnectionConfig) {
  const opts = [
    {
      value: "primary",
      label: "Primary",
      description: "Read from the primary: what lock clients see. Costs the primary one SCAN pass and small pipelines.",
    },
  ];
  if (c.replicaUrl) {
    opts.push({
      value: "replica",
      label: "Replica (may lag)",
      description:
        "Read from the replica to spare the primary. Replication is asynchronous, so a lock can show held after it was released, or the reverse. Releases still go to the primary.",
    });
  }
  return opts;
}

/** Checks across fields (the config's superRefine calls it): the field at fault and why, or null. */
export function redisConfigIssue(c: RedisConnectionConfig): { path: string; message: string } | null {
  if (c.topology !== "sentinel") return null;
  if (!c.sentinels) return { path: "sentinels", message: 'topology "sentinel" needs the sentinels\' host:port list' };
  if (!c.masterName) return { path: "masterName", message: 'topology "sentinel" needs the master\'s name as the sentinels know it' };
  return null;
}
