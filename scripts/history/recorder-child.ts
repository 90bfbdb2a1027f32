// A console's history side in its own process, for the crash test (lib/history/durability.test.ts):
// a Redis hub with its live feed, the bus and the recorder writing <dataDir>/history.sqlite —
// what `next start` runs for history, without the web server. The test kills it with SIGKILL
// in the middle of a flush and starts it again on the same data dir.
//
//   node --import tsx scripts/history/recorder-child.ts <redis-url> <dataDir>
//   (LOCKDECK_FLUSH_MS: the recorder's flush period, default 250 ms; LOCKDECK_POLL_MS: poll the
//   store every N ms instead of following keyspace events — a whole snapshot's changes then
//   reach the recorder at once, which makes one large batch)
//
// stdout (written synchronously, so a line is out before what it announces happens):
//   STARTED <ms>            the recorder exists (its start time)
//   PRIMED                  the first snapshot is recorded as the baseline
//   FLUSH-START <n>         a batch of n events is about to be written (one transaction)
//   FLUSH-DONE <n>          …and committed

import { writeSync } from "node:fs";
import path from "node:path";
import { EventBus } from "../../lib/hub/bus";
import { Hub } from "../../lib/hub/hub";
import { RedisAdapter } from "../../lib/stores/redis/adapter";
import { RedisConnectionSchema } from "../../lib/stores/redis/config";
import { Recorder } from "../../lib/history/recorder";
import { SqliteHistoryStore, type BatchMeta } from "../../lib/history/sqlite";
import type { LifeEvent } from "../../lib/history/types";
import { HISTORY_SETTINGS } from "../../test/support/history";

const [url, dataDir] = process.argv.slice(2);
if (!url || !dataDir) {
  console.error("usage: recorder-child.ts <redis-url> <dataDir>");
  process.exit(2);
}
const say = (line: string) => writeSync(1, line + "\n");

class AnnouncingStore extends SqliteHistoryStore {
  override async append(events: LifeEvent[], meta?: BatchMeta): Promise<void> {
    if (events.length) say(`FLUSH-START ${events.length}`);
    await super.append(events, meta);
    if (events.length) say(`FLUSH-DONE ${events.length}`);
  }
}

const ID = "redis-dur";
const bus = new EventBus();
const poll = process.env.LOCKDECK_POLL_MS;
const cfg = RedisConnectionSchema.parse({
  id: ID,
  kind: "redis",
  url,
  patterns: ["lock:*"],
  ...(poll && { notifications: "off", pollIntervalMs: Number(poll) }),
});
const hub = new Hub(ID, new RedisAdapter(ID, cfg), bus);
const recorder = new Recorder(
  bus,
  { records: () => hub.all(), get: (_, k) => hub.get(k) },
  {
    dataDir,
    settings: HISTORY_SETTINGS,
    flushEveryMs: Number(process.env.LOCKDECK_FLUSH_MS ?? 250),
    openStore: () => new AnnouncingStore(path.join(dataDir, "history.sqlite")),
  },
).start();
say(`STARTED ${recorder.startedAt}`);
hub.start();
const primed = setInterval(() => {
  if (recorder.connections.get(ID)?.primed) {
    clearInterval(primed);
    say("PRIMED");
  }
}, 20);
