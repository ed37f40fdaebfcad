/**
 * @module
 * The middle step of an all-or-nothing import: every blob and manifest of every image is
 * copied into the store, verified against its descriptor while it streams (digest and
 * size, lib/publish/copy.ts), BEFORE any tag index is written. Objects land at their
 * content address only once verified, so a bundle that fails here (its third image has a
 * damaged layer) changes no tag: what it leaves are correct, unreferenced blobs, which a
 * rerun reuses and a garbage collector may remove (docs/LAYOUT.md §"Write order").
 */
import type { WriteStore } from "../store/store.ts";
import type { Source } from "../sources/source.ts";
import type { CollectedImage } from "../publish/collect.ts";
import { copyBlob, eachLimit, present, writeManifests } from "../publish/copy.ts";
import { noProgress, type PublishProgress } from "../publish/progress.ts";

/** What staging one image did. */
export interface Staged {
  blobsCopied: number;
  blobsSkipped: number;
  bytesCopied: number;
  bytesSkipped: number;
  manifestsWritten: number;
}

/** True when the store already holds `d` with its size (content-addressed: done). */
/**
 * Copies the blobs of `image` the store lacks (`concurrency` at a time), then its
 * manifests, children before parents. Errors name the image (`what`) and the object.
 * `progress` hears of each blob (a blob shared with an image staged before is "Exists").
 */
export async function stageImage(
  source: Source,
  store: WriteStore,
  image: CollectedImage,
  what: string,
  concurrency = 4,
  progress: PublishProgress = noProgress,
): Promise<Staged> {
  const r: Staged = {
    blobsCopied: 0,
    blobsSkipped: 0,
    bytesCopied: 0,
    bytesSkipped: 0,
    manifestsWritten: 0,
  };
  try {
    await eachLimit([...image.blobs.values()], concurrency, async (d) => {
      if (await present(store, d)) {
        r.blobsSkipped++;
        r.bytesSkipped += d.size;
        progress.advance(d.size);
        progress.blobDone(d.digest, false);
        return;
      }
      progress.blobStart?.(d.digest, d.size);
      await copyBlob(source, store, d, (n) => {
        progress.advance(n);
        progress.blobAdvance?.(d.digest, n);
      });
      r.blobsCopied++;
      r.bytesCopied += d.size;
      progress.blobDone(d.digest, true);
    });
    r.manifestsWritten += await writeManifests(store, image.manifests);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
  }
  return r;
}
