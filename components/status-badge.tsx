import type { LockStatus } from "@/lib/status";

/** Word, icon and colour for each state of shared/UI.md's vocabulary. */
export const STATUS_STYLE: Record<LockStatus, { icon: string; text: string; bg: string; hint: string }> = {
  held: { icon: "■", text: "text-held", bg: "bg-held/12", hint: "held by a live holder" },
  contended: { icon: "◆", text: "text-contended", bg: "bg-contended/12", hint: "held, with at least one waiter" },
  stale: { icon: "▲", text: "text-stale", bg: "bg-stale/12", hint: "looks abandoned: a staleness rule fired" },
  expiring: { icon: "◔", text: "text-expiring", bg: "bg-expiring/12", hint: "less than 10 % of its TTL left" },
  free: { icon: "○", text: "text-free", bg: "bg-free/12", hint: "nobody holds it" },
  unknown: { icon: "?", text: "text-unknown", bg: "bg-unknown/12", hint: "could not be decoded" },
};

/**
 * StatusBadge shows a lock state as word + icon + colour. The word alone sits in
 * data-testid="lock-status" (with data-status), so tests read "contended", not the icon.
 */
export function StatusBadge({ status, gone = false }: { status: LockStatus; gone?: boolean }) {
  const s = gone ? { icon: "×", text: "text-faint line-through", bg: "", hint: "released: the store no longer has it" } : STATUS_STYLE[status];
  return (
    <span className={`inline-flex items-center gap-1 rounded px-1.5 text-[12px] leading-5 font-medium ${s.text} ${s.bg}`} title={s.hint}>
      <span aria-hidden className="w-3 text-center">
        {s.icon}
      </span>
      <span data-testid="lock-status" data-status={gone ? "gone" : status}>
        {gone ? "gone" : status}
      </span>
    </span>
  );
}
