/**
 * @module
 * Operational endpoints: `/healthz` (the process answers), `/readyz` (the index is
 * loaded and, when origins are configured, at least one is healthy: a load balancer
 * should not send pulls to a replica that can only fail them) and `/metrics`.
 */
import { errors } from "../oci/errors.ts";
import type { Registry } from "../index/registry.ts";
import type { Origins } from "./deps.ts";
import { API_VERSION, API_VERSION_HEADER, json } from "./http.ts";
import type { RequestMetrics } from "./metrics.ts";

/** Builds the health handler for `/healthz`, `/readyz` and `/metrics`. */
export function healthRoute(
  registry: Registry,
  origins: Origins | undefined,
  metrics: RequestMetrics,
) {
  return function health(req: Request, path: string): Response {
    if (req.method !== "GET" && req.method !== "HEAD") throw errors.unsupported(req.method);
    if (path === "/healthz") return json(200, { status: "ok" });
    if (path === "/readyz") {
      const index = registry.status();
      const o = origins?.readiness();
      const ready = index.ready && (o === undefined || o.ready);
      return json(ready ? 200 : 503, {
        ready,
        index,
        origins: o === undefined ? null : o,
      });
    }
    return new Response(metrics.render(registry, origins), {
      status: 200,
      headers: {
        [API_VERSION_HEADER]: API_VERSION,
        "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
      },
    });
  };
}
