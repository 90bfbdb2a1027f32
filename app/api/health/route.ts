import { handler } from "@/lib/api/errors";
import pkg from "@/package.json";

export const dynamic = "force-dynamic";

export const GET = handler(async () => Response.json({ ok: true, version: pkg.version }));
