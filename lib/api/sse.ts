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
//
// Ids are `<epoch>-<seq>` (lib/hub/bus.ts): a Last-Event-ID of another process (a restart,
// another replica), ahead of the counter or unreadable gets the resync a first visit gets.
//
// A stream stays tied to the identity that opened it (the route passes a re-check): that is
// resolved again on every heartbeat, before frames go out when the last check is older than
// RECHECK_MS, and at once on a sign-out in this process (recheckStreams, from the sign-out
// route). When the session no longer resolves (signed out, expired, user removed), names
// someone else, or the role no longer allows what the stream exposes (an operator demoted to
// viewer must not get one more fence), the stream drops what it holds, sends `event: end` with
// the reason and ends. It is ended rather than narrowed: the browser reconnects and gets what
// its identity allows now (a 401, or a viewer's stream), and refetches what it shows.

import type { Registry } from "../registry";
import type { SequencedEvent } from "../hub/bus";
import type { Actor } from "../auth/guard";
import { exposureOf, present, type Exposure } from "./exposure";
import { liveStreams } from "../ops/shutdown";

const HEARTBEAT_MS = 15_000;
/** Frames wait for a fresh identity check when the last one is older than this. */
export const RECHECK_MS = 1_000;
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
export function frameOf(e: SequencedEvent, exposure: Exposure, epoch: string): Uint8Array {
  if (last?.event !== e) last = { event: e, frames: {} };
  // Only an upsert differs per exposure (its fence and raw preview); the rest is one frame.
  const as: Exposure = e.type === "upsert" ? exposure : "view";
  let frame = last.frames[as];
  if (!frame) {
    const data = e.type === "upsert" ? { ...e.data, lock: present(as, e.data.lock) } : e.data;
    frame = encoder.encode(`id: ${epoch}-${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`);
    last.frames[as] = frame;
    frameStats.made++;
  }
  return frame;
}

/** A stream's frames waiting for the next batch; `flush` sends them as one chunk. */
interface Pending {
  frames: Uint8Array[];
  flush(bytes: Uint8Array): void;
  /** False: hold the frames (an identity check is under way; it schedules them again). */
  ready(): boolean;
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
  for (const p of streams) if (p.ready()) p.flush(joined(p.frames, made));
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

/** Why a stream was ended by its identity check (the data of its `end` event). */
export interface EndReason {
  reason: "signed out" | "role changed";
  message: string;
}

/** The identity a stream was opened by, and how to resolve it again (the route: resolveIdentity of its request). */
export interface StreamOpener {
  actor: Actor;
  identify(): Promise<Actor | null>;
  /** The session cookie it was opened with, if any: a sign-out of that session re-checks it at once. */
  session?: string;
}

/** Why a stream opened by `opener` with this exposure may not go on for `now`; null when it may. */
export function endReason(opener: Actor, exposure: Exposure, now: Actor | null): EndReason | null {
  if (!now) return { reason: "signed out", message: "the session ended (signed out, expired, or the user was removed): sign in again" };
  if (now.name !== opener.name || now.method !== opener.method) return { reason: "signed out", message: `this stream was opened by ${opener.name}` };
  if (exposure === "release" && exposureOf(now) !== "release") {
    return { reason: "role changed", message: `${now.name} is now ${now.role}: reconnect for what that role may see` };
  }
  return null;
}

// Every open stream's re-check, by the session it was opened with, on globalThis: the sign-out
// route is bundled apart from this one.
const g = globalThis as unknown as { __lockdeckStreamChecks?: Map<() => void, string | undefined> };
const streamChecks = (g.__lockdeckStreamChecks ??= new Map());

/** Re-checks now the identity of the open streams of this session (a sign-out in this process), or of all. */
export function recheckStreams(session?: string): void {
  for (const [check, s] of [...streamChecks]) if (session === undefined || s === session) check();
}

/**
 * exposure: what of each lock this subscriber may see (lib/api/exposure.ts). lastEventId: the
 * Last-Event-ID header as sent (null: none). opener: who opened it, re-checked as described at
 * the top (absent: never re-checked — tests of the fan-out alone).
 */
export function eventStream(
  reg: Registry,
  connection: string | undefined,
  lastEventId: string | null,
  signal: AbortSignal,
  exposure: Exposure,
  opener?: StreamOpener,
) {
  let cleanup = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let ended = false;
      let checkedAt = Date.now(); // the route has just resolved the opener
      let checking: Promise<boolean> | null = null;
      /** Resolves the opener again; false (and the stream ended) when it may not go on. */
      const recheck = (): Promise<boolean> => {
        if (ended) return Promise.resolve(false);
        if (!opener) return Promise.resolve(true);
        return (checking ??= opener
          .identify()
          .catch(() => null) // cannot tell who it is: fail closed
          .then((now) => {
            checking = null;
            const why = endReason(opener.actor, exposure, now);
            if (why) {
              finish(why);
              return false;
            }
            checkedAt = Date.now();
            return !ended;
          }));
      };
      const pending: Pending = {
        frames: [],
        ready() {
          if (!opener || Date.now() - checkedAt < RECHECK_MS) return !ended;
          void recheck().then((ok) => {
            if (ok && pending.frames.length && !waiting.has(pending)) pending.flush(joined(pending.frames, new Map()));
          });
          return false;
        },
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
        // Held for a check: it schedules them again; a ping or shutdown hint may go first.
        if (pending.ready()) pending.flush(joined(pending.frames, new Map()));
      };
      const write = (text: string) => {
        flushNow();
        controller.enqueue(encoder.encode(text));
      };
      const send = (e: SequencedEvent) => {
        if (connection && e.connection !== connection) return;
        // Held too long (an identity check that does not answer): cut off, like a slow reader.
        if (pending.frames.length >= MAX_BACKLOG) return close();
        pending.frames.push(frameOf(e, exposure, reg.bus.epoch));
        schedule(pending);
      };
      const ids = connection ? [connection] : [...reg.connections.keys()];
      // Another epoch (restart, other replica), ahead, unreadable or too old: null, a resync.
      const missed = lastEventId !== null ? reg.bus.sinceWireId(lastEventId) : null;
      if (missed) missed.forEach(send);
      else {
        const id = reg.bus.wireId(reg.bus.lastId);
        // First visit or too far behind: current status now, and (on reconnect) refetch everything.
        for (const c of ids) {
          if (lastEventId !== null) write(`id: ${id}\nevent: resync\ndata: ${JSON.stringify({ connection: c })}\n\n`);
          write(`id: ${id}\nevent: status\ndata: ${JSON.stringify(reg.get(c).hub.statusEvent())}\n\n`);
        }
      }
      const unsubscribe = reg.bus.subscribe((e) => {
        if ((controller.desiredSize ?? 0) < -MAX_BACKLOG) return close();
        send(e);
      });
      // The opener is checked on every heartbeat; the ping goes out only when it still holds.
      const heartbeat = setInterval(() => {
        void recheck().then((ok) => {
          if (!ok) return;
          try {
            write(": ping\n\n");
          } catch {
            // closed meanwhile
          }
        });
      }, HEARTBEAT_MS);
      const close = () => {
        ended = true;
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
      // The identity check failed: nothing held goes out; the reason, then the end of the stream.
      const finish = (why: EndReason) => {
        if (ended) return;
        waiting.delete(pending);
        pending.frames = [];
        try {
          controller.enqueue(encoder.encode(`event: end\ndata: ${JSON.stringify(why)}\n\n`));
        } catch {
          // already closed
        }
        close();
      };
      const checkNow = () => void recheck();
      liveStreams().add(end);
      streamChecks.set(checkNow, opener?.session);
      cleanup = () => {
        unsubscribe();
        clearInterval(heartbeat);
        signal.removeEventListener("abort", close);
        liveStreams().delete(end);
        streamChecks.delete(checkNow);
      };
      signal.addEventListener("abort", close);
    },
    cancel() {
      cleanup();
    },
  });
}
