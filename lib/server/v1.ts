/**
 * @module
 * Docker Registry API v1, kept for old clients the way the original static-registry did
 * it: `/v1/_ping` is answered here, every other `/v1/...` GET/HEAD is redirected (307) to
 * the configured v1 origin plus the rest of the path and the query. Write methods get 405
 * like everywhere else (the route table, lib/server/routes.ts): this server never accepts
 * writes, and redirecting a PUT to a CDN would only fail later.
 */
import type { RequestContext } from "./context.ts";
import { empty, json, noSuchEndpoint } from "./http.ts";

/** Builds the `/v1` handler; `v1Origin` is a base URL such as `https://cdn.example.com/v1`. */
export function v1Route(v1Origin: string | undefined) {
  const base = v1Origin?.replace(/\/+$/, "");
  return function v1({ path, query }: RequestContext): Response {
    if (path === "/v1/_ping" || path === "/v1/_ping/") {
      return json(200, true, {
        "X-Docker-Registry-Version": "0.6.0",
        "X-Docker-Registry-Standalone": "true",
      });
    }
    if (base === undefined) throw noSuchEndpoint(path);
    const location = base + path.slice(3) + (query === "" ? "" : `?${query}`);
    return empty(307, { Location: location });
  };
}
