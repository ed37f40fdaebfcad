/**
 * @module
 * `/metrics` set up on the first scrape: {@link createMetrics} takes what
 * lib/server/metrics.ts's does and imports that module (and prom-client with it) only when
 * `/metrics` is first asked for. Evaluating prom-client is about 20 ms of CPU, and its
 * default metrics start an event-loop monitor and a GC observer; a server start (spawn →
 * first 200 on `/v2/`, issue 13) needs none of it, and every figure is read at scrape
 * time anyway (lib/server/request_figures.ts counts from the first request).
 *
 * Hence the process metrics' event-loop delay and GC figures cover the time since the
 * first scrape, not since the start: Prometheus reads their rates, which a restart resets
 * the same way. In the compiled binary prom-client is a chunk of its own (scripts/build).
 */
import type * as Eager from "./metrics.ts";

/** Prometheus text format 0.0.4: what prom-client's registry says (checked in tests). */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Like metrics.ts {@link Eager.createMetrics}, built when first rendered. */
export function createMetrics(...args: Parameters<typeof Eager.createMetrics>): Eager.Metrics {
  let built: Promise<Eager.Metrics> | undefined;
  return {
    contentType: PROMETHEUS_CONTENT_TYPE as Eager.Metrics["contentType"],
    async render() {
      built ??= import("./metrics.ts").then((m) => m.createMetrics(...args));
      return await (await built).render();
    },
  };
}
