"use client";

// The wait-for graph drawn: clients and locks as boxes, "waits for" (client → lock, dashed) and
// "held by" (lock → client, solid) as arrows; everything on a deadlock in the stale colour.
// Layout by @dagrejs/dagre (layered, left to right), drawn here as SVG. Loaded lazily by the
// Waits view only (React.lazy), so no other page carries the layout code. No inline script:
// the SVG is plain elements and attributes, which the page CSP allows.

import { useMemo } from "react";
import Link from "next/link";
import dagre, { type Point } from "@dagrejs/dagre";
import { escapeControls } from "@/lib/keys";
import type { WaitsAnswer } from "@/lib/waits/types";
import { whoText } from "./holder-text";
import { lockHref } from "./lock-row";

/** Above this many boxes the graph shows the deadlocks and the biggest blockers' waits only. */
const MAX_NODES = 160;
const CHAR_W = 7;
const BOX_H = 26;

interface GNode {
  id: string;
  kind: "owner" | "lock";
  label: string;
  title: string;
  key: string;
  hot: boolean;
  dead: boolean;
}

interface GEdge {
  from: string;
  to: string;
  kind: "waits" | "held";
  hot: boolean;
}

const cut = (s: string, n = 36) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Boxes and arrows from the answer, at most MAX_NODES boxes (deadlocks first, then by how much each lock blocks). */
export function graphOf(a: WaitsAnswer): { nodes: GNode[]; edges: GEdge[]; hidden: number } {
  const byLock = new Map<string, WaitsAnswer["edges"]>();
  for (const e of a.edges) {
    const list = byLock.get(e.lock) ?? [];
    list.push(e);
    byLock.set(e.lock, list);
  }
  const locks = [...byLock.entries()].sort((x, y) => Number(y[1][0].deadlock) - Number(x[1][0].deadlock) || y[1].length - x[1].length);
  const nodes = new Map<string, GNode>();
  const edges = new Map<string, GEdge>();
  const owner = (o: string, hot: boolean) => {
    const id = `o:${o}`;
    const info = a.owners[o];
    const t = info ? whoText(info.party) : { who: o, title: o };
    const prev = nodes.get(id);
    nodes.set(id, {
      id,
      kind: "owner",
      label: cut(t.who),
      title: `${t.title}\nowner ${o}${info?.dead ? `\nDEAD: ${info.dead}` : ""}`,
      key: o,
      hot: hot || !!prev?.hot,
      dead: !!info?.dead,
    });
    return id;
  };
  let hidden = 0;
  for (const [lock, es] of locks) {
    const fresh = 1 + new Set(es.flatMap((e) => [e.waiter, e.holder]).filter((o) => !nodes.has(`o:${o}`))).size;
    if (nodes.size + fresh > MAX_NODES) {
      hidden++;
      continue;
    }
    const hot = es[0].deadlock;
    const lid = `l:${lock}`;
    nodes.set(lid, { id: lid, kind: "lock", label: cut(escapeControls(es[0].lockName)), title: escapeControls(lock), key: lock, hot, dead: false });
    for (const e of es) {
      const w = owner(e.waiter, hot);
      const h = owner(e.holder, hot);
      edges.set(`${w}>${lid}`, { from: w, to: lid, kind: "waits", hot });
      edges.set(`${lid}>${h}`, { from: lid, to: h, kind: "held", hot });
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()], hidden };
}

/** Connected groups of boxes (waits that touch each other), deadlocks first, then the biggest. */
function componentsOf(nodes: GNode[], edges: GEdge[]): Array<{ nodes: GNode[]; edges: GEdge[] }> {
  const parent = new Map(nodes.map((n) => [n.id, n.id]));
  const find = (x: string): string => {
    while (parent.get(x) !== x) x = parent.get(x)!;
    return x;
  };
  for (const e of edges) parent.set(find(e.from), find(e.to));
  const groups = new Map<string, { nodes: GNode[]; edges: GEdge[] }>();
  for (const n of nodes) {
    const r = find(n.id);
    if (!groups.has(r)) groups.set(r, { nodes: [], edges: [] });
    groups.get(r)!.nodes.push(n);
  }
  for (const e of edges) groups.get(find(e.from))!.edges.push(e);
  const hot = (g: { nodes: GNode[] }) => (g.nodes.some((n) => n.hot) ? 0 : g.nodes.some((n) => n.dead) ? 1 : 2);
  return [...groups.values()].sort((a, b) => hot(a) - hot(b) || b.nodes.length - a.nodes.length);
}

function layout(part: { nodes: GNode[]; edges: GEdge[] }) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 46, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of part.nodes) g.setNode(n.id, { width: Math.max(60, n.label.length * CHAR_W + 20), height: BOX_H });
  for (const e of part.edges) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const size = g.graph();
  return {
    width: Math.ceil(size.width ?? 0),
    height: Math.ceil(size.height ?? 0),
    nodes: part.nodes.map((n) => ({ ...n, box: g.node(n.id) })),
    edges: part.edges.map((e) => ({ ...e, points: ((g.edge(e.from, e.to) as { points?: Point[] }).points ?? []) as Point[] })),
  };
}

export default function WaitsGraph({ conn, answer }: { conn: string; answer: WaitsAnswer }) {
  const laid = useMemo(() => {
    const { nodes, edges, hidden } = graphOf(answer);
    return { hidden, parts: componentsOf(nodes, edges).map(layout) };
  }, [answer]);

  return (
    <div className="flex flex-col gap-1">
      <div className="flex flex-wrap items-start gap-x-6 gap-y-2 overflow-auto rounded border border-line bg-sunken/40 p-1" data-testid="waits-graph">
        {laid.parts.map((part, pi) => (
          <GraphPart key={pi} conn={conn} part={part} id={pi} />
        ))}
      </div>
      <p className="text-muted">
        Boxes are locks (each links to its page), rounded ones clients; dashed arrows “waits for”, solid “held by”; red is a deadlock.
        {laid.hidden ? ` ${laid.hidden} more contended locks are not drawn (the tree above lists them).` : ""}
      </p>
    </div>
  );
}

type Laid = ReturnType<typeof layout>;

/** One connected part of the graph, as its own SVG (`id` keeps its arrow markers apart). */
function GraphPart({ conn, part, id }: { conn: string; part: Laid; id: number }) {
  return (
    <svg
      width={part.width}
      height={part.height}
      viewBox={`0 0 ${part.width} ${part.height}`}
      role="img"
      aria-label="wait-for graph"
      className="shrink-0 text-[12px]"
    >
      <defs>
        <marker id={`wg-arrow-${id}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" className="fill-muted" />
        </marker>
        <marker id={`wg-arrow-hot-${id}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" className="fill-stale" />
        </marker>
      </defs>
      {part.edges.map((e) => (
        <path
          key={`${e.from}>${e.to}`}
          data-testid="graph-edge"
          data-kind={e.kind}
          data-hot={e.hot || undefined}
          d={e.points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ")}
          fill="none"
          strokeWidth={e.hot ? 2 : 1.2}
          strokeDasharray={e.kind === "waits" ? "5 3" : undefined}
          markerEnd={`url(#${e.hot ? "wg-arrow-hot" : "wg-arrow"}-${id})`}
          className={e.hot ? "stroke-stale" : "stroke-muted"}
        />
      ))}
      {part.nodes.map((n) => {
        const { x, y, width, height } = n.box;
        const box = (
          <g data-testid={n.kind === "lock" ? "graph-lock" : "graph-owner"} data-key={n.key} data-hot={n.hot || undefined}>
            <title>{n.title}</title>
            <rect
              x={x - width / 2}
              y={y - height / 2}
              width={width}
              height={height}
              rx={n.kind === "lock" ? 3 : height / 2}
              strokeWidth={n.hot ? 2 : 1}
              className={`${n.kind === "lock" ? "fill-panel" : "fill-sunken"} ${n.hot || n.dead ? "stroke-stale" : "stroke-line"}`}
            />
            <text x={x} y={y + 4} textAnchor="middle" className={`${n.kind === "lock" ? "font-mono" : ""} ${n.hot ? "fill-stale" : "fill-fg"}`}>
              {n.dead ? "▲ " : ""}
              {n.label}
            </text>
          </g>
        );
        return n.kind === "lock" ? (
          <Link key={n.id} href={lockHref(conn, n.key)} aria-label={`lock ${n.title}`}>
            {box}
          </Link>
        ) : (
          <g key={n.id}>{box}</g>
        );
      })}
    </svg>
  );
}
