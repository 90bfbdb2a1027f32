"use client";

import { useState, type ReactNode } from "react";
import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { ApiError } from "@/components/api";
import { LiveEvents } from "@/components/live-events";
import { WarningTexts } from "@/components/warnings";
import type { WarningText } from "@/lib/stores/module";

/** A 401 means nobody is signed in (or the session ended): go to sign-in, then come back. */
function signInOn401(error: unknown) {
  if (!(error instanceof ApiError) || error.status !== 401) return;
  if (window.location.pathname.startsWith("/login")) return;
  const next = window.location.pathname + window.location.search;
  // eslint-disable-next-line @next/next/no-location-assign-relative-destination -- runs in the QueryCache's onError, outside any component, so there is no router; a full load also drops the signed-out cache
  window.location.assign(`/login?next=${encodeURIComponent(next)}`);
}

/**
 * Providers gives the client tree its query cache (one per browser tab), the live event stream,
 * and the stores' warning texts (from the server's store registry).
 */
export function Providers({ warnings, children }: { warnings: Record<string, WarningText>; children: ReactNode }) {
  const [client] = useState(
    () =>
      new QueryClient({
        queryCache: new QueryCache({ onError: signInOn401 }),
        defaultOptions: {
          queries: {
            staleTime: 1_000,
            refetchOnWindowFocus: true,
          },
        },
      }),
  );
  return (
    <QueryClientProvider client={client}>
      <WarningTexts stores={warnings}>
        <LiveEvents>{children}</LiveEvents>
      </WarningTexts>
    </QueryClientProvider>
  );
}
