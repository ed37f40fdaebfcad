/**
 * @module
 * `migrate` while a publisher of this build writes to a layout-version-1 store: the
 * version-2 catalog must name the publisher's tag index, whichever comes first. A
 * version-1 publish of a listed repository takes no catalog lock, so migrate cannot
 * simply wait for it; lib/lifecycle/migrate.ts digests after its marker write and
 * lib/publish/indexes.ts recordIfMigrated reads the marker after the index write.
 * Each test forces one interleaving by holding a write at a gate.
 */
import assert from "node:assert/strict";
import { makeOciLayout } from "../helpers/image.ts";
import { DirStore } from "../../lib/store/dir.ts";
import type { WriteMeta } from "../../lib/store/store.ts";
import { encodeDocument, readDocument } from "../../lib/layout/documents.ts";
import { validateCatalog } from "../../lib/layout/rules.ts";
import { catalogDigest, tagIndexDigest } from "../../lib/layout/catalog.ts";
import { repoIndexKey } from "../../lib/layout/keys.ts";
import { migrate } from "../../lib/lifecycle/migrate.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import type { PublishResult } from "../../lib/publish/publish.ts";
import { publishFrom, withTemp } from "../publish/helpers.ts";

const NAME = "team/app";

/** A directory store that can hold a write of one key until the test lets it go. */
class GatedStore extends DirStore {
  /** Called before a write of this key lands; the write waits for it. */
  gates = new Map<string, () => Promise<void>>();
  override async write(
    key: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    meta: WriteMeta,
  ): Promise<void> {
    const gate = this.gates.get(key);
    if (gate) {
      this.gates.delete(key);
      await gate();
    }
    await super.write(key, body, meta);
  }
}

function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => fire = r);
  return { promise, fire };
}

/** A version-1 store with `NAME:v1` published, and a second image to publish as v2. */
async function v1Store(tmp: string): Promise<GatedStore> {
  await makeOciLayout(`${tmp}/a`, { tag: "v1", layers: 1 });
  await makeOciLayout(`${tmp}/b`, { tag: "v1", seed: "b", layers: 1 });
  const store = new GatedStore(`${tmp}/store`);
  await store.write(
    "static-registry.json",
    encodeDocument({ layout: "static-registry", version: 1 }),
    { contentType: "application/json", cacheControl: "no-store" },
  );
  await publishFrom(`oci:${tmp}/a:v1`, store, NAME, "v1");
  return store;
}

/** The catalog names the tag index the store holds, and the store checks clean. */
async function assertRecorded(store: DirStore): Promise<void> {
  const catalog = await readDocument(store, "catalog.json", validateCatalog);
  assert.equal(catalog?.version, 2);
  const index = await store.read(repoIndexKey(NAME));
  if (index.status !== "ok") throw new Error(`${repoIndexKey(NAME)}: ${index.status}`);
  assert.equal(catalogDigest(catalog!, NAME), tagIndexDigest(index.bytes), "catalog is stale");
  assert.deepEqual(await verifyStore(store), []);
}

/**
 * A v1 store, and a publish of `NAME:v2` held at its tag-index write (its plan saw
 * version 1 with the repository listed); `release` lets the write go.
 */
async function heldPublish(tmp: string) {
  const store = await v1Store(tmp);
  const held = signal();
  const release = signal();
  store.gates.set(repoIndexKey(NAME), async () => {
    held.fire();
    await release.promise;
  });
  const publishing = publishFrom(`oci:${tmp}/b:v1`, store, NAME, "v2");
  await held.promise;
  return { store, publishing, release: release.fire };
}

Deno.test("migrate runs whole while a v1 publish is writing its tag index: the publish records itself", () =>
  withTemp(async (tmp) => {
    const { store, publishing, release } = await heldPublish(tmp);
    await migrate({ store }); // digests the old index: the publish has not written yet
    release();
    const r: PublishResult = await publishing;
    assert.equal(r.indexChanged, true);
    assert.equal(r.catalogChanged, true, "the publish saw marker 2 and recorded its digest");
    await assertRecorded(store);
  }));

Deno.test("a v1 publish writes its tag index between migrate's first digest and its marker write", () =>
  withTemp(async (tmp) => {
    const { store, publishing, release } = await heldPublish(tmp);
    // When migrate is about to write the marker, the publish finishes: it writes its index
    // and reads marker 1, so it does not record. Migrate must read the index after this.
    store.gates.set("static-registry.json", async () => {
      release();
      const r = await publishing;
      assert.equal(r.catalogChanged, false, "marker still 1: the publish left it to migrate");
    });
    await migrate({ store });
    await assertRecorded(store);
  }));
