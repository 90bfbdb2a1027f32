"use client";

import { memo, type RefObject } from "react";
import { LOCK_STATUSES, type LockStatus } from "@/lib/status";
import type { StatusCounts } from "./api";
import { formatCount } from "./format";
import type { LockFilters } from "./lock-filters";
import { STATUS_STYLE } from "./status-badge";
import { useWarnings } from "./warnings";

export interface FilterBarProps {
  filters: LockFilters;
  formats: string[];
  counts?: StatusCounts;
  searchRef: RefObject<HTMLInputElement | null>;
  /** The key filter as typed (the table asks for it at once; the URL follows, use-key-filter.ts). */
  keyText: string;
  onType(q: string): void;
  /** The key text is about to be written into the URL by onChange (Enter, "clear filters"). */
  onSettle(q: string): void;
  /** Apply a change; `replace` for typing (no history entry per keystroke). */
  onChange(patch: Partial<LockFilters>, replace?: boolean): void;
}

const selectClass = "rounded border border-line bg-panel px-1.5 py-1 text-[12px]";

/** FilterBar: format, state toggles, warning and key-contains filters. Memoised: the table re-renders on every scroll frame. */
export const FilterBar = memo(function FilterBar({ filters, formats, counts, searchRef, keyText, onType, onSettle, onChange }: FilterBarProps) {
  const toggle = (s: LockStatus) => {
    const next = filters.status.includes(s) ? filters.status.filter((x) => x !== s) : [...filters.status, s];
    onChange({ status: LOCK_STATUSES.filter((x) => next.includes(x)) });
  };
  const formatOptions = filters.format && !formats.includes(filters.format) ? [filters.format, ...formats] : formats;
  const { known, describe: describeWarning } = useWarnings();
  const warningOptions = filters.warning && !known.includes(filters.warning) ? [filters.warning, ...known] : known;
  const anyFilter = keyText || filters.format || filters.status.length || filters.warning;

  return (
    <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Filters">
      <label className="sr-only" htmlFor="filter-format">
        Format
      </label>
      <select
        id="filter-format"
        data-testid="filter-format"
        value={filters.format}
        onChange={(e) => onChange({ format: e.target.value })}
        className={selectClass}
      >
        <option value="">all formats</option>
        {formatOptions.map((f) => (
          <option key={f} value={f}>
            {f}
          </option>
        ))}
      </select>

      <div className="flex items-center gap-0.5 rounded border border-line bg-panel p-0.5" role="group" aria-label="State">
        {LOCK_STATUSES.map((s) => {
          const on = filters.status.includes(s);
          const st = STATUS_STYLE[s];
          return (
            <button
              key={s}
              type="button"
              aria-pressed={on}
              data-testid={`filter-status-${s}`}
              onClick={() => toggle(s)}
              title={st.hint}
              className={`rounded px-1.5 py-0.5 text-[12px] ${on ? `${st.bg} ${st.text} font-medium` : "text-muted hover:bg-hover"}`}
            >
              <span aria-hidden className={on ? "" : st.text}>
                {st.icon}
              </span>{" "}
              {s}
              {counts ? <span className="ml-1 tabular-nums text-faint">{formatCount(counts[s])}</span> : null}
            </button>
          );
        })}
      </div>

      <label className="sr-only" htmlFor="filter-warning">
        Warning
      </label>
      <select
        id="filter-warning"
        data-testid="filter-warning"
        value={filters.warning}
        onChange={(e) => onChange({ warning: e.target.value })}
        className={selectClass}
      >
        <option value="">any warnings</option>
        {warningOptions.map((w) => (
          <option key={w} value={w}>
            ⚠ {describeWarning(w).short}
          </option>
        ))}
      </select>

      <label className="sr-only" htmlFor="filter-q">
        Key contains
      </label>
      <input
        id="filter-q"
        ref={searchRef}
        data-testid="filter-q"
        type="search"
        value={keyText}
        onChange={(e) => onType(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            // Leave the filter as typed (Chrome would clear a search box on Escape) and hand the keys back to the table.
            e.preventDefault();
            e.currentTarget.blur();
          }
          if (e.key === "Enter") {
            onSettle(keyText);
            onChange({ q: keyText }, true);
          }
        }}
        placeholder="key contains…  /"
        autoComplete="off"
        spellCheck={false}
        className="w-64 rounded border border-line bg-panel px-2 py-1 font-mono text-[12px] placeholder:font-sans placeholder:text-faint"
      />
      {anyFilter ? (
        <button
          type="button"
          onClick={() => {
            onSettle("");
            onChange({ q: "", format: "", status: [], warning: "" });
          }}
          className="text-[12px] text-muted hover:text-fg"
        >
          clear filters ×
        </button>
      ) : null}
    </div>
  );
});
