import { HttpError, handler } from "@/lib/api/errors";
import { authorize, can } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { AuditQuery, parseQuery } from "@/lib/api/params";
import type { AuditAnswer } from "@/lib/api/types";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

export const GET = handler(async (req: Request) => {
  const actor = authorize(req, "view");
  const q = parseQuery(AuditQuery, req);
  const reg = registry();
  let view;
  try {
    // Every replica's trail with a shared PostgreSQL (source "shared"), else this one's ("local").
    view = await reg.auditView(q);
  } catch (err) {
    throw new HttpError(503, "audit_unavailable", `the audit trail cannot be read: ${(err as Error).message}`);
  }
  // Fences name exact holdings (and, in lines written before fences were signed, raw values):
  // viewers get the trail without them.
  const entries = can(actor, "release") ? view.entries : view.entries.map((e) => ({ ...e, fence: "" }));
  const chainProblems = view.problems;
  return Response.json(
    {
      entries,
      chainBrokenAt: chainProblems[0] ? (chainProblems[0].id ?? `line ${chainProblems[0].line}`) : null,
      chainProblems,
      writeFailure: reg.audit.unavailable(),
      source: view.source,
    } satisfies AuditAnswer,
    { headers: { "cache-control": "no-store" } },
  );
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
