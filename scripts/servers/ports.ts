// Free loopback ports for test servers. We never use a default port (6379,
// 2379, ...) because other processes on the machine may hold it.
//
// Contract: a returned port was bindable on 127.0.0.1 a moment ago and has not
// been handed out before by this process. Another process can still grab it
// before the server binds it, so callers that spawn servers retry on
// "Address already in use": they start through onFreshPorts (below).
import net from "node:net";

const HOST = "127.0.0.1";
// Ports handed out by this process, so parallel starts (cluster nodes) never
// get the same port, or one node's port equal to another node's bus port.
const handedOut = new Set<number>();

/** True if `port` can be bound on 127.0.0.1 right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Lets the kernel pick a free port (bind port 0), then releases it. */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen({ port: 0, host: HOST, exclusive: true }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function pick(extraOffset: number | null): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await kernelPort();
    if (handedOut.has(port)) continue;
    if (extraOffset !== null) {
      const bus = port + extraOffset;
      if (bus > 65535 || handedOut.has(bus) || !(await isPortFree(bus))) continue;
      handedOut.add(bus);
    }
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free loopback port found after 100 attempts`);
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return pick(null);
}

/** A free port whose port+10000 (Redis cluster bus) is free as well. */
export function freeClusterPort(): Promise<number> {
  return pick(10000);
}

const PORT_TAKEN = /address already in use|BindException/i;

/**
 * Runs `start` (which picks its own ports, and stops whatever it started when it fails) again
 * with new ports when a server could not bind one: a port picked free can be taken by another
 * test before the server binds it. At most `attempts` tries; any other failure is thrown at once.
 */
export async function onFreshPorts<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt < attempts && PORT_TAKEN.test((e as Error).message)) continue;
      throw e;
    }
  }
}
