// The cluster status panel of the leases page: members, leader, raft term and index, and which
// member answered. Presentational.

import type { ClusterStatus } from "../status";

export function LeasesCluster({ cluster, error }: { cluster: ClusterStatus | null; error?: string }) {
  if (!cluster) {
    return (
      <p role="alert" data-testid="cluster-status" className="text-bad">
        Cluster status unavailable{error ? `: ${error}` : ""}
      </p>
    );
  }
  return (
    <section data-testid="cluster-status" className="flex flex-col gap-1.5 rounded-md border border-line bg-panel px-3 py-2">
      <p className="flex flex-wrap gap-x-4 gap-y-1">
        <span>
          etcd <span className="font-mono">{cluster.version}</span>
        </span>
        <span data-testid="cluster-leader" className={cluster.leader === "0" ? "font-semibold text-bad" : undefined}>
          {cluster.leader === "0" ? `no leader known to ${cluster.answeredByName}` : `leader ${cluster.leaderName}`}
        </span>
        <span className="tabular-nums">raft term {cluster.raftTerm}</span>
        <span className="tabular-nums">raft index {cluster.raftIndex}</span>
        <span>
          answered by <span className="font-mono">{cluster.answeredByName}</span>
        </span>
        {cluster.errors.length ? <span className="text-bad">alarms: {cluster.errors.join(", ")}</span> : null}
      </p>
      <ul className="flex flex-wrap gap-x-4 gap-y-1 text-muted">
        {cluster.members.map((m) => (
          <li key={m.id} data-testid="cluster-member" data-leader={m.isLeader ? "true" : "false"}>
            <span className={m.isLeader ? "font-semibold text-fg" : undefined}>{m.name}</span> <span className="font-mono text-[11px]">{m.id}</span>
            {m.isLeader ? " ★ leader" : ""}
            {m.isLearner ? " (learner)" : ""}
            {m.clientURLs.length ? <span className="text-faint"> · {m.clientURLs.join(", ")}</span> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
