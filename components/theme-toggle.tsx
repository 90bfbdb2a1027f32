"use client";

import { useSyncExternalStore } from "react";
import { THEME_STORAGE_KEY, type ThemeChoice } from "./theme";

const ORDER: ThemeChoice[] = ["system", "light", "dark"];
const LABEL: Record<ThemeChoice, string> = { system: "◐ auto", light: "☀ light", dark: "☾ dark" };

const listeners = new Set<() => void>();

function read(): ThemeChoice {
  try {
    const t = localStorage.getItem(THEME_STORAGE_KEY);
    return t === "light" || t === "dark" ? t : "system";
  } catch {
    return "system";
  }
}

function write(choice: ThemeChoice) {
  try {
    if (choice === "system") localStorage.removeItem(THEME_STORAGE_KEY);
    else localStorage.setItem(THEME_STORAGE_KEY, choice);
  } catch {
    // Storage may be unavailable (private mode): the choice then lasts for this page only.
  }
  if (choice === "system") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.setAttribute("data-theme", choice);
  listeners.forEach((l) => l());
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** ThemeToggle cycles auto → light → dark; the choice persists in localStorage. */
export function ThemeToggle() {
  // The server renders "system"; the browser's stored choice replaces it right after hydration.
  const choice = useSyncExternalStore(subscribe, read, () => "system" as const);
  const next = ORDER[(ORDER.indexOf(choice) + 1) % ORDER.length];
  return (
    <button
      type="button"
      onClick={() => write(next)}
      className="rounded border border-line px-2 py-0.5 text-xs text-muted hover:text-fg"
      title={`Theme: ${choice} (click for ${next})`}
      aria-label={`Theme: ${choice}. Switch to ${next}`}
    >
      {LABEL[choice]}
    </button>
  );
}
