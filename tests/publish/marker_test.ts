/**
 * @module
 * The store identity in the marker (lib/publish/marker.ts): written by the first publish,
 * added to a marker of a store published before identities (its other fields kept), never
 * changed afterwards, and ONE id when first publishers race — on a directory (lock file)
 * and on S3 (s3rver, the lease lock).
 */
import assert from "node:assert/strict";
import { makeOciLayout } from "../helpers/image.ts";
import { startS3rver } from "../helpers/s3rver.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { S3Store } from "../../lib/store/s3.ts";
import type { WriteMeta } from "../../lib/store/store.ts";
import {
  CATALOG_KEY,
  encodeDocument,
  MARKER_KEY,
  readDocument,
  validateCatalog,
  validateMarker,
} from "../../lib/layout/layout.ts";
import { ensureMarker } from "../../lib/publish/marker.ts";
import { publishFrom, RecordingStore, withTemp } from "./helpers.ts";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A directory store whose marker reads and writes are slow: a wide window for a race. */
class SlowMarkerStore extends DirStore {
  override async read(key: string, opts?: { etag?: string }) {
    const r = await super.read(key, opts);
    if (key === MARKER_KEY) await new Promise((res) => setTimeout(res, 20));
    return r;
  }
  override async write(key: string, body: Uint8Array | ReadableStream<Uint8Array>, m: WriteMeta) {
    if (key === MARKER_KEY) await new Promise((res) => setTimeout(res, 20));
    await super.write(key, body, m);
  }
}

/** The same store with a lock that excludes nobody: the race the lock prevents. */
class NoLockStore extends SlowMarkerStore {
  override lock() {
    return Promise.resolve(() => Promise.resolve());
  }
}

Deno.test("ensureMarker() gives a new store an id once; later calls read it and write nothing", () =>
  withTemp(async (tmp) => {
    const store = new RecordingStore(`${tmp}/store`);
    const id = await ensureMarker(store, { now: () => new Date("2030-01-02T03:04:05Z") });
    assert.match(id, UUID_V4);
    assert.deepEqual(await readDocument(store, MARKER_KEY, validateMarker), {
      layout: "static-registry",
      version: 2, // a new store gets the current layout version
      id,
      created: "2030-01-02T03:04:05.000Z",
    });
    store.events = [];
    assert.equal(await ensureMarker(store), id);
    assert.deepEqual(store.events, [], "no lock, no write once the store has an id");
  }));

Deno.test("publish into a store without an id adds one and keeps the marker's other fields", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`, { tag: "v1" });
    const store = new DirStore(`${tmp}/store`);
    const legacy = { layout: "static-registry", version: 1, "x-note": "from an older writer" };
    await store.write(MARKER_KEY, encodeDocument(legacy), {
      contentType: "application/json",
      cacheControl: "no-store",
    });
    await publishFrom(`oci:${tmp}/src:v1`, store, "demo/a", "v1");
    const m = await readDocument(store, MARKER_KEY, validateMarker) as Record<string, unknown>;
    assert.deepEqual(Object.keys(m), ["layout", "version", "x-note", "id", "created"]);
    assert.equal(m.version, 1, "still layout version 1: the id is an optional field");
    const catalog = await readDocument(store, CATALOG_KEY, validateCatalog);
    assert.equal(
      catalog?.version,
      1,
      "a version-1 store keeps a version-1 catalog (migrate upgrades)",
    );
    assert.equal(m["x-note"], "from an older writer");
    assert.match(String(m.id), UUID_V4);
    // A second publish keeps it.
    await publishFrom(`oci:${tmp}/src:v1`, store, "demo/b", "v1");
    assert.equal((await readDocument(store, MARKER_KEY, validateMarker))!.id, m.id);
  }));

Deno.test("ensureMarker() refuses a marker of another layout version before writing", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const bytes = encodeDocument({ layout: "static-registry", version: 7 });
    await store.write(MARKER_KEY, bytes, { contentType: "application/json", cacheControl: "x" });
    await assert.rejects(ensureMarker(store), /layout version 7 is not supported/);
    const r = await store.read(MARKER_KEY);
    assert.deepEqual(r.status === "ok" && r.bytes, bytes, "left as it was");
  }));

Deno.test("concurrent first publishers into one directory agree on one id", () =>
  withTemp(async (tmp) => {
    const root = `${tmp}/store`;
    const ids = await Promise.all(
      Array.from({ length: 8 }, () => ensureMarker(new SlowMarkerStore(root))),
    );
    assert.equal(new Set(ids).size, 1, `ids: ${ids.join(" ")}`);
    const m = await readDocument(new DirStore(root), MARKER_KEY, validateMarker);
    assert.equal(m!.id, ids[0]);

    // The control: the same race without the lock does end with several ids, so the
    // assertion above is one this test can fail.
    const bare = `${tmp}/bare`;
    const raced = await Promise.all(
      Array.from({ length: 8 }, () => ensureMarker(new NoLockStore(bare))),
    );
    assert.ok(new Set(raced).size > 1, "without the lock the publishers disagree");
  }));

Deno.test({
  name: "concurrent first publishers into one S3 prefix (s3rver, lease lock) agree on one id",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const s3 = await startS3rver();
    const stores = Array.from(
      { length: 4 },
      () =>
        new S3Store({
          bucket: s3.bucket,
          prefix: "reg",
          ...s3.options,
          lock: { settleMs: 150, ttlMs: 5_000 },
        }),
    );
    try {
      const ids = await Promise.all(stores.map((s) => ensureMarker(s)));
      assert.equal(new Set(ids).size, 1, `ids: ${ids.join(" ")}`);
      assert.match(ids[0], UUID_V4);
      assert.equal((await readDocument(stores[0], MARKER_KEY, validateMarker))!.id, ids[0]);
    } finally {
      for (const s of stores) s.close();
      await s3.stop();
    }
  },
});
