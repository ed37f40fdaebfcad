/**
 * @module
 * Operational endpoints: `/healthz` (the process answers), `/readyz` (the index is
 * loaded and, when origins are configured, at least one is healthy: a load balancer
 * should not send pulls to a replica that can only fail them) and `/metrics`.
 *
 * With mounts (federation), `/readyz` is ready only when EVERY store is: each index
 * loaded, and each store with origins has a healthy one — the same rule as without
 * mounts, applied to all of them. A replica should say ready only when it can serve
 * everything it advertises in `_catalog`. The price: every replica runs the same config,
 * so a mount whose store or origins are down makes all replicas unready, and a load
 * balancer that drops unready replicas then drops the healthy mounts' traffic too. That
 * is the same blast radius as today's single store with all origins down, and it is
 * loud; teams that want one mount's outage isolated run it in its own server instead.
 * `/healthz` stays 200 either way, and requests that do arrive are still answered.
 * The body keeps the root's detail at the top level and adds one entry per mount.
 */
import type { RequestContext } from "./context.ts";
import type { Mount } from "./deps.ts";
import { json, text } from "./http.ts";
import type { Metrics } from "./metrics.ts";

type Checked = Pick<Mount, "registry" | "origins">;

/** One store's readiness: its index loaded and, with origins, one of them healthy. */
function readiness(m: Checked) {
  const index = m.registry.status();
  const o = m.origins?.readiness();
  const ready = index.ready && (o === undefined || o.ready);
  return { ready, index, origins: o === undefined ? null : o };
}

/** `/healthz`: the process answers. */
export function healthz(_c: RequestContext): Response {
  return json(200, { status: "ok" });
}

/** Builds the `/readyz` handler over the root store and the mounts. */
export function readyzRoute(root: Checked, mounts: readonly Mount[]) {
  return function readyz(_c: RequestContext): Response {
    const r = readiness(root);
    if (mounts.length === 0) return json(r.ready ? 200 : 503, r);
    const detail = mounts.map((m) => ({ prefix: m.prefix, ...readiness(m) }));
    const ready = r.ready && detail.every((d) => d.ready);
    return json(ready ? 200 : 503, { ...r, ready, mounts: detail });
  };
}

/** Builds the `/metrics` handler (lib/server/metrics.ts renders the text). */
export function metricsRoute(metrics: Metrics) {
  return async function metricsText(_c?: RequestContext): Promise<Response> {
    return text(200, await metrics.render(), metrics.contentType);
  };
}
