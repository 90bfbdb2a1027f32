"use client";

import { useState } from "react";

/** CopyButton copies `text` (or what the function returns at click time) and says so for a moment. */
export function CopyButton({
  text,
  label = "Copy",
  className = "",
  small = false,
}: {
  text: string | (() => string);
  label?: string;
  className?: string;
  /** Inline beside an id: smaller, and its accessible name says what it copies. */
  small?: boolean;
}) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(typeof text === "function" ? text() : text);
      setState("copied");
    } catch {
      setState("failed");
    }
    setTimeout(() => setState("idle"), 1_500);
  };
  return (
    <button
      type="button"
      onClick={copy}
      aria-label={small && state === "idle" ? `${label} ${typeof text === "string" ? text : ""}`.trim() : undefined}
      className={`rounded border border-line text-muted hover:bg-hover hover:text-fg ${small ? "px-1 text-[11px] leading-4" : "px-1.5 py-0.5 text-xs"} ${className}`}
    >
      {state === "copied" ? "Copied ✓" : state === "failed" ? "Copy failed" : label}
    </button>
  );
}
