"use client";

// Small pieces shared by the lock timeline and the contention page: range picker, time axis,
// recording state note.

import { formatClock } from "./format";
import { RANGES, resolutionText, type RangeName, type Recording, type Resolution } from "./history-api";

export function RangePicker({ value, onChange, testId = "range-picker" }: { value: RangeName; onChange: (r: RangeName) => void; testId?: string }) {
  return (
    <div role="group" aria-label="Time range" data-testid={testId} className="flex items-center gap-0.5 rounded border border-line bg-sunken p-0.5 text-[12px]">
      {(Object.keys(RANGES) as RangeName[]).map((r) => (
        <button
          key={r}
          type="button"
          aria-pressed={r === value}
          onClick={() => onChange(r)}
          className={`rounded px-2 py-0.5 ${r === value ? "bg-panel font-medium text-fg shadow-sm" : "text-muted hover:text-fg"}`}
        >
          {r}
        </button>
      ))}
    </div>
  );
}

/** Five clock ticks under a chart spanning [from, to]. */
export function TimeAxis({ from, to }: { from: number; to: number }) {
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div className="relative h-4 text-[11px] text-faint tabular-nums" aria-hidden>
      {ticks.map((f) => (
        <span key={f} className="absolute top-0 -translate-x-1/2 whitespace-nowrap first:translate-x-0 last:-translate-x-full" style={{ left: `${f * 100}%` }}>
          {formatClock(new Date(from + f * (to - from)).toISOString())}
        </span>
      ))}
    </div>
  );
}

export function RecordingNote({ recording, resolution }: { recording?: Recording; resolution?: Resolution }) {
  return (
    <p className="text-[12px] text-muted" data-testid="history-resolution">
      {recording?.paused ? (
        <span className="mr-2 font-medium text-bad" data-testid="history-paused" title={recording.message ?? ""}>
          history paused (recording resumes by itself)
        </span>
      ) : null}
      {resolution ? resolutionText(resolution) : null}
    </p>
  );
}
