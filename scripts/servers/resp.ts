// Minimal one-shot RESP2 client for readiness probes (PING, INFO, CLUSTER
// INFO). Deliberately not ioredis: probes must not retry, queue or reconnect,
// and must work before the server is fully up. Not for general use.
import net from "node:net";

type Reply = string | number | null | Error | Reply[];

// Parses one reply at `at`; undefined if the buffer is incomplete.
function parse(buf: Buffer, at: number): { value: Reply; next: number } | undefined {
  const eol = buf.indexOf("\r\n", at);
  if (eol < 0) return undefined;
  const line = buf.toString("utf8", at + 1, eol);
  const next = eol + 2;
  switch (buf[at]) {
    case 0x2b:
      return { value: line, next }; // +
    case 0x2d:
      return { value: new Error(line), next }; // -
    case 0x3a:
      return { value: Number(line), next }; // :
    case 0x24: {
      // $
      const len = Number(line);
      if (len < 0) return { value: null, next };
      if (buf.length < next + len + 2) return undefined;
      return { value: buf.toString("utf8", next, next + len), next: next + len + 2 };
    }
    case 0x2a: {
      // *
      const n = Number(line);
      if (n < 0) return { value: null, next };
      const items: Reply[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, pos);
        if (!r) return undefined;
        items.push(r.value);
        pos = r.next;
      }
      return { value: items, next: pos };
    }
    default:
      throw new Error(`bad RESP reply: ${JSON.stringify(line)}`);
  }
}

function encode(args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("");
}

export interface CommandOptions {
  host?: string;
  password?: string;
  timeoutMs?: number;
}

/**
 * Connects to 127.0.0.1:`port`, AUTHs if a password is given, runs one
 * command and closes. Rejects on connection errors, timeouts and error replies.
 */
export function redisCommand(port: number, args: string[], o: CommandOptions = {}): Promise<Reply> {
  const cmds = o.password ? [["AUTH", o.password], args] : [args];
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: o.host ?? "127.0.0.1" });
    let buf = Buffer.alloc(0);
    const finish = (err: Error | null, value?: Reply) => {
      sock.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    sock.setTimeout(o.timeoutMs ?? 2000, () => finish(new Error(`redis :${port} ${args[0]} timed out`)));
    sock.on("error", (e) => finish(e));
    sock.on("connect", () => sock.write(cmds.map(encode).join("")));
    sock.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const replies: Reply[] = [];
      let pos = 0;
      while (replies.length < cmds.length) {
        let r;
        try {
          r = parse(buf, pos);
        } catch (e) {
          return finish(e as Error);
        }
        if (!r) return; // wait for more data
        replies.push(r.value);
        pos = r.next;
      }
      const failed = replies.find((r): r is Error => r instanceof Error);
      if (failed) finish(new Error(`redis :${port} ${failed.message}`));
      else finish(null, replies[replies.length - 1]);
    });
    sock.on("close", () => finish(new Error(`redis :${port} closed the connection`)));
  });
}

/** INFO-style "key:value" text as a map (section headers and blanks skipped). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
