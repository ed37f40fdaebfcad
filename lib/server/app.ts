/**
 * @module
 * The read-only OCI Distribution pull API as a Hono app.
 *
 * ```ts
 * const app = createApp({ registry, store, log });
 * const res = await app.request("/v2/library/alpine/manifests/3.20");
 * ```
 *
 * The app has one route, `*`, whose handler (lib/server/handler.ts) routes the raw path
 * itself: Hono's router cannot express `<name>` with slashes, and must not decode `%2F`.
 * Because Hono would only ever match that one route, `app.fetch` calls the handler
 * directly instead of going through Hono's dispatch (context, router match, promise
 * wrapping): on the blob-redirect path that is about a third of the JavaScript work per
 * request, and the redirect is the request a pull makes most. HEAD responses lose their
 * body here, as Hono's dispatch would do.
 */
import { Hono } from "hono";
import type { AppDeps } from "./deps.ts";
import { createHandler } from "./handler.ts";
import { errorResponse, noSuchEndpoint, splitUrl } from "./http.ts";

export type { AppDeps, Origins } from "./deps.ts";

/** Builds the app over its dependencies (see {@link AppDeps}). */
export function createApp(deps: AppDeps): Hono {
  const handle = createHandler(deps);
  const app = new Hono();
  app.all("*", function serve(c) {
    return handle(c.req.raw);
  });
  app.onError((err) => errorResponse(err, deps.log));
  app.notFound((c) => errorResponse(noSuchEndpoint(splitUrl(c.req.url).path), deps.log));

  app.fetch = function fetch(req: Request): Response | Promise<Response> {
    if (req.method !== "HEAD") return handle(req);
    const res = handle(req);
    return res instanceof Promise ? res.then(withoutBody) : withoutBody(res);
  };
  return app;
}

/** RFC 9110 §9.3.2: a HEAD response has the GET headers and no content. */
function withoutBody(res: Response): Response {
  return res.body === null ? res : new Response(null, res);
}
