// @ts-check
/** @type {import('next').NextConfig} */
const nextConfig = {
  // Store client libraries stay in Node, never in a bundle.
  serverExternalPackages: ["ioredis", "etcd3"],
  poweredByHeader: false,
  reactStrictMode: true,
};

module.exports = nextConfig;
