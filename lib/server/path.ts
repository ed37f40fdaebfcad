/**
 * @module
 * Routing of `/v2/...` paths, done by hand on the RAW path because repository names
 * contain slashes (distribution-spec §"Pulling manifests": `/v2/<name>/manifests/<reference>`).
 * A reference, digest or the `tags/list` suffix never contains `/`, so the endpoint is
 * recognised from the last segments and everything before is the name, exactly like
 * distribution's greedy name pattern. The name is NOT validated here (routes do, so that
 * a bad name gets NAME_INVALID); percent-encoded bytes are never decoded, so `%2F` or
 * `%2e%2e` simply fail the name grammar. `..` segments never reach us: the URL parser of
 * the runtime resolves them, and {@link requestTarget} does the same when the runtime
 * could not (a request without a usable `Host`).
 */

export type V2Route =
  | { kind: "base" }
  | { kind: "catalog" }
  | { kind: "manifests" | "blobs" | "referrers"; name: string; ref: string }
  | { kind: "tags"; name: string }
  | { kind: "uploads"; name: string }
  | { kind: "unknown" };

/** What any request path is: a `/v2` route, `/v1/...`, an operational endpoint, or none. */
export type PathMatch = V2Route | { kind: "v1" | "healthz" | "readyz" | "metrics" | "other" };

/** The endpoint family of a path: the key of the route table and the `route` label of `/metrics`. */
export type Family = PathMatch["kind"];

/**
 * What the runtime's URL parser would still change in a target: a byte outside the
 * characters WHATWG URL keeps as they are (it percent-encodes or, for `\\`, rewrites
 * them), or a segment that may be a dot segment (`.`, `..`, `%2e`, in any spelling).
 * Over-matching (`/.well-known`) only costs a parse.
 */
const UNPARSED = /[^A-Za-z0-9\-._~!$&'()*+,;=:@%/?]|\/(?:\.|%2e)/i;

/**
 * The raw path and query of a request, from `req.url`: what routing reads, whatever the
 * `Host` header says (issue 9, defect 5).
 *
 * The runtime builds `req.url` as `http://<Host><target>` and parses it (WHATWG URL:
 * `..`, `.` and `%2e%2e` segments resolved, non-ASCII percent-encoded). When the Host is
 * unusable, Bun (1.4, measured with raw sockets) does not: absent (HTTP/1.0), empty, or
 * with `/`, `?`, `#`, `@`, a space or non-ASCII, it hands over the target ALONE
 * (`/readyz`); with a Host that is no URL authority (`[::1`, `h:99999`) it hands over the
 * unparsed concatenation (`http://[::1/a/../readyz`). Reading the first as
 * `scheme://authority/path` shifted it by one segment (`/v2/metrics` was `/metrics`), and
 * the dot segments of both went unresolved. So the target is cut out of either form and,
 * when it holds anything the parser would change, parsed here exactly as the runtime
 * parses it after a good Host: the same target routes the same with any Host.
 *
 * @example
 * ```ts
 * requestTarget("http://h/v2/_catalog?n=1"); // { path: "/v2/_catalog", query: "n=1" }
 * requestTarget("/v2/metrics");              // { path: "/v2/metrics", query: "" }
 * requestTarget("/a/../readyz");             // { path: "/readyz", query: "" }
 * ```
 */
export function requestTarget(url: string): { path: string; query: string } {
  let target = url;
  if (!url.startsWith("/")) {
    const scheme = url.indexOf("://");
    const start = scheme < 0 ? -1 : url.indexOf("/", scheme + 3);
    if (start < 0) return { path: "/", query: "" };
    target = url.slice(start);
  }
  if (UNPARSED.test(target)) {
    // Concatenated, not `new URL(target, base)`: a target `//x/y` is a path, not an authority.
    target = new URL(`http://t${target}`).href.slice("http://t".length);
  }
  const q = target.indexOf("?");
  return q < 0
    ? { path: target, query: "" }
    : { path: target.slice(0, q), query: target.slice(q + 1) };
}

const BASE: V2Route = { kind: "base" };
const CATALOG: V2Route = { kind: "catalog" };
const UNKNOWN: V2Route = { kind: "unknown" };
const V1: PathMatch = { kind: "v1" };
const HEALTHZ: PathMatch = { kind: "healthz" };
const READYZ: PathMatch = { kind: "readyz" };
const METRICS: PathMatch = { kind: "metrics" };
const OTHER: PathMatch = { kind: "other" };

/**
 * The family of any raw request path (lib/server/routes.ts has what each one serves).
 * `/v1` keeps the original static-registry's v1 endpoint; the operational paths are
 * matched exactly.
 */
export function matchPath(path: string): PathMatch {
  if (path.startsWith("/v2/") || path === "/v2") return parseV2Path(path);
  if (path === "/v1" || path.startsWith("/v1/")) return V1;
  if (path === "/healthz") return HEALTHZ;
  if (path === "/readyz") return READYZ;
  if (path === "/metrics") return METRICS;
  return OTHER;
}

/**
 * Parses a raw path that starts with `/v2` (index lookups and slices only: this runs on
 * every request). `/v2/library/alpine/tags/list` → tags of library/alpine.
 */
export function parseV2Path(path: string): V2Route {
  if (path === "/v2" || path === "/v2/") return BASE;
  if (path === "/v2/_catalog") return CATALOG;
  const last = path.lastIndexOf("/");
  const prev = path.lastIndexOf("/", last - 1);
  if (prev < 4) return UNKNOWN; // fewer than three segments after /v2/
  const kind = path.slice(prev + 1, last);
  const ref = path.slice(last + 1);
  if (kind === "manifests" || kind === "blobs" || kind === "referrers") {
    return { kind, name: path.slice(4, prev), ref };
  }
  if (kind === "tags" && ref === "list") return { kind: "tags", name: path.slice(4, prev) };
  // distribution-spec §"Pushing blobs": `/v2/<name>/blobs/uploads/[<reference>]`.
  if (kind === "uploads") {
    const p2 = path.lastIndexOf("/", prev - 1);
    if (p2 >= 3 && path.slice(p2 + 1, prev) === "blobs") {
      return { kind: "uploads", name: path.slice(4, Math.max(4, p2)) };
    }
  }
  return UNKNOWN;
}
