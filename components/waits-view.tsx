"use client";

// The Waits view of one connection: who blocks whom. Dead holders first, then the deadlocks
// (each as its ring of waits), then the blocking tree (who blocks the most others, deepest
// chains first), then the graph — drawn by a layout library loaded only on this view.

import { lazy, Suspense, useMemo, type ReactNode } from "react";
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { escapeControls } from "@/lib/keys";
import type { WaitsAnswer } from "@/lib/waits/types";
import { ErrorNote } from "./error-note";
import { formatAge, plural } from "./format";
import { whoText } from "./holder-text";
import { lockHref } from "./lock-row";
import { ModeBadge } from "./mode-badge";
import { REFRESH_TEXT } from "./queries";
import { useConnections } from "./use-connections";
import { blockingTree, type BlockerNode, type BlockingTree } from "./waits-tree";
import { waitsQuery } from "./waits-queries";

const WaitsGraph = lazy(() => import("./waits-graph"));

/** How deep the blocking tree is drawn; deeper chains say how many more levels there are. */
const MAX_DEPTH = 8;

export function OwnerName({ answer, owner }: { answer: Pick<WaitsAnswer, "owners">; owner: string }) {
  const o = answer.owners[owner];
  const t = o ? whoText(o.party) : { who: owner, title: owner, id: null };
  return (
    <span data-testid="owner-name" data-owner={owner} className="font-semibold break-words" title={`${t.title}\nowner ${owner}`}>
      {escapeControls(t.who)}
      {o?.dead ? (
        <span className="ml-1 rounded bg-stale/12 px-1 text-[12px] font-medium text-stale" title={o.dead}>
          ▲ dead
        </span>
      ) : null}
    </span>
  );
}

export function LockLink({ conn, lock, name, deadlock }: { conn: string; lock: string; name: string; deadlock?: boolean }) {
  return (
    <Link
      href={lockHref(conn, lock)}
      data-testid="waits-lock"
      data-key={lock}
      className={`font-mono break-all hover:underline ${deadlock ? "text-stale" : "text-accent"}`}
    >
      {escapeControls(name)}
    </Link>
  );
}

export function WaitsView({ conn }: { conn: string }) {
  const { data, error, isPending } = useQuery(waitsQuery(conn));
  const c = useConnections().data?.find((x) => x.id === conn);
  const tree = useMemo(() => (data ? blockingTree(data) : null), [data]);
  const dead = tree ? [...tree.nodes.values()].filter((n) => n.dead) : [];

  return (
    <div className="mx-auto flex w-full max-w-[1200px] flex-col gap-3 p-4">
      <div className="flex flex-wrap items-center gap-3">
        <h2 className="text-[15px] font-semibold">Waits</h2>
        {c ? <ModeBadge mode={c} consistency={c.consistency} /> : null}
        {data ? (
          <span className="text-muted" data-testid="waits-summary">
            {plural(data.cycles.length, "deadlock")} · {plural(data.edgesTotal, "wait")} · {plural(tree?.nodes.size ?? 0, "client")} blocking others · re-read{" "}
            {REFRESH_TEXT}
          </span>
        ) : null}
      </div>
      {error ? <ErrorNote error={error} what={data ? "a fresh read (showing the last one)" : "the waits"} /> : null}
      {isPending ? <p className="text-muted">Reading the waits…</p> : null}
      {data ? (
        <>
          <p className="text-muted">
            A client (a Redisson thread, an etcd lease, a ZooKeeper or Consul session) waiting for a lock waits for its holder. A cycle of such waits is a
            deadlock: nobody on it moves until one of them is stopped or its lock force-released.
            {data.unidentified > 0 ? (
              <span data-testid="waits-unidentified">
                {" "}
                {plural(data.unidentified, "contended lock")} {data.unidentified === 1 ? "is" : "are"} not in the graph: their library records no client
                identity (plain tokens such as node-redlock, go-redsync, python-redis-lock).
              </span>
            ) : null}
          </p>
          {dead.length ? (
            <Panel title="Dead holders" testId="waits-dead">
              {dead.map((n) => (
                <p key={n.owner}>
                  <OwnerName answer={data} owner={n.owner} /> — {n.dead}; blocks {plural(n.blocked, "client")} through{" "}
                  {n.holds.map((l, i) => (
                    <span key={l.lock}>
                      {i ? ", " : ""}
                      <LockLink conn={conn} lock={l.lock} name={l.name} deadlock={l.deadlock} />
                    </span>
                  ))}
                </p>
              ))}
            </Panel>
          ) : null}
          <Panel title={data.cycles.length ? `Deadlocks (${data.cycles.length})` : "Deadlocks"} testId="waits-deadlocks">
            {data.cycles.length === 0 ? <p className="text-muted">No cycle of waits.</p> : null}
            {data.cycles.map((cy, i) => (
              <ol key={i} data-testid="waits-cycle" className="flex flex-col gap-0.5 rounded border border-stale/40 bg-stale/5 px-3 py-2">
                {cy.owners.map((o, k) => (
                  <li key={k}>
                    <OwnerName answer={data} owner={o} /> waits for{" "}
                    <LockLink conn={conn} lock={cy.locks[k]} name={data.lockNames[cy.locks[k]] ?? cy.locks[k]} deadlock /> held by{" "}
                    <OwnerName answer={data} owner={cy.owners[(k + 1) % cy.owners.length]} />
                  </li>
                ))}
              </ol>
            ))}
          </Panel>
          <Panel title="Who blocks whom" testId="waits-tree">
            {tree && tree.roots.length ? (
              <ul className="flex flex-col gap-1.5">
                {tree.roots.map((o) => (
                  <Blocker key={o} tree={tree} answer={data} conn={conn} owner={o} path={new Set()} />
                ))}
              </ul>
            ) : (
              <p className="text-muted">Nobody waits for a lock whose holder the store identifies.</p>
            )}
            {data.edgesTotal > data.edges.length ? (
              <p className="text-warn">
                Showing {data.edges.length} of {data.edgesTotal} waits (locks on a deadlock first).
              </p>
            ) : null}
          </Panel>
          {data.edges.length ? (
            <Panel title="Graph" testId="waits-graph-panel">
              <Suspense fallback={<p className="text-muted">Drawing the graph…</p>}>
                <WaitsGraph conn={conn} answer={data} />
              </Suspense>
            </Panel>
          ) : null}
        </>
      ) : null}
    </div>
  );
}

function Panel({ title, testId, children }: { title: string; testId: string; children: ReactNode }) {
  return (
    <section data-testid={testId} className="flex flex-col gap-2 rounded-md border border-line bg-panel px-4 py-3">
      <h3 className="text-[11px] font-semibold tracking-wide text-muted uppercase">{title}</h3>
      {children}
    </section>
  );
}

function Blocker({ tree, answer, conn, owner, path }: { tree: BlockingTree; answer: WaitsAnswer; conn: string; owner: string; path: Set<string> }) {
  const n: BlockerNode | undefined = tree.nodes.get(owner);
  if (!n) return null;
  const next = new Set(path).add(owner);
  return (
    <li data-testid="blocker" data-owner={owner} className="flex flex-col gap-0.5">
      <div className="flex flex-wrap items-baseline gap-x-2">
        <OwnerName answer={answer} owner={owner} />
        <span className="text-muted">
          blocks {plural(n.blocked, "client")}
          {n.depth > 1 ? `, chains ${n.depth} deep` : ""}
          {n.deadlocked ? " · on a deadlock" : ""}
          {n.dead ? ` · ${n.dead}` : ""}
        </span>
      </div>
      <ul className="ml-4 flex flex-col gap-0.5 border-l border-line pl-3">
        {n.holds.map((l) => (
          <li key={l.lock} className="flex flex-col gap-0.5">
            <span className="text-muted">
              holds <LockLink conn={conn} lock={l.lock} name={l.name} deadlock={l.deadlock} />, waited for by:
            </span>
            <ul className="flex flex-col gap-0.5 pl-3">
              {l.waiters.map((w) =>
                tree.nodes.has(w.owner) && !next.has(w.owner) && next.size < MAX_DEPTH ? (
                  <Blocker key={w.owner} tree={tree} answer={answer} conn={conn} owner={w.owner} path={next} />
                ) : (
                  <li key={w.owner} className="flex flex-wrap items-baseline gap-x-2">
                    <OwnerName answer={answer} owner={w.owner} />
                    <span className="text-muted tabular-nums">
                      #{w.position}
                      {w.since ? ` · waiting ${formatAge(w.since, answer.now)}` : ""}
                      {next.has(w.owner) ? " · ↺ back up this chain (a cycle)" : tree.nodes.has(w.owner) ? " · blocks others too (deeper than shown)" : ""}
                    </span>
                  </li>
                ),
              )}
            </ul>
          </li>
        ))}
      </ul>
    </li>
  );
}
