import { handler, jsonError } from "@/lib/api/errors";
import { registry } from "@/lib/registry";
import { readiness } from "@/lib/ops/ready";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/** Readiness (lib/ops/ready.ts): 200 when this replica can take traffic, else 503 with the reasons. No sign-in: probes have none. */
export const GET = handler(async () => {
  let reg;
  try {
    reg = registry();
  } catch (err) {
    return jsonError(503, "not_ready", `config: ${(err as Error).message}`, { ready: false, reasons: [`config: ${(err as Error).message}`] });
  }
  const r = await readiness(reg);
  return Response.json(r, { status: r.ready ? 200 : 503, headers: { "cache-control": "no-store" } });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
