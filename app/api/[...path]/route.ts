// Any /api path no route serves: a JSON 404 naming it, not Next's HTML not-found page (the API
// answers JSON, errors included). Routes that exist take precedence over this catch-all.
import { handler, HttpError } from "@/lib/api/errors";
import { echoed } from "@/lib/api/http-error";

export const dynamic = "force-dynamic";

const notFound = handler(async (req: Request) => {
  const path = new URL(req.url).pathname;
  throw new HttpError(404, "not_found", `path: no API endpoint ${JSON.stringify(echoed(path))}`);
});

export const GET = notFound;
export const HEAD = notFound;
export const POST = notFound;
export const PUT = notFound;
export const PATCH = notFound;
export const DELETE = notFound;
export const OPTIONS = notFound;
