// `npm test`: set-up, then every test, in order, stopping at the first failure.
//   0. set-up (scripts/setup.mjs: Debian packages when root, npm ci, cached builds)
//   1. typecheck   2. lint (ESLint, then Prettier's check)
//   3. unit + integration (vitest, real servers)   4. production build
//   5. e2e (Playwright + Debian's Chromium against `npm start` and a bare `next start`, real stores)
// A missing package that set-up cannot install (not root) stops with the one command to run;
// nothing is skipped quietly. LOCKDECK_SKIP_SETUP=1 skips step 0 (a machine known ready).

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

// The build runs with the e2e secret marker in its environment, so a secret that leaked into
// a client bundle at build time is caught by e2e/secrets.spec.ts.
const marker = /SECRET_MARKER = "([^"]+)"/.exec(readFileSync("scripts/servers/e2e-secure.ts", "utf8"))[1];
const buildSecrets = {
  LOCKDECK_SESSION_SECRET: `${marker}-session`,
  LOCKDECK_CONNECTIONS: JSON.stringify([{ id: "build", kind: "redis", url: "redis://127.0.0.1:1", password: marker }]),
};
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" };
const steps = [
  ...(process.env.LOCKDECK_SKIP_SETUP === "1" ? [] : [["set-up", "node", ["scripts/setup.mjs"]]]),
  ["typecheck", "npx", ["tsc", "--noEmit", "-p", "."]],
  ["lint", "npx", ["eslint", "--max-warnings", "0", "."]],
  ["format", "npx", ["prettier", "--check", "."]],
  ["unit + integration", "npx", ["vitest", "run"]],
  ["build", "npx", ["next", "build"], buildSecrets],
  ["e2e", "npx", ["tsx", "scripts/e2e.ts"]],
];

for (const [name, cmd, args, extraEnv = {}] of steps) {
  const started = Date.now();
  console.log(`\n=== ${name}: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", env: { ...env, ...extraEnv } });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.error(`\n=== ${name} FAILED (exit ${r.status ?? r.signal}) after ${secs}s`);
    process.exit(1);
  }
  console.log(`=== ${name} ok (${secs}s)`);
}
