"use client";

import { useSyncExternalStore, type ReactNode } from "react";

const noSubscription = () => () => {};

/** useHydrated is false on the server and while React hydrates, true from the first render after. */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    noSubscription,
    () => true,
    () => false,
  );
}

/**
 * ClientOnly renders its children only in the browser, after hydration; the server (and the
 * hydration pass) render `fallback`. Page content reads the TanStack Query cache, which only
 * the browser fills: a Suspense boundary that React hydrates after the first answers arrived
 * would render rows where the server's HTML said "loading…", a hydration mismatch (React
 * #418) that throws and re-renders the page. The server's HTML is therefore the chrome only.
 */
export function ClientOnly({ children, fallback = null }: { children: ReactNode; fallback?: ReactNode }) {
  return useHydrated() ? children : fallback;
}
