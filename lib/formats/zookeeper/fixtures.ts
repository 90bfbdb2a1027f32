// Loads the captured fixtures (lib/formats/testdata/zookeeper, made by
// scripts/capture/dump-zookeeper.ts) for tests.

import { readFileSync } from "node:fs";
import path from "node:path";
import { nodeFromFixture, type ZkFixture, type ZkNode } from "./entry";

export function loadFixture(name: string): { fixture: ZkFixture; nodes: ZkNode[] } {
  const file = path.join(__dirname, "..", "testdata", "zookeeper", name);
  const fixture = JSON.parse(readFileSync(file, "utf8")) as ZkFixture;
  return { fixture, nodes: fixture.nodes.map(nodeFromFixture) };
}
