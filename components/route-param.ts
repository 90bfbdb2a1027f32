/**
 * routeParam returns a dynamic route segment as text. App Router hands segments over still
 * percent-encoded in some versions and decoded in others; decoding is skipped when the value
 * is not valid percent-encoding (it then is already decoded).
 */
export function routeParam(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
