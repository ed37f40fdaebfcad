/**
 * @module
 * `publish()`: copies one image from a {@link Source} into a store in the static layout v1,
 * in the order that keeps readers safe (docs/LAYOUT.md §"Write order"):
 *
 *   0. nothing is written before the image's tag-index entries pass the rules the server
 *      reads them with (lib/layout/rules.ts) and the existing documents have been read
 *      and validated the same way;
 *   1. the marker `static-registry.json` with the store's id, if missing or without one
 *      (marker.ts: under lock "marker", so concurrent first publishes agree on one id);
 *   2. every blob (configs, layers), verified while streaming, skipped when present;
 *   3. every manifest at blobs/<alg>/<hex>, children before parents;
 *   4. under lock "repo:<name>": `repositories/<name>/_index.json` gains the manifests
 *      and the tag; first, when it skipped objects as present, the publish passes the gc
 *      barrier and re-checks them (gc_guard.ts: safe beside a running gc);
 *   5. under lock "catalog": `catalog.json` gains the name.
 *
 * Steps 4 and 5 are skipped, lock and all, when a read before the copy shows they would
 * change nothing (an unchanged re-publish), and the locks they need are acquired while the
 * last blobs are still copying (lock_ahead.ts), so an S3 lease's settle delay overlaps it.
 *
 * A tag only becomes visible in step 4, when everything it references is in place, so a
 * publish killed at any point leaves the store consistent (at worst with unreferenced
 * blobs, which a rerun reuses).
 *
 * @example
 * ```ts
 * const source = await openSource("oci:./hello:v1");
 * try {
 *   await publish({ source, store: new DirStore("./data"), name: "demo/hello", tag: "v1" });
 * } finally {
 *   await source.close();
 * }
 * ```
 */
import type { Descriptor } from "../oci/mediatypes.ts";
import { UsageError } from "../cli/usage.ts";
import { isTag, nameProblem } from "../oci/reference.ts";
import type { WriteStore } from "../store/store.ts";
import { type Logger, silentLogger } from "../log.ts";
import type { Source } from "../sources/source.ts";
import { collectImage, type CollectOptions } from "./collect.ts";
import { copyBlob, eachLimit, present, writeManifests } from "./copy.ts";
import { guardCommit, PresenceLedger, restorer } from "./gc_guard.ts";
import {
  CATALOG_LOCK,
  catalogRecorder,
  indexUpdate,
  planIndexes,
  recordIfMigrated,
  recordInCatalog,
  repoLockName,
  type TagMove,
  updateRepoIndex,
} from "./indexes.ts";
import { LocksAhead } from "./lock_ahead.ts";
import { checkMarker } from "./marker.ts";
import { Interrupted } from "./interrupt.ts";
import { noProgress, type PublishProgress } from "./progress.ts";

export interface PublishOptions {
  source: Source;
  store: WriteStore;
  /** Destination repository name (distribution-spec name grammar). */
  name: string;
  /** Destination tag. */
  tag: string;
  log?: Logger;
  progress?: PublishProgress;
  /** Blobs copied at once (default 4). */
  concurrency?: number;
  /**
   * Stops the publish (Ctrl-C: interrupt.ts): copies in flight are cancelled, nothing new
   * starts, and publish rejects with an {@link Interrupted} saying what the store holds.
   * Once the tag index is being written the publish completes: that step takes
   * milliseconds, and stopping between the tag index and the catalog would leave a
   * tagged repository the catalog does not list.
   */
  signal?: AbortSignal;
  /**
   * Copy what is attached to the image too (default true): referrers, and from a
   * `docker://` source its referrers (API, else the tag schema) and cosign's
   * `sha256-<hex>.sig|.att|.sbom` tags, for the root and every platform child
   * (collect.ts). Referrers are stored untagged with their `subject`, so the server's
   * referrers API lists them; cosign tags are set as tags. On by default because a mirror
   * that drops signatures fails every verifying pull policy downstream, and costs are small
   * (a few manifest GETs per image).
   */
  signatures?: boolean;
  /** Refuse to move the tag if it points at another manifest (`--no-clobber`). */
  noClobber?: boolean;
  /** Which children of an index to copy (collect.ts; default all): sync's `platforms`. */
  selectChildren?: CollectOptions["selectChildren"];
}

export interface PublishResult {
  name: string;
  tag: string;
  /** The tagged root manifest. */
  digest: string;
  mediaType: string;
  /** Manifests in the image (root, children, referrers) and how many were written. */
  manifests: number;
  manifestsWritten: number;
  blobsCopied: number;
  blobsSkipped: number;
  bytesCopied: number;
  bytesSkipped: number;
  /** Referrer manifests (with a `subject`) among `manifests`. */
  referrers: number;
  /** Tags published beside `tag` (cosign's `sha256-<hex>.sig`, …), sorted. */
  attachedTags: string[];
  /** Whether the tag index / the catalog had to be rewritten. */
  indexChanged: boolean;
  catalogChanged: boolean;
  /** Set when the tag pointed at another manifest before (indexes.ts TagMove). */
  moved?: TagMove;
}

/** Throws UsageError unless `name` and `tag` are a valid repository name and tag. */
export function checkDestination(name: string, tag: string): void {
  const why = nameProblem(name);
  if (why) throw new UsageError(`repository name "${name}": ${why}`);
  if (!isTag(tag)) {
    throw new UsageError(`tag "${tag}": must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
  }
}

/** Removes temp files of publishers that died (DirStore); never fails the publish. */
async function removeStaleTemp(store: WriteStore, log: Logger): Promise<void> {
  try {
    const removed = await store.removeStaleTemp?.();
    if (removed) log.info({ removed }, "removed temp files of dead publishers");
  } catch (e) {
    log.warn({ err: (e as Error).message }, "could not remove stale temp files");
  }
}

/** True when the store already holds `d` with the right size (content-addressed: done). */
/**
 * Step 2: copies the blobs the store lacks, `concurrency` at a time, and starts taking
 * the locks once the rest of the copy should take less than the store's lock lead time.
 */
async function copyBlobs(
  opts: PublishOptions,
  image: Map<string, Descriptor>,
  result: PublishResult,
  locks: LocksAhead,
  ledger: PresenceLedger,
): Promise<void> {
  const { store, source } = opts;
  const log = opts.log ?? silentLogger;
  const progress = opts.progress ?? noProgress;
  const blobs = [...image.values()];
  const total = blobs.reduce((n, b) => n + b.size, 0);
  const t0 = performance.now();
  let done = 0;
  const advance = (n: number) => {
    done += n;
    progress.advance(n);
    const elapsed = performance.now() - t0;
    locks.startIfDue(done >= total ? 0 : done > 0 ? (total - done) * elapsed / done : Infinity);
  };
  progress.start({ blobs: blobs.length, bytes: total, items: blobs });
  try {
    await eachLimit(blobs, opts.concurrency ?? 4, async (d) => {
      opts.signal?.throwIfAborted();
      if (await present(store, d)) {
        ledger.skipped(d);
        result.blobsSkipped++;
        result.bytesSkipped += d.size;
        advance(d.size);
        progress.blobDone(d.digest, false);
        return;
      }
      progress.blobStart?.(d.digest, d.size);
      const onBytes = (n: number) => {
        advance(n);
        progress.blobAdvance?.(d.digest, n);
      };
      await copyBlob(source, store, d, onBytes, opts.signal);
      ledger.wrote(d);
      result.blobsCopied++;
      result.bytesCopied += d.size;
      progress.blobDone(d.digest, true);
      log.debug({ digest: d.digest, size: d.size }, "blob copied");
    });
  } finally {
    progress.stop();
  }
}

/** Publishes one image; see the module doc for the order. */
export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const { source, store, name, tag } = opts;
  const log = opts.log ?? silentLogger;
  checkDestination(name, tag);

  const image = await collectImage(source, {
    signatures: opts.signatures,
    selectChildren: opts.selectChildren,
  });
  log.debug({ source: source.description, root: image.root.digest }, "resolved source");
  const result: PublishResult = {
    name,
    tag,
    digest: image.root.digest,
    mediaType: image.root.mediaType,
    manifests: image.manifests.length,
    manifestsWritten: 0,
    blobsCopied: 0,
    blobsSkipped: 0,
    bytesCopied: 0,
    bytesSkipped: 0,
    referrers: image.manifests.filter((m) => m.info.subject).length,
    attachedTags: [...image.tags.keys()].sort(),
    indexChanged: false,
    catalogChanged: false,
  };

  // Everything the server would refuse is refused here, before the first write: the
  // image's tag-index entries (lib/layout rules), then the existing documents.
  const update = { ...indexUpdate(name, tag, image), noClobber: opts.noClobber };
  const plan = await planIndexes(store, name, update);
  const signal = opts.signal;
  signal?.throwIfAborted();
  await removeStaleTemp(store, log);
  // Checked now; a new store's id is written while the blobs copy (before any document).
  const marker = await checkMarker(store);
  const repoLock = repoLockName(name);
  const locks = new LocksAhead(store, [
    ...(plan.repo ? [repoLock] : []),
    ...(plan.catalogAhead ? [CATALOG_LOCK] : []),
  ]);
  const recorder = catalogRecorder(store, name, plan); // v2: its catalog lock, taken ahead too
  if (recorder) locks.alsoStart(() => recorder.start());
  let tagging = false;
  const ledger = new PresenceLedger();
  try {
    await copyBlobs(opts, image.blobs, result, locks, ledger);

    // Children before parents: a parent is never stored before what it references.
    result.manifestsWritten += await writeManifests(store, image.manifests, signal, ledger);
    await marker.id;

    signal?.throwIfAborted();
    tagging = true; // from here on the publish completes (see PublishOptions.signal)
    let relist = false;
    if (plan.repo) {
      // gc runs beside publishers (lib/publish/gc_guard.ts): under the repository lock,
      // what was skipped as present is re-checked before the tag index names it.
      const guard = guardCommit({
        store,
        ledger,
        restore: restorer(source, store, image.manifests),
        log,
        what: `publish ${name}:${tag}`,
      }, locks.take(repoLock));
      // v2: the catalog request is written as soon as the index is (catalog_fold.ts),
      // beside the repository lock's release rather than after it.
      const w = await updateRepoIndex(store, name, update, guard.acquire, recorder?.request);
      await guard.after();
      result.indexChanged = w.changed;
      if (w.moved) result.moved = w.moved;
      relist = w.created; // a delete may have emptied it and taken it out of the catalog
    }
    if (plan.catalog) {
      result.catalogChanged = await recordInCatalog(store, name, {
        acquire: plan.catalogAhead ? locks.take(CATALOG_LOCK) : undefined,
        version: plan.catalogVersion,
        recorder,
      });
    } else if (relist) {
      result.catalogChanged = await recordInCatalog(store, name, {
        version: plan.catalogVersion,
      });
    } else if (plan.repo && plan.catalogVersion === 1) {
      result.catalogChanged = await recordIfMigrated(store, name);
    }
  } catch (e) {
    if (!tagging && signal?.aborted && signal.reason instanceof Interrupted) {
      throw new Interrupted(
        signal.reason.signal,
        `${signal.reason.message}: ${result.blobsCopied + result.blobsSkipped} of ` +
          `${image.blobs.size} blob(s) and ${result.manifestsWritten} of ` +
          `${result.manifests} manifest(s) stored; no tag changed (${name}:${tag} is as ` +
          "it was; the blobs stored are reused by the next publish)",
      );
    }
    throw e;
  } finally {
    await Promise.all([locks.abandon(), recorder?.abandon(), marker.id.catch(() => {})]);
  }
  if (result.moved) {
    const { from, to } = result.moved;
    log.info({ name, tag, from, to }, `moved tag ${name}:${tag} ${from} → ${to}`);
  }
  log.info({ ...result, source: source.description }, "published");
  return result;
}
