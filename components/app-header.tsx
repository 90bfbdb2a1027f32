"use client";

import { useEffect, useRef, useState, useSyncExternalStore, type FormEvent } from "react";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { signOut, type ConnectionSummary } from "./api";
import { useLiveState, type LiveState } from "./live-events";
import { formatDuration } from "./format";
import { keys, whoamiQuery } from "./queries";
import { useConnections } from "./use-connections";
import { ThemeToggle } from "./theme-toggle";

const LIVE: Record<LiveState, { text: string; colour: string; hint: string }> = {
  live: { text: "live", colour: "text-free", hint: "receiving changes as they happen" },
  connecting: { text: "connecting", colour: "text-faint", hint: "opening the event stream" },
  reconnecting: { text: "reconnecting", colour: "text-expiring", hint: "event stream interrupted; pages re-read while the console answers" },
  offline: { text: "offline", colour: "text-stale", hint: "no event stream; pages re-read while the console answers" },
};

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

/** AppHeader: name, global key search (⌘K), live indicator, operator, navigation and theme. */
export function AppHeader() {
  const pathname = usePathname();
  const router = useRouter();
  const client = useQueryClient();
  const live = useLiveState();
  const inputRef = useRef<HTMLInputElement>(null);
  const [q, setQ] = useState("");

  // ⌘K / Ctrl+K focus the search anywhere; "/" does too except on the lock table, which has its own.
  const onTable = /^\/c\/[^/]+\/?$/.test(pathname ?? "");
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.metaKey || e.ctrlKey) && e.key.toLowerCase() === "k") {
        e.preventDefault();
        inputRef.current?.focus();
        inputRef.current?.select();
      } else if (e.key === "/" && !onTable && !isTyping(e.target) && !e.metaKey && !e.ctrlKey && !e.altKey) {
        e.preventDefault();
        inputRef.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onTable]);

  // The search spans every connection (the overview lists matches per connection); only a
  // console with a single connection goes straight to its table.
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const text = q.trim();
    const query = text ? `?q=${encodeURIComponent(text)}` : "";
    const list = client.getQueryData<ConnectionSummary[]>(keys.connections());
    if (list?.length === 1) router.push(`/c/${encodeURIComponent(list[0].id)}${query}`);
    else router.push(`/${query}`);
    inputRef.current?.blur();
  };

  const l = LIVE[live];
  // "live" is the browser's event stream from the console, not the stores: with a store not
  // read, green would read as "all is current". The count of those is shown beside it.
  const shown = useConnections().data;
  const down = shown?.filter((c) => c.status === "unreachable").length ?? 0;
  // The console itself not answering: nothing on the page is current, whatever the stream said last.
  const silent = shown?.find((c) => c.consoleSilentMs)?.consoleSilentMs;
  const colour = silent ? "text-stale" : live === "live" && down > 0 ? "text-expiring" : l.colour;
  const hint = silent
    ? `the console has not answered for ${formatDuration(silent)}: every page shows its last answer`
    : live === "live" && down > 0
      ? `${l.hint} from the console; ${down} connection${down === 1 ? "'s store is" : "s' stores are"} not being read`
      : l.hint;
  const nav = (href: string, label: string, active: boolean) => (
    <Link
      href={href}
      aria-current={active ? "page" : undefined}
      className={`rounded px-2 py-1 ${active ? "bg-selected text-fg" : "text-muted hover:bg-hover hover:text-fg"}`}
    >
      {label}
    </Link>
  );

  return (
    // Wraps on a phone: the search takes its own row, nothing runs past the right edge.
    <header className="flex shrink-0 flex-wrap items-center gap-x-3 gap-y-1.5 border-b border-line bg-panel px-3 py-2 sm:px-4">
      <Link href="/" className="flex items-center gap-1.5 text-[15px] font-semibold tracking-tight">
        <span aria-hidden className="text-accent">
          ⛁
        </span>
        LockDeck
      </Link>
      <nav aria-label="Main" className="flex items-center gap-0.5 text-[13px] sm:gap-1">
        {nav("/", "Overview", pathname === "/")}
        {nav("/audit", "Audit", pathname?.startsWith("/audit") ?? false)}
        {nav("/contention", "Contention", pathname?.startsWith("/contention") ?? false)}
        {nav("/alerts", "Alerts", pathname?.startsWith("/alerts") ?? false)}
      </nav>
      <form
        role="search"
        onSubmit={submit}
        className="order-last flex min-w-0 basis-full items-center md:order-none md:mx-auto md:max-w-md md:flex-1 md:basis-auto"
      >
        <label htmlFor="global-search" className="sr-only">
          Search locks by key in all connections
        </label>
        <input
          id="global-search"
          ref={inputRef}
          data-testid="global-search"
          type="search"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          placeholder="search all connections…  ⌘K"
          autoComplete="off"
          spellCheck={false}
          className="w-full rounded border border-line bg-sunken px-2.5 py-1 font-mono text-[12px] placeholder:font-sans placeholder:text-faint"
        />
      </form>
      <ConnectionsHint />
      <span
        data-testid="live-indicator"
        data-state={live}
        data-stores-down={down}
        data-console-silent={silent ? "true" : undefined}
        className="ml-auto flex items-center gap-1 text-muted md:ml-0"
        title={hint}
      >
        {l.text}
        <span aria-hidden className={colour}>
          ●
        </span>
      </span>
      <TimeZone />
      <Operator />
      <ThemeToggle />
    </header>
  );
}

/**
 * TimeZone: the zone the pages' clock times are in (this browser's), e.g. "UTC+5:30", so a
 * screenshot or a comparison with the API and the audit trail (UTC) is not read hours off.
 * Set after mount: the server's zone may differ, and the server renders first.
 */
function TimeZone() {
  const zone = useSyncExternalStore(noSubscription, browserZone, () => null);
  if (!zone) return null;
  const [offset, name] = zone.split("|");
  return (
    <span
      data-testid="time-zone"
      className="text-[11px] whitespace-nowrap text-faint"
      title={`Times on these pages are this browser's local time${name ? ` (${name})` : ""}; the API, the audit trail and alerts use UTC`}
    >
      times {offset}
    </span>
  );
}

const noSubscription = () => () => {};

/** "UTC+5:30|Asia/Kolkata": the offset now, and the zone's name where the browser gives one. */
function browserZone(): string {
  const min = -new Date().getTimezoneOffset();
  const abs = Math.abs(min);
  const offset = min === 0 ? "UTC" : `UTC${min < 0 ? "-" : "+"}${Math.floor(abs / 60)}${abs % 60 ? `:${String(abs % 60).padStart(2, "0")}` : ""}`;
  return `${offset}|${Intl.DateTimeFormat().resolvedOptions().timeZone ?? ""}`;
}

/** Operator: who is signed in (whoami), with sign-in / sign-out when the console has users. */
function Operator() {
  const client = useQueryClient();
  const router = useRouter();
  const who = useQuery(whoamiQuery());
  const me = who.data;
  if (me && !me.actor) {
    return me.signInRequired ? (
      <Link href="/login" data-testid="sign-in" className="whitespace-nowrap text-accent hover:underline">
        Sign in
      </Link>
    ) : null;
  }
  const out = async () => {
    await signOut().catch(() => undefined);
    client.clear();
    router.push("/login");
  };
  return (
    <span data-testid="operator" className="flex min-w-0 items-center gap-1 whitespace-nowrap text-muted">
      <span className="hidden sm:inline">operator:</span> <span className="font-medium text-fg">{me?.actor ?? (who.isError ? "?" : "…")}</span>
      {me?.role ? <span className="text-[11px] text-faint">({me.role})</span> : null}
      {me && !me.canRelease ? (
        <span className="rounded bg-sunken px-1 text-[11px]" title="this operator cannot force-release">
          read-only
        </span>
      ) : null}
      {me?.method === "session" ? (
        <button type="button" onClick={out} data-testid="sign-out" className="ml-1 text-[12px] text-muted hover:text-fg">
          sign out
        </button>
      ) : null}
    </span>
  );
}

/** ConnectionsHint warns in the header when any connection is unreachable. */
function ConnectionsHint() {
  const { data } = useConnections();
  const down = data?.filter((c) => c.status === "unreachable") ?? [];
  if (!down.length) return null;
  return (
    <Link href="/" className="whitespace-nowrap text-stale" title={down.map((c) => `${c.label}: ${c.message}`).join("\n")}>
      ▲ {down.length} unreachable
    </Link>
  );
}
