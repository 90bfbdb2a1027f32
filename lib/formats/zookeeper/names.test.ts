import { describe, expect, it } from "vitest";
import { classifyDir, isIntegerData, parseName, SEMAPHORE_DIRS, type DirKind, type Family, type ParsedName } from "./names";

// The regexes of lock-formats.md §4, as parseName read every name before its hand-written
// Curator and kazoo paths: the oracle those paths must agree with, name for name.
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const CURATOR = new RegExp(`^_c_(${UUID})-(lock-|latch-|lease-|__READ__|__WRIT__)(\\d{10})$`);
const KAZOO = /^([0-9a-f]{32})(__lock__|__rlock__)(-?\d{10})$/;
const RECIPE = /^(?:(.+)-)?(lock|read|write)-(\d{10})$/;
const ROLE: Record<string, ParsedName["role"]> = { "lock-": "exclusive", "latch-": "latch", "lease-": "lease", __READ__: "shared", __WRIT__: "exclusive" };

function byRegex(name: string): ParsedName | null {
  let m = CURATOR.exec(name);
  if (m) return { family: "curator", role: ROLE[m[2]], marker: m[2], seq: Number(m[3]), prefix: m[1] };
  m = KAZOO.exec(name);
  if (m) return { family: "kazoo", role: m[2] === "__rlock__" ? "shared" : "exclusive", marker: m[2], seq: Number(m[3]), prefix: m[1] };
  m = RECIPE.exec(name);
  if (m) return { family: "recipe", role: m[2] === "read" ? "shared" : "exclusive", marker: `${m[2]}-`, seq: Number(m[3]), prefix: m[1] ?? "" };
  return null;
}

/** classifyDir as it was written with arrays and a sort (before its loops): the oracle. */
function classifyByArrays(children: string[], data?: Buffer): DirKind {
  if (children.length === 0) return { kind: "other" };
  const names = children.map(byRegex);
  const parsed = names.filter((p): p is ParsedName => p !== null && p.role !== "lease");
  if (parsed.length > 0) {
    const families = new Map<Family, number>();
    for (const p of parsed) families.set(p.family, (families.get(p.family) ?? 0) + 1);
    const family = [...families.entries()].sort((a, b) => b[1] - a[1])[0][0];
    const own = parsed.filter((p) => p.family === family);
    return {
      kind: "lock",
      family,
      rw: own.some((p) => p.role === "shared" || p.marker === "__WRIT__" || p.marker === "write-"),
      latch: own.some((p) => p.role === "latch"),
      mixed: families.size > 1,
    };
  }
  if (children.some((c) => SEMAPHORE_DIRS.includes(c)) && children.every((c) => SEMAPHORE_DIRS.includes(c))) return { kind: "curator-semaphore" };
  if (children.every((c) => /^[0-9a-f]{32}$/.test(c)) && isIntegerData(data)) return { kind: "kazoo-semaphore" };
  if (children.some((c) => /(-lock-|__lock__|__rlock__|__READ__|__WRIT__|-latch-|-lease-)-?\d+$|^(lock|read|write)-\d+$/.test(c)))
    return { kind: "lock", family: "recipe", rw: false, latch: false, mixed: false };
  if (names.some((p) => p?.role === "lease")) return { kind: "lock", family: "curator", rw: false, latch: false, mixed: false };
  return { kind: "other" };
}

/** A deterministic generator, so a failure names the same names on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe("parseName", () => {
  const rand = rng(13);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const hex = (n: number) => Array.from({ length: n }, () => pick([..."0123456789abcdef"])).join("");
  const seq = () => String(Math.floor(rand() * 1e10)).padStart(10, "0");
  const valid = () => [
    `_c_${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}-${pick(Object.keys(ROLE))}${seq()}`,
    `${hex(32)}${pick(["__lock__", "__rlock__"])}${pick(["", "-"])}${seq()}`,
    `${pick(["", `${hex(8)}-`, "x-y-"])}${pick(["lock", "read", "write"])}-${seq()}`,
  ];
  // One character changed, added or removed anywhere: near misses of every shape.
  const ODD = ["0", "9", "a", "f", "g", "A", "F", "-", "_", " ", "\n", "é", "٣"];
  function nearMisses(name: string): string[] {
    const out: string[] = [name.slice(1), name.slice(0, -1), `${name}0`, `0${name}`, `${name}\n`];
    for (let i = 0; i < name.length; i++) {
      const c = pick(ODD);
      out.push(name.slice(0, i) + c + name.slice(i + 1), name.slice(0, i) + c + name.slice(i), name.slice(0, i) + name.slice(i + 1));
    }
    return out;
  }

  it("answers as the recipes' regexes do, on every layout and on 100 000 near misses", () => {
    let parsed = 0;
    let checked = 0;
    for (let r = 0; r < 300; r++) {
      for (const name of valid()) {
        for (const n of [name, ...nearMisses(name)]) {
          const want = byRegex(n);
          expect(parseName(n), n).toEqual(want);
          // -0 and 0 are different sequences to toEqual's eyes only through Object.is.
          if (want) expect(Object.is(parseName(n)!.seq, want.seq), n).toBe(true);
          if (want) parsed++;
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100_000);
    expect(parsed).toBeGreaterThan(2_000);
  });

  it("reads each family's fields", () => {
    expect(parseName("_c_6c2e4b7d-0000-4000-8000-000000000001-__WRIT__0000000042")).toEqual({
      family: "curator",
      role: "exclusive",
      marker: "__WRIT__",
      seq: 42,
      prefix: "6c2e4b7d-0000-4000-8000-000000000001",
    });
    expect(parseName("0123456789abcdef0123456789abcdef__rlock__-0000000007")).toEqual({
      family: "kazoo",
      role: "shared",
      marker: "__rlock__",
      seq: -7,
      prefix: "0123456789abcdef0123456789abcdef",
    });
    expect(parseName("guid-x-read-0000000003")).toEqual({ family: "recipe", role: "shared", marker: "read-", seq: 3, prefix: "guid-x" });
    // Upper-case hex is not what Curator or kazoo write: it falls to the recipe's loose shape or to nothing.
    expect(parseName("_c_6C2E4B7D-0000-4000-8000-000000000001-lock-0000000001")?.family).toBe("recipe");
    expect(parseName("0123456789ABCDEF0123456789abcdef__lock__0000000001")).toBeNull();
  });

  it("classifies 20 000 directories of mixed names as the array-and-sort version did", () => {
    let locks = 0;
    for (let r = 0; r < 20_000; r++) {
      const names = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => {
        const [curator, kazoo, recipe] = valid();
        return pick([curator, curator, kazoo, recipe, pick(nearMisses(curator)), "leases", "locks", hex(32), "config"]);
      });
      const want = classifyByArrays(names, Buffer.from("3"));
      expect(classifyDir(names, Buffer.from("3")), names.join(" ")).toEqual(want);
      if (want.kind === "lock") locks++;
    }
    expect(locks).toBeGreaterThan(10_000);
  });
});
