// The access-control part of lockdeck.config.json.
//   - no users and no proxy: one local operator, no sign-in; only loopback Host headers are
//     answered, and `npm start` listens on loopback only;
//   - users: sign-in with a name and password (scrypt hashes from `npm run hash-password`);
//   - proxy: a reverse proxy (oauth2-proxy style) authenticates and sends the user and groups
//     in headers, believed only from trustedProxies.

import { z } from "zod";
import { cidrProblem, parseHost } from "./net.mjs";

export const RoleSchema = z.enum(["viewer", "operator", "admin"]);

/** scrypt$N$r$p$<salt b64>$<hash b64>; N a power of two up to 2^20 (more would need > 1 GiB). */
const SCRYPT_HASH = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;

const PasswordHash = z
  .string()
  .regex(SCRYPT_HASH, "not a scrypt hash from `npm run hash-password`")
  .refine((h) => {
    const [, n, r, p] = SCRYPT_HASH.exec(h) ?? [];
    const N = Number(n);
    return N >= 2 && N <= 2 ** 20 && (N & (N - 1)) === 0 && Number(r) >= 1 && Number(r) <= 32 && Number(p) >= 1 && Number(p) <= 16;
  }, "scrypt parameters out of range (N a power of two ≤ 2^20, r ≤ 32, p ≤ 16)");

const Limit = z.object({ max: z.number().int().min(1), perSeconds: z.number().int().min(1) }).strict();

export const AuthSchema = z
  .object({
    users: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/),
            role: RoleSchema,
            passwordHash: PasswordHash,
          })
          .strict(),
      )
      .default([])
      .refine((us) => new Set(us.map((u) => u.name)).size === us.length, "user names must be unique"),
    /** Trusted reverse proxy (oauth2-proxy style): it authenticates, we read its headers. Off by default. */
    proxy: z
      .object({
        enabled: z.boolean().default(false),
        userHeader: z
          .string()
          .regex(/^[A-Za-z0-9-]{1,64}$/)
          .default("x-forwarded-user"),
        groupsHeader: z
          .string()
          .regex(/^[A-Za-z0-9-]{1,64}$/)
          .default("x-forwarded-groups"),
        /** Group names that grant a role; anyone else signed in by the proxy is a viewer. */
        operatorGroups: z.array(z.string()).default([]),
        adminGroups: z.array(z.string()).default([]),
        /**
         * Addresses (CIDRs) of the proxies: only a request whose socket peer is in this list may
         * name a user, or say where it came from (X-Forwarded-For). Required when enabled.
         */
        trustedProxies: z
          .array(
            z.string().superRefine((c, ctx) => {
              const bad = cidrProblem(c);
              if (bad) ctx.addIssue({ code: z.ZodIssueCode.custom, message: bad });
            }),
          )
          .default([]),
      })
      .strict()
      .superRefine((p, ctx) => {
        if (p.enabled && p.trustedProxies.length === 0) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ["trustedProxies"],
            message: 'required when the proxy is enabled: the CIDRs of the proxies allowed to name users (e.g. ["10.0.0.5/32"])',
          });
        }
      })
      .default({}),
    /**
     * With sign-in: the Host headers answered ("name" for any port, or "name:port"); default any.
     * Without sign-in only localhost, 127.0.0.1 and [::1] are answered, whatever this says.
     */
    allowedHosts: z.array(z.string().refine((h) => parseHost(h) !== null, "a host name or address, optionally :port")).optional(),
    sessionHours: z
      .number()
      .min(0.1)
      .max(24 * 30)
      .default(12),
    releaseRateLimit: Limit.default({ max: 10, perSeconds: 60 }),
    /**
     * Sign-in attempts per (client address, name), per client address whatever the name
     * (default 10 × max), and, in total, per name (default 4 × max).
     */
    loginRateLimit: z
      .object({
        max: z.number().int().min(1),
        perSeconds: z.number().int().min(1),
        maxPerName: z.number().int().min(1).optional(),
        maxPerAddress: z.number().int().min(1).optional(),
      })
      .strict()
      .default({ max: 5, perSeconds: 60 }),
  })
  .strict();

export type AuthConfig = z.infer<typeof AuthSchema>;
export type Role = z.infer<typeof RoleSchema>;

export function authEnabled(a: AuthConfig): boolean {
  return a.users.length > 0 || a.proxy.enabled;
}
