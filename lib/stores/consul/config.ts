// The Consul part of lockdeck.config.json. Credentials (ACL token, TLS key) stay on the server.

import { z } from "zod";

export const DEFAULT_CONSUL_PREFIXES = ["locks/"];

const Tls = z
  .object({
    /** PEM file of the CA that signed the agent's HTTPS certificate. */
    ca: z.string().optional(),
    /** Client certificate and key, when the agent has verify_incoming on. */
    cert: z.string().optional(),
    key: z.string().optional(),
    servername: z.string().optional(),
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict();

export const ConsulConnectionSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)"),
    kind: z.literal("consul"),
    label: z.string().optional(),
    /** The agent's HTTP(S) API: http://127.0.0.1:8500 or https://… */
    url: z.string().regex(/^https?:\/\/[^/]+\/?$/, "must be http(s)://host:port with no path"),
    /** ACL token, sent as X-Consul-Token. Or tokenFile: a file holding it (read at start-up). */
    token: z.string().optional(),
    tokenFile: z.string().optional(),
    /** Datacenter to query (dc=); default: the agent's own. */
    datacenter: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional(),
    tls: Tls.optional(),
    /**
     * KV prefixes holding locks. Each is read with one bounded `?recurse` (see read.ts for why
     * not `?keys&separator=`) and watched with one blocking query.
     */
    prefixes: z.array(z.string().regex(/^[^/]/, "a KV prefix has no leading slash")).min(1).default(DEFAULT_CONSUL_PREFIXES),
    /** default: leader-served · consistent: leader checks quorum first · stale: any server. */
    consistency: z.enum(["default", "consistent", "stale"]).default("default"),
    /** A prefix with more keys than this (or more than maxPrefixBytes) is not read: a named problem instead. */
    maxKeysPerPrefix: z.number().int().min(1).max(1_000_000).default(50_000),
    maxPrefixBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(64 * 1024 * 1024),
    /** blocking: `?index=&wait=` on every prefix and on the session list; poll: re-read every pollIntervalMs. */
    watch: z.enum(["blocking", "poll"]).default("blocking"),
    /** The `wait=` of a blocking query, seconds (Consul caps it at 600). */
    blockingWaitSec: z.number().int().min(1).max(600).default(60),
    pollIntervalMs: z.number().int().min(500).max(600_000).default(5_000),
    /**
     * Holder liveness: the datacenter's failing checks (/v1/health/state/critical and /warning)
     * are read with each snapshot and, while live, this often; 0 = never (liveness "unknown").
     */
    livenessCheckMs: z.number().int().min(0).max(600_000).default(5_000),
    requestTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    readOnly: z.boolean().default(false),
  })
  .strict();

export type ConsulConnectionConfig = z.infer<typeof ConsulConnectionSchema>;

/** The per-connection read modes the settings page offers (lock-formats.md §3.5). */
export const CONSUL_CONSISTENCY_OPTIONS = [
  {
    value: "default",
    label: "Default (leader)",
    description: "The leader answers from its state. Cheap; a read can be briefly stale while leadership changes (the old leader still answers).",
  },
  {
    value: "consistent",
    label: "Consistent",
    description:
      "The leader first confirms with a quorum that it still leads: never stale, one extra round trip per read. api.Lock's own monitor reads this way.",
  },
  {
    value: "stale",
    label: "Stale (any server)",
    description:
      "Any server answers, even with no leader: keeps working through an outage, but can lag by an unbounded time. LockDeck shows the last contact and whether a leader is known on every view.",
  },
];
