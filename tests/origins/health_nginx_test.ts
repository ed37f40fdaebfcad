/**
 * @module
 * The health checker against a real nginx that is stopped (by PID) mid-test and started
 * again on the same port: the origin goes unhealthy within fall × interval, redirects move
 * to the second origin meanwhile, and it recovers within rise × interval of coming back.
 */
import assert from "node:assert/strict";
import { createOrigins } from "../../lib/origins/origins.ts";
import { fromConfig } from "./fake.ts";
import { silentLogger } from "../../lib/log.ts";
import { startNginx } from "../helpers/nginx.ts";
import { writeFixtureStore } from "./store_fixture.ts";

/** Polls `cond` every 10 ms; resolves to the ms it took, or throws after `limit` ms. */
async function within(limit: number, what: string, cond: () => boolean): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > limit) throw new Error(`${what}: not within ${limit} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

Deno.test("health checker routes around a stopped nginx and returns when it is back", async () => {
  const root = await Deno.makeTempDir({ prefix: "sr-health-" });
  const fx = await writeFixtureStore(root);
  const a = await startNginx({ mode: "static", root });
  const b = await startNginx({ mode: "static", root });
  const interval = 100, rise = 2, fall = 3;
  const origins = createOrigins({
    ...fromConfig({
      origins: [{ name: "a", url: a.url }, { name: "b", url: b.url, verifyBlobs: true }],
      health: { interval: `${interval}ms`, timeout: "80ms", rise, fall },
    }),
    log: silentLogger,
  });
  const [digest, size] = [...fx.objects][0];
  try {
    await origins.start();
    assert.equal(origins.readiness().ready, true);
    assert.ok((await origins.locate(digest, size)).startsWith(a.url + "/blobs/sha256/"));

    await a.stop();
    const down = await within(
      (fall + 1) * interval + 500,
      "a unhealthy",
      () => !origins.readiness().origins[0].healthy,
    );
    const s = origins.readiness().origins[0];
    assert.equal(s.state, "unhealthy");
    assert.equal(s.consecutiveFailures, fall);
    assert.match(s.lastError!, /GET canary/);
    assert.ok(origins.readiness().ready, "b still healthy");
    const viaB = await origins.locate(digest, size);
    assert.ok(viaB.startsWith(b.url + "/blobs/sha256/"), viaB);
    const res = await fetch(viaB);
    assert.equal((await res.bytes()).byteLength, size, "the redirect target serves the blob");

    await a.start();
    const up = await within(
      (rise + 1) * interval + 500,
      "a healthy again",
      () => origins.readiness().origins[0].healthy,
    );
    assert.ok((await origins.locate(digest, size)).startsWith(a.url + "/"));
    assert.equal(origins.stats().origins[0].healthy, true);
    console.log(`unhealthy after ${down.toFixed(0)} ms, healthy again after ${up.toFixed(0)} ms`);
  } finally {
    origins.stop();
    await a.close();
    await b.close();
    await Deno.remove(root, { recursive: true });
  }
});
