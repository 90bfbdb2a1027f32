// The ZooKeeper part of lockdeck.config.json. Credentials here stay on the server.

import { z } from "zod";

/** host:port[,host:port...][/chroot] as ZooKeeper clients take it. */
const CONNECT_STRING = /^[A-Za-z0-9_.\-[\]:]+:\d{1,5}(,[A-Za-z0-9_.\-[\]:]+:\d{1,5})*(\/[^\s]*)?$/;

export const ZooKeeperConnectionSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)"),
    kind: z.literal("zookeeper"),
    label: z.string().optional(),
    /** Several servers are tried in turn; a trailing /chroot makes every path relative to it. */
    connectString: z.string().regex(CONNECT_STRING, "host:port[,host:port...][/chroot]"),
    /** digest credentials "user:password" (addauth digest), for lock paths with ACLs. */
    digest: z
      .string()
      .regex(/^[^:]+:.*$/, "user:password")
      .optional(),
    /** Where lock directories live; each is walked down to maxDepth. */
    roots: z
      .array(z.string().regex(/^\/([^/\s]+(\/[^/\s]+)*)?$/, "an absolute znode path"))
      .min(1)
      .default(["/locks"]),
    /** sync: sync() before reads (the latest committed state); local: the connected server's view. */
    consistency: z.enum(["sync", "local"]).default("sync"),
    /** Follow changes with watches (else poll every pollIntervalMs). */
    watch: z.boolean().default(true),
    pollIntervalMs: z.number().int().min(500).max(600_000).default(5_000),
    /** A node with more children than this is never listed; its count is shown as a problem. */
    maxChildren: z.number().int().min(1).max(1_000_000).default(10_000),
    maxDepth: z.number().int().min(0).max(32).default(6),
    maxNodes: z.number().int().min(100).max(5_000_000).default(200_000),
    sessionTimeoutMs: z.number().int().min(2_000).max(120_000).default(15_000),
    /**
     * Holder liveness: every server's `cons` (it must be in 4lw.commands.whitelist) is read with
     * each snapshot and, while live, this often; 0 = never read cons (liveness "unknown").
     */
    livenessCheckMs: z.number().int().min(0).max(600_000).default(5_000),
    /** A holder's session absent from every server's cons this long: the holder is judged dead. */
    holderGoneMs: z.number().int().min(0).max(600_000).default(5_000),
    commandTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    readOnly: z.boolean().default(false),
  })
  .strict();

export type ZooKeeperConnectionConfig = z.infer<typeof ZooKeeperConnectionSchema>;

export function consistencyLabel(c: ZooKeeperConnectionConfig["consistency"]): string {
  return c === "sync" ? "sync() then read" : "local read (the connected server may lag the leader)";
}

/** The read choices the settings page offers (lib/api/settings.ts). */
export const ZOOKEEPER_CONSISTENCY_OPTIONS = [
  {
    value: "sync",
    label: "sync() then read",
    description:
      "Before each read LockDeck calls sync(), so the server it is connected to catches up with the leader first: the view includes every change committed before the read. Costs one round trip through the leader per read.",
  },
  {
    value: "local",
    label: "Local reads",
    description:
      "Read the connected server's copy as it is. A follower may lag the leader, so a lock can show held after it was released, or the reverse. Releases still go through the leader.",
  },
];
