import { handler } from "@/lib/api/errors";
import { can, identify } from "@/lib/auth/guard";
import { authEnabled } from "@/lib/auth/config";
import { registry } from "@/lib/registry";
import type { WhoamiAnswer } from "@/lib/api/types";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/** Who the browser is; answers 200 with actor null when nobody is signed in (the UI shows sign-in). */
export const GET = handler(async (req: Request) => {
  const auth = registry().config.auth;
  const actor = identify(req);
  return Response.json(
    {
      actor: actor?.name ?? null,
      role: actor?.role ?? null,
      method: actor?.method ?? null,
      canRelease: actor ? can(actor, "release") : false,
      canSettings: actor ? can(actor, "settings") : false,
      signInRequired: authEnabled(auth),
    } satisfies WhoamiAnswer,
    { headers: { "cache-control": "no-store" } },
  );
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
