// Store keys are bytes. LockDeck names them with strings that round-trip exactly:
// valid UTF-8 stays as it is; anything else (or a text key that itself starts with the
// prefix) becomes "base64:" + standard base64 of the bytes.

const PREFIX = "base64:";

export function keyFromBytes(bytes: Buffer): string {
  const text = bytes.toString("utf8");
  // Invalid UTF-8 always decodes to U+FFFD somewhere; without one, the text round-trips.
  // (A key that really contains U+FFFD takes the slower exact check.)
  if (!text.startsWith(PREFIX) && (!text.includes("\uFFFD") || Buffer.from(text, "utf8").equals(bytes))) return text;
  return PREFIX + bytes.toString("base64");
}

export function keyToBytes(key: string): Buffer {
  if (key.startsWith(PREFIX)) return Buffer.from(key.slice(PREFIX.length), "base64");
  return Buffer.from(key, "utf8");
}

/** True when the bytes are valid UTF-8 (round-trip exact). */
export function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString("utf8"), "utf8").equals(bytes);
}

// Characters that never read as themselves on a page: C0/C1 controls (\xNN), bidi controls
// (they reorder the text around them), other format and invisible characters (zero-width
// space/joiners, word joiner, BOM, soft hyphen, variation selectors, Hangul fillers, braille
// blank, tags), spaces other than U+0020 (NBSP, en/em/thin spaces, ideographic space), line and
// paragraph separators, private-use and lone surrogates. All are shown as \uXXXX escapes.
const C0C1 = "\\u0000-\\u001f\\u007f-\\u009f";
const BIDI_CHARS = "\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069";
const INVISIBLE_CHARS = "\\p{Cf}\\p{Co}\\p{Cs}\\u034f\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u2800\\u3164\\uffa0\\ufe00-\\ufe0f\\u{e0100}-\\u{e01ef}";
const ODD_SPACES = "\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const ESCAPED = new RegExp(`[${C0C1}${BIDI_CHARS}${INVISIBLE_CHARS}${ODD_SPACES}]`, "gu");
const HAS_ESCAPED = new RegExp(`[${C0C1}${BIDI_CHARS}${INVISIBLE_CHARS}${ODD_SPACES}]`, "u");
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const BIDI = new RegExp(`[${BIDI_CHARS}]`, "u");
const ODD_SPACE = new RegExp(`[${ODD_SPACES}]`, "u");

/** One code point as an escape: \xNN for C0/C1, \uXXXX (or \u{XXXXX}) for the rest. */
export function escapeOf(c: string): string {
  const cp = c.codePointAt(0)!;
  if (cp <= 0x9f) return "\\x" + cp.toString(16).padStart(2, "0");
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : "\\u" + cp.toString(16).padStart(4, "0");
}

/**
 * A display form of a key or value, one character at a time: control, bidi, invisible/format
 * characters and unusual spaces shown as escapes (\x07, \u200b, \u202e, \u00a0); everything else
 * as it is. Idempotent (an escape is plain ASCII), so text escaped on the server (holder ids,
 * owner text, previews) can be escaped again by a view. Keys in the table, lock page, release
 * dialog and audit page use visibleParts() below, which also marks spaces and look-alikes.
 */
export function escapeControls(text: string): string {
  // Nearly every key and token has none: a test is cheaper than a replace that finds nothing.
  return HAS_ESCAPED.test(text) ? text.replace(ESCAPED, escapeOf) : text;
}

export type SuspectKind = "control" | "bidi" | "invisible" | "space" | "mixed-script" | "look-alike" | "combining";

/** A run of text as shown: plain, or one escaped code point and why it is escaped. */
export interface VisiblePart {
  text: string;
  escape?: {
    cp: number;
    kind: SuspectKind;
    /** Its index in code points. */
    at: number;
    /** e.g. "Cyrillic", for a letter among Latin ones. */
    script?: string;
  };
}

// Letters of other scripts that pass for Latin ones (lower and upper case), after Unicode's
// confusables (UTS #39) for Cyrillic, Greek and Armenian.
const LATIN_LOOKALIKES = new Set(Array.from("аеорсухіјѕԁԛԝһӏүɡ" + "АВЕЅІЈКМНОРСТХҮԌԚԜ" + "αοριντυκχ" + "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ" + "օսոհցզաԳՕՍ"));
// Non-ASCII letters and punctuation that pass for ASCII ones and have no compatibility mapping:
// dotless i/j, script a/g, Latin iota, small capitals, dental click, colons, dashes, slashes.
const OTHER_LOOKALIKES =
  /[\u0131\u0237\u0251\u0261\u0269\u026a\u028f\u029c\u01c0\u01c3\u02d0\u02d7\u02f8\u0589\u05c3\u2010-\u2013\u2043\u2044\u2212\u2215\u2236\u29f8\ua789]/u;
// "…" is one glyph, never three dots; the views write it in shortened ids.
const ELLIPSIS = "\u2026";
const LETTER = /\p{L}/u;
const LATIN = /\p{Script=Latin}/u;
const MARK = /\p{M}/u;
// Letters of no one script (the Japanese long vowel mark): neither Latin nor another script.
const NEUTRAL = /[\p{Script=Common}\p{Script=Inherited}]/u;
const WORD_CHAR = /[\p{L}\p{M}\p{N}]/u;
const SCRIPTS = ["Cyrillic", "Greek", "Armenian", "Cherokee", "Coptic", "Lisu", "Georgian", "Hebrew", "Arabic", "Han", "Hiragana", "Katakana", "Hangul"];
// Scripts written next to Latin letters without a space as a matter of course: not a mix to mark.
const MIX_OK = new Set(["Han", "Hiragana", "Katakana", "Hangul"]);
const SCRIPT_RE = SCRIPTS.map((s) => [s, new RegExp(`\\p{Script=${s}}`, "u")] as const);
// Printable ASCII with single inner spaces: the common case, shown as it is.
const PLAIN = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

function scriptOf(c: string): string {
  if (LATIN.test(c)) return "Latin";
  for (const [name, re] of SCRIPT_RE) if (re.test(c)) return name;
  return "other";
}

/**
 * How a key (or any app-supplied string shown as a name) is displayed so that two different
 * strings never look the same: escapeControls' characters, plus
 * - a leading or trailing space, and a space next to another one (HTML would drop or merge them),
 *   as \x20;
 * - in a word mixing Latin letters with another script's, the other script's letters (\u043e);
 *   in a key with Latin letters (or nothing but look-alikes), a word made only of letters that
 *   pass for Latin ones (Cyrillic "сор");
 * - compatibility characters (fullwidth, mathematical, ligatures, µ, K), a short list of ASCII
 *   look-alikes (ı, ɡ, ꞉, −), and non-ASCII digits next to Latin letters or ASCII digits;
 * - combining marks that are not in canonical (NFC) form, or that have nothing to sit on (so
 *   "café" written with U+0301 shows as "cafe\u0301").
 * Other non-ASCII text (a key in Cyrillic, accented letters) stays as it is. Pure.
 */
export function visibleParts(text: string): VisiblePart[] {
  if (PLAIN.test(text)) return [{ text }];
  const cs = Array.from(text);
  const esc: (VisiblePart["escape"] | undefined)[] = new Array(cs.length);
  const hasLatin = cs.some((c) => LETTER.test(c) && LATIN.test(c));
  const hasAsciiDigit = /[0-9]/.test(text);
  // Scripts with at least one letter that does not pass for Latin: their look-alike words read as that script.
  const plainly = new Set<string>();
  for (const c of cs) if (LETTER.test(c) && !LATIN.test(c) && !NEUTRAL.test(c) && !LATIN_LOOKALIKES.has(c)) plainly.add(scriptOf(c));
  cs.forEach((c, i) => {
    const cp = c.codePointAt(0)!;
    if (HAS_CONTROL.test(c)) esc[i] = { cp, at: i, kind: "control" };
    else if (BIDI.test(c)) esc[i] = { cp, at: i, kind: "bidi" };
    else if (ODD_SPACE.test(c)) esc[i] = { cp, at: i, kind: "space" };
    else if (HAS_ESCAPED.test(c)) esc[i] = { cp, at: i, kind: "invisible" };
    else if (c === " " && (i === 0 || i === cs.length - 1 || cs[i - 1] === " " || cs[i + 1] === " ")) esc[i] = { cp, at: i, kind: "space" };
    else if (!MARK.test(c) && ((c.normalize("NFKC") !== c && c !== ELLIPSIS) || OTHER_LOOKALIKES.test(c))) esc[i] = { cp, at: i, kind: "look-alike" };
    else if (/\p{Nd}/u.test(c) && cp > 0x7f && (hasLatin || hasAsciiDigit)) esc[i] = { cp, at: i, kind: "look-alike" };
  });
  // Words: mixed scripts, and words of look-alikes only.
  for (let i = 0; i < cs.length;) {
    if (!WORD_CHAR.test(cs[i])) {
      i++;
      continue;
    }
    let j = i;
    while (j < cs.length && WORD_CHAR.test(cs[j])) j++;
    const letters: number[] = [];
    for (let k = i; k < j; k++) if (LETTER.test(cs[k]) && !esc[k]) letters.push(k);
    const latin = letters.some((k) => LATIN.test(cs[k]));
    const other = letters.filter((k) => !LATIN.test(cs[k]) && !NEUTRAL.test(cs[k]));
    const mixed = other.filter((k) => !MIX_OK.has(scriptOf(cs[k])));
    if (latin && mixed.length) {
      for (const k of mixed) esc[k] = { cp: cs[k].codePointAt(0)!, at: k, kind: "mixed-script", script: scriptOf(cs[k]) };
    } else if (other.length && other.every((k) => LATIN_LOOKALIKES.has(cs[k])) && (hasLatin || !other.some((k) => plainly.has(scriptOf(cs[k]))))) {
      for (const k of other) esc[k] = { cp: cs[k].codePointAt(0)!, at: k, kind: "look-alike", script: scriptOf(cs[k]) };
    }
    i = j;
  }
  // Combining marks: a cluster (a base and its marks) not in NFC, or marks with no base.
  for (let i = 0; i < cs.length;) {
    let j = i + 1;
    while (j < cs.length && MARK.test(cs[j])) j++;
    const base = cs[i];
    const cluster = cs.slice(i, j).join("");
    const orphan = MARK.test(base) || !!esc[i] || base === " ";
    if (j > i + 1 || MARK.test(base)) {
      if (orphan || cluster.normalize("NFC") !== cluster) {
        for (let k = MARK.test(base) ? i : i + 1; k < j; k++) if (!esc[k]) esc[k] = { cp: cs[k].codePointAt(0)!, at: k, kind: "combining" };
      }
    } else if (!esc[i] && cluster.normalize("NFC") !== cluster) {
      esc[i] = { cp: base.codePointAt(0)!, at: i, kind: "look-alike" };
    }
    i = j;
  }
  const parts: VisiblePart[] = [];
  let run = "";
  cs.forEach((c, i) => {
    const e = esc[i];
    if (!e) {
      run += c;
      return;
    }
    if (run) parts.push({ text: run });
    run = "";
    parts.push({ text: escapeOf(c), escape: e });
  });
  if (run || !parts.length) parts.push({ text: run });
  return parts;
}

/** visibleParts as one string (tooltips, aria labels, tests). */
export function visibleText(text: string): string {
  return visibleParts(text)
    .map((p) => p.text)
    .join("");
}

const KIND_WORDS: Record<SuspectKind, string> = {
  control: "control character",
  bidi: "bidi control, reorders text",
  invisible: "invisible",
  space: "unusual space",
  "mixed-script": "letter among Latin ones",
  "look-alike": "look-alike",
  combining: "combining mark",
};

/** One escaped character in words: "U+200B invisible", "U+043E Cyrillic letter among Latin ones", "U+0020 trailing space". */
export function suspectWords(e: NonNullable<VisiblePart["escape"]>, length: number): string {
  const u = `U+${e.cp.toString(16).toUpperCase().padStart(4, "0")}`;
  if (e.cp === 0x20) return `${u} ${e.at === 0 ? "leading" : e.at === length - 1 ? "trailing" : "repeated"} space`;
  if (e.kind === "look-alike") {
    const like = String.fromCodePoint(e.cp).normalize("NFKC");
    return `${u} ${e.script ? `${e.script} letter that looks Latin` : /^[\x21-\x7e]+$/.test(like) ? `looks like “${like}”` : "look-alike"}`;
  }
  return `${u} ${e.script ? `${e.script} ` : ""}${KIND_WORDS[e.kind]}`;
}

/** What is suspicious in a text, each kind of character once, for a short warning; [] when nothing. */
export function suspects(text: string): string[] {
  const length = Array.from(text).length;
  const seen = new Set<string>();
  for (const p of visibleParts(text)) if (p.escape) seen.add(suspectWords(p.escape, length));
  return [...seen];
}

/** How many characters of a text can be seen: no spaces, controls, invisible or format characters, combining marks. */
export function visibleLength(text: string): number {
  let n = 0;
  for (const c of text) if (!/[\s\p{Z}\p{C}\p{M}]/u.test(c) && !HAS_ESCAPED.test(c)) n++;
  return n;
}

/**
 * Why a "/"-separated key cannot be sent as a path: a "." or ".." segment (URL resolution and
 * ZooKeeper both treat them as steps up or in place) or a control character. Null when fine.
 */
export function pathKeyProblem(key: string): string | null {
  if (HAS_CONTROL.test(key)) return "contains a control character (NUL, newline, ...)";
  for (const seg of key.split("/")) if (seg === "." || seg === "..") return `has a "${seg}" segment`;
  return null;
}
