// Redis-style glob patterns (the ones SCAN MATCH takes) compiled to one RegExp. Supports
// * ? [abc] [^a] [a-z] and backslash escapes. Pure.

export function globToRegExp(patterns: string[]): RegExp {
  const parts = patterns.map(globBody);
  return new RegExp(`^(?:${parts.join("|")})$`, "s");
}

function globBody(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "\\" && i + 1 < glob.length) out += escape(glob[++i]);
    else if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) {
        out += "\\[";
        continue;
      }
      let cls = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
      if (cls.startsWith("^")) cls = "^" + cls.slice(1);
      out += `[${cls}]`;
      i = end;
    } else out += escape(c);
  }
  return out;
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** The literal text every key matching the glob starts with ("" when it starts with a wildcard). */
export function globPrefix(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "\\" && i + 1 < glob.length) out += glob[++i];
    else if (c === "*" || c === "?" || c === "[") return out;
    else out += c;
  }
  return out;
}
