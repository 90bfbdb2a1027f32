// Loads the captured fixtures (lib/formats/testdata/etcd, made by scripts/capture/etcd) for tests.

import { readFileSync } from "node:fs";
import path from "node:path";
import { entryFromFixture, type EtcdEntry, type EtcdFixture, type LeaseInfo } from "./entry";

export function loadEtcdFixture(name: string): { fixture: EtcdFixture; entries: EtcdEntry[]; leases: Map<string, LeaseInfo> } {
  const file = path.join(__dirname, "..", "testdata", "etcd", name);
  const fixture = JSON.parse(readFileSync(file, "utf8")) as EtcdFixture;
  return {
    fixture,
    entries: fixture.entries.map(entryFromFixture),
    leases: new Map(fixture.leases.map((l) => [l.id, l])),
  };
}
