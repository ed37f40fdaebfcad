/**
 * @module
 * The manifests route beyond the table of app_test.ts: a manifest the cache holds is
 * answered without a promise (as the blob 307 is), every answer is its own Response, and
 * the length it gives lib/server/observe.ts spares reading the Response's body.
 */
import assert from "node:assert/strict";
import { makeFixture } from "./fixture.ts";
import { appFor } from "./harness.ts";
import { observe } from "../../lib/server/observe.ts";
import { RequestContext } from "../../lib/server/context.ts";
import { RequestFigures } from "../../lib/server/request_figures.ts";

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

/** A Response that counts reads of its `body` (on Bun, a read makes the bytes a stream). */
class Watched extends Response {
  bodyReads = 0;
  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    this.bodyReads++;
    return super.body;
  }
}

Deno.test("observe: a length the route gives is recorded without reading the response body", async () => {
  const f = await makeFixture();
  try {
    const { registry } = await appFor(f.store);
    const figures = new RequestFigures();
    const run = observe(figures);
    const mount = { prefix: "", registry, origins: undefined, stream: undefined };
    const context = (method: string) =>
      new RequestContext(
        new Request("http://localhost/v2/library/alpine/manifests/latest", { method }),
        "/v2/library/alpine/manifests/latest",
        "",
        "manifests",
        "library/alpine",
        "latest",
        mount,
        "library/alpine",
      );
    const bytes = () => new Uint8Array(7);
    // The route says how long its body is: neither `body` nor the headers are needed.
    const given = context("GET");
    const a = new Watched(bytes());
    const resA = run(given, () => {
      given.length = 7;
      return a;
    });
    assert.equal(resA, a);
    assert.equal(a.bodyReads, 0);
    // Without it, observe falls back to the body and the Content-Length header.
    const b = new Watched(bytes(), { headers: { "content-length": "7" } });
    run(context("GET"), () => b);
    assert.ok(b.bodyReads > 0, "the fallback reads the body");
    // HEAD sends no body, whatever length the route gave.
    const head = context("HEAD");
    run(head, () => {
      head.length = 7;
      return new Watched(null);
    });
    const [[family, got]] = [...figures.families()];
    assert.equal(family, "manifests");
    assert.equal(got.count, 3);
    assert.equal(got.bytes, 14, "7 + 7 + 0 for the HEAD");
    await a.body?.cancel();
  } finally {
    await f.cleanup();
  }
});
