// App- and store-supplied text (keys, lock names, holder text) as a person can tell it apart:
// what lib/keys.ts visibleParts() escapes is marked, and the whole is isolated (<bdi>) so a
// right-to-left run inside it cannot reorder the sentence around it. Pure.

import { suspects, suspectWords, visibleParts } from "@/lib/keys";

/** The text with its escapes marked (data-escape="U+200B", the reason in the tooltip), in a <bdi>. */
export function VisibleText({ text, className }: { text: string; className?: string }) {
  const parts = visibleParts(text);
  const length = parts.some((p) => p.escape) ? Array.from(text).length : 0;
  return (
    <bdi className={className}>
      {parts.map((p, i) =>
        p.escape ? (
          <span
            key={i}
            data-escape={`U+${p.escape.cp.toString(16).toUpperCase().padStart(4, "0")}`}
            title={suspectWords(p.escape, length)}
            className="rounded-sm bg-warn/15 text-warn"
          >
            {p.text}
          </span>
        ) : (
          p.text
        ),
      )}
    </bdi>
  );
}

/** Shown at most: the rest is counted. */
const LISTED = 4;

/**
 * The warning under a key that is not plain text (data-testid="key-lookalike"): which
 * characters, by code point and kind. Nothing for a plain key.
 */
export function LookalikeNote({ text, what = "key" }: { text: string; what?: string }) {
  const list = suspects(text);
  if (!list.length) return null;
  const rest = list.length - LISTED;
  return (
    <p data-testid="key-lookalike" role="note" className="w-full text-[12px] text-warn">
      ⚠ This {what} has characters that look like others or cannot be seen: {list.slice(0, LISTED).join(", ")}
      {rest > 0 ? ` and ${rest} more` : ""}. They are shown escaped (<span className="font-mono">\u…</span>); a {what} that looks the same without them is a
      different lock.
    </p>
  );
}
