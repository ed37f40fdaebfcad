/**
 * @module
 * Adds an image to a repository WITHOUT a tag: its manifests and blobs join the tag index
 * (`manifests`, `blobs`), so it is served by digest (`/v2/<name>/manifests/sha256:…`, what
 * a pull of `alpine@sha256:…` asks for), and no tag moves. This is what `import` does with
 * a digest-pinned image name (names.ts). Same lock, same rules and the same catalog update
 * as a tagged publish (lib/publish/indexes.ts), whose merge always sets a tag; the objects
 * must already be in the store (stage.ts), as for any tag-index write.
 */
import { repoIndexKey } from "../layout/keys.ts";
import { readDocument, writeDocument } from "../layout/documents.ts";
import { validateRepoIndex } from "../layout/rules.ts";
import { emptyRepoIndex } from "../layout/schema.ts";
import type { WriteStore } from "../store/store.ts";
import {
  type Acquire,
  type IndexUpdate,
  recordInCatalog,
  repoLockName,
  withLock,
} from "../publish/indexes.ts";

/**
 * Merges `update`'s manifests and blobs (its tag is ignored) into repository `name`
 * under lock `repo:<name>` (`acquire`: callers pass it through the gc barrier,
 * lib/publish/gc_guard.ts `guardStaged`), then lists `name` in the catalog. Resolves to
 * whether each document changed.
 */
export async function addUntagged(
  store: WriteStore,
  name: string,
  update: Omit<IndexUpdate, "tag">,
  acquire: Acquire = () => store.lock(repoLockName(name)),
): Promise<{ indexChanged: boolean; catalogChanged: boolean }> {
  const rules = (v: unknown) => validateRepoIndex(v, name);
  const key = repoIndexKey(name);
  const indexChanged = await withLock(acquire, async () => {
    const index = await readDocument(store, key, rules) ?? emptyRepoIndex(name);
    let changed = false;
    for (const [digest, entry] of update.manifests) {
      if (index.manifests[digest] !== undefined) continue;
      index.manifests[digest] = entry;
      changed = true;
    }
    for (const [digest, size] of update.blobs) {
      if (index.blobs[digest] !== undefined) continue;
      index.blobs[digest] = size;
      changed = true;
    }
    if (changed) await writeDocument(store, key, index, rules);
    return changed;
  });
  const catalogChanged = await recordInCatalog(store, name);
  return { indexChanged, catalogChanged };
}
