// @ts-check
// Password hashes: scrypt with a random salt, compared in constant time, computed off the event
// loop (libuv's thread pool). Format: scrypt$N$r$p$<salt base64>$<hash base64>. New hashes use
// N = 2^17, r = 8, p = 1 (128 MiB, a few hundred ms); older, cheaper hashes still verify and are
// flagged for a rehash. Plain JavaScript: `npm run hash-password` (node, no build) shares it.

import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1 };
const KEY_BYTES = 32;

/**
 * @param {string} password
 * @param {Buffer} salt
 * @param {number} len
 * @param {{ N: number; r: number; p: number }} o
 * @returns {Promise<Buffer>}
 */
function derive(password, salt, len, o) {
  // scrypt needs 128·N·r bytes; Node refuses above maxmem (32 MiB by default).
  const maxmem = 128 * o.N * o.r + 128 * o.r * o.p + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => scrypt(password, salt, len, { ...o, maxmem }, (err, key) => (err ? reject(err) : resolve(key))));
}

/** @param {string} password */
export async function hashPassword(password) {
  const salt = randomBytes(16);
  const { N, r, p } = SCRYPT_PARAMS;
  const hash = await derive(password, salt, KEY_BYTES, SCRYPT_PARAMS);
  return `scrypt$${N}$${r}$${p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/** True when a stored hash is cheaper than new ones: verify it, then ask for a new one. */
/** @param {string} stored */
export function needsRehash(stored) {
  const [, n, r] = stored.split("$");
  return Number(n) < SCRYPT_PARAMS.N || Number(r) < SCRYPT_PARAMS.r;
}

/**
 * @param {string} password
 * @param {string} stored
 * @returns {Promise<{ ok: boolean; rehash: boolean }>}
 */
export async function verifyPassword(password, stored) {
  const [kind, n, r, p, salt, hash] = stored.split("$");
  if (kind !== "scrypt" || !salt || !hash) return { ok: false, rehash: false };
  const expected = Buffer.from(hash, "base64");
  const actual = await derive(password, Buffer.from(salt, "base64"), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return { ok: actual.length === expected.length && timingSafeEqual(actual, expected), rehash: needsRehash(stored) };
}
