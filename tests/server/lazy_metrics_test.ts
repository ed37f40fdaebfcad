/**
 * lib/server/lazy_metrics.ts: `/metrics` built on the first scrape says what the eager
 * registry says, with prom-client's content type, counting requests made before it.
 */
import assert from "node:assert/strict";
import { Registry as PromRegistry } from "prom-client";
import type { Registry } from "../../lib/index/registry.ts";
import { createMetrics, PROMETHEUS_CONTENT_TYPE } from "../../lib/server/lazy_metrics.ts";
import { createMetrics as eagerMetrics } from "../../lib/server/metrics.ts";
import { RequestFigures } from "../../lib/server/request_figures.ts";

const registry = {
  ready: true,
  status: () => ({
    repositories: 3,
    tags: 7,
    refreshFailures: 0,
    problems: [],
    lastReads: 2,
    lastRefreshMs: 5,
  }),
  lastRefreshSeconds: () => 1700000000,
} as unknown as Registry;

Deno.test("PROMETHEUS_CONTENT_TYPE is prom-client's", () => {
  assert.equal(PROMETHEUS_CONTENT_TYPE, PromRegistry.PROMETHEUS_CONTENT_TYPE);
  assert.equal(
    createMetrics(new RequestFigures(), { registry }, []).contentType,
    PROMETHEUS_CONTENT_TYPE,
  );
});

Deno.test("createMetrics() (lazy) renders what the eager registry renders, requests before the first scrape included", async () => {
  const figures = new RequestFigures();
  const lazy = createMetrics(figures, { registry }, []);
  figures.record("manifests", "GET", 200, 0.001, 512);
  const eager = eagerMetrics(figures, { registry }, []);
  // Process metrics (memory, CPU) and the index age change between two renders.
  const ours = (text: string) =>
    text.split("\n")
      .filter((l) =>
        l.includes("static_registry_") && !/^static_registry_index_age_seconds /.test(l)
      )
      .join("\n");
  const first = await lazy.render();
  assert.match(
    first,
    /^static_registry_requests_total\{route="manifests",method="GET",status="200"\} 1$/m,
  );
  assert.match(first, /^static_registry_index_tags 7$/m);
  assert.equal(ours(first), ours(await eager.render()));
  figures.record("blobs", "GET", 307, 0.0002, 0);
  assert.match(
    await lazy.render(),
    /^static_registry_requests_total\{route="blobs",method="GET",status="307"\} 1$/m,
    "later scrapes reuse the registry and see new figures",
  );
});
