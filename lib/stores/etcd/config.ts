// The etcd part of lockdeck.config.json. Credentials and TLS files stay on the server.

import { z } from "zod";

/**
 * Where lock libraries put their keys by convention: etcd3's Election always writes under
 * "election/"; Go Mutex, etcdctl lock and etcd3 Lock take whatever the application names,
 * commonly "/locks/..." or "locks/...". Configure the prefixes your applications use.
 */
export const DEFAULT_ETCD_PREFIXES = ["/locks/", "locks/", "/election/", "election/"];

const Tls = z
  .object({
    ca: z.string().optional().describe("path to a PEM file with the CA that signed the server certificate"),
    cert: z.string().optional().describe("client certificate (PEM), for client-certificate auth"),
    key: z.string().optional().describe("client key (PEM)"),
    /** Name to check the server certificate against, when it differs from the endpoint host. */
    servername: z.string().optional(),
  })
  .strict()
  .refine((t) => !t.cert === !t.key, "tls.cert and tls.key go together");

export const EtcdConnectionSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)"),
    kind: z.literal("etcd"),
    label: z.string().optional(),
    /** Client URLs of one or more members: http://host:2379 or https://host:2379 */
    endpoints: z.array(z.string().regex(/^https?:\/\/[^/\s]+\/?$/, "must be http(s)://host:port")).min(1),
    username: z.string().optional(),
    password: z.string().optional(),
    tls: Tls.optional(),
    /** Key prefixes to discover locks under. Each is read in pages; keys outside are never read. */
    prefixes: z.array(z.string()).min(1).default(DEFAULT_ETCD_PREFIXES),
    /** linearizable: through consensus (default, fails on a member cut off from the leader);
     *  serializable: the member's local copy (answers during a partition, may be stale). */
    consistency: z.enum(["linearizable", "serializable"]).default("linearizable"),
    /** Keys in the first range page of a prefix. Later pages grow (×4, at most 100 000 keys) while
     *  the replies stay under a quarter of maxReplyBytes (read.ts nextPageSize). */
    pageSize: z.number().int().min(10).max(10_000).default(10_000),
    /** A prefix with more keys than this is not read at all (a problem says so). */
    maxKeysPerPrefix: z.number().int().min(1).max(10_000_000).default(1_000_000),
    /** Largest reply LockDeck accepts; a page over it is re-read keys-only, then value by value. */
    maxReplyBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(512 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    /** Deadline of every unary call (reads, lease TTLs, txn, revoke). */
    requestTimeoutMs: z.number().int().min(200).max(120_000).default(5_000),
    /** While live, how often the holders' lease TTLs are re-read to spot a lease nobody renews. */
    leaseCheckMs: z.number().int().min(200).max(600_000).default(5_000),
    /** Fallback when the watch cannot be opened. */
    pollIntervalMs: z.number().int().min(500).max(600_000).default(5_000),
    readOnly: z.boolean().default(false),
  })
  .strict();

export type EtcdConnectionConfig = z.infer<typeof EtcdConnectionSchema>;

/** The settings page's choices for an etcd connection (lib/api/settings.ts). */
export const ETCD_CONSISTENCY_OPTIONS = [
  {
    value: "linearizable",
    label: "Linearizable",
    description:
      "Every read goes through consensus (etcd's default): what the lock clients see right now. A member cut off from the leader cannot answer, so the view goes stale rather than wrong, and releases are refused.",
  },
  {
    value: "serializable",
    label: "Serializable (may be stale)",
    description:
      "The member answers from its own copy: cheaper, and it still answers during a partition, but it can lag or be cut off. The view says so. Releases are still confirmed with a linearizable read first.",
  },
];
