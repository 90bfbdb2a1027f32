// The error a handler throws to answer with a status and a code (lib/api/errors.ts maps it).
// Its own module, free of imports, so store modules can throw it without importing the config.

// Checks go by name, not instanceof: Next bundles route handlers separately, so one class can
// exist in several copies within a process (the registry is shared through globalThis).
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A request's own text as an error may echo it: cut to `max` characters (the rest marked "…"). */
export function echoed(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
