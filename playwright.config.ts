import { defineConfig } from "@playwright/test";

// Servers (real stores + `npm start`, and a bare `next start`) are started by scripts/e2e.ts, which passes their
// addresses in E2E_BASE_URL and E2E_REDIS_URL. The browser is Debian's Chromium.
export default defineConfig({
  testDir: "e2e",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: process.env.E2E_BASE_URL,
    browserName: "chromium",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    },
    trace: "off",
  },
});
