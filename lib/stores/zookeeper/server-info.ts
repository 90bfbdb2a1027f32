// Which server answered and in what role, from the `srvr` four-letter word (whitelisted by
// default since ZooKeeper 3.5: 4lw.commands.whitelist=srvr). A server that refuses it is shown
// with its address and "mode unknown".

import "server-only";
import net from "node:net";

export interface ServerInfo {
  address: string;
  /** standalone | leader | follower | observer | read-only, or "" when unknown */
  mode: string;
  version: string;
  /** why mode is unknown, if it is */
  note?: string;
}

export function srvr(address: string, timeoutMs = 2_000): Promise<string> {
  return fourLetterWord(address, "srvr", timeoutMs);
}

/**
 * Sends one four-letter word (srvr, cons) to a server and returns its whole answer. A connection
 * closed with no answer at all is a failed read, never an empty answer: a server always answers
 * a word it knows (cons lists at least the asking connection; a word left out of the whitelist
 * gets a sentence saying so), and closes the connection without a byte when it refuses the
 * connection itself (over maxClientCnxns for our address, shutting down) — as a proxy or a load
 * balancer in between may too.
 */
export function fourLetterWord(address: string, word: "srvr" | "cons", timeoutMs = 2_000, maxBytes = 4 << 20): Promise<string> {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) return Promise.reject(new Error(`bad server address ${address}`));
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: m[1], port: Number(m[2]) });
    let out = "";
    sock.setTimeout(timeoutMs, () => {
      sock.destroy();
      reject(new Error(`${word} to ${address} timed out`));
    });
    sock.on("error", reject);
    sock.on("connect", () => sock.write(word));
    sock.on("data", (d) => {
      out += d.toString("utf8");
      // cons lists every connection of the server: a bounded answer, whatever the ensemble's size.
      if (out.length > maxBytes) {
        sock.destroy();
        reject(new Error(`${word} from ${address} is over ${maxBytes} bytes`));
      }
    });
    sock.on("close", () => (out ? resolve(out) : reject(new Error(`${address} closed the connection without answering ${word}`))));
  });
}

export function parseSrvr(address: string, text: string): ServerInfo {
  const mode = /^Mode: (\S+)/m.exec(text)?.[1] ?? "";
  const version = /^Zookeeper version: ([^\s,-]+)/m.exec(text)?.[1] ?? "";
  if (mode) return { address, mode, version };
  const note = /not in the whitelist/i.test(text) ? "srvr is not whitelisted (4lw.commands.whitelist)" : text.trim().slice(0, 120) || "no answer to srvr";
  return { address, mode: "", version, note };
}

/** multiRead came in ZooKeeper 3.6.0; an unknown version ("") is not trusted with it. */
export function hasMultiRead(version: string): boolean {
  const m = /^(\d+)\.(\d+)\./.exec(version);
  return !!m && (Number(m[1]) > 3 || (Number(m[1]) === 3 && Number(m[2]) >= 6));
}

export function describeServer(s: ServerInfo): string {
  return `ZooKeeper${s.version ? " " + s.version : ""} ${s.mode || "mode unknown"} · ${s.address}`;
}
