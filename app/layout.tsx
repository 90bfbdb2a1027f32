import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { connection } from "next/server";
import { AppHeader } from "@/components/app-header";
import { ClientOnly } from "@/components/client-only";
import { THEME_SCRIPT } from "@/components/theme";
import { storeWarnings } from "@/lib/stores";
import { Providers } from "./providers";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "LockDeck", template: "%s · LockDeck" },
  description: "Distributed locks in Redis, etcd, Consul and ZooKeeper: who holds them, who waits, and a safe force-release.",
  icons: { icon: "/favicon.svg" },
};

export const viewport: Viewport = {
  colorScheme: "light dark",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Rendered per request: Next stamps its inline scripts with the nonce of the page's CSP
  // (proxy.ts), which a page prerendered at build time could not carry.
  await connection();
  return (
    // The theme script sets data-theme before first paint; React must accept that attribute.
    // The CSP allows it by its hash (lib/auth/csp.ts): keep it a constant.
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body className="flex h-dvh flex-col overflow-hidden bg-bg font-sans text-[13px] text-fg antialiased">
        <Providers warnings={storeWarnings()}>
          <AppHeader />
          <main className="flex min-h-0 flex-1 flex-col overflow-auto">
            <ClientOnly fallback={<p className="p-4 text-muted">Loading…</p>}>{children}</ClientOnly>
          </main>
        </Providers>
      </body>
    </html>
  );
}
