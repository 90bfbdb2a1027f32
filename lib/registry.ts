// The process-wide set of connections: config, adapters, hubs, the event bus and the audit log.
// Kept on globalThis because Next bundles route handlers separately; module state alone
// would give each route its own copy.

import { publicConnection, serverConfig, type Config, type ConnectionConfig } from "./config";
import { openConnection, type OpenedConnection } from "./stores";
import { Hub } from "./hub/hub";
import { EventBus } from "./hub/bus";
import { AuditLog, type AuditEntry } from "./audit/log";
import { Reconciler } from "./audit/reconcile";
import { ReleaseClaims } from "./api/claims";
import { HttpError } from "./api/errors";
import { RateLimiter } from "./auth/ratelimit";
import { ensureServerSecret } from "./auth/secret";
import { Sessions } from "./auth/session";
import path from "node:path";
import { Approvals } from "./api/approvals";
import { Recorder } from "./history/recorder";
import { historySettings } from "./history/settings";

export interface Connection {
  config: ConnectionConfig;
  hub: Hub;
  opened: OpenedConnection;
  /** Settings changed at run time (consistency is fixed per adapter; see settings route). */
}

export class Registry {
  readonly bus = new EventBus();
  readonly audit: AuditLog;
  readonly connections = new Map<string, Connection>();
  /** Release request ids already used (every one in the audit trail, so also across restarts). */
  readonly usedRequestIds = new Set<string>();
  /** One release per exact holding at a time (lib/api/claims.ts). */
  readonly claims = new ReleaseClaims();
  /** Settles outcomes nobody saw by re-reading the store (lib/audit/reconcile.ts). */
  readonly reconciler: Reconciler;
  readonly releaseLimiter: RateLimiter;
  /** Sign-in attempts per (client address, name), and per name whatever the address. */
  readonly loginLimiter: RateLimiter;
  readonly loginNameLimiter: RateLimiter;
  /** Signed-in users' sessions (lib/auth/session.ts). */
  readonly sessions: Sessions;
  readonly approvals = new Approvals();
  /** Where the server secret came from: LOCKDECK_SESSION_SECRET or the key file's path. */
  readonly secretSource: string;
  /** Lock history (lib/history); null when config.history.enabled is false. */
  readonly history: Recorder | null;

  constructor(readonly config: Config) {
    // Before any adapter decodes a lock: fences are signed with a key derived from this secret.
    this.secretSource = ensureServerSecret(config.dataDir);
    this.audit = new AuditLog(config.dataDir);
    this.reconciler = new Reconciler(this.audit, (id) => this.connections.get(id)?.hub, (s) => this.claims.settled(s.requestId, s.outcome));
    const trail = readTrail(this.audit);
    for (const e of trail) this.usedRequestIds.add(e.requestId);
    this.reconciler.load(trail);
    const { releaseRateLimit: rel, loginRateLimit: login } = config.auth;
    this.releaseLimiter = new RateLimiter(rel.max, rel.perSeconds * 1000);
    this.loginLimiter = new RateLimiter(login.max, login.perSeconds * 1000);
    this.loginNameLimiter = new RateLimiter(login.maxPerName ?? login.max * 4, login.perSeconds * 1000);
    // Sessions of users no longer in the config (or with a new password) end here, at start-up.
    this.sessions = new Sessions(config.auth.users.length ? path.resolve(/*turbopackIgnore: true*/ config.dataDir, "sessions.json") : null, config.auth.users);
    // Subscribed before any hub starts, so the first snapshots are seen as the baseline.
    this.history = config.history.enabled
      ? new Recorder(this.bus, { records: (id) => this.connections.get(id)?.hub.all(), get: (id, key) => this.connections.get(id)?.hub.get(key) }, { dataDir: config.dataDir, settings: historySettings(config.history) }).start()
      : null;
    for (const c of config.connections) this.open(c);
    this.reconciler.start();
  }

  open(c: ConnectionConfig): Connection {
    const opened = openConnection(c);
    const { connections: perConnection, ...defaults } = this.config.staleRules;
    const hub = new Hub(c.id, opened.adapter, this.bus, { rules: { ...defaults, ...perConnection[c.id] }, reads: this.config.storeReads });
    const conn = { config: c, hub, opened };
    this.connections.set(c.id, conn);
    hub.start();
    return conn;
  }

  /** Replaces one connection (settings change): the old hub stops, a new one starts. */
  async reopen(c: ConnectionConfig): Promise<Connection> {
    const old = this.connections.get(c.id);
    if (old) {
      old.opened.stop();
      await old.hub.stop();
    }
    const conn = this.open(c);
    this.bus.publish({ type: "resync", connection: c.id, data: { connection: c.id } });
    return conn;
  }

  get(id: string): Connection {
    const c = this.connections.get(id);
    if (!c) throw new HttpError(404, "not_found", `no connection "${id}"`);
    return c;
  }

  list() {
    return [...this.connections.values()].map((c) => ({ ...publicConnection(c.config), hub: c.hub }));
  }
}

/** The trail at start-up; an unreadable one is reported, and the console starts anyway. */
function readTrail(audit: AuditLog): AuditEntry[] {
  try {
    return audit.entries();
  } catch (err) {
    console.error(`lockdeck: cannot read the audit trail ${audit.file}: ${(err as Error).message}`);
    return [];
  }
}

const g = globalThis as unknown as { __lockdeckRegistry?: Registry };

export function registry(): Registry {
  g.__lockdeckRegistry ??= new Registry(serverConfig());
  return g.__lockdeckRegistry;
}
