/**
 * @module
 * The manifests route beyond the table of app_test.ts: a manifest the cache holds is
 * answered without a promise (as the blob 307 is), and every answer is its own Response.
 */
import assert from "node:assert/strict";
import { makeFixture } from "./fixture.ts";
import { appFor } from "./harness.ts";

const ACCEPT = { accept: "application/vnd.oci.image.manifest.v1+json" };

Deno.test("manifests: a cached manifest is answered synchronously, a miss reads the store", async () => {
  const f = await makeFixture();
  try {
    const { app } = await appFor(f.store);
    const get = (ref: string) =>
      app.fetch(
        new Request(`http://localhost/v2/library/alpine/manifests/${ref}`, { headers: ACCEPT }),
      );
    // The first GET reads the manifest from the store (a promise), and caches it.
    const first = get("latest");
    assert.ok(first instanceof Promise, "a cache miss reads the store");
    const miss = await first;
    assert.equal(miss.status, 200);
    assert.deepEqual(new Uint8Array(await miss.arrayBuffer()), f.alpine.bytes);

    // Another tag of the same manifest, and its digest: a Response at once, the same answer.
    for (const ref of ["3.20", f.alpine.digest]) {
      const hit = get(ref);
      assert.ok(hit instanceof Response, `GET ${ref}: no promise once cached`);
      assert.equal(hit.status, 200);
      assert.equal(hit.headers.get("content-type"), f.alpine.mediaType);
      assert.equal(hit.headers.get("content-length"), String(f.alpine.bytes.byteLength));
      assert.equal(hit.headers.get("docker-content-digest"), f.alpine.digest);
      assert.equal(hit.headers.get("etag"), `"${f.alpine.digest}"`);
      assert.equal(hit.headers.get("docker-distribution-api-version"), "registry/2.0");
      assert.deepEqual(new Uint8Array(await hit.arrayBuffer()), f.alpine.bytes);
    }
  } finally {
    await f.cleanup();
  }
});

Deno.test("manifests: each answer has headers of its own", async () => {
  const f = await makeFixture();
  try {
    const { app } = await appFor(f.store);
    const url = "/v2/library/alpine/manifests/latest";
    const a = await app.request(url, { headers: ACCEPT });
    await a.body?.cancel();
    // Whatever a layer outside the route does to one response's headers stays there.
    a.headers.set("x-added", "1");
    a.headers.set("content-type", "text/plain");
    const b = await app.request(url, { headers: ACCEPT });
    assert.equal(b.headers.get("x-added"), null);
    assert.equal(b.headers.get("content-type"), f.alpine.mediaType);
    assert.deepEqual(new Uint8Array(await b.arrayBuffer()), f.alpine.bytes);
  } finally {
    await f.cleanup();
  }
});
