// Where to go after sign-in: only a path on this origin. "//evil.com", "/\evil.com",
// "https://evil.com", "javascript:..." and anything else a browser would resolve off-site
// become "/". Pure; the login form uses it with its own origin.

export function safeNext(next: string | null | undefined, origin: string): string {
  if (!next || !next.startsWith("/") || /[\\\u0000-\u001f]/.test(next)) return "/";
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return "/";
  }
  if (url.origin !== origin || url.pathname.startsWith("//")) return "/";
  return url.pathname + url.search + url.hash;
}
