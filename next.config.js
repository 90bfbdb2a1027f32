// @ts-check
// Security headers on every answer. Pages also get a Content-Security-Policy with a per-request
// nonce from proxy.ts (lib/auth/csp.ts); API answers get one that allows nothing.
const common = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "no-referrer" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  { key: "Cross-Origin-Resource-Policy", value: "same-origin" },
];

/** @type {import('next').NextConfig} */
const nextConfig = {
  // A self-contained server in .next/standalone (its own trimmed node_modules): what the deploy
  // kit's image runs, and what the e2e suite tests (scripts/standalone.mjs completes it with the
  // static assets; scripts/start.mjs serves it, there as here).
  output: "standalone",
  // Files tracing cannot see: the server wrapper and its plain-JS helpers (no route imports
  // them), and etcd3's .proto files (read from disk when the client starts).
  outputFileTracingIncludes: {
    "/*": ["./scripts/start.mjs", "./scripts/healthcheck.mjs", "./lib/auth/net.mjs", "./node_modules/etcd3/proto/**/*"],
  },
  // Store client libraries stay in Node, never in a bundle.
  serverExternalPackages: ["ioredis", "etcd3"],
  poweredByHeader: false,
  reactStrictMode: true,
  experimental: {
    // proxy.ts makes Next buffer request bodies; JSON bodies are capped at 64 KB anyway
    // (lib/api/body.ts), so buffering more than a little past that is waste.
    proxyClientMaxBodySize: "128kb",
  },
  async headers() {
    return [
      { source: "/:path*", headers: common },
      {
        source: "/api/:path*",
        headers: [{ key: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'" }],
      },
    ];
  },
};

module.exports = nextConfig;
