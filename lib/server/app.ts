/**
 * @module
 * The read-only OCI Distribution pull API as a Hono app.
 *
 * Routing is one flat function over the RAW request path (repository names contain `/`,
 * and percent-encoded bytes must reach the name grammar undecoded), so a request costs
 * one handler call: no middleware chain. Each route family lives in its own file; errors
 * thrown anywhere are rendered once by {@link errorResponse} as the spec's error body.
 *
 * ```ts
 * const app = createApp({ registry, store, log });
 * const res = await app.request("/v2/library/alpine/manifests/3.20");
 * ```
 */
import { Hono } from "hono";
import { errors, OciError } from "../oci/errors.ts";
import type { AppDeps } from "./deps.ts";
import { errorResponse, noSuchEndpoint, splitUrl } from "./http.ts";
import { parseV2Path } from "./path.ts";
import { base } from "./base.ts";
import { manifestsRoute } from "./manifests.ts";
import { blobsRoute } from "./blobs.ts";
import { tagsRoute } from "./tags.ts";
import { catalogRoute } from "./catalog.ts";
import { referrersRoute } from "./referrers.ts";
import { v1Route } from "./v1.ts";
import { healthRoute } from "./health.ts";
import { RequestMetrics } from "./metrics.ts";

export type { AppDeps, Origins } from "./deps.ts";

/** Builds the app. Dependencies are resolved once here; requests only look things up. */
export function createApp(deps: AppDeps): Hono {
  const { registry, store, origins, log } = deps;
  const metrics = new RequestMetrics();
  const manifests = manifestsRoute(registry, log);
  const blobs = blobsRoute(registry, store, origins, log);
  const tags = tagsRoute(registry);
  const catalog = catalogRoute(registry);
  const referrers = referrersRoute(registry);
  const v1 = v1Route(deps.v1Origin);
  const health = healthRoute(registry, origins, metrics);

  /** Picks the handler for a request; returns its metrics family and the response. */
  function route(
    req: Request,
    path: string,
    query: string,
  ): [string, Response | Promise<Response>] {
    if (path.startsWith("/v2/") || path === "/v2") {
      const r = parseV2Path(path);
      // distribution-spec: this registry implements only the pull (GET/HEAD) endpoints.
      if (req.method !== "GET" && req.method !== "HEAD") throw errors.unsupported(req.method);
      switch (r.kind) {
        case "base":
          return [r.kind, base()];
        case "manifests":
          return [r.kind, manifests(req, r.name, r.ref)];
        case "blobs":
          return [r.kind, blobs(req, r.name, r.ref)];
        case "tags":
          return [r.kind, tags(req, r.name, query)];
        case "catalog":
          return [r.kind, catalog(req, query)];
        case "referrers":
          return [r.kind, referrers(req, r.name, r.ref, query)];
        case "uploads":
          throw new OciError(
            "BLOB_UPLOAD_UNKNOWN",
            "blob upload unknown: this registry is read-only",
            {
              name: r.name,
            },
          );
        default:
          throw noSuchEndpoint(path);
      }
    }
    if (path === "/v1" || path.startsWith("/v1/")) return ["v1", v1(req, path, query)];
    if (path === "/healthz" || path === "/readyz" || path === "/metrics") {
      return [path.slice(1), health(req, path)];
    }
    throw noSuchEndpoint(path);
  }

  function familyOf(path: string): string {
    if (path.startsWith("/v2/") || path === "/v2") return parseV2Path(path).kind;
    if (path === "/v1" || path.startsWith("/v1/")) return "v1";
    return "other";
  }

  const app = new Hono();
  app.all("*", async function serve(c) {
    const req = c.req.raw;
    const { path, query } = splitUrl(req.url);
    let family: string;
    let res: Response;
    try {
      const [f, r] = route(req, path, query);
      family = f;
      res = await r;
    } catch (err) {
      family = familyOf(path);
      res = errorResponse(err, log);
    }
    metrics.count(family, res.status);
    return res;
  });
  // Only reached if Hono itself fails around the handler: same rendering, same header.
  app.onError((err) => errorResponse(err, log));
  app.notFound((c) => errorResponse(noSuchEndpoint(splitUrl(c.req.url).path), log));
  return app;
}
