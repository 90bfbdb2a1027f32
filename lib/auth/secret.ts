// The server secret. Fences are signed with a key derived from it, so a fence a browser
// holds can only name a holding this server (or a replica with the same secret) showed.
//   - LOCKDECK_SESSION_SECRET, at least 32 bytes (start-up refuses a shorter one);
//   - else a random key generated once in <dataDir>/secret.key, mode 0600 (start-up refuses
//     a key file that others can read, as ssh does);
//   - tools and tests that never open a registry get a random key per process.
// Kept on globalThis: Next bundles route handlers separately, and one key must serve them all.

import "server-only";
import { createHmac, randomBytes } from "node:crypto";
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import path from "node:path";

export const SECRET_ENV = "LOCKDECK_SESSION_SECRET";
export const MIN_SECRET_BYTES = 32;
const KEY_FILE = "secret.key";

export class SecretError extends Error {
  override readonly name = "ConfigError";
}

const g = globalThis as unknown as { __lockdeckSecret?: { secret: Buffer; source: string; keys: Map<string, Buffer> } };

/** The secret from the environment, checked; null when it is not set. */
export function secretFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | null {
  const text = env[SECRET_ENV];
  if (text === undefined || text === "") return null;
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new SecretError(`config error (${SECRET_ENV}): must be at least ${MIN_SECRET_BYTES} bytes (it is ${bytes.length}); e.g. \`openssl rand -base64 48\``);
  }
  return bytes;
}

/** Reads <dataDir>/secret.key, or creates it (32 random bytes, 0600) if there is none. */
export function secretFromFile(dataDir: string): Buffer {
  const file = path.resolve(/*turbopackIgnore: true*/ dataDir, KEY_FILE);
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    // O_EXCL: two processes starting at once cannot both write a key.
    const fd = openSync(file, "wx", 0o600);
    try {
      writeSync(fd, randomBytes(32).toString("base64") + "\n");
    } finally {
      closeSync(fd);
    }
    chmodSync(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST")
      throw new SecretError(`config error (${file}): cannot create the key file: ${(err as Error).message}`);
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new SecretError(`config error (${file}): the key file is readable by others (mode ${mode.toString(8)}): chmod 600 it`);
  const key = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
  if (key.length < MIN_SECRET_BYTES)
    throw new SecretError(`config error (${file}): holds fewer than ${MIN_SECRET_BYTES} bytes of key: delete it to have a new one made`);
  return key;
}

/**
 * Called once by the registry before any connection opens: the environment's secret if set,
 * else the key file in dataDir. Throws SecretError (a config error: start-up stops) when the
 * secret is too short or the key file is unusable.
 */
export function ensureServerSecret(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = secretFromEnv(env);
  if (fromEnv) return install(fromEnv, SECRET_ENV);
  if (g.__lockdeckSecret && g.__lockdeckSecret.source !== "per-process") return g.__lockdeckSecret.source;
  const file = path.resolve(/*turbopackIgnore: true*/ dataDir, KEY_FILE);
  return install(secretFromFile(dataDir), file);
}

function install(secret: Buffer, source: string): string {
  const cur = g.__lockdeckSecret;
  if (!cur || !cur.secret.equals(secret)) g.__lockdeckSecret = { secret, source, keys: new Map() };
  return source;
}

/** A key for one purpose ("fence", ...), derived from the server secret: HMAC(secret, purpose). */
export function derivedKey(purpose: string): Buffer {
  let s = g.__lockdeckSecret;
  if (!s) {
    const fromEnv = secretFromEnv();
    s = g.__lockdeckSecret = { secret: fromEnv ?? randomBytes(32), source: fromEnv ? SECRET_ENV : "per-process", keys: new Map() };
  }
  let key = s.keys.get(purpose);
  if (!key) {
    key = createHmac("sha256", s.secret).update(`lockdeck:${purpose}`).digest();
    s.keys.set(purpose, key);
  }
  return key;
}
