/**
 * @module
 * Layout version 2's refresh in O(changes) (issue 13 §1, docs/LAYOUT.md §"catalog.json"):
 * an unchanged store costs two reads whatever its size, a publish to one repository one
 * more; a tag index a cache still serves old is re-read until it matches its catalog
 * digest; version-1 stores are still read whole, and `migrate` turns one into version 2
 * under a running registry.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/index/registry.ts";
import { MARKER_KEY, repoIndexKey } from "../../lib/layout/keys.ts";
import { encodeDocument } from "../../lib/layout/documents.ts";
import { migrate } from "../../lib/lifecycle/migrate.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { DirStore } from "../../lib/store/dir.ts";
import type { ReadResult } from "../../lib/store/store.ts";
import { RecordingStore } from "../helpers/recording_store.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { publishFrom, readDoc, withTemp } from "../publish/helpers.ts";

/** Counts reads; can serve a frozen copy of chosen keys, as a lagging CDN would. */
class CountingStore extends RecordingStore {
  frozen = new Map<string, ReadResult>();
  protected override answer(key: string, opts?: { etag?: string }): Promise<ReadResult> {
    const stale = this.frozen.get(key);
    if (stale?.status === "ok") {
      return Promise.resolve(opts?.etag === stale.meta.etag ? { status: "not-modified" } : stale);
    }
    return this.inner.read(key, opts);
  }
}

/** A store with `n` repositories, each one tag, published by the real publisher. */
async function storeWith(tmp: string, n: number, opts: { v1?: boolean } = {}) {
  await makeOciLayout(`${tmp}/src`, { tag: "v1", layers: 1 });
  await makeOciLayout(`${tmp}/src2`, { tag: "v2", layers: 1, seed: "second" });
  const dir = new DirStore(`${tmp}/store`);
  if (opts.v1) {
    await dir.write(MARKER_KEY, encodeDocument({ layout: "static-registry", version: 1 }), {
      contentType: "application/json",
      cacheControl: "no-store",
    });
  }
  for (let i = 0; i < n; i++) await publishFrom(`oci:${tmp}/src:v1`, dir, `repo${i}`, "v1");
  return dir;
}

/** A dir store's etag is mtime+size: let the clock move before a rewrite. */
const tick = () => new Promise((r) => setTimeout(r, 10));

Deno.test("layout v2: an unchanged store costs two reads per refresh; one publish, one more", () =>
  withTemp(async (tmp) => {
    const dir = await storeWith(tmp, 12);
    const store = new CountingStore(dir);
    const registry = new Registry(store, { log: silentLogger });
    await registry.load();
    assert.equal(store.take().length, 2 + 12, "a load reads every tag index");
    assert.equal(registry.status().layoutVersion, 2);

    for (let i = 0; i < 3; i++) {
      assert.equal(await registry.refresh(), true);
      assert.deepEqual(store.take(), [MARKER_KEY, "catalog.json"]);
      assert.equal(registry.status().lastReads, 2);
    }

    await tick();
    await publishFrom(`oci:${tmp}/src2:v2`, dir, "repo7", "v2");
    assert.equal(await registry.refresh(), true);
    assert.deepEqual(store.take(), [MARKER_KEY, "catalog.json", repoIndexKey("repo7")]);
    assert.ok(registry.repo("repo7")!.tagDigest("v2"), "the new tag is served");
    assert.equal(await registry.refresh(), true);
    assert.deepEqual(store.take(), [MARKER_KEY, "catalog.json"], "and then nothing more");

    // A new repository: the catalog plus its index.
    await tick();
    await publishFrom(`oci:${tmp}/src:v1`, dir, "fresh", "v1");
    await registry.refresh();
    assert.deepEqual(store.take(), [MARKER_KEY, "catalog.json", repoIndexKey("fresh")]);
    assert.equal(registry.repositories().length, 13);
  }));

Deno.test("layout v2: a tag index a cache still serves old is read again until it matches the catalog", () =>
  withTemp(async (tmp) => {
    const dir = await storeWith(tmp, 3);
    const store = new CountingStore(dir);
    const registry = new Registry(store, { log: silentLogger });
    await registry.load();
    const key = repoIndexKey("repo1");
    // The CDN keeps serving the index as it was before the publish.
    store.frozen.set(key, await dir.read(key));
    await tick();
    await publishFrom(`oci:${tmp}/src2:v2`, dir, "repo1", "v2");
    store.take();
    for (let i = 0; i < 3; i++) {
      await registry.refresh();
      assert.equal(registry.repo("repo1")!.tagDigest("v2"), undefined, "not there yet");
      assert.ok(store.take().includes(key), "the lagging index is asked again every refresh");
    }
    store.frozen.delete(key);
    await registry.refresh();
    assert.ok(registry.repo("repo1")!.tagDigest("v2"), "picked up once the cache has it");
    store.take();
    await registry.refresh();
    assert.deepEqual(store.take(), [MARKER_KEY, "catalog.json"]);
  }));

Deno.test("layout v1 stores are still read whole; migrate makes one v2 under a running registry", () =>
  withTemp(async (tmp) => {
    const dir = await storeWith(tmp, 5, { v1: true });
    assert.equal((await readDoc(`${tmp}/store`, "catalog.json")).version, 1);
    const store = new CountingStore(dir);
    const registry = new Registry(store, { log: silentLogger });
    await registry.load();
    store.take();
    await registry.refresh();
    assert.equal(store.take().length, 2 + 5, "version 1: every tag index, every refresh");
    assert.equal(registry.status().layoutVersion, 1);

    assert.deepEqual(await migrate({ store: dir, dryRun: true }), {
      store: dir.location,
      from: 1,
      to: 2,
      repositories: 5,
      changed: true,
      dryRun: true,
    });
    assert.equal((await readDoc(`${tmp}/store`, "catalog.json")).version, 1, "dry run: no write");
    const r = await migrate({ store: dir });
    assert.equal(r.changed, true);
    assert.equal((await readDoc(`${tmp}/store`, MARKER_KEY)).version, 2);
    assert.equal((await readDoc(`${tmp}/store`, "catalog.json")).version, 2);
    assert.deepEqual(await verifyStore(dir), [], "the catalog digests match the tag indexes");
    assert.equal((await migrate({ store: dir })).changed, false, "a second run does nothing");

    await registry.refresh();
    assert.equal(registry.status().layoutVersion, 2);
    assert.equal(registry.repositories().length, 5);
    store.take();
    await registry.refresh();
    assert.deepEqual(store.take(), [MARKER_KEY, "catalog.json"], "from now on O(changes)");
  }));

Deno.test("migrate refuses a store whose catalog lists a repository without a tag index, writing nothing", () =>
  withTemp(async (tmp) => {
    const dir = await storeWith(tmp, 2, { v1: true });
    await Deno.remove(`${tmp}/store/${repoIndexKey("repo1")}`);
    await assert.rejects(
      migrate({ store: dir }),
      /lists "repo1" but "repositories\/repo1\/_index\.json" is missing/,
    );
    assert.equal((await readDoc(`${tmp}/store`, MARKER_KEY)).version, 1);
    assert.equal((await readDoc(`${tmp}/store`, "catalog.json")).version, 1);
  }));

Deno.test("concurrent publishes to one repository leave the catalog naming the last tag index", () =>
  withTemp(async (tmp) => {
    const dir = await storeWith(tmp, 1);
    const tags = Array.from({ length: 6 }, (_, i) => `t${i}`);
    await Promise.all(tags.map((t) => publishFrom(`oci:${tmp}/src2:v2`, dir, "repo0", t)));
    assert.deepEqual(await verifyStore(dir), []);
    const index = await readDoc<{ tags: Record<string, string> }>(
      `${tmp}/store`,
      repoIndexKey("repo0"),
    );
    assert.deepEqual(Object.keys(index.tags).sort(), ["t0", "t1", "t2", "t3", "t4", "t5", "v1"]);
  }));
