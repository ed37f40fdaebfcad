/**
 * @module
 * Routing of `/v2/...` paths, done by hand on the RAW path because repository names
 * contain slashes (distribution-spec §"Pulling manifests": `/v2/<name>/manifests/<reference>`).
 * A reference, digest or the `tags/list` suffix never contains `/`, so the endpoint is
 * recognised from the last segments and everything before is the name, exactly like
 * distribution's greedy name pattern. The name is NOT validated here (routes do, so that
 * a bad name gets NAME_INVALID); percent-encoded bytes are never decoded, so `%2F` or
 * `%2e%2e` simply fail the name grammar. `..` segments never reach us: the URL parser of
 * the runtime resolves them before the request is handed over.
 */

export type V2Route =
  | { kind: "base" }
  | { kind: "catalog" }
  | { kind: "manifests" | "blobs" | "referrers"; name: string; ref: string }
  | { kind: "tags"; name: string }
  | { kind: "uploads"; name: string }
  | { kind: "unknown" };

/** Endpoint kinds, also the route-family label of `/metrics`. */
export type V2Kind = V2Route["kind"];

const ENDPOINT_KINDS: ReadonlySet<string> = new Set(["manifests", "blobs", "referrers"]);

/** Parses a raw path that starts with `/v2`. `/v2/library/alpine/tags/list` → tags of library/alpine. */
export function parseV2Path(path: string): V2Route {
  if (path === "/v2" || path === "/v2/") return { kind: "base" };
  const rest = path.slice(4); // after "/v2/"
  if (rest === "_catalog") return { kind: "catalog" };
  const segs = rest.split("/");
  const n = segs.length;
  if (n < 3) return { kind: "unknown" };
  const kind = segs[n - 2];
  if (ENDPOINT_KINDS.has(kind)) {
    return {
      kind: kind as "manifests" | "blobs" | "referrers",
      name: segs.slice(0, n - 2).join("/"),
      ref: segs[n - 1],
    };
  }
  if (kind === "tags" && segs[n - 1] === "list") {
    return { kind: "tags", name: segs.slice(0, n - 2).join("/") };
  }
  // distribution-spec §"Pushing blobs": `/v2/<name>/blobs/uploads/[<reference>]`.
  const up = segs.lastIndexOf("uploads");
  if (up >= 2 && segs[up - 1] === "blobs" && up >= n - 2) {
    return { kind: "uploads", name: segs.slice(0, up - 1).join("/") };
  }
  return { kind: "unknown" };
}
