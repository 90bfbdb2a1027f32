// Loads the captured fixtures (lib/formats/testdata/redis, made by scripts/capture) for tests.

import { readFileSync } from "node:fs";
import path from "node:path";
import { entryFromFixture, type RedisEntry, type RedisFixture } from "./entry";

export function loadFixture(name: string): { fixture: RedisFixture; entries: RedisEntry[] } {
  const file = path.join(__dirname, "..", "testdata", "redis", name);
  const fixture = JSON.parse(readFileSync(file, "utf8")) as RedisFixture;
  return { fixture, entries: fixture.entries.map(entryFromFixture) };
}
