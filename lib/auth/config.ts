// The access-control part of lockdeck.config.json. No users and no proxy = one local operator,
// and the console must then listen on loopback only (scripts/start.mjs enforces it).

import { z } from "zod";

export const RoleSchema = z.enum(["viewer", "operator", "admin"]);

export const AuthSchema = z
  .object({
    users: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/),
            role: RoleSchema,
            /** scrypt$N$r$p$<salt b64>$<hash b64>, made by `npm run hash-password` */
            passwordHash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, "not a scrypt hash from `npm run hash-password`"),
          })
          .strict(),
      )
      .default([]),
    /** Trusted reverse proxy (oauth2-proxy style): it authenticates, we read its headers. Off by default. */
    proxy: z
      .object({
        enabled: z.boolean().default(false),
        userHeader: z.string().default("x-forwarded-user"),
        groupsHeader: z.string().default("x-forwarded-groups"),
        /** Group names that grant a role; anyone else signed in by the proxy is a viewer. */
        operatorGroups: z.array(z.string()).default([]),
        adminGroups: z.array(z.string()).default([]),
      })
      .strict()
      .default({}),
    sessionHours: z.number().min(0.1).max(24 * 30).default(12),
    releaseRateLimit: z.object({ max: z.number().int().min(1), perSeconds: z.number().int().min(1) }).strict().default({ max: 10, perSeconds: 60 }),
    loginRateLimit: z.object({ max: z.number().int().min(1), perSeconds: z.number().int().min(1) }).strict().default({ max: 5, perSeconds: 60 }),
  })
  .strict();

export type AuthConfig = z.infer<typeof AuthSchema>;
export type Role = z.infer<typeof RoleSchema>;

export function authEnabled(a: AuthConfig): boolean {
  return a.users.length > 0 || a.proxy.enabled;
}
