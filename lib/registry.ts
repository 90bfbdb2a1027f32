// The process-wide set of connections: config, adapters, hubs, the event bus and the audit log.
// Kept on globalThis because Next bundles route handlers separately; module state alone
// would give each route its own copy.

import { publicConnection, serverConfig, sharedPostgresUrl, type Config, type ConnectionConfig } from "./config";
import { storeModule } from "./stores";
import type { OpenedConnection } from "./stores/module";
import { Hub } from "./hub/hub";
import { EventBus } from "./hub/bus";
import { AuditLog, type AuditEntry, type AuditFilter, type ChainProblem } from "./audit/log";
import { Reconciler } from "./audit/reconcile";
import { ReleaseClaims } from "./api/claims";
import { HttpError } from "./api/errors";
import { echoed } from "./api/http-error";
import { RateLimiter } from "./auth/ratelimit";
import { ensureServerSecret, secretFromEnv, SecretError, SECRET_ENV } from "./auth/secret";
import { Sessions } from "./auth/session";
import path from "node:path";
import { Approvals } from "./api/approvals";
import { Recorder } from "./history/recorder";
import { historySettings } from "./history/settings";
import { WaitTracker } from "./waits/tracker";
import { Alerter } from "./alerts/alerter";
import { alertDetail } from "./alerts/detail";
import { SharedDb } from "./shared/db";
import { SharedSessions } from "./shared/sessions";
import { SharedRateLimiter, SharedRequestIds } from "./shared/ratelimit";
import { SharedApprovals } from "./shared/approvals";
import { FeedSession } from "./shared/feed";
import { Replicated } from "./shared/replicated";
import { SharedAudit } from "./shared/audit";

/** A limiter here (one replica) or in PostgreSQL (all replicas); callers await take(). */
export type Limiter = Pick<RateLimiter, "take"> | SharedRateLimiter;

export interface Connection {
  config: ConnectionConfig;
  hub: Hub;
  opened: OpenedConnection;
  /** With a shared PostgreSQL: this replica's part in reading the store (lib/shared/replicated.ts). */
  replicated: Replicated | null;
}

export class Registry {
  readonly bus = new EventBus();
  readonly audit: AuditLog;
  readonly connections = new Map<string, Connection>();
  /** Release request ids already used (every one in this replica's audit trail, so also across restarts; with PostgreSQL see useRequestId). */
  readonly usedRequestIds = new Set<string>();
  /** One release per exact holding at a time, on this replica (lib/api/claims.ts). */
  readonly claims = new ReleaseClaims();
  /** Settles outcomes nobody saw by re-reading the store (lib/audit/reconcile.ts). */
  readonly reconciler: Reconciler;
  readonly releaseLimiter: Limiter;
  /** Sign-in attempts per (client address, name), and per name whatever the address. */
  readonly loginLimiter: Limiter;
  readonly loginNameLimiter: Limiter;
  /** Signed-in users' sessions: <dataDir>/sessions.json (lib/auth/session.ts), or PostgreSQL. */
  readonly sessions: Sessions | SharedSessions;
  readonly approvals: Approvals | SharedApprovals;
  /** The PostgreSQL replicas share (lib/shared/db.ts); null = one replica, state in memory and dataDir. */
  readonly shared: SharedDb | null;
  private readonly sharedRequestIds: SharedRequestIds | null;
  /** One replica reads each store and the others follow it (lib/shared/feed.ts); null without PostgreSQL. */
  readonly feed: FeedSession | null;
  /** Every replica's audit trail in PostgreSQL (lib/shared/audit.ts); null without it. */
  readonly sharedAudit: SharedAudit | null;
  /** Where the server secret came from: LOCKDECK_SESSION_SECRET or the key file's path. */
  readonly secretSource: string;
  /** Lock history (lib/history); null when config.history.enabled is false. */
  readonly history: Recorder | null;
  /** The wait-for graph of every connection (lib/waits), fed by the bus; it marks deadlocked locks. */
  readonly waits: WaitTracker;
  /** Alerts to the configured webhooks (lib/alerts), fed by the bus. */
  readonly alerts: Alerter;

  constructor(readonly config: Config) {
    // Before any adapter decodes a lock: fences are signed with a key derived from this secret.
    const url = sharedPostgresUrl(config);
    // Several replicas: a fence one signed must verify on another, so they need one secret.
    if (url && !secretFromEnv()) {
      throw new SecretError(
        `config error (${SECRET_ENV}): a shared PostgreSQL means several replicas, and they must all sign fences with one key: set ${SECRET_ENV} (at least 32 bytes, e.g. \`openssl rand -base64 48\`), the same on every replica`,
      );
    }
    this.secretSource = ensureServerSecret(config.dataDir);
    this.audit = new AuditLog(config.dataDir);
    this.reconciler = new Reconciler(
      this.audit,
      (id) => this.connections.get(id)?.hub,
      (s) => this.claims.settled(s.requestId, s.outcome),
    );
    const trail = readTrail(this.audit);
    for (const e of trail) this.usedRequestIds.add(e.requestId);
    this.reconciler.load(trail);
    const db = (this.shared = url ? new SharedDb({ url, poolMax: config.postgres.poolMax, statementTimeoutMs: config.postgres.statementTimeoutMs }) : null);
    const { releaseRateLimit: rel, loginRateLimit: login } = config.auth;
    const limiter = (name: string, max: number, perSeconds: number) =>
      db ? new SharedRateLimiter(db, name, max, perSeconds * 1000) : new RateLimiter(max, perSeconds * 1000);
    this.releaseLimiter = limiter("release", rel.max, rel.perSeconds);
    this.loginLimiter = limiter("login", login.max, login.perSeconds);
    this.loginNameLimiter = limiter("login-name", login.maxPerName ?? login.max * 4, login.perSeconds);
    this.approvals = db ? new SharedApprovals(db) : new Approvals();
    this.sharedRequestIds = db ? new SharedRequestIds(db) : null;
    this.feed = db ? new FeedSession(db) : null;
    this.sharedAudit = db ? new SharedAudit(db, this.audit.file).start() : null;
    if (db) {
      const shared = new SharedSessions(db);
      this.sessions = shared;
      // Schema first (under an advisory lock), then expired sessions go; a database that is down
      // now is retried by every later query, and /api/ready says so meanwhile.
      void db.migrate().then(
        () => shared.prune(),
        (err) => console.warn(`lockdeck: shared state (PostgreSQL) not ready yet: ${(err as Error).message}`),
      );
    } else {
      // Sessions of users no longer in the config (or with a new password) end here, at start-up.
      this.sessions = new Sessions(
        config.auth.users.length ? path.resolve(/*turbopackIgnore: true*/ config.dataDir, "sessions.json") : null,
        config.auth.users,
      );
    }
    // Subscribed before any hub starts, so the first snapshots are seen as the baseline.
    this.history = config.history.enabled
      ? new Recorder(
          this.bus,
          {
            records: (id) => this.connections.get(id)?.hub.all(),
            get: (id, key) => this.connections.get(id)?.hub.get(key),
            renewals: (id) => this.connections.get(id)?.hub.takeRenewals(),
            sample: () => [...this.connections.values()].map(({ hub }) => hub.sample()),
          },
          { dataDir: config.dataDir, settings: historySettings(config) },
        ).start()
      : null;
    this.waits = new WaitTracker(this.bus, {
      records: (id) => this.connections.get(id)?.hub.all(),
      annotate: (id, key, warnings) => this.connections.get(id)?.hub.setDerivedWarnings(key, warnings),
    }).start();
    this.alerts = new Alerter(this.bus, config.alerts, {
      records: (id) => this.connections.get(id)?.hub.all(),
      detail: (a) => alertDetail(a.rule, a.key, this.waits.graph(a.connection), this.connections.get(a.connection)?.hub.get(a.key)),
      // With several replicas only the one reading a store notifies about it (others follow it).
      sends: (id) => this.connections.get(id)?.replicated?.role !== "follower",
    }).start();
    for (const c of config.connections) this.open(c);
    this.reconciler.start();
  }

  open(c: ConnectionConfig): Connection {
    const store = storeModule(c.kind);
    const opened = store.open(c);
    const { connections: perConnection, ...defaults } = this.config.staleRules;
    // A store that lives in each process (the embedded demo store) has nothing to share.
    const replicated = this.feed && store.shared ? new Replicated(c.id, opened.adapter, this.feed, this.bus) : null;
    const hub = new Hub(c.id, replicated?.adapter ?? opened.adapter, this.bus, {
      rules: { ...defaults, ...perConnection[c.id] },
      reads: this.config.storeReads,
    });
    replicated?.bind({ all: () => hub.all(), get: (k) => hub.get(k), status: () => hub.statusEvent(), problems: () => hub.currentProblems() });
    const conn = { config: c, hub, opened, replicated };
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

  /** True the first time a release confirmation id is used (on any replica, with PostgreSQL). */
  async useRequestId(id: string): Promise<boolean> {
    if (this.sharedRequestIds) return this.sharedRequestIds.use(id);
    if (this.usedRequestIds.has(id)) return false;
    this.usedRequestIds.add(id);
    return true;
  }

  /**
   * Server shutdown (scripts/start.mjs on SIGTERM, through lib/ops/shutdown.ts), after live
   * streams ended and requests finished: history is flushed, store and database clients close.
   */
  async close(): Promise<void> {
    this.alerts.stop();
    this.waits.stop();
    await Promise.allSettled([
      this.history?.stop(),
      this.sharedAudit?.stop(),
      ...[...this.connections.values()].map(async (c) => {
        c.opened.stop();
        await c.hub.stop();
      }),
    ]);
    await this.feed?.close();
    await this.shared?.close();
  }

  /**
   * The audit trail to show: every replica's (PostgreSQL: chain mismatches per trail, and this
   * replica's torn lines, which are not copied), or this replica's own file when there is no
   * PostgreSQL or it cannot be read right now (`source` says which).
   */
  async auditView(filter: AuditFilter): Promise<{ entries: AuditEntry[]; problems: ChainProblem[]; source: "shared" | "local" }> {
    if (this.sharedAudit) {
      try {
        const [entries, mismatches] = await Promise.all([this.sharedAudit.read(filter), this.sharedAudit.problems()]);
        return { entries, problems: [...mismatches, ...this.audit.problems().filter((p) => p.kind === "torn")], source: "shared" };
      } catch {
        // PostgreSQL down: this replica's own trail, said as such.
      }
    }
    return { ...this.audit.view(filter), source: "local" };
  }

  get(id: string): Connection {
    const c = this.connections.get(id);
    // The id comes from the URL: quoted (control characters escaped) and cut, never echoed whole.
    if (!c) throw new HttpError(404, "not_found", `no connection ${JSON.stringify(echoed(id))}`);
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
