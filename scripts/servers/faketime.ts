// libfaketime (Debian's faketime package) for clock-fault tests: the environment that runs a
// process with its wall clock shifted by a fixed offset. (Debian's redis-server cannot run
// under it: its jemalloc and libfaketime 0.9.10 recurse into clock_gettime at start-up.)

import { existsSync } from "node:fs";

export const FAKETIME_HINT = "install it with `apt-get install -y faketime` (Debian's libfaketime)";
const LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

function library(): string {
  const found = [LIB, LIB.replace("x86_64-linux-gnu", "aarch64-linux-gnu")].find((p) => existsSync(p));
  if (!found) throw new Error(`libfaketime not found (${LIB}): ${FAKETIME_HINT}`);
  return found;
}

/** Environment for a process whose clock is `offset` off ("-30s", "+1h"). */
export function fakeClock(offset: string): Record<string, string> {
  return { LD_PRELOAD: library(), FAKETIME: offset };
}
