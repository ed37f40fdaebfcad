/**
 * @module
 * The read-only OCI Distribution pull API as a plain `{ fetch }` handler.
 *
 * ```ts
 * const app = createApp({ registry, store, log });
 * const res = await app.request("/v2/library/alpine/manifests/3.20");
 * ```
 *
 * A request goes: raw target ({@link requestTarget}) → family ({@link matchPath}) → the
 * name (`HOST/name` under containerd's `?ns=HOST`, lib/server/mounts.ts `mirrorName`) →
 * its store resolved once into a {@link RequestContext} → the middleware (`observe` first:
 * timing, request figures, access log; then `deps.middleware`) → the route table (lib/server/routes.ts). Anything thrown on the
 * way is rendered by `renderError` (lib/server/http.ts), the only error renderer.
 *
 * Why not Hono: the route table needs the RAW path (`%2F` must reach the name grammar
 * undecoded) and greedy names, and the blob 307 is the request a pull makes most. Hono
 * for real — one route per family with `:name{.+}`, one pass-through middleware,
 * `onError`/`notFound` — answered a bare 307 at about 0.7× the rate of bare `Bun.serve`,
 * while this shape (a hand split of the raw path, a family table, the same middleware)
 * costs nothing measurable over it (`bench/floor.ts` modes `hono-routes`, `table`,
 * `bun`; the floor rows of `scripts/bench --only serve`). With today's 307 at about
 * 0.85× nginx, Hono's routing alone would take the row under its 0.8× target.
 */
import type { Logger } from "../log.ts";
import type { Registry } from "../index/registry.ts";
import type { ReadStore } from "../store/store.ts";
import { base } from "./base.ts";
import { blobsRoute } from "./blobs.ts";
import { catalogRoute, repositoryList } from "./catalog.ts";
import { type ClientAddress, type Middleware, type Reply, RequestContext } from "./context.ts";
import type { Mount, Origins } from "./deps.ts";
import { healthz, metricsRoute, readyzRoute } from "./health.ts";
import { noSuchEndpoint, renderError } from "./http.ts";
import { manifestsRoute } from "./manifests.ts";
import { compose, onResponse } from "./middleware.ts";
import { createMetrics } from "./lazy_metrics.ts";
import { observe } from "./observe.ts";
import { RequestFigures } from "./request_figures.ts";
import type { AccessLog } from "./access_log.ts";
import { innerName, mirrorName, mountPicker, servedStore } from "./mounts.ts";
import { referrers } from "./referrers.ts";
import { requestTarget } from "./path.ts";
import { dispatcher, matchPath, routeTable } from "./routes.ts";
import { tags } from "./tags.ts";
import { v1Route } from "./v1.ts";

export type { Mount, Origins, OriginStats } from "./deps.ts";
export type { ClientAddress, Middleware, RequestContext } from "./context.ts";

/** Dependencies of {@link createApp}. */
export interface AppDeps {
  /** The root store's registry: every name under no mount. */
  registry: Registry;
  /** The store the registry reads; when it can stream and no origins are set, blobs are served from it. */
  store: ReadStore;
  origins?: Origins;
  /** More stores under repository-name prefixes; their names shadow the root's. */
  mounts?: readonly Mount[];
  /** Base URL every `/v1/...` request (other than `/v1/_ping`) is redirected to. */
  v1Origin?: string;
  /**
   * Steps run around every route, outermost first, inside `observe` (lib/server/observe.ts;
   * lib/server/context.ts `Middleware`): client address, rate limit and auth go here.
   */
  middleware?: readonly Middleware[];
  /** Where access lines go (lib/server/access_log.ts); absent: no access log. */
  accessLog?: AccessLog;
  /**
   * False when `/metrics` is served on its own address (`metrics.listen`): the app then
   * answers 404 there, and the metrics listener calls {@link App.metrics}.
   */
  metricsHere?: boolean;
  /** HTTPS: the served certificate's notAfter (Unix seconds), for `/metrics`. */
  tlsCertExpiry?: () => number | undefined;
  log: Logger;
}

/** The server: what the runtime's listener calls, and a socket-free entry for tests. */
export interface App {
  /** Answers one request; `client` gives the client's address when something asks. */
  fetch(req: Request, client?: ClientAddress): Reply;
  /** Like Hono's `app.request()`: a path (on `http://localhost`), a URL or a Request. */
  request(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** The `/metrics` response, for a listener of its own (`metrics.listen`). */
  metrics(): Promise<Response>;
}

/** Builds the app over its dependencies (see {@link AppDeps}); requests only look things up. */
export function createApp(deps: AppDeps): App {
  const { registry, log } = deps;
  const mounts = deps.mounts ?? [];
  // Federation (lib/server/mounts.ts): the store of every request is resolved once here.
  const root = servedStore({ prefix: "", registry, store: deps.store, origins: deps.origins });
  const pick = mountPicker(root, mounts.map(servedStore));
  const repositories = repositoryList(registry, mounts, log);
  // Merging the catalog once now logs the root repositories a mount hides at load time
  // (the app is built after the indexes are loaded); a store not loaded yet is told later.
  if (mounts.length) {
    try {
      repositories();
    } catch { /* not loaded yet: the first catalog request or /readyz says so */ }
  }
  const figures = new RequestFigures();
  const metrics = metricsRoute(
    createMetrics(figures, { registry, origins: deps.origins }, mounts, deps.tlsCertExpiry),
  );
  const table = routeTable({
    base,
    catalog: catalogRoute(repositories),
    manifests: manifestsRoute(log),
    blobs: blobsRoute(log),
    tags,
    referrers,
    v1: v1Route(deps.v1Origin),
    healthz,
    readyz: readyzRoute({ registry, origins: deps.origins }, mounts),
    metrics: deps.metricsHere === false ? metricsElsewhere : metrics,
  });
  const run = compose(
    [observe(figures, deps.accessLog), ...(deps.middleware ?? [])],
    dispatcher(table),
    (err) => renderError(err, log),
  );

  function fetch(req: Request, client?: ClientAddress): Reply {
    const { path, query } = requestTarget(req.url);
    const m = matchPath(path);
    let name = "name" in m ? m.name : "";
    // containerd mirror mode (lib/server/mounts.ts mirrorName); `_catalog` and `/v2/`
    // name nothing, so they ignore it. No parse unless the query mentions `ns=`.
    if (name !== "" && query !== "" && query.includes("ns=")) name = mirrorName(name, query);
    const mount = name === "" ? root : pick(name);
    const c = new RequestContext(
      req,
      path,
      query,
      m.kind,
      name,
      "ref" in m ? m.ref : "",
      mount,
      innerName(mount, name),
      client,
    );
    const res = run(c);
    return req.method === "HEAD" ? onResponse(res, withoutBody) : res;
  }

  return {
    fetch,
    request(input, init) {
      const req = input instanceof Request
        ? (init ? new Request(input, init) : input)
        : new Request(
          typeof input === "string" && !/^https?:\/\//.test(input)
            ? `http://localhost${input.startsWith("/") ? "" : "/"}${input}`
            : input,
          init,
        );
      return Promise.resolve(fetch(req));
    },
    metrics: () => metrics(),
  };
}

/** `/metrics` on the API address when `metrics.listen` serves it elsewhere: not here. */
function metricsElsewhere(c: RequestContext): never {
  throw noSuchEndpoint(c.path);
}

/** RFC 9110 §9.3.2: a HEAD response has the GET headers and no content. */
function withoutBody(res: Response): Response {
  return res.body === null ? res : new Response(null, res);
}
