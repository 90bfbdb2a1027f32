#!/usr/bin/env node
// `npm run hash-password`: reads a password on stdin, prints the scrypt hash for
// auth.users[].passwordHash (lib/auth/scrypt.mjs: N = 2^17, r = 8, p = 1).
//   printf '%s' 'the password' | npm run -s hash-password
import { hashPassword } from "../lib/auth/scrypt.mjs";

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const password = Buffer.concat(chunks)
  .toString("utf8")
  .replace(/\r?\n$/, "");
if (!password) {
  console.error("usage: printf '%s' 'the password' | npm run -s hash-password");
  process.exit(2);
}
console.log(await hashPassword(password));
