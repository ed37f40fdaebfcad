/**
 * @module
 * The publisher's half of running beside gc (lib/publish/gc_guard.ts): objects a
 * publish found present and skipped, then removed by a gc before its tag index was
 * written, are found gone when it re-checks them after the gc barrier, and copied again.
 * And a publish waits for a gc holding the lock before it writes its tag index.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { blobKey } from "../../lib/layout/keys.ts";
import { GC_LOCK } from "../../lib/lifecycle/gc.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { DirStore } from "../../lib/store/dir.ts";
import type { WriteMeta } from "../../lib/store/store.ts";
import { COMMIT_WINDOW_MS } from "../../lib/publish/gc_guard.ts";
import { publishFrom, withTemp } from "../publish/helpers.ts";
import { blobKeys, makeGarbage, missingReferenced, SweptMeanwhile } from "./gc_fixture.ts";

/** SweptMeanwhile with an S3 lease's lock lead time: the publish passes the gc barrier ahead. */
class SweptAhead extends SweptMeanwhile {
  override lockLeadMs = 60_000;
}

// The victims go when the repository lock is asked for. With a lock lead time that is
// after the barrier passed ahead (lib/publish/gc_guard.ts BarrierAhead): the re-stat under
// the repository lock must still see them gone.
for (
  const [how, Store] of [["", SweptMeanwhile], [" (gc barrier passed ahead)", SweptAhead]] as const
) {
  Deno.test(`publish copies again what it skipped as present when it is gone before its tag index${how}`, () =>
    withTemp(async (tmp) => {
      const store = new Store(`${tmp}/store`);
      const g = await makeGarbage(tmp, store);
      // Every garbage object (b's manifest, config, layer) is present, unreferenced, and
      // skipped by this publish; then "gc" removes them before the tag index is written.
      store.victims = [...g.garbage];
      const r = await publishFrom(g.specs.b, store, "demo/app", "v2");
      assert.equal(store.removed.length, 3, "the victims were removed mid-publish");
      assert.equal(r.blobsSkipped, g.images.b.blobs.length);
      assert.deepEqual(await missingReferenced(store), []);
      assert.deepEqual(await verifyStore(store), []);
      for (const k of g.garbage) assert.ok(await store.stat(k), `${k} is back`);
      assert.ok(await store.stat(blobKey(g.images.b.rootDigest)));
    }));
}

Deno.test("publish waits for a gc holding its lock before writing the tag index", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const g = await makeGarbage(tmp, store);
    const release = await store.lock(GC_LOCK);
    let published = false;
    const p = publishFrom(g.specs.b, store, "demo/app", "v2").then((r) => {
      published = true;
      return r;
    });
    await sleep(300);
    assert.equal(published, false, "the commit waits for the gc");
    // The "gc" removes b's objects, then lets go: the publish finds them gone and copies.
    for (const k of g.garbage) await store.remove(k);
    await release();
    await p;
    assert.deepEqual(await missingReferenced(store), []);
    assert.deepEqual(await blobKeys(store), [...new Set([...g.keep, ...g.garbage])].sort());
  }));

/** A store whose tag-index writes take longer than the commit window, removing `victims` meanwhile. */
class SlowCommit extends DirStore {
  victims: string[] = [];
  override async write(
    key: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    meta: WriteMeta,
  ): Promise<void> {
    if (key.endsWith("/_index.json") && this.victims.length) {
      await sleep(COMMIT_WINDOW_MS + 200);
      for (const k of this.victims.splice(0)) await this.remove(k);
    }
    await super.write(key, body, meta);
  }
}

Deno.test("a tag index written after the commit window is followed by a repair pass", () =>
  withTemp(async (tmp) => {
    const store = new SlowCommit(`${tmp}/store`);
    const g = await makeGarbage(tmp, store);
    store.victims = [...g.garbage];
    await publishFrom(g.specs.b, store, "demo/app", "v2");
    assert.deepEqual(store.victims, [], "the victims were removed during the slow write");
    assert.deepEqual(await missingReferenced(store), []);
  }));
