import { runEtcdBench } from "./etcd";
import { benchZooKeeper } from "./zookeeper";
import { runConsulBench } from "./consul";
import { benchHistory } from "./history";
async function main() {
  const which = process.argv[2];
  const t0 = performance.now();
  if (which === "etcd") console.log(JSON.stringify(await runEtcdBench({ keys: 10_000, leases: 100, rounds: 2, latencyWrites: 20, idleMs: 3000 }), null, 1));
  if (which === "zk") console.log(JSON.stringify(await benchZooKeeper({ dirs: 100, perDir: 10, rounds: 2, latencyWrites: 20, idleMs: 3000 }), null, 1));
  if (which === "consul") console.log(JSON.stringify(await runConsulBench({ keys: 1000, sessions: 10, rounds: 2, latencyWrites: 20, idleMs: 3000 }), null, 1));
  if (which === "history") console.log(JSON.stringify(await benchHistory({ seconds: 2 }), null, 1));
  console.log(`took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
