// The live event stream. It carries changes, not keyspaces: a reconnecting browser sends
// Last-Event-ID and gets the events it missed, or a resync hint when they are gone. A client
// that cannot keep up is cut off (it reconnects and resyncs) instead of growing our memory.
//
// Fan-out: each event is serialised once per exposure (lib/api/exposure.ts), not once per client.
// The bus calls every subscriber for an event in the same loop, so the frames of the last event
// are kept and handed to every stream as the same bytes (an upsert's fence is made once too).
// Frames are then sent in batches, every BATCH_MS: what a stream writes to its socket costs
// per chunk (stream, promise and writev steps), ~15 µs, so 500 browsers × 200 changes/s as one
// chunk per frame needed 1.5 cores; one chunk per stream per batch costs a fraction, and the
// streams that got the same frames get the same concatenated bytes. Order is kept: a stream's
// own lines (status, ping, shutdown) flush its pending frames first.

import type { Registry } from "../registry";
import type { SequencedEvent } from "../hub/bus";
import { present, type Exposure } from "./exposure";
import { liveStreams } from "../ops/shutdown";

const HEARTBEAT_MS = 15_000;
/** How long a frame may wait for others to go out with it (added to change → browser latency). */
export const BATCH_MS = 20;
const MAX_BACKLOG = 1_000;
/** On shutdown, browsers are told to reconnect after this long (EventSource's `retry`). */
export const SHUTDOWN_RETRY_MS = 1_000;

const encoder = new TextEncoder();
let last: { event: SequencedEvent; frames: Partial<Record<Exposure, Uint8Array>> } | null = null;
/** Frames serialised so far (tests check that a fan-out serialises each event once per exposure). */
export const frameStats = { made: 0 };

/** The SSE frame of an event as sent with this exposure: made once, then the same bytes for every stream. */
export function frameOf(e: SequencedEvent, exposure: Exposure): Uint8Array {
  if (last?.event !== e) last = { event: e, frames: {} };
  // Only an upsert differs per exposure (its fence and raw preview); the rest is one frame.
  const as: Exposure = e.type === "upsert" ? exposure : "view";
  let frame = last.frames[as];
  if (!frame) {
    const data = e.type === "upsert" ? { ...e.data, lock: present(as, e.data.lock) } : e.data;
    frame = encoder.encode(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`);
    last.frames[as] = frame;
    frameStats.made++;
  }
  return frame;
}

/** A stream's frames waiting for the next batch; `flush` sends them as one chunk. */
interface Pending {
  frames: Uint8Array[];
  flush(bytes: Uint8Array): void;
}

const waiting = new Set<Pending>();
let batchTimer: ReturnType<typeof setTimeout> | null = null;

function schedule(p: Pending): void {
  waiting.add(p);
  batchTimer ??= setTimeout(sendBatch, BATCH_MS);
}

/** Every waiting stream gets its frames as one chunk; streams with the same frames share the bytes. */
function sendBatch(): void {
  batchTimer = null;
  const made = new Map<string, Uint8Array>();
  const streams = [...waiting];
  waiting.clear();
  for (const p of streams) p.flush(joined(p.frames, made));
}

/** A number per frame object, to name a list of frames (frames are shared, so equal lists are the same objects). */
const frameIds = new WeakMap<Uint8Array, number>();
let nextFrameId = 0;
function idOf(f: Uint8Array): number {
  let id = frameIds.get(f);
  if (id === undefined) frameIds.set(f, (id = ++nextFrameId));
  return id;
}

/** The frames as one buffer, made once per batch for each distinct list of frames. */
function joined(frames: Uint8Array[], made: Map<string, Uint8Array>): Uint8Array {
  if (frames.length === 1) return frames[0];
  const key = frames.map(idOf).join(",");
  let bytes = made.get(key);
  if (!bytes) {
    bytes = Buffer.concat(frames);
    made.set(key, bytes);
  }
  return bytes;
}

/** exposure: what of each lock this subscriber may see (lib/api/exposure.ts). */
export function eventStream(reg: Registry, connection: string | undefined, lastId: number | null, signal: AbortSignal, exposure: Exposure) {
  let cleanup = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const pending: Pending = {
        frames: [],
        flush(bytes) {
          pending.frames = [];
          try {
            controller.enqueue(bytes);
          } catch {
            // closed meanwhile
          }
        },
      };
      const flushNow = () => {
        if (!waiting.delete(pending) || pending.frames.length === 0) return;
        pending.flush(joined(pending.frames, new Map()));
      };
      const write = (text: string) => {
        flushNow();
        controller.enqueue(encoder.encode(text));
      };
      const send = (e: SequencedEvent) => {
        if (connection && e.connection !== connection) return;
        pending.frames.push(frameOf(e, exposure));
        schedule(pending);
      };
      const ids = connection ? [connection] : [...reg.connections.keys()];
      const missed = lastId !== null && Number.isFinite(lastId) ? reg.bus.since(lastId) : null;
      if (missed) missed.forEach(send);
      else {
        const id = reg.bus.lastId;
        // First visit or too far behind: current status now, and (on reconnect) refetch everything.
        for (const c of ids) {
          if (lastId !== null) write(`id: ${id}\nevent: resync\ndata: ${JSON.stringify({ connection: c })}\n\n`);
          write(`id: ${id}\nevent: status\ndata: ${JSON.stringify(reg.get(c).hub.statusEvent())}\n\n`);
        }
      }
      const unsubscribe = reg.bus.subscribe((e) => {
        if ((controller.desiredSize ?? 0) < -MAX_BACKLOG) return close();
        send(e);
      });
      const heartbeat = setInterval(() => write(": ping\n\n"), HEARTBEAT_MS);
      const close = () => {
        waiting.delete(pending);
        cleanup();
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      // Server shutdown (lib/ops/shutdown.ts): a retry hint, then the end of the stream.
      const end = () => {
        try {
          write(`retry: ${SHUTDOWN_RETRY_MS}\n: this replica is shutting down; reconnect\n\n`);
        } catch {
          // already closed
        }
        close();
      };
      liveStreams().add(end);
      cleanup = () => {
        unsubscribe();
        clearInterval(heartbeat);
        signal.removeEventListener("abort", close);
        liveStreams().delete(end);
      };
      signal.addEventListener("abort", close);
    },
    cancel() {
      cleanup();
    },
  });
}
