"use client";

import { useState, type FormEvent } from "react";
import { useRouter, useSearchParams } from "next/navigation";
import { useQueryClient } from "@tanstack/react-query";
import { safeNext } from "@/lib/auth/next-path";

/** Sign-in with a local user (auth.users in the config). Answers come from /api/auth/login. */
export function LoginForm() {
  const router = useRouter();
  const params = useSearchParams();
  const client = useQueryClient();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await fetch("/api/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json", "x-lockdeck-csrf": "1" },
        body: JSON.stringify({ name, password }),
      });
      if (!res.ok) {
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        setError(body?.error?.message ?? `sign-in failed (${res.status})`);
        return;
      }
      await client.invalidateQueries();
      router.replace(safeNext(params.get("next"), window.location.origin));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="mx-auto mt-16 max-w-sm rounded border border-line bg-panel p-6">
      <h1 className="mb-4 text-lg font-semibold">Sign in to LockDeck</h1>
      <form onSubmit={submit} className="flex flex-col gap-3">
        <label className="flex flex-col gap-1 text-sm">
          Name
          <input
            data-testid="login-name"
            className="rounded border border-line bg-transparent px-2 py-1"
            autoComplete="username"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
          />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Password
          <input
            data-testid="login-password"
            type="password"
            className="rounded border border-line bg-transparent px-2 py-1"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        {error ? (
          <p data-testid="login-error" role="alert" className="text-sm text-stale">
            {error}
          </p>
        ) : null}
        <button
          data-testid="login-submit"
          type="submit"
          disabled={busy}
          className="rounded bg-accent px-3 py-1.5 text-sm font-medium text-white disabled:opacity-50"
        >
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
