/**
 * @module
 * The route table: every endpoint of the server, in one place. A request's raw path is
 * matched to a family by {@link matchPath} (lib/server/path.ts: names contain `/`, so the
 * endpoint is read from the last segments, as distribution's greedy name pattern does);
 * the app (lib/server/app.ts) resolves the repository's store once into a
 * {@link RequestContext}, runs the middleware, then the family's row here.
 *
 * | family      | path                                   | spec                                   |
 * | ----------- | -------------------------------------- | -------------------------------------- |
 * | `base`      | `/v2/`                                 | distribution-spec §"Determining Support" |
 * | `catalog`   | `/v2/_catalog?n=&last=`                | distribution's catalog API             |
 * | `manifests` | `/v2/<name>/manifests/<reference>`     | §"Pulling manifests"                   |
 * | `blobs`     | `/v2/<name>/blobs/<digest>`            | §"Pulling blobs"                       |
 * | `tags`      | `/v2/<name>/tags/list?n=&last=`        | §"Listing Tags"                        |
 * | `referrers` | `/v2/<name>/referrers/<digest>`        | §"Listing Referrers"                   |
 * | `uploads`   | `/v2/<name>/blobs/uploads/...`         | §"Pushing blobs": read-only, so unknown |
 * | `unknown`   | any other `/v2/...`                    | 404 (405 for writes)                   |
 * | `v1`        | `/v1/...`                              | Docker Registry v1: ping, else redirect |
 * | `healthz`, `readyz`, `metrics` | `/healthz` …        | operational                            |
 * | `other`     | anything else                          | 404, whatever the method               |
 *
 * Every row but `other` is read-only: a write method is 405 UNSUPPORTED with
 * `Allow: GET, HEAD` (distribution-spec §"Error Codes": UNSUPPORTED for operations the
 * registry does not implement). Routes throw OciError; the app renders it once.
 */
import { errors, OciError } from "../oci/errors.ts";
import type { RequestContext, RouteHandler } from "./context.ts";
import { noSuchEndpoint } from "./http.ts";
import type { Family } from "./path.ts";

export { matchPath } from "./path.ts";

/** One row of the table. */
export interface Route {
  /** GET and HEAD only; any other method is 405 before the handler runs. */
  readonly readOnly: boolean;
  readonly handle: RouteHandler;
}

/** The handlers the table is built from (lib/server/app.ts makes them once per app). */
export interface RouteHandlers {
  base: RouteHandler;
  catalog: RouteHandler;
  manifests: RouteHandler;
  blobs: RouteHandler;
  tags: RouteHandler;
  referrers: RouteHandler;
  v1: RouteHandler;
  healthz: RouteHandler;
  readyz: RouteHandler;
  metrics: RouteHandler;
}

const read = (handle: RouteHandler): Route => ({ readOnly: true, handle });

/** The path is no endpoint of this server: the not-found answer of the table. */
function notFound(c: RequestContext): never {
  throw noSuchEndpoint(c.path);
}

/** This registry never accepts uploads, so no upload session exists. */
function uploadUnknown(c: RequestContext): never {
  throw new OciError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown: this registry is read-only", {
    name: c.name,
  });
}

/** The table, family → row. */
export function routeTable(h: RouteHandlers): Readonly<Record<Family, Route>> {
  return {
    base: read(h.base),
    catalog: read(h.catalog),
    manifests: read(h.manifests),
    blobs: read(h.blobs),
    tags: read(h.tags),
    referrers: read(h.referrers),
    uploads: read(uploadUnknown),
    unknown: read(notFound),
    v1: read(h.v1),
    healthz: read(h.healthz),
    readyz: read(h.readyz),
    metrics: read(h.metrics),
    other: { readOnly: false, handle: notFound },
  };
}

/** Runs the row of `c.family`: the method check, then its handler. */
export function dispatcher(table: Readonly<Record<Family, Route>>): RouteHandler {
  return function dispatch(c: RequestContext) {
    const route = table[c.family];
    const m = c.req.method;
    if (route.readOnly && m !== "GET" && m !== "HEAD") throw errors.unsupported(m);
    return route.handle(c);
  };
}
