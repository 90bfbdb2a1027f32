import { handler } from "@/lib/api/errors";
import { NoQuery, parseQuery } from "@/lib/api/params";
import { authorize, checkCsrf } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { SettingsBody, applySettings, settingsOf } from "@/lib/api/settings";
import { readJson } from "@/lib/api/body";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ id: string }> };

export const GET = handler(async (req: Request, { params }: Ctx) => {
  authorize(req, "view");
  parseQuery(NoQuery, req);
  const { id } = await params;
  return Response.json(settingsOf(registry().get(id).config));
});

export const PUT = handler(async (req: Request, { params }: Ctx) => {
  checkCsrf(req);
  const actor = authorize(req, "settings");
  const { id } = await params;
  const body = await readJson(req, SettingsBody);
  return Response.json(await applySettings(registry(), id, body, actor));
});

export const { POST, PATCH, DELETE, OPTIONS } = otherMethods("GET", "PUT");
