// Where lockdeck.config.json comes from, and its JSON, without validating it: lib/config.ts
// checks the whole of it (with every store's schema, lib/stores), lib/auth/server-auth.ts only
// its auth part (for proxy.ts, which should not load the stores' code to answer a Host check).

import "server-only";
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import type { z } from "zod";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The config's source (for messages) and its JSON; the fallback when there is no config at all. */
export function readConfigJson(env: NodeJS.ProcessEnv, fallback: unknown): { source: string; json: unknown } {
  const { source, raw } = readRaw(env, fallback);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`config error (${source}): not valid JSON: ${(err as Error).message}`);
  }
  // LOCKDECK_CONNECTIONS may be just the array.
  return { source, json: Array.isArray(json) ? { connections: json } : json };
}

function readRaw(env: NodeJS.ProcessEnv, fallback: unknown): { source: string; raw: string } {
  if (env.LOCKDECK_CONNECTIONS) return { source: "LOCKDECK_CONNECTIONS", raw: env.LOCKDECK_CONNECTIONS };
  const file = env.LOCKDECK_CONFIG ?? path.resolve(/*turbopackIgnore: true*/ process.cwd(), "lockdeck.config.json");
  if (env.LOCKDECK_CONFIG || existsSync(/*turbopackIgnore: true*/ file)) {
    try {
      return { source: file, raw: readFileSync(/*turbopackIgnore: true*/ file, "utf8") };
    } catch (err) {
      throw new ConfigError(`config error (${file}): cannot read: ${(err as Error).message}`);
    }
  }
  return { source: "embedded demo", raw: JSON.stringify(fallback) };
}

/** One line: the path of the first bad field and what is wrong with it. */
export function firstIssue(err: z.ZodError): string {
  return `${firstIssueField(err)}: ${err.issues[0].message}`;
}

/** Where the first issue is ("reason", "connections[0].url"), or "(root)" for the whole value. */
export function firstIssueField(err: z.ZodError): string {
  const at = err.issues[0].path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${p}` : String(p)), "");
  return at || "(root)";
}
