// A live history rig for the ground-truth tests (lib/history/*-ground-truth.test.ts): one
// adapter's hub on a bus, a recorder on SQLite in a temporary directory, and the holding ends it
// recorded. Stopped and removed after each test. Not imported by product code.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach } from "vitest";
import { EventBus } from "../../lib/hub/bus";
import { Hub } from "../../lib/hub/hub";
import { Recorder } from "../../lib/history/recorder";
import type { LifeEvent } from "../../lib/history/types";
import type { StoreAdapter } from "../../lib/model";
import { waitFor } from "../../scripts/servers/process";
import { HISTORY_SETTINGS } from "./history";

/** Polls check until it holds (a deadline, never a blind sleep). */
export const until = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) =>
  waitFor(async () => await check(), { timeoutMs, intervalMs: 50, what });

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});

const ENDS: LifeEvent["kind"][] = ["released", "expired", "lost", "force-released"];

/** Starts the hub (connection `id`) and the recorder; resolves once the hub is live and the recorder primed. */
export async function historyRig(id: string, adapter: StoreAdapter) {
  const dir = mkdtempSync(path.join(tmpdir(), `lockdeck-${id}-history-`));
  const bus = new EventBus();
  const hub = new Hub(id, adapter, bus, { healthIntervalMs: 300 });
  const recorder = new Recorder(
    bus,
    { records: () => hub.all(), get: (_, k) => hub.get(k) },
    { dataDir: dir, settings: HISTORY_SETTINGS, flushEveryMs: 200 },
  ).start();
  hub.start();
  stops.push(async () => {
    await recorder.stop();
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await until("the hub live and the recorder primed", () => hub.statusEvent().mode === "live" && recorder.connections.get(id)?.primed === true);
  /** The key's holding ends recorded so far (released, expired, lost, force-released). */
  const ended = async (key: string): Promise<LifeEvent[]> => {
    await recorder.flush();
    const evs = await recorder.reader()!.events({ key, from: 0, to: Date.now() + 60_000 });
    return evs.filter((e) => ENDS.includes(e.kind));
  };
  return { hub, recorder, ended };
}
