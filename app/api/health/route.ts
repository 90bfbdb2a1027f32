import { handler } from "@/lib/api/errors";
import pkg from "@/package.json";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

export const GET = handler(async () => Response.json({ ok: true, version: pkg.version }));

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
