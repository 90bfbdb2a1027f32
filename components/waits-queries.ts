// The waits resources (GET /api/connections/:id/waits, and ?key= for one lock), read at the one
// page rate like every other view.
//   ["waits", conn]          the connection's graph
//   ["waits", conn, key]     one lock's holders through it

import { queryOptions } from "@tanstack/react-query";
import type { LockWaitsAnswer, WaitsAnswer } from "@/lib/waits/types";
import { ApiError, getJson } from "./api";
import { REFRESH_MS } from "./queries";

const path = (conn: string) => `/api/connections/${encodeURIComponent(conn)}/waits`;
const retry = (n: number, err: unknown) => !(err instanceof ApiError && err.status < 500) && n < 2;

export const waitsQuery = (conn: string) =>
  queryOptions({
    queryKey: ["waits", conn] as const,
    queryFn: ({ signal }) => getJson<WaitsAnswer>(path(conn), signal),
    refetchInterval: REFRESH_MS,
    retry,
  });

export const lockWaitsQuery = (conn: string, key: string) =>
  queryOptions({
    queryKey: ["waits", conn, key] as const,
    queryFn: ({ signal }) => getJson<LockWaitsAnswer>(`${path(conn)}?key=${encodeURIComponent(key)}`, signal),
    refetchInterval: REFRESH_MS,
    retry,
  });
