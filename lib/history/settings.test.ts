import { expect, it } from "vitest";
import { ConfigSchema } from "../config";
import { historySettings } from "./settings";
import { HISTORY_SETTINGS } from "../../test/support/history";

it("the test fixture's history settings are the config's defaults (on SQLite)", () => {
  // Where history is stored depends on the environment (a shared PostgreSQL); the rest is the config's.
  const { storage: _s, postgresUrl: _p, ...defaults } = historySettings(ConfigSchema.parse({ connections: [{ id: "m", kind: "memory" }] }));
  const { storage, ...fixture } = HISTORY_SETTINGS;
  expect(storage).toBe("sqlite");
  expect(fixture).toEqual(defaults);
});
