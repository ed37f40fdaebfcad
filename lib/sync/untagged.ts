/**
 * @module
 * A digest-pinned sync entry (`docker://HOST/REPO@sha256:…`) is mirrored WITHOUT a tag,
 * as `import` stores a digest-pinned image name (lib/bundle/untagged.ts): served by digest,
 * no tag moves. Same steps and order as publish.ts — marker, blobs (verified, skipped when
 * present), manifests children first, then the tag index and catalog under their locks —
 * with publish's own pieces; only the last step differs (no tag to set).
 */
import { addUntagged } from "../bundle/untagged.ts";
import { collectImage, type CollectOptions } from "../publish/collect.ts";
import { copyBlob, eachLimit, present, writeManifests } from "../publish/copy.ts";
import { indexUpdate, repoLockName } from "../publish/indexes.ts";
import { guardStaged } from "../publish/gc_guard.ts";
import { type Logger, silentLogger } from "../log.ts";
import { ensureMarker } from "../publish/marker.ts";
import type { Source } from "../sources/source.ts";
import type { WriteStore } from "../store/store.ts";

export interface UntaggedResult {
  digest: string;
  blobsCopied: number;
  bytesCopied: number;
  indexChanged: boolean;
}

/** Copies `source`'s image into repository `name` untagged; see the module doc. */
export async function publishUntagged(opts: {
  source: Source;
  store: WriteStore;
  name: string;
  selectChildren?: CollectOptions["selectChildren"];
  concurrency?: number;
  signal?: AbortSignal;
  log?: Logger;
}): Promise<UntaggedResult> {
  const { source, store, name, signal } = opts;
  const image = await collectImage(source, { selectChildren: opts.selectChildren });
  // The tag only appears in messages: addUntagged sets none.
  const update = indexUpdate(name, image.root.digest, image);
  await ensureMarker(store);
  const result = { digest: image.root.digest, blobsCopied: 0, bytesCopied: 0, indexChanged: false };
  await eachLimit([...image.blobs.values()], opts.concurrency ?? 4, async (d) => {
    signal?.throwIfAborted();
    if (await present(store, d)) return;
    await copyBlob(source, store, d, undefined, signal);
    result.blobsCopied++;
    result.bytesCopied += d.size;
  });
  await writeManifests(store, image.manifests, signal);
  // What was found present passes the gc barrier before the tag index names it.
  const guard = guardStaged({
    store,
    source,
    image,
    log: opts.log ?? silentLogger,
    what: `sync ${name}@${image.root.digest}`,
  }, () => store.lock(repoLockName(name)));
  result.indexChanged = (await addUntagged(store, name, update, guard.acquire)).indexChanged;
  await guard.after();
  return result;
}
