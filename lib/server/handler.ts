/**
 * @module
 * The request handler behind the Hono app: one flat dispatch over the RAW request path
 * (names contain `/`; percent-encoded bytes must reach the name grammar undecoded), so a
 * request costs one function call and at most one promise — no middleware chain. Route
 * families live in their own files; anything they throw is rendered once by
 * {@link errorResponse}, and every response is counted for `/metrics`.
 */
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

export type Handler = (req: Request) => Response | Promise<Response>;

/** Builds the handler; dependencies are resolved once here, requests only look things up. */
export function createHandler(deps: AppDeps): Handler {
  const { registry, store, origins, log } = deps;
  const metrics = new RequestMetrics();
  const manifests = manifestsRoute(registry, log);
  const blobs = blobsRoute(registry, store, origins, log);
  const tags = tagsRoute(registry);
  const catalog = catalogRoute(registry);
  const referrers = referrersRoute(registry);
  const v1 = v1Route(deps.v1Origin);
  const health = healthRoute(registry, origins, metrics);

  return function handle(req: Request): Response | Promise<Response> {
    const { path, query } = splitUrl(req.url);
    let family = "other";
    const done = (res: Response): Response => {
      metrics.count(family, res.status);
      return res;
    };
    const fail = (err: unknown): Response => done(errorResponse(err, log));
    try {
      let res: Response | Promise<Response>;
      if (path.startsWith("/v2/") || path === "/v2") {
        const r = parseV2Path(path);
        family = r.kind;
        // This registry implements only the pull endpoints (GET/HEAD); distribution-spec
        // §"Error Codes": UNSUPPORTED for operations it does not implement.
        if (req.method !== "GET" && req.method !== "HEAD") throw errors.unsupported(req.method);
        switch (r.kind) {
          case "manifests":
            res = manifests(req, r.name, r.ref);
            break;
          case "blobs":
            res = blobs(req, r.name, r.ref);
            break;
          case "base":
            res = base();
            break;
          case "tags":
            res = tags(req, r.name, query);
            break;
          case "catalog":
            res = catalog(req, query);
            break;
          case "referrers":
            res = referrers(req, r.name, r.ref, query);
            break;
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
      } else if (path === "/v1" || path.startsWith("/v1/")) {
        family = "v1";
        res = v1(req, path, query);
      } else if (path === "/healthz" || path === "/readyz" || path === "/metrics") {
        family = path.slice(1);
        res = health(req, path);
      } else {
        throw noSuchEndpoint(path);
      }
      return res instanceof Promise ? res.then(done, fail) : done(res);
    } catch (err) {
      return fail(err);
    }
  };
}
