// Manual/demo entry point:
//   npx tsx scripts/servers/cli.ts redis [--replica] [--cluster] [--password PW]
// Always starts a standalone redis; --replica adds a replica of it, --cluster
// adds a 3-master cluster. Prints ONE JSON line on stdout once everything is
// ready, e.g. {"redis":{"url":...},"replica":{"url":...},"cluster":{"urls":[...]}},
// then runs until SIGINT/SIGTERM and stops the servers. Logs go to stderr.
import { startRedis, startRedisCluster, startRedisReplica } from "./redis";

const USAGE = "usage: tsx scripts/servers/cli.ts redis [--replica] [--cluster] [--password PW]";

async function main(argv: string[]): Promise<void> {
  const [kind, ...flags] = argv;
  if (kind !== "redis") throw new Error(USAGE);
  const pwAt = flags.indexOf("--password");
  const password = pwAt >= 0 ? flags[pwAt + 1] : undefined;
  const known = new Set(["--replica", "--cluster", "--password", password]);
  const unknown = flags.filter((f) => !known.has(f));
  if (unknown.length || (pwAt >= 0 && !password)) throw new Error(`${USAGE}\nunknown: ${unknown.join(" ")}`);

  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch((e) => console.error(e));
  };
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      console.error(`servers: ${sig}, stopping`);
      void stopAll().then(() => process.exit(0));
    });
  }

  try {
    const out: Record<string, unknown> = {};
    const primary = await startRedis({ password });
    stops.push(primary.stop);
    out.redis = { url: primary.url, port: primary.port, dir: primary.dir };
    if (flags.includes("--replica")) {
      const replica = await startRedisReplica(primary);
      stops.push(replica.stop);
      out.replica = { url: replica.url, port: replica.port, dir: replica.dir };
    }
    if (flags.includes("--cluster")) {
      const cluster = await startRedisCluster(3, { password });
      stops.push(cluster.stop);
      out.cluster = { urls: cluster.urls };
    }
    process.stdout.write(JSON.stringify(out) + "\n");
  } catch (e) {
    await stopAll();
    throw e;
  }
  // The spawned children keep the event loop alive until the signal handler exits.
}

main(process.argv.slice(2)).catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
