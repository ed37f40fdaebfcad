/**
 * @module
 * gc racing publishers on a directory store. Each round drops three of four tags of a
 * repository (their own objects become old garbage), then runs one gc (the real settle
 * delay, the minimum grace) while three publishes put the tags back, each starting at a
 * random moment of the gc and with slow presence checks: so some find an object present
 * before the gc removes it and write their tag index after the gc has read the indexes,
 * the interleaving that would lose a blob. After every round every object every tag index
 * references must exist; at the end skopeo pulls every tag from the served store.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { CACHE_INDEX, DOCUMENT_TYPE, repoIndexKey } from "../../lib/layout/keys.ts";
import { encodeDocument, readDocument } from "../../lib/layout/documents.ts";
import { validateRepoIndex } from "../../lib/layout/rules.ts";
import { referencedObjects } from "../../lib/layout/walk.ts";
import { gc, MIN_GRACE_MS } from "../../lib/lifecycle/gc.ts";
import { DirStore } from "../../lib/store/dir.ts";
import type { ObjectMeta } from "../../lib/store/store.ts";
import { binaryExists, startRegistry } from "../helpers/binary.ts";
import { PullClients } from "../helpers/clients.ts";
import { type BuiltImage, makeOciLayout } from "../helpers/image.ts";
import { publishFrom, withTemp } from "../publish/helpers.ts";
import { age, missingReferenced } from "./gc_fixture.ts";

const ROUNDS = 7;
const TAGS = ["t0", "t1", "t2", "t3"];
const REPO = "race/app";

/** The publishers' view of the store: every presence check of a blob takes up to 200 ms. */
class SlowStats extends DirStore {
  override async stat(key: string): Promise<ObjectMeta | null> {
    if (key.startsWith("blobs/")) await sleep(Math.random() * 200);
    return await super.stat(key);
  }
}

/** Rewrites the tag index with only `keep` tags and what they reach (a `delete` by hand). */
async function keepOnly(store: DirStore, keep: string[]): Promise<void> {
  const rules = (v: unknown) => validateRepoIndex(v, REPO);
  const index = (await readDocument(store, repoIndexKey(REPO), rules))!;
  const reached = new Set(referencedObjects(index, { tags: keep }).map((o) => o.digest));
  index.tags = Object.fromEntries(keep.map((t) => [t, index.tags[t]]));
  index.manifests = Object.fromEntries(
    Object.entries(index.manifests).filter(([d]) => reached.has(d)),
  );
  index.blobs = Object.fromEntries(Object.entries(index.blobs).filter(([d]) => reached.has(d)));
  await store.write(repoIndexKey(REPO), encodeDocument(index), {
    contentType: DOCUMENT_TYPE,
    cacheControl: CACHE_INDEX,
  });
}

Deno.test({
  name: "gc racing publishes never removes an object a visible tag needs; skopeo pulls every tag",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTemp(async (tmp) => {
      const root = `${tmp}/store`;
      const plain = new DirStore(root);
      const slow = new SlowStats(root);
      const images: Record<string, BuiltImage> = {};
      for (const [i, tag] of TAGS.entries()) {
        images[tag] = await makeOciLayout(`${tmp}/src-${tag}`, {
          tag,
          seed: `race-${i}`,
          baseSeed: "base",
          layers: 3,
        });
        await publishFrom(`oci:${tmp}/src-${tag}:${tag}`, plain, REPO, tag);
      }
      let removed = 0;
      let copiedAgain = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const kept = TAGS[round % TAGS.length];
        const dropped = TAGS.filter((t) => t !== kept);
        await keepOnly(plain, [kept]);
        await age(root, 2 * MIN_GRACE_MS); // every object is old: the garbage is collectable
        const [report] = await Promise.all([
          gc({ store: plain, graceMs: MIN_GRACE_MS }),
          ...dropped.map(async (tag) => {
            await sleep(Math.random() * 2100); // around the gc's settle delay (2 s), mark, sweep
            await publishFrom(`oci:${tmp}/src-${tag}:${tag}`, slow, REPO, tag);
          }),
        ]);
        removed += report.removed.blobs.count;
        for (const item of report.items) if (await plain.stat(item.key)) copiedAgain++;
        assert.deepEqual(await missingReferenced(plain), [], `round ${round}`);
        const index = await readDocument(
          plain,
          repoIndexKey(REPO),
          (v) => validateRepoIndex(v, REPO),
        );
        assert.deepEqual(Object.keys(index!.tags).sort(), TAGS, `round ${round}: every tag back`);
      }
      // The race was run, not avoided: the gcs removed objects, and publishes that had
      // found some of them present copied them again.
      assert.ok(removed > 0, "the gcs removed something");
      assert.ok(
        copiedAgain > 0,
        `some publish copied again what a gc removed (${removed} removed)`,
      );

      if (!binaryExists()) throw new Error("dist/static-registry is missing: run scripts/build");
      const reg = await startRegistry({ config: { store: root } });
      const clients = await PullClients.create({ budgetMs: 120_000 });
      try {
        for (const tag of TAGS) {
          const got = await clients.skopeoCopy(reg.addr, `${REPO}:${tag}`);
          assert.equal(got.digest, images[tag].rootDigest, tag);
        }
      } finally {
        await clients.close();
        await reg.stop();
      }
    }),
});
