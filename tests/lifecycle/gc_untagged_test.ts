/**
 * @module
 * The gc barrier on the untagged paths (lib/publish/gc_guard.ts `guardStaged`): an
 * `import` of a digest-pinned image stages its objects, then writes the tag index with
 * no publish() in between; a gc that removes staged objects before that write (here: the
 * store removes them as the repository lock is taken, after the barrier's gc lock would
 * have been waited for) must not leave the index naming missing objects — they are found
 * gone under the barrier and copied again from the bundle.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { importLayout } from "../../lib/bundle/import.ts";
import { blobKey } from "../../lib/layout/keys.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { withTemp } from "../publish/helpers.ts";
import { missingReferenced, SweptMeanwhile } from "./gc_fixture.ts";

Deno.test("import of a digest-pinned image copies again what a gc removed before its tag index", () =>
  withTemp(async (tmp) => {
    const store = new SweptMeanwhile(`${tmp}/store`);
    const image = await makeOciLayout(`${tmp}/src`, { tag: "x", seed: "untagged-gc", layers: 2 });
    const file = `${tmp}/src/index.json`;
    const index = JSON.parse(await fs.readFile(file, "utf8"));
    for (const d of index.manifests) {
      if (d.digest === image.rootDigest) {
        d.annotations = {
          "io.containerd.image.name": `mirror/app@${image.rootDigest}`,
          "org.opencontainers.image.ref.name": `@${image.rootDigest}`,
        };
      }
    }
    await fs.writeFile(file, JSON.stringify(index));
    // Every object of the image: staged by the import, then removed by the "gc".
    store.victims = Object.keys(image.sizes).map(blobKey);
    const [r] = await importLayout({ source: `oci:${tmp}/src`, store });
    assert.equal(r.tag, undefined);
    assert.equal(store.removed.length, Object.keys(image.sizes).length, "removed mid-import");
    assert.deepEqual(await missingReferenced(store), []);
    assert.deepEqual(await verifyStore(store, { deep: true }), []);
  }));
