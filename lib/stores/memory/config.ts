// The embedded store's part of lockdeck.config.json: an in-process lock store (lib/stores/memory),
// by default with the demo workload running against it.

import { z } from "zod";

export const MemoryConnectionSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    kind: z.literal("memory"),
    label: z.string().optional(),
    /** Run the demo workload generator against this in-process store. */
    workload: z.boolean().default(true),
    seed: z.number().int().optional(),
    readOnly: z.boolean().default(false),
  })
  .strict();

export type MemoryConnectionConfig = z.infer<typeof MemoryConnectionSchema>;

/** No config at all = this one connection: the embedded store with the demo workload. */
export const DEMO_CONNECTIONS = [{ id: "demo", kind: "memory", label: "Embedded demo store", workload: true }];
