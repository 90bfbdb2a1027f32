// Loads the captured fixtures (lib/formats/testdata/consul, made by scripts/capture/consul) for tests.

import { readFileSync } from "node:fs";
import path from "node:path";
import type { ConsulFixture } from "./entry";

export function loadConsulFixture(name: string): ConsulFixture {
  return JSON.parse(readFileSync(path.join(__dirname, "..", "testdata", "consul", name), "utf8")) as ConsulFixture;
}
