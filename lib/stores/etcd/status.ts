// Cluster status for the connection header and the leases page: members, leader, raft term and
// index, and which member answered. Maintenance.Status is answered by the member itself (no
// consensus), so it works on a member cut off from the others, and its `leader` field is how
// LockDeck tells that member cannot serve linearizable reads (leader 0 = it knows of none).

import type { Etcd3, IMember } from "etcd3";

export interface ClusterStatus {
  version: string;
  /** hex member id of the member that answered */
  answeredBy: string;
  answeredByName: string;
  /** hex member id, "0" when the answering member knows no leader */
  leader: string;
  leaderName: string;
  raftTerm: string;
  raftIndex: string;
  dbSize: string;
  members: Array<{ id: string; name: string; clientURLs: string[]; isLeader: boolean; isLearner: boolean }>;
  /** alarms the member reports (NOSPACE, CORRUPT) */
  errors: string[];
}

const hex = (decimal: string | number) => BigInt(decimal).toString(16);

export async function clusterStatus(client: Etcd3, members: IMember[] | null, timeoutMs: number): Promise<ClusterStatus> {
  const st = await client.maintenance.status({ deadline: Date.now() + timeoutMs });
  const answeredBy = hex(st.header.member_id);
  const leader = hex(st.leader ?? "0");
  const list = (members ?? []).map((m) => ({
    id: hex(m.ID),
    name: m.name || hex(m.ID),
    clientURLs: m.clientURLs ?? [],
    isLeader: hex(m.ID) === leader,
    isLearner: !!m.isLearner,
  }));
  const nameOf = (id: string) => list.find((m) => m.id === id)?.name ?? id;
  return {
    version: st.version,
    answeredBy,
    answeredByName: nameOf(answeredBy),
    leader,
    leaderName: leader === "0" ? "none" : nameOf(leader),
    raftTerm: String(st.raftTerm),
    raftIndex: String(st.raftIndex),
    dbSize: String(st.dbSize),
    members: list,
    errors: ((st as unknown as { errors?: string[] }).errors ?? []).filter(Boolean),
  };
}

/** One line for the connection header (Health.server). */
export function statusLine(s: ClusterStatus): string {
  const parts = [`etcd ${s.version}`, `${s.members.length || "?"} member${s.members.length === 1 ? "" : "s"}`];
  parts.push(s.leader === "0" ? `NO LEADER seen by ${s.answeredByName}` : `leader ${s.leaderName}`);
  parts.push(`raft term ${s.raftTerm}`, `index ${s.raftIndex}`, `answered by ${s.answeredByName}`);
  if (s.errors.length) parts.push(`alarms: ${s.errors.join(", ")}`);
  return parts.join(" · ");
}
