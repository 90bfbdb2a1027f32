// What `srvr` tells the walk: multiRead only for a server that names a version of 3.6 or later.

import { describe, expect, it } from "vitest";
import { hasMultiRead, parseSrvr } from "./server-info";

describe("hasMultiRead", () => {
  it("is true from ZooKeeper 3.6.0 on, and false for an older or unknown version", () => {
    for (const v of ["3.6.0", "3.8.0", "3.9.3", "3.10.0", "4.0.0"]) expect(hasMultiRead(v), v).toBe(true);
    for (const v of ["3.5.10", "3.4.14", "2.9.9", "", "3", "unknown"]) expect(hasMultiRead(v), v).toBe(false);
  });

  it("reads the version off a real srvr answer; a refusal names none", () => {
    const answer =
      "Zookeeper version: 3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on 2022-02-25 08:49 UTC\nLatency min/avg/max: 0/0.0/0\nMode: standalone\n";
    expect(hasMultiRead(parseSrvr("127.0.0.1:2181", answer).version)).toBe(true);
    expect(hasMultiRead(parseSrvr("127.0.0.1:2181", "Zookeeper version: 3.5.10-c5b1ee4, built on 2022\nMode: leader\n").version)).toBe(false);
    expect(hasMultiRead(parseSrvr("127.0.0.1:2181", "srvr is not executed because it is not in the whitelist.\n").version)).toBe(false);
  });
});
