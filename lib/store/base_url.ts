/**
 * @module
 * What an HTTP(S) base URL of a static layout is — the one definition, used by lib/config
 * for `store`, `origins[].url`, `s3.endpoint` and `v1.origin`, and by {@link HttpStore}:
 * absolute, `http:` or `https:`, no `#fragment`, the path ending in `/` so that a layout
 * key resolves under it (`https://cdn/reg` + `blobs/…` → `https://cdn/reg/blobs/…`).
 *
 * @example
 * ```ts
 * baseUrl("https://cdn.example.com/reg"); // URL https://cdn.example.com/reg/
 * baseUrl("ftp://x");                      // "must be http(s)"
 * ```
 */

/**
 * The base URL of `text`, or what is wrong with it. `query: false` refuses a `?query`
 * (an origin's keys are appended to the URL as text; a store keeps its query on every
 * request instead).
 */
export function baseUrl(text: string, opts: { query?: boolean } = {}): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "expected a valid URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be http(s)";
  if (url.hash || text.endsWith("#")) return "must not have a #fragment";
  if (opts.query === false && (url.search || text.includes("?"))) {
    return "must not have a ?query";
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}
