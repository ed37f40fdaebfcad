/**
 * @module
 * The blob route asks the origins for the client's egress (lib/origins/routing.ts): a 307
 * to the rule's origin with `c.origin` set, the bytes streamed by the server for a stream
 * rule (Range and If-Range as for a store without origins) and as the `fallback` when
 * every origin is down, 503 without the fallback, and a stream cut short is an error,
 * never a complete-looking blob.
 */
import assert from "node:assert/strict";
import { Registry } from "../../lib/index/registry.ts";
import { silentLogger } from "../../lib/log.ts";
import { createOrigins } from "../../lib/origins/origins.ts";
import { createApp, type Middleware } from "../../lib/server/app.ts";
import type { ByteRange, StreamStore } from "../../lib/store/store.ts";
import { FakeFetch, fromConfig } from "../origins/fake.ts";
import { makeFixture } from "./fixture.ts";

const CDN = "http://cdn.test";
const DC = "http://dc.test";

async function setup(
  store: StreamStore,
  doc: Record<string, unknown>,
  up: { cdn: boolean; dc: boolean },
) {
  const f = new FakeFetch()
    .set(`${CDN}/static-registry.json`, { status: up.cdn ? 200 : 503 })
    .set(`${DC}/static-registry.json`, { status: up.dc ? 200 : 503 });
  const origins = createOrigins({
    ...fromConfig({
      origins: [{ name: "cdn", url: CDN }, { name: "dc", url: DC }],
      health: { interval: "1s", timeout: "50ms", rise: 1, fall: 1 },
      ...doc,
    }),
    log: silentLogger,
    fetch: f.fetch,
  });
  await origins.health.checkAll();
  const registry = new Registry(store, { log: silentLogger });
  await registry.load();
  const seen: (string | undefined)[] = [];
  const capture: Middleware = (c, next) => {
    const r = next();
    const after = (res: Response) => (seen.push(c.origin), res);
    return r instanceof Response ? after(r) : r.then(after);
  };
  const app = createApp({ registry, store, origins, middleware: [capture], log: silentLogger });
  const get = (path: string, client: string, headers: Record<string, string> = {}) =>
    Promise.resolve(app.fetch(new Request(`http://localhost${path}`, { headers }), () => client));
  return { app, get, seen, origins };
}

const ROUTING = {
  routing: [
    { clients: ["127.0.0.2/32", "fd00::/8"], origins: ["dc"] },
    { clients: ["127.0.0.3"], stream: true },
  ],
};

Deno.test("blobs: the client's rule picks the origin, and c.origin names it", async () => {
  const f = await makeFixture();
  try {
    const { get, seen, origins } = await setup(f.store, ROUTING, { cdn: true, dc: true });
    const url = `/v2/library/alpine/blobs/${f.layer.digest}`;
    const hex = f.layer.digest.slice(7);
    for (
      const [client, want, name] of [
        ["127.0.0.2", `${DC}/blobs/sha256/${hex}`, "dc"],
        ["::ffff:127.0.0.2", `${DC}/blobs/sha256/${hex}`, "dc"],
        ["fd00::9", `${DC}/blobs/sha256/${hex}`, "dc"],
        ["127.0.0.1", `${CDN}/blobs/sha256/${hex}`, "cdn"],
      ]
    ) {
      const res = await get(url, client);
      assert.equal(res.status, 307, client);
      assert.equal(res.headers.get("location"), want, client);
      assert.equal(seen.at(-1), name);
    }
    const res = await get(url, "127.0.0.3");
    assert.equal(res.status, 200, "stream rule");
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), f.layer.bytes);
    assert.equal(seen.at(-1), undefined, "no origin for a streamed blob");
    const part = await get(url, "127.0.0.3", { Range: "bytes=10-19" });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), "bytes 10-19/1000");
    assert.deepEqual(new Uint8Array(await part.arrayBuffer()), f.layer.bytes.slice(10, 20));
    const bad = await get(url, "127.0.0.3", { Range: "bytes=1000-" });
    assert.equal(bad.status, 416);
    await bad.body?.cancel();
    origins.stop();
  } finally {
    await f.cleanup();
  }
});

Deno.test("blobs: the rule's origins down → the default order", async () => {
  const f = await makeFixture();
  try {
    const { get, origins } = await setup(f.store, ROUTING, { cdn: true, dc: false });
    const res = await get(`/v2/library/alpine/blobs/${f.layer.digest}`, "127.0.0.2");
    assert.equal(res.status, 307);
    assert.match(res.headers.get("location")!, /^http:\/\/cdn\.test\//);
    origins.stop();
  } finally {
    await f.cleanup();
  }
});

Deno.test("blobs: every origin down → 503, or the bytes with fallback stream", async () => {
  const f = await makeFixture();
  try {
    const url = `/v2/library/alpine/blobs/${f.layer.digest}`;
    const down = { cdn: false, dc: false };
    const without = await setup(f.store, {}, down);
    const res = await without.get(url, "127.0.0.1");
    assert.equal(res.status, 503);
    assert.equal((await res.json()).errors[0].code, "UNAVAILABLE");
    without.origins.stop();
    const withFallback = await setup(f.store, { fallback: "stream" }, down);
    const streamed = await withFallback.get(url, "127.0.0.1");
    assert.equal(streamed.status, 200);
    assert.equal(streamed.headers.get("content-length"), "1000");
    assert.deepEqual(new Uint8Array(await streamed.arrayBuffer()), f.layer.bytes);
    const up = await setup(f.store, { fallback: "stream" }, { cdn: true, dc: false });
    assert.equal((await up.get(url, "127.0.0.1")).status, 307, "an origin is up: redirect");
    withFallback.origins.stop();
    up.origins.stop();
  } finally {
    await f.cleanup();
  }
});

Deno.test("blobs: a streamed body cut short errors the response", async () => {
  const f = await makeFixture();
  try {
    // The directory store's bytes, minus the last one, as a piped stream (S3, HTTP).
    const short: StreamStore = {
      location: "short",
      read: (k, o) => f.store.read(k, o),
      stat: (k) => f.store.stat(k),
      async open(key: string, range?: ByteRange) {
        const r = await f.store.open(key, range);
        if (!r) return null;
        const bytes = new Uint8Array(await new Response(r.body).arrayBuffer());
        return { body: new Response(bytes.slice(0, -1)).body!, size: r.size };
      },
    };
    const { get, origins } = await setup(short, { fallback: "stream" }, { cdn: false, dc: false });
    const res = await get(`/v2/library/alpine/blobs/${f.layer.digest}`, "127.0.0.1");
    assert.equal(res.status, 200);
    await assert.rejects(res.arrayBuffer(), /the store sent 999 of 1000 bytes/);
    origins.stop();
  } finally {
    await f.cleanup();
  }
});
