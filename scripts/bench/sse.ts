// A minimal Server-Sent Events client over fetch streaming, as a browser's EventSource reads
// /api/events: frames split on a blank line, `event:` / `data:` / `id:` fields. Each event is
// stamped with performance.now() when its bytes arrived.

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
  /** performance.now() when the chunk holding the end of this frame was read */
  at: number;
}

export interface SseStream {
  /** HTTP response headers (e.g. content-encoding) */
  headers: Headers;
  close(): void;
  /** Settles when the stream ends; rejects if it broke while open. */
  done: Promise<void>;
}

export async function openSse(url: string, onEvent: (e: SseEvent) => void): Promise<SseStream> {
  const ctrl = new AbortController();
  // fetch sends Accept-Encoding: gzip, deflate, br like a browser does, so any response
  // compression that would buffer events shows up in the latency.
  const res = await fetch(url, { signal: ctrl.signal, headers: { accept: "text/event-stream" } });
  if (!res.ok || !res.body) throw new Error(`SSE ${url}: HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const done = (async () => {
    let buf = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const at = performance.now();
        buf += value.replace(/\r\n?/g, "\n");
        let end: number;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const ev = parseFrame(buf.slice(0, end), at);
          buf = buf.slice(end + 2);
          if (ev) onEvent(ev);
        }
      }
    } catch (err) {
      if (!ctrl.signal.aborted) throw err;
    }
  })();
  return { headers: res.headers, close: () => ctrl.abort(), done };
}

function parseFrame(frame: string, at: number): SseEvent | null {
  let event = "message";
  let id: string | undefined;
  const data: string[] = [];
  for (const line of frame.split("\n")) {
    if (line === "" || line.startsWith(":")) continue; // comment / heartbeat
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
  return data.length ? { id, event, data: data.join("\n"), at } : null;
}
