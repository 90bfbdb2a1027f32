import { handler } from "@/lib/api/errors";
import { NoQuery, parseQuery } from "@/lib/api/params";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { otherMethods } from "@/lib/api/methods";
import { jsonLine } from "@/lib/audit/log";

export const dynamic = "force-dynamic";

/**
 * The whole audit trail (every replica's, with PostgreSQL) as JSON Lines, oldest first, for a SIEM.
 * Operators and admins only. jsonLine escapes U+2028, U+2029 and U+0085 too, so a line-based
 * reader sees one record per line; the hash chain still verifies (it hashes the parsed fields).
 */
export const GET = handler(async (req: Request) => {
  authorize(req, "release");
  parseQuery(NoQuery, req);
  const lines = (await registry().auditView({ limit: Number.MAX_SAFE_INTEGER })).entries.reverse().map(jsonLine);
  return new Response(lines.join("\n") + (lines.length ? "\n" : ""), {
    headers: {
      "content-type": "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="lockdeck-audit.jsonl"`,
      "cache-control": "no-store",
    },
  });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
