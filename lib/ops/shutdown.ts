// The app's side of a graceful shutdown. scripts/start.mjs (which owns the socket) calls these
// on SIGTERM/SIGINT, through globalThis because it is not part of Next's bundles:
//   1. endStreams(): every live event stream gets a retry hint and ends (browsers reconnect, to
//      another replica behind a load balancer, and refetch what they show);
//   2. close(): once requests in flight have finished — history flushed, store clients and the
//      PostgreSQL pool closed (Registry.close()).

import type { Registry } from "../registry";

export interface ShutdownHooks {
  /** Ends the live event streams; answers how many there were. */
  endStreams(): number;
  close(): Promise<void>;
}

const g = globalThis as unknown as { __lockdeckShutdown?: ShutdownHooks; __lockdeckStreams?: Set<() => void> };

/** Live event streams register their closer here (lib/api/sse.ts). */
export function liveStreams(): Set<() => void> {
  return (g.__lockdeckStreams ??= new Set());
}

export function installShutdown(reg: Registry): void {
  g.__lockdeckShutdown = {
    endStreams() {
      const streams = [...liveStreams()];
      for (const end of streams) end();
      return streams.length;
    },
    close: () => reg.close(),
  };
}
