import { ApiError } from "./api";

/** ErrorNote shows an API error's message verbatim, with its code, never a stack trace. */
export function ErrorNote({ error, what }: { error: unknown; what: string }) {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : null;
  return (
    <div role="alert" className="rounded border border-bad/40 bg-bad/8 px-3 py-2 text-bad">
      Could not load {what}: {message}
      {code ? <span className="ml-2 font-mono text-xs opacity-75">({code})</span> : null}
    </div>
  );
}
