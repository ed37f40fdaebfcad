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
import { catalogRoute, repositoryList } from "./catalog.ts";
import { innerName, mountPicker, mountRoutes } from "./mounts.ts";
import { v1Route } from "./v1.ts";
import { healthRoute } from "./health.ts";
import { RequestMetrics } from "./metrics.ts";

export type Handler = (req: Request) => Response | Promise<Response>;

/** Builds the handler; dependencies are resolved once here, requests only look things up. */
export function createHandler(deps: AppDeps): Handler {
  const { registry, store, origins, log } = deps;
  const mounts = deps.mounts ?? [];
  const metrics = new RequestMetrics();
  // Federation (lib/server/mounts.ts): the root store's routes, and each mount's. Without
  // mounts `federated` is false and a request never looks at a prefix.
  const root = mountRoutes({ prefix: "", registry, store, origins }, log);
  const pick = mountPicker(root, mounts.map((m) => mountRoutes(m, log)));
  const federated = mounts.length > 0;
  const repositories = repositoryList(registry, mounts, log);
  // Merging the catalog once now logs the root repositories a mount hides at load time
  // (the app is built after the indexes are loaded); a store not loaded yet is told later.
  if (federated) {
    try {
      repositories();
    } catch { /* not loaded yet: the first catalog request or /readyz says so */ }
  }
  const catalog = catalogRoute(repositories);
  const v1 = v1Route(deps.v1Origin);
  const health = healthRoute({ registry, origins }, mounts, metrics);

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
          case "manifests": {
            // One prefix lookup with mounts; errors and bodies keep the client's name.
            const m = federated ? pick(r.name) : root;
            res = m.manifests(req, r.name, r.ref, innerName(m, r.name));
            break;
          }
          case "blobs": {
            const m = federated ? pick(r.name) : root;
            res = m.blobs(req, r.name, r.ref, innerName(m, r.name));
            break;
          }
          case "base":
            res = base();
            break;
          case "tags": {
            const m = federated ? pick(r.name) : root;
            res = m.tags(req, r.name, query, innerName(m, r.name));
            break;
          }
          case "catalog":
            res = catalog(req, query);
            break;
          case "referrers": {
            const m = federated ? pick(r.name) : root;
            res = m.referrers(req, r.name, r.ref, query, innerName(m, r.name));
            break;
          }
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
