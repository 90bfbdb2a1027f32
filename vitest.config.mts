import { defineConfig } from "vitest/config";
import path from "node:path";

export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(import.meta.dirname),
      // Tests run server code outside Next: `server-only` is its empty module there, as on Next's
      // server (the throwing one is for client bundles, which the guard is about).
      "server-only": path.resolve(import.meta.dirname, "node_modules/server-only/empty.js"),
    },
  },
  test: {
    include: ["lib/**/*.test.ts", "test/**/*.test.ts", "scripts/**/*.test.ts", "app/**/*.test.ts", "components/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Real servers on 2 cores: one file at a time keeps timing-sensitive waits honest.
    fileParallelism: false,
  },
});
