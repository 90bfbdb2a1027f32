"use client";

import { useState } from "react";

/** CopyButton copies `text` (or what the function returns at click time) and says so for a moment. */
export function CopyButton({
  text,
  label = "Copy",
  className = "",
}: {
  text: string | (() => string);
  label?: string;
  className?: string;
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
      className={`rounded border border-line px-1.5 py-0.5 text-xs text-muted hover:bg-hover hover:text-fg ${className}`}
    >
      {state === "copied" ? "Copied ✓" : state === "failed" ? "Copy failed" : label}
    </button>
  );
}
