// Test rig: several console "replicas" in one process, on a real PostgreSQL and a real Redis
// (keyspace events on). Each replica has what a process would have of its own — a pool, a feed
// session, an event bus, a Redis adapter and a hub over the Replicated adapter — so the shared
// feed (lib/shared/feed.ts, replicated.ts) runs as it does across processes.

import Redis from "ioredis";
import { startPostgres, type PgRig } from "./postgres";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { RedisAdapter } from "../../lib/stores/redis/adapter";
import { RedisConnectionSchema } from "../../lib/stores/redis/config";
import { EventBus } from "../../lib/hub/bus";
import { Hub } from "../../lib/hub/hub";
import { SharedDb } from "../../lib/shared/db";
import { FeedSession } from "../../lib/shared/feed";
import { Replicated } from "../../lib/shared/replicated";

export interface Replica {
  name: string;
  db: SharedDb;
  session: FeedSession;
  hub: Hub;
  rep: Replicated;
  bus: EventBus;
}

export interface ReplicaOptions {
  /** The connection's id (default "r"). */
  id?: string;
  /** The Redis it reads (default the rig's). */
  url?: string;
  patterns?: string[];
  /** Start the hub at once (default); false: the test starts it (the replica is elected meanwhile). */
  start?: boolean;
}

export class ReplicaRig {
  /** The replicas still running, in the order they were made. */
  readonly replicas: Replica[] = [];

  private constructor(
    readonly pg: PgRig,
    readonly redisServer: RedisServer,
    /** A plain client of the rig's Redis (the test's writes). */
    readonly redis: Redis,
  ) {}

  static async start(): Promise<ReplicaRig> {
    const pg = await startPostgres();
    if (!pg) throw new Error("PostgreSQL binaries are not installed: apt-get install -y postgresql");
    const redisServer = await startRedis({ notifyKeyspaceEvents: "KA" });
    return new ReplicaRig(pg, redisServer, new Redis(redisServer.url));
  }

  replica(name: string, o: ReplicaOptions = {}): Replica {
    const id = o.id ?? "r";
    const db = new SharedDb({ url: this.pg.url, poolMax: 4, statementTimeoutMs: 2_000 });
    const session = new FeedSession(db, name);
    const bus = new EventBus();
    const adapter = new RedisAdapter(
      id,
      RedisConnectionSchema.parse({ id, kind: "redis", url: o.url ?? this.redisServer.url, patterns: o.patterns ?? ["*"], notifications: "use" }),
    );
    const rep = new Replicated(id, adapter, session, bus);
    const hub = new Hub(id, rep.adapter, bus);
    rep.bind({ all: () => hub.all(), get: (k) => hub.get(k), status: () => hub.statusEvent(), problems: () => hub.currentProblems() });
    if (o.start ?? true) hub.start();
    const r = { name, db, session, hub, rep, bus };
    this.replicas.push(r);
    return r;
  }

  /** As kill -9 does: the hub stops reading, the feed session and pool close (the advisory lock frees). */
  async kill(r: Replica): Promise<void> {
    this.replicas.splice(this.replicas.indexOf(r), 1);
    await r.hub.stop().catch(() => undefined);
    await r.session.close();
    await r.db.close();
  }

  async stop(): Promise<void> {
    for (const r of [...this.replicas]) await this.kill(r);
    this.redis.disconnect();
    await this.redisServer.stop();
    await this.pg.stop();
  }
}
