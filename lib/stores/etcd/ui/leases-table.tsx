// The leases table: one row per lease with the TTL etcd reported (re-read at the page rate by the
// view, never counted down here), the granted TTL, and every attached key, naming the locks
// among them and whether this lease holds or waits. Presentational.

import Link from "next/link";
import { escapeControls } from "@/lib/keys";
import type { LeaseRow } from "../leases-page";
import { formatDuration } from "@/components/format";
import { lockHref } from "@/components/lock-row";
import { useWarnings } from "@/components/warnings";

function TtlCell({ l }: { l: LeaseRow }) {
  if (l.ttlSec < 0) return <span className="text-stale">expired</span>;
  const fraction = l.grantedSec > 0 ? Math.max(0, Math.min(1, l.ttlSec / l.grantedSec)) : null;
  return (
    <span className="inline-flex items-center gap-1.5 tabular-nums" title="LeaseTimeToLive: remaining of granted seconds">
      {fraction !== null ? (
        <span aria-hidden className="relative inline-block h-2 w-16 overflow-hidden rounded-sm bg-sunken">
          <span className={`absolute inset-y-0 left-0 ${fraction < 0.1 ? "bg-expiring" : "bg-held/70"}`} style={{ width: `${fraction * 100}%` }} />
        </span>
      ) : null}
      <span data-testid="lease-ttl" data-ttl-sec={l.ttlSec}>
        {formatDuration(l.ttlSec * 1000)}
      </span>
      <span className="text-muted">of {formatDuration(l.grantedSec * 1000)}</span>
    </span>
  );
}

export function LeasesTable({ conn, leases }: { conn: string; leases: LeaseRow[] }) {
  const { describe: describeWarning } = useWarnings();
  if (!leases.length) return <p className="text-muted">No leases match.</p>;
  return (
    <table className="w-full border-collapse text-left">
      <thead className="text-[11px] tracking-wide text-muted uppercase">
        <tr className="border-b border-line">
          <th className="py-1 pr-3 font-semibold">Lease</th>
          <th className="py-1 pr-3 font-semibold">TTL (from etcd)</th>
          <th className="py-1 font-semibold">Attached keys</th>
        </tr>
      </thead>
      <tbody>
        {leases.map((l) => (
          <tr key={l.id} data-testid="lease-row" data-lease={l.hex} className="border-b border-line/60 align-top">
            <td className="py-1.5 pr-3 font-mono" title={`decimal ${l.id}`}>
              {l.hex}
              {l.notRenewed ? (
                <span
                  data-warning="not-renewed"
                  className="ml-2 rounded bg-stale/15 px-1 font-sans text-[11px] text-stale"
                  title={describeWarning("not-renewed").text}
                >
                  not renewed
                </span>
              ) : null}
            </td>
            <td className="py-1.5 pr-3">
              <TtlCell l={l} />
            </td>
            <td className="py-1.5">
              {l.keys.length === 0 && !l.keysElsewhere ? <span className="text-faint">none</span> : null}
              {l.keysElsewhere ? (
                <span data-testid="lease-keys-elsewhere" className="text-[11px] text-faint">
                  {l.keysElsewhere} key{l.keysElsewhere === 1 ? "" : "s"} outside this connection&apos;s prefixes (not shown)
                </span>
              ) : null}
              <ul className="flex flex-col gap-0.5">
                {l.keys.map((k) => (
                  <li key={k.key} data-testid="lease-key" data-role={k.role ?? ""} className="flex flex-wrap items-baseline gap-x-2">
                    {k.lock ? (
                      <Link href={lockHref(conn, k.lock)} prefetch={false} className="font-mono break-all text-accent hover:underline">
                        {escapeControls(k.key)}
                      </Link>
                    ) : (
                      <span className="font-mono break-all">{escapeControls(k.key)}</span>
                    )}
                    {k.role ? (
                      <span className={`rounded px-1 text-[11px] ${k.role === "holder" ? "bg-held/20" : "bg-contended/20"}`}>
                        {k.role === "holder" ? "holds" : "waits for"} {k.format}
                      </span>
                    ) : (
                      <span className="text-[11px] text-faint">not a lock</span>
                    )}
                  </li>
                ))}
              </ul>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
