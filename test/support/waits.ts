// Test helpers for the wait-for graph against real stores: a hub over a real adapter, the
// tracker on its bus (as the registry wires them), and waits by condition. Not product code.

import { expect } from "vitest";
import type { LockRecord, StoreAdapter } from "../../lib/model";
import { EventBus } from "../../lib/hub/bus";
import { Hub } from "../../lib/hub/hub";
import { waitFor } from "../../scripts/servers/process";
import { WaitTracker } from "../../lib/waits/tracker";
import { Alerter } from "../../lib/alerts/alerter";
import { AlertsSchema } from "../../lib/alerts/config";
import { alertDetail } from "../../lib/alerts/detail";

export interface Watched {
  bus: EventBus;
  hub: Hub;
  tracker: WaitTracker;
  /** Resolves once `check` holds for the hub's records, else fails naming what it saw. */
  until(what: string, check: (get: (key: string) => LockRecord | undefined) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function watchWaits(id: string, adapter: StoreAdapter): Watched {
  const bus = new EventBus();
  const hub = new Hub(id, adapter, bus, { healthIntervalMs: 60_000 });
  const tracker = new WaitTracker(bus, { records: () => hub.all(), annotate: (_, key, w) => hub.setDerivedWarnings(key, w) }).start();
  hub.start();
  return {
    bus,
    hub,
    tracker,
    async until(what, check, timeoutMs = 20_000) {
      try {
        await waitFor(async () => check((k) => hub.get(k)), { timeoutMs, intervalMs: 50, what });
      } catch (e) {
        const seen = [...hub.all()].map(
          (r) =>
            `${r.key} holders=${r.holders.map((h) => h.ownerKey ?? h.id).join(",")} waiters=${r.waiters.map((w) => w.ownerKey ?? w.id).join(",")} [${r.warnings.join(",")}]`,
        );
        throw new Error(`${(e as Error).message}\nrecords:\n${seen.join("\n")}`);
      }
    },
    async stop() {
      tracker.stop();
      await hub.stop();
    },
  };
}

export const deadlocked = (r: LockRecord | undefined) => !!r?.warnings.includes("deadlock");

/** The graph's only cycle goes through exactly these locks, owned by these owners (any rotation). */
export function expectCycle(w: Watched, id: string, locks: string[], owners: string[]) {
  const cycles = w.tracker.graph(id).cycles();
  expect(cycles).toHaveLength(1);
  expect(new Set(cycles[0].locks)).toEqual(new Set(locks));
  expect(new Set(cycles[0].owners)).toEqual(new Set(owners));
  expect(cycles[0].locks).toHaveLength(locks.length);
}

/** An alerter on the watched hub's bus (as the registry wires it), ticking every 100 ms. Stop it after. */
export function alertsOn(w: Watched, id: string, cfg: Record<string, unknown>): Alerter {
  return new Alerter(
    w.bus,
    AlertsSchema.parse(cfg),
    { records: () => w.hub.all(), detail: (a) => alertDetail(a.rule, a.key, w.tracker.graph(id), w.hub.get(a.key)) },
    100,
  ).start();
}
