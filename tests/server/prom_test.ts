/**
 * createMetrics(): the Prometheus text of several stores, rendered by prom-client — the
 * `mount` label joins each source's own labels, label values are escaped, and each family
 * is described once with its samples together (these assertions moved here from the
 * hand-written merger, lib/server/prom.ts, that prom-client replaced).
 */
import assert from "node:assert/strict";
import type { Registry } from "../../lib/index/registry.ts";
import { createMetrics } from "../../lib/server/metrics.ts";
import { RequestFigures } from "../../lib/server/request_figures.ts";
import type { Origins, OriginStats } from "../../lib/server/deps.ts";

const registry = (repositories: number) =>
  ({
    ready: true,
    status: () => ({
      repositories,
      tags: 2 * repositories,
      refreshFailures: 0,
      problems: [],
      lastReads: 2,
      lastRefreshMs: 5,
    }),
    lastRefreshSeconds: () => 1700000000,
  }) as unknown as Registry;

const origins = (stats: OriginStats): Origins => ({
  locate: () => "http://cdn.test/x",
  readiness: () => ({ ready: true, origins: [] }),
  stats: () => stats,
});

Deno.test("createMetrics() adds the mount label to samples with and without labels", async () => {
  const figures = new RequestFigures();
  figures.record("blobs", "GET", 307, 0.0002, 0);
  const text = await createMetrics(
    figures,
    {
      registry: registry(1),
      origins: origins({
        origins: [{ name: 'a"b\\c\nd', healthy: true, redirects: 3 }],
        verifyCache: { hits: 1, misses: 2 },
      }),
    },
    [{ prefix: "x", registry: registry(2) }],
  ).render();
  assert.match(text, /^static_registry_redirects_total\{mount="",origin="a\\"b\\\\c\\nd"\} 3$/m);
  assert.match(text, /^static_registry_verify_cache_hits_total\{mount=""\} 1$/m);
  assert.match(text, /^static_registry_index_tags\{mount="x"\} 4$/m);
  assert.match(
    text,
    /^static_registry_requests_total\{route="blobs",method="GET",status="307"\} 1$/m,
  );
  assert.match(text, /^static_registry_build_info\{version="[^"]+"\} 1$/m);
  assert.match(text, /^process_resident_memory_bytes \d+/m, "process metrics");
});

Deno.test("createMetrics() describes each family once and keeps its samples together", async () => {
  const stats = (n: number): OriginStats => ({
    origins: [{ name: `o${n}`, healthy: true, redirects: n }],
    verifyCache: { hits: n, misses: 0 },
  });
  const text = await createMetrics(
    new RequestFigures(),
    { registry: registry(1), origins: origins(stats(1)) },
    [{ prefix: "b", registry: registry(2), origins: origins(stats(2)) }],
  ).render();
  const lines = text.split("\n");
  for (const family of ["static_registry_origin_up", "static_registry_verify_cache_hits_total"]) {
    assert.equal(text.split(`# HELP ${family} `).length, 2, `${family}: one HELP line`);
    assert.equal(text.split(`# TYPE ${family} `).length, 2, `${family}: one TYPE line`);
    const at = lines.flatMap((l, i) => l.startsWith(`${family}{`) ? [i] : []);
    assert.equal(at.length, 2, `${family}: one sample per store`);
    assert.equal(at[1] - at[0], 1, `${family}: contiguous samples`);
  }
  assert.match(text, /^static_registry_origin_up\{mount="",origin="o1"\} 1$/m);
  assert.match(text, /^static_registry_origin_up\{mount="b",origin="o2"\} 1$/m);
  assert.match(text, /^static_registry_verify_cache_hits_total\{mount="b"\} 2$/m);
});
