// A console's registry inside a test process (no HTTP): the connections given, a fresh temp
// data dir, history off unless `extra` says otherwise. closeRegistry() stops every hub and the
// reconciler, so nothing keeps reading a store the test is about to stop.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Registry } from "../../lib/registry";
import { ConfigSchema } from "../../lib/config";

export function openRegistry(connections: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): Registry {
  return new Registry(ConfigSchema.parse({ connections, dataDir: mkdtempSync(path.join(tmpdir(), "lockdeck-reg-")), history: { enabled: false }, ...extra }));
}

export async function closeRegistry(reg: Registry | undefined): Promise<void> {
  if (!reg) return;
  reg.reconciler.stop();
  for (const c of reg.connections.values()) await c.hub.stop();
  reg.audit.close();
}
