"use client";

import { useState, type ReactNode } from "react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { LiveEvents } from "@/components/live-events";

/** Providers gives the client tree its query cache (one per browser tab) and the live event stream. */
export function Providers({ children }: { children: ReactNode }) {
  const [client] = useState(
    () =>
      new QueryClient({
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
      <LiveEvents>{children}</LiveEvents>
    </QueryClientProvider>
  );
}
