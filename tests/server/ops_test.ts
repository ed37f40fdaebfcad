/**
 * @module
 * The operational side of createApp(): v1 redirects and ping, /healthz, /readyz with and
 * without origins, /metrics, Link paging walked to the end, and a not-yet-loaded index.
 */
import assert from "node:assert/strict";
import { requestCount } from "../helpers/metrics.ts";
import { silentLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/index/registry.ts";
import { createApp } from "../../lib/server/app.ts";
import { makeFixture } from "./fixture.ts";
import { appFor, FakeOrigins, runCases } from "./harness.ts";

Deno.test("v1: _ping answers, the rest redirects to the v1 origin", async (t) => {
  const f = await makeFixture();
  try {
    const { app } = await appFor(f.store, { v1Origin: "https://cdn.example.com/v1/" });
    await runCases(t, app, [
      {
        description: "/v1/_ping → 200",
        url: "/v1/_ping",
        status: 200,
        wantBody: true,
        wantHeaders: {
          "x-docker-registry-version": "0.6.0",
          "x-docker-registry-standalone": "true",
        },
      },
      {
        description: "/v1/repositories/x/images → 307 to origin + path",
        url: "/v1/repositories/library/busybox/images",
        status: 307,
        wantHeaders: { location: "https://cdn.example.com/v1/repositories/library/busybox/images" },
      },
      {
        description: "the query is kept",
        url: "/v1/search?q=busybox&n=2",
        status: 307,
        wantHeaders: { location: "https://cdn.example.com/v1/search?q=busybox&n=2" },
      },
      {
        description: "HEAD redirects too",
        method: "HEAD",
        url: "/v1/images/abc/json",
        status: 307,
      },
    ]);
    const { app: noV1 } = await appFor(f.store);
    await runCases(t, noV1, [
      { description: "ping works without a v1 origin", url: "/v1/_ping", status: 200 },
      { description: "no v1 origin → 404", url: "/v1/images/abc/json", status: 404 },
    ]);
  } finally {
    await f.cleanup();
  }
});

Deno.test("health: /healthz, /readyz follows the index and the origins, /metrics", async (t) => {
  const f = await makeFixture();
  try {
    const origins = new FakeOrigins();
    const { app } = await appFor(f.store, { origins });
    await runCases(t, app, [
      { description: "/healthz → 200", url: "/healthz", status: 200 },
      { description: "/readyz → 200 with origins healthy", url: "/readyz", status: 200 },
      {
        description: "a manifest, to count",
        url: "/v2/library/alpine/manifests/latest",
        status: 200,
      },
      { description: "a 404, to count", url: "/v2/library/alpine/manifests/nope", status: 404 },
    ]);
    const ready = await (await app.request("/readyz")).json();
    assert.equal(ready.ready, true);
    assert.equal(ready.index.repositories, 3);
    assert.equal(ready.index.tags, 29);
    assert.deepEqual(ready.origins.origins, [{ name: "cdn-a", healthy: true }]);

    origins.ready = false;
    const res = await app.request("/readyz");
    assert.equal(res.status, 503);
    assert.equal((await res.json()).ready, false);

    const text = await (await app.request("/metrics")).text();
    assert.equal(requestCount(text, "manifests", 200), 1);
    assert.equal(requestCount(text, "manifests", 404), 1);
    assert.match(text, /^static_registry_index_repositories 3$/m);
    assert.match(text, /^static_registry_index_tags 29$/m);
    assert.match(text, /^static_registry_index_refresh_failures_total 0$/m);
    assert.match(text, /^static_registry_index_last_refresh_timestamp_seconds \d+(\.\d+)?$/m);
    assert.match(
      text,
      /^static_registry_origin_up\{origin="cdn-a"\} 1$/m,
      "origins.metrics() appended",
    );
    assert.ok(text.endsWith("\n"));
  } finally {
    await f.cleanup();
  }
});

Deno.test("an app over a registry that is not loaded: /readyz 503, /v2 requests 503", async (t) => {
  const f = await makeFixture();
  try {
    const registry = new Registry(f.store, { log: silentLogger });
    const app = createApp({ registry, store: f.store, log: silentLogger });
    await runCases(t, app, [
      { description: "/readyz → 503", url: "/readyz", status: 503 },
      { description: "/healthz → 200", url: "/healthz", status: 200 },
      { description: "/v2/ → 200 (the API exists)", url: "/v2/", status: 200 },
      {
        description: "manifest → 503 UNAVAILABLE",
        url: "/v2/library/alpine/manifests/latest",
        status: 503,
        wantCode: "UNAVAILABLE",
      },
      {
        description: "catalog → 503 UNAVAILABLE",
        url: "/v2/_catalog",
        status: 503,
        wantCode: "UNAVAILABLE",
      },
    ]);
    await registry.load();
    await runCases(t, app, [{
      description: "/readyz → 200 once loaded",
      url: "/readyz",
      status: 200,
    }]);
  } finally {
    await f.cleanup();
  }
});

Deno.test("tags/list and _catalog: following Link walks the whole list exactly once", async () => {
  const f = await makeFixture();
  try {
    const { app } = await appFor(f.store);
    for (
      const [start, key, want] of [
        ["/v2/many/tags/list?n=4", "tags", f.manyTags],
        ["/v2/many/tags/list?n=1", "tags", f.manyTags],
        ["/v2/many/tags/list?n=25", "tags", f.manyTags],
        ["/v2/many/tags/list?n=7&last=t10", "tags", f.manyTags.slice(11)],
        ["/v2/many/tags/list?last=t20", "tags", f.manyTags.slice(21)],
        ["/v2/_catalog?n=1", "repositories", ["library/alpine", "many", "other/repo"]],
      ] as const
    ) {
      const got: string[] = [];
      let url: string | undefined = start;
      let pages = 0;
      while (url) {
        const res = await app.request(url);
        assert.equal(res.status, 200, url);
        const body = await res.json();
        got.push(...body[key]);
        const link = res.headers.get("link");
        url = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
        if (link) assert.ok(url, `malformed Link ${link}`);
        assert.ok(++pages <= 100, "paging does not end");
      }
      assert.deepEqual(got, [...want], start);
    }
  } finally {
    await f.cleanup();
  }
});
