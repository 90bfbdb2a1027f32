#!/usr/bin/env node
// `npm run hash-password`: reads a password on stdin, prints the scrypt hash for
// auth.users[].passwordHash (same format as lib/auth/password.ts).
import { randomBytes, scryptSync } from "node:crypto";

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const password = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
if (!password) {
  console.error("usage: echo -n 'secret' | npm run -s hash-password");
  process.exit(2);
}
const salt = randomBytes(16);
const hash = scryptSync(password, salt, 32, { N: 16384, r: 8, p: 1 });
console.log(`scrypt$16384$8$1$${salt.toString("base64")}$${hash.toString("base64")}`);
