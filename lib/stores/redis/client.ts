// ioredis clients for one connection. Commands fail fast while the server is down (no offline
// queue) and the client keeps reconnecting in the background, so a dead Redis costs the hub a
// quick error, not a hung request, and recovers by itself.

import "server-only";
import Redis, { Cluster, type RedisOptions } from "ioredis";
import { readFileSync } from "node:fs";
import type { RedisConnectionConfig } from "./config";

export type RedisClient = Redis | Cluster;

function baseOptions(cfg: RedisConnectionConfig): RedisOptions {
  const tls = cfg.tls
    ? {
        ca: cfg.tls.ca ? readFileSync(cfg.tls.ca) : undefined,
        cert: cfg.tls.cert ? readFileSync(cfg.tls.cert) : undefined,
        key: cfg.tls.key ? readFileSync(cfg.tls.key) : undefined,
        servername: cfg.tls.servername,
        rejectUnauthorized: cfg.tls.rejectUnauthorized,
      }
    : undefined;
  return {
    username: cfg.username,
    password: cfg.password,
    tls,
    connectTimeout: Math.min(cfg.commandTimeoutMs, 5_000),
    commandTimeout: cfg.commandTimeoutMs,
    enableOfflineQueue: false,
    // ioredis re-sends commands still waiting for a reply when it reconnects. For a release
    // that is a blind retry of a command whose outcome is unknown: never.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    lazyConnect: false,
    connectionName: "lockdeck",
    retryStrategy: (times) => Math.min(200 * times, 2_000),
  };
}

/** Sentinel topology: the master named masterName, wherever the sentinels say it is now. */
function sentinelOptions(cfg: RedisConnectionConfig): RedisOptions {
  const u = new URL(cfg.url);
  return {
    sentinels: (cfg.sentinels ?? []).map((s) => {
      const i = s.lastIndexOf(":");
      return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
    }),
    name: cfg.masterName,
    role: "master",
    db: Number(u.pathname.slice(1) || 0),
    sentinelUsername: cfg.sentinelUsername,
    sentinelPassword: cfg.sentinelPassword,
    sentinelCommandTimeout: cfg.commandTimeoutMs,
    // Sentinel announces +switch-master: reconnect to the new master at once, not at the next error.
    failoverDetector: true,
    enableTLSForSentinelMode: u.protocol === "rediss:",
  };
}

export function createPrimary(cfg: RedisConnectionConfig): RedisClient {
  const opts = baseOptions(cfg);
  if (cfg.topology === "sentinel") return new Redis({ ...opts, ...sentinelOptions(cfg), enableAutoPipelining: true });
  if (cfg.topology === "cluster") {
    const u = new URL(cfg.url);
    // Node connections keep their queue: the cluster's own slot discovery needs it. The
    // cluster client itself still fails fast while it has no slot map.
    const { enableOfflineQueue: _nodeQueue, ...nodeOpts } = opts;
    return new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
      redisOptions: nodeOpts,
      enableOfflineQueue: false,
      // ioredis's ready check sends CLUSTER INFO through a node socket that may still be
      // connecting; with no offline queue that is refused as "Connection is closed", and the
      // client tears everything down and retries with backoff: a healthy cluster stayed
      // "connecting" for up to 17 s. health() reads cluster_state itself (adapter.ts).
      enableReadyCheck: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: (times) => Math.min(200 * times, 2_000),
    });
  }
  return new Redis(cfg.url, { ...opts, enableAutoPipelining: true });
}

export function createReplica(cfg: RedisConnectionConfig): Redis | null {
  if (!cfg.replicaUrl || cfg.topology !== "standalone") return null;
  return new Redis(cfg.replicaUrl, { ...baseOptions(cfg), enableAutoPipelining: true, readOnly: true });
}

/**
 * A separate connection for SUBSCRIBE to one node (a subscribed connection can do nothing else).
 * `tracking`: RESP2 (ioredis drops RESP3 invalidation pushes) and no automatic re-subscribe,
 * since after a reconnect CLIENT TRACKING must be sent again before SUBSCRIBE (tracking.ts).
 */
export function createSubscriber(cfg: RedisConnectionConfig, node: Redis, tracking = false): Redis {
  const feed = tracking ? ({ protocol: 2, autoResubscribe: false } as const) : {};
  // The master moves with a failover: follow it through the sentinels, not a fixed address.
  if (cfg.topology === "sentinel")
    return new Redis({ ...baseOptions(cfg), ...sentinelOptions(cfg), commandTimeout: undefined, enableOfflineQueue: true, ...feed });
  const o = node.options;
  // PSUBSCRIBE is sent before the socket is up, and must be re-sent on reconnect: keep the queue.
  return new Redis({ ...baseOptions(cfg), host: o.host, port: o.port, db: o.db, commandTimeout: undefined, enableOfflineQueue: true, ...feed });
}

/** The nodes whose keyspaces together hold every key: each master of a cluster, or the one server. */
export function scanNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes("master") : [client];
}

/** True when an error says the command never left this process (so it cannot have run). */
export function neverSent(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /enableOfflineQueue|Connection is closed|isn't writeable|None of startup nodes/i.test(msg);
}
